// Package onnx writes a model's networks as ONNX graphs, for the runtimes
// where Go is not (ONNX Runtime from Python, C#, Java, JavaScript): the
// encoder, x → z_mean, z_log_var, and the decoder, z → the means of p(x|z),
// each a self-contained .onnx file with the weights inside.
//
// Both graphs take and give rows, as the Go methods do: the encoder's input
// "x" is [N, Input] (a convolutional encoder reshapes it to images inside),
// its outputs "z_mean" and "z_log_var" [N, Latent]; the decoder's input "z"
// is [N, Latent] and its output "x_mean" [N, Input]: the sigmoid of the
// logits for a Bernoulli likelihood, the means for a Gaussian one. A
// conditional model's graphs take each row's class too, "class" [N] as
// int64 (Gather of its embedding, Add). A table model's graphs take and give
// encoded rows, as Schema.Encode writes them (NaN where a cell is missing)
// and Schema.Decode reads them: the encoder masks the missing parts and adds
// their indicators, the decoder gives each part's mean (a softmax for a
// categorical part), and a third graph, Preprocess, encodes the cells of
// its columns as Schema.Encode does. N is free. The operators are those of
// the default domain at Opset: Gemm, Conv, ConvTranspose, Reshape, Flatten,
// Relu, Tanh, Softplus, Sigmoid, Softmax, Gather, Add, IsNaN, Cast, Where,
// Slice, Concat (and Log, Greater, Less, Sub, Div, Equal with ai.onnx.ml's
// LabelEncoder at MLOpset in the preprocessing).
package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/govae/vae/internal/atomicfile"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/onnx/internal/onnxpb"
	"github.com/govae/vae/vae"
)

// Opset is the version of the default ONNX operator set the graphs use.
const Opset = 17

// irVersion is the ONNX IR version of the files: 8, the one of opset 17.
const irVersion = 8

// The files Write writes.
const (
	EncoderFile = "encoder.onnx"
	DecoderFile = "decoder.onnx"
)

