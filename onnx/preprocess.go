package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/govae/vae/onnx/internal/onnxpb"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// PreprocessFile is the file Write writes for a table model: its graph of
// the cells to the encoded rows.
const PreprocessFile = "preprocess.onnx"

// MLOpset is the version of the ai.onnx.ml operator set the preprocessing
// graph uses (LabelEncoder with float values).
const MLOpset = 2

// Preprocess returns the ONNX model of a table model's preprocessing, as
// Schema.Encode does it: one input per model column, named as the column,
// [N, 1], and the output "x" [N, Input], the encoder's input. A continuous
// or positive column is a double (NaN where the cell is missing); it is
// standardised, a positive column in log, and a value ≤ 0 of a positive
// column is read as missing. A binary or categorical column is a string:
// a binary one gives 0 or 1, a categorical one its one-hot row, and any
// other string (a missing cell, an unseen category) gives NaN, as a schema
// with unknown: missing does. Cells are matched as they are: trim them
// first, as Schema.Encode does.
func Preprocess(m *vae.Model) ([]byte, error) {
	s := m.Table
	if s == nil {
		return nil, fmt.Errorf("onnx: the model has no table schema to preprocess with")
	}
	g := newGraph("preprocess")
	nan := math.NaN()
	var cols []string
	for i, f := range s.Features() {
		c := s.Columns[f.Column]
		name := fmt.Sprintf("columns.%d", i)
		out := name + ".encoded"
		switch f.Type {
		case table.Continuous, table.Positive:
			g.g.Input = append(g.g.Input, tensorInfo(c.Name, onnxpb.TensorProto_DOUBLE, 1))
			x := c.Name
			if f.Type == table.Positive {
				g.node("Log", []string{x}, name+".log", nil)
				g.node("Greater", []string{x, g.scalar("zero", onnxpb.TensorProto_DOUBLE, 0)}, name+".positive", nil)
				g.node("Where", []string{name + ".positive", name + ".log", g.scalar("nan.double", onnxpb.TensorProto_DOUBLE, nan)}, name+".logs", nil)
				x = name + ".logs"
			}
			g.node("Sub", []string{x, g.scalar(name+".mean", onnxpb.TensorProto_DOUBLE, c.Mean)}, name+".centred", nil)
			g.node("Div", []string{name + ".centred", g.scalar(name+".std", onnxpb.TensorProto_DOUBLE, c.Std)}, name+".standard", nil)
			g.node("Cast", []string{name + ".standard"}, out, []*onnxpb.AttributeProto{intAttr("to", int64(onnxpb.TensorProto_FLOAT))})
		case table.Binary:
			g.g.Input = append(g.g.Input, tensorInfo(c.Name, onnxpb.TensorProto_STRING, 1))
			values := []float32{0, 1}[:len(c.Categories)]
			g.mlNode("LabelEncoder", c.Name, out,
				stringsAttr("keys_strings", c.Categories), floatsAttr("values_floats", values...), floatAttr("default_float", float32(nan)))
		case table.Categorical:
			g.g.Input = append(g.g.Input, tensorInfo(c.Name, onnxpb.TensorProto_STRING, 1))
			index := make([]int64, len(c.Categories))
			for k := range index {
				index[k] = int64(k)
			}
			g.mlNode("LabelEncoder", c.Name, name+".index",
				stringsAttr("keys_strings", c.Categories), &onnxpb.AttributeProto{Name: proto.String("values_int64s"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: index}, intAttr("default_int64", -1))
			g.int64s(name+".categories", index)
			g.node("Equal", []string{name + ".index", name + ".categories"}, name+".is", nil)
			g.node("Cast", []string{name + ".is"}, name+".onehot", []*onnxpb.AttributeProto{intAttr("to", int64(onnxpb.TensorProto_FLOAT))})
			g.int64s(name+".none", []int64{0})
			g.node("Less", []string{name + ".index", name + ".none"}, name+".missing", nil)
			g.node("Where", []string{name + ".missing", g.scalar("nan", onnxpb.TensorProto_FLOAT, nan), name + ".onehot"}, out, nil)
		default:
			return nil, fmt.Errorf("onnx: column %s: type %q is not exported", c.Name, f.Type)
		}
		cols = append(cols, out)
	}
	g.node("Concat", cols, "x", []*onnxpb.AttributeProto{intAttr("axis", 1)})
	g.output("x", m.Config.Input)
	return g.model(&onnxpb.OperatorSetIdProto{Domain: proto.String("ai.onnx.ml"), Version: proto.Int64(MLOpset)})
}

// mlNode adds a node of the ai.onnx.ml domain.
func (g *graph) mlNode(op, in, out string, attrs ...*onnxpb.AttributeProto) {
	g.node(op, []string{in}, out, attrs)
	g.g.Node[len(g.g.Node)-1].Domain = proto.String("ai.onnx.ml")
}

func stringsAttr(name string, v []string) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRINGS.Enum()}
	for _, s := range v {
		a.Strings = append(a.Strings, []byte(s))
	}
	return a
}

func floatsAttr(name string, v ...float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: v}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}