// Write writes m's encoder and decoder graphs into dir as EncoderFile and
// DecoderFile, and a table model's preprocessing as PreprocessFile, each
// atomically.
func Write(dir string, m *vae.Model) error {
	enc, err := Encoder(m)
	if err != nil {
		return err
	}
	dec, err := Decoder(m)
	if err != nil {
		return err
	}
	files := map[string][]byte{EncoderFile: enc, DecoderFile: dec}
	if m.Table != nil {
		if files[PreprocessFile], err = Preprocess(m); err != nil {
			return err
		}
	}
	for name, b := range files {
		if err := atomicfile.Write(filepath.Join(dir, name), func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// Encoder returns the ONNX model of m's encoder: "x" [N, Input] to
// "z_mean" and "z_log_var" [N, Latent].
func Encoder(m *vae.Model) ([]byte, error) {
	if err := exportable(m); err != nil {
		return nil, err
	}
	c := m.Config
	g := newGraph("encoder")
	g.input("x", c.Input)
	g.classInput(m)
	in := "x"
	if c.Parts != nil {
		in = g.maskedInput("x", c.Parts)
	}
	h, err := g.stack("encoder", in, m.Encoder, m.EncoderClass)
	if err != nil {
		return nil, err
	}
	h = g.flat(h)
	g.gemm("z_mean", h, m.ZMean)
	g.gemm("z_log_var", h, m.ZLogVar)
	g.output("z_mean", c.Latent)
	g.output("z_log_var", c.Latent)
	return g.model()
}

// Decoder returns the ONNX model of m's decoder: "z" [N, Latent] to
// "x_mean" [N, Input], the means of p(x|z).
func Decoder(m *vae.Model) ([]byte, error) {
	if err := exportable(m); err != nil {
		return nil, err
	}
	c := m.Config
	g := newGraph("decoder")
	g.input("z", c.Latent)
	g.classInput(m)
	h, err := g.stack("decoder", "z", m.Decoder, m.DecoderClass)
	if err != nil {
		return nil, err
	}
	h = g.flat(h)
	switch {
	case c.Parts != nil:
		g.partMeans(h, "x_mean", c.Parts)
	case c.Likelihood == vae.Gaussian:
		g.node("Identity", []string{h}, "x_mean", nil)
	default:
		g.node("Sigmoid", []string{h}, "x_mean", nil)
	}
	g.output("x_mean", c.Input)
	return g.model()
}

// exportable refuses the models whose graphs Encoder and Decoder cannot
// write yet.
func exportable(m *vae.Model) error {
	for _, p := range m.Config.Parts {
		switch p.Likelihood {
		case vae.Gaussian, vae.Bernoulli, vae.Categorical:
		default:
			return fmt.Errorf("onnx: part %s: likelihood %q is not exported", p.Name, p.Likelihood)
		}
	}
	return nil
}

// maskedInput adds what a model of parts' encoder reads for the encoded
// rows x [N, Input] (NaN where a part is missing): x with the missing parts
// zeroed, then one indicator per part, 1 where it is missing (a part is
// missing when its first value is NaN).
func (g *graph) maskedInput(x string, parts []vae.Part) string {
	var first, partOf []int64 // each part's first column; each column's part
	for i, p := range parts {
		first = append(first, int64(len(partOf)))
		for range p.Width {
			partOf = append(partOf, int64(i))
		}
	}
	g.int64s("parts.first", first)
	g.int64s("parts.of_column", partOf)
	axis1 := []*onnxpb.AttributeProto{intAttr("axis", 1)}
	g.node("Gather", []string{x, "parts.first"}, "parts.first_values", axis1)
	g.node("IsNaN", []string{"parts.first_values"}, "parts.missing", nil)
	g.node("Cast", []string{"parts.missing"}, "parts.indicators", []*onnxpb.AttributeProto{intAttr("to", int64(onnxpb.TensorProto_FLOAT))})
	g.node("Gather", []string{"parts.missing", "parts.of_column"}, "parts.missing_columns", axis1)
	g.node("Where", []string{"parts.missing_columns", g.scalar("parts.zero", onnxpb.TensorProto_FLOAT, 0), x}, "parts.zeroed", nil)
	g.node("Concat", []string{"parts.zeroed", "parts.indicators"}, "parts.encoder_input", axis1)
	g.rank["parts.encoder_input"] = 2
	return "parts.encoder_input"
}

// partMeans adds the means of the parts given the decoder's outputs h
// [N, Input], as out: a Gaussian part's mean, a Bernoulli part's sigmoid, a
// categorical part's softmax over its columns.
func (g *graph) partMeans(h, out string, parts []vae.Part) {
	var means []string
	off := 0
	for i, p := range parts {
		name := fmt.Sprintf("parts.%d", i)
		g.int64s(name+".starts", []int64{int64(off)})
		g.int64s(name+".ends", []int64{int64(off + p.Width)})
		g.int64s(name+".axes", []int64{1})
		g.node("Slice", []string{h, name + ".starts", name + ".ends", name + ".axes"}, name+".outputs", nil)
		mean := name + ".mean"
		switch p.Likelihood {
		case vae.Gaussian:
			g.node("Identity", []string{name + ".outputs"}, mean, nil)
		case vae.Bernoulli:
			g.node("Sigmoid", []string{name + ".outputs"}, mean, nil)
		default:
			g.node("Softmax", []string{name + ".outputs"}, mean, []*onnxpb.AttributeProto{intAttr("axis", 1)})
		}
		means = append(means, mean)
		off += p.Width
	}
	g.node("Concat", means, out, []*onnxpb.AttributeProto{intAttr("axis", 1)})
}

// int64s adds a one-dimensional int64 initializer.
func (g *graph) int64s(name string, v []int64) {
	g.g.Initializer = append(g.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v,
	})
}

// graph is an ONNX graph being built, with the rank of each value: 2 for
// rows [N, n], 4 for images [N, C, H, W].
type graph struct {
	g    *onnxpb.GraphProto
	rank map[string]int
	has  map[string]bool // shared initializers added
	n    int             // for unique value names
}

func newGraph(name string) *graph {
	return &graph{g: &onnxpb.GraphProto{Name: proto.String(name)}, rank: map[string]int{}, has: map[string]bool{}}
}

// classInput adds a conditional model's second input, "class" [N], each
// row's class as an int64.
func (g *graph) classInput(m *vae.Model) {
	if m.Config.Classes == 0 {
		return
	}
	g.g.Input = append(g.g.Input, tensorInfo("class", onnxpb.TensorProto_INT64))
}

// stack adds the nodes of layers, whose input is the value in, and returns
// the name of their output. A conditional model's class embedding e, if
// not nil, adds its row of each input's "class" to the output of the dense
// layer it belongs to (named as e's table, less ".class").
func (g *graph) stack(net, in string, layers []nn.Layer, e *nn.Embedding) (string, error) {
	h := in
	for i, l := range layers {
		name := fmt.Sprintf("%s.%d", net, i)
		switch l := l.(type) {
		case *nn.Dense:
			h = g.gemm(name, g.flat(h), l)
			if e != nil && strings.TrimSuffix(e.W.Name, ".class") == strings.TrimSuffix(l.W.Name, ".weight") {
				g.init(e.W.Name, e.W.Shape, e.W.Value)
				rows := g.fresh(e.W.Name + ".rows")
				g.node("Gather", []string{e.W.Name, "class"}, rows, nil)
				out := g.fresh(name + ".given")
				g.node("Add", []string{h, rows}, out, nil)
				g.rank[out], h = 2, out
			}
		case *nn.Conv2D:
			h = g.conv("Conv", name, g.image(h, l.In, l.InH, l.InW), l.W, l.B,
				ints("kernel_shape", l.KH, l.KW), ints("strides", l.Stride, l.Stride),
				ints("pads", l.Pad.Top, l.Pad.Left, l.Pad.Bottom, l.Pad.Right))
		case *nn.ConvTranspose2D:
			h = g.conv("ConvTranspose", name, g.image(h, l.In, l.InH, l.InW), l.W, l.B,
				ints("kernel_shape", l.KH, l.KW), ints("strides", l.Stride, l.Stride),
				ints("pads", l.Pad.Top, l.Pad.Left, l.Pad.Bottom, l.Pad.Right),
				ints("output_padding", l.OutPad, l.OutPad))
		case nn.Activate:
			op := map[nn.Activation]string{nn.ReLU: "Relu", nn.Tanh: "Tanh", nn.Softplus: "Softplus", nn.Identity: "Identity"}[l.Fn]
			if op == "" {
				return "", fmt.Errorf("onnx: %s: activation %q has no ONNX operator here", name, l.Fn)
			}
			g.node(op, []string{h}, name, nil)
			g.rank[name], h = g.rank[h], name
		default:
			return "", fmt.Errorf("onnx: %s: layer %T is not exported", name, l)
		}
	}
	return h, nil
}

// gemm adds out = x·Wᵀ + b for the dense layer d.
func (g *graph) gemm(out, x string, d *nn.Dense) string {
	g.init(d.W.Name, d.W.Shape, d.W.Value)
	g.init(d.B.Name, d.B.Shape, d.B.Value)
	g.node("Gemm", []string{x, d.W.Name, d.B.Name}, out, []*onnxpb.AttributeProto{intAttr("transB", 1)})
	g.rank[out] = 2
	return out
}

// conv adds the convolution op (Conv or ConvTranspose) of images x with
// weight w and bias b, as the images out.
func (g *graph) conv(op, out, x string, w, b *nn.Param, attrs ...*onnxpb.AttributeProto) string {
	g.init(w.Name, w.Shape, w.Value)
	g.init(b.Name, b.Shape, b.Value)
	g.node(op, []string{x, w.Name, b.Name}, out, attrs)
	g.rank[out] = 4
	return out
}

// flat returns the value v as rows [N, ·], flattening images.
func (g *graph) flat(v string) string {
	if g.rank[v] != 4 {
		return v
	}
	out := g.fresh(v + ".flat")
	g.node("Flatten", []string{v}, out, []*onnxpb.AttributeProto{intAttr("axis", 1)})
	g.rank[out] = 2
	return out
}

// image returns the value v as images [N, c, h, w], reshaping rows (or
// images of another shape: their values are in the same order).
func (g *graph) image(v string, c, h, w int) string {
	shape := g.fresh(v + ".shape")
	g.int64s(shape, []int64{-1, int64(c), int64(h), int64(w)})
	out := g.fresh(v + ".image")
	g.node("Reshape", []string{v, shape}, out, nil)
	g.rank[out] = 4
	return out
}

func (g *graph) fresh(prefix string) string {
	g.n++
	return fmt.Sprintf("%s.%d", prefix, g.n)
}

func (g *graph) node(op string, in []string, out string, attrs []*onnxpb.AttributeProto) {
	g.g.Node = append(g.g.Node, &onnxpb.NodeProto{
		OpType: proto.String(op), Name: proto.String(out), Input: in, Output: []string{out}, Attribute: attrs,
	})
}

// scalar returns the name of a scalar initializer of type t (FLOAT or
// DOUBLE), adding it the first time.
func (g *graph) scalar(name string, t onnxpb.TensorProto_DataType, v float64) string {
	if g.has[name] {
		return name
	}
	g.has[name] = true
	c := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(t))}
	if t == onnxpb.TensorProto_DOUBLE {
		c.DoubleData = []float64{v}
	} else {
		c.FloatData = []float32{float32(v)}
	}
	g.g.Initializer = append(g.g.Initializer, c)
	return name
}

// init adds a float32 initializer of the given shape.
func (g *graph) init(name string, shape []int, v []float32) {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	raw, _ := binary.Append(nil, binary.LittleEndian, v) // ONNX's raw_data is little-endian; a []float32 always encodes
	g.g.Initializer = append(g.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw,
	})
}

func (g *graph) input(name string, width int) {
	g.g.Input = append(g.g.Input, rows(name, width))
	g.rank[name] = 2
}

func (g *graph) output(name string, width int) {
	g.g.Output = append(g.g.Output, rows(name, width))
}

// rows describes a float tensor [N, width], N free.
func rows(name string, width int) *onnxpb.ValueInfoProto {
	return tensorInfo(name, onnxpb.TensorProto_FLOAT, width)
}

// tensorInfo describes a tensor of type t, [N] or with width [N, width], N
// free.
func tensorInfo(name string, t onnxpb.TensorProto_DataType, width ...int) *onnxpb.ValueInfoProto {
	dims := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}
	for _, w := range width {
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(w)}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(t)), Shape: &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func ints(name string, v ...int) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum()}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

// model returns the graph as a model file's bytes, importing the default
// operator set at Opset and the other sets given.
func (g *graph) model(opsets ...*onnxpb.OperatorSetIdProto) ([]byte, error) {
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(irVersion),
		ProducerName: proto.String("govae"),
		OpsetImport:  append([]*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}}, opsets...),
		Graph:        g.g,
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return b, nil
}
