package onnx_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/onnx"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// runtimeDir is where scripts/onnx installs ONNX Runtime for Node.js.
const runtimeDir = "../scripts/onnx"

// needRuntime skips the test without node or onnxruntime-node.
func needRuntime(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: no node on PATH (ONNX Runtime for Node.js checks the graphs)")
	}
	if _, err := os.Stat(filepath.Join(runtimeDir, "node_modules", "onnxruntime-node")); err != nil {
		t.Skipf("skipped: no onnxruntime-node in %s (cd %s && ONNXRUNTIME_NODE_INSTALL=skip npm install)", runtimeDir, runtimeDir)
	}
}

// ortRun runs the graph at model on the rows of x (width cols) with ONNX
// Runtime and returns its outputs by name.
func ortRun(t *testing.T, model, input string, x []float32, cols int, classes []uint8, outputs ...string) map[string][]float32 {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.f32")
	if err := os.WriteFile(in, f32Bytes(x), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := len(x) / cols
	args := []string{filepath.Join(runtimeDir, "run.js"), model, input, in, fmt.Sprint(rows), fmt.Sprint(cols), dir}
	if classes != nil {
		c := make([]float32, len(classes))
		for i, v := range classes {
			c[i] = float32(v)
		}
		path := filepath.Join(dir, "class.f32")
		if err := os.WriteFile(path, f32Bytes(c), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--class", path)
	}
	b, err := exec.Command("node", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("run.js %s: %v\n%s", model, err, b)
	}
	return readOutputs(t, dir, outputs...)
}

// ortFeed runs the graph at model once on feeds, the inputs as
// scripts/onnx/feed.js reads them, and returns its outputs by name.
func ortFeed(t *testing.T, model string, feeds map[string]any, outputs ...string) map[string][]float32 {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "feeds.json")
	b, err := json.Marshal(feeds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("node", filepath.Join(runtimeDir, "feed.js"), model, path, dir).CombinedOutput(); err != nil {
		t.Fatalf("feed.js %s: %v\n%s", model, err, b)
	}
	return readOutputs(t, dir, outputs...)
}

// readOutputs reads the outputs run.js or feed.js wrote into dir.
func readOutputs(t *testing.T, dir string, outputs ...string) map[string][]float32 {
	t.Helper()
	got := map[string][]float32{}
	for _, name := range outputs {
		raw, err := os.ReadFile(filepath.Join(dir, name+".f32"))
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, len(raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		got[name] = v
	}
	return got
}

func f32Bytes(v []float32) []byte {
	b, _ := binary.Append(nil, binary.LittleEndian, v)
	return b
}

// mnistTest returns the MNIST test set, found or fetched as dataset.Open does.
func mnistTest(t *testing.T) *dataset.Set {
	t.Helper()
	_, test, _, err := dataset.Open(t.Context(), "mnist", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return test
}

// maxDiff returns max |a − b| over the values that are numbers in both;
// +Inf when the lengths differ or a value is NaN in one only.
func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		switch x, y := float64(a[i]), float64(b[i]); {
		case math.IsNaN(x) && math.IsNaN(y):
		case math.IsNaN(x) || math.IsNaN(y):
			return math.Inf(1)
		default:
			d = max(d, math.Abs(x-y))
		}
	}
	return d
}

// ONNX Runtime runs the exported graphs to the outputs of Encode and
// Decode, within 1e-5, for the networks the project trains, on MNIST test
// images where they take them.
func TestRuntimeMatchesModel(t *testing.T) {
	needRuntime(t)
	for _, tc := range []struct {
		name string
		cfg  vae.Config
	}{
		{"pytorch example 784-400-20", vae.Config{Input: 784, Hidden: []int{400}, Latent: 20, Init: nn.InitPyTorch}},
		{"deep tanh, softplus, gaussian", vae.Config{Input: 30, Hidden: []int{16, 8}, Latent: 3, Activations: []nn.Activation{nn.Tanh, nn.Softplus}, Likelihood: vae.Gaussian}},
		{"keras conv", vae.Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2,
			Encoder: []string{"conv32s2", "conv64s2", "dense16"}, Decoder: []string{"dense3136", "reshape64x7x7", "convT64s2", "convT32s2", "convT1"}}},
		{"conditional 784-400-20 of 10 classes", vae.Config{Input: 784, Hidden: []int{400}, Latent: 20, Classes: 10}},
		{"conditional keras conv of 3 classes", vae.Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Classes: 3,
			Encoder: []string{"conv32s2", "conv64s2", "dense16"}, Decoder: []string{"dense3136", "reshape64x7x7", "convT64s2", "convT32s2", "convT1"}}},
		{"conv with pytorch padding, colour", vae.Config{Input: 3 * 9 * 9, Image: []int{3, 9, 9}, Latent: 4, Activation: nn.Tanh,
			Encoder: []string{"conv4k3s2p1", "conv5k2", "dense6"}, Decoder: []string{"dense20", "reshape5x2x2", "convT4k3s2p0", "convT3k3s2p1o0", "convT3k3s1p1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 9))
			m, err := vae.New(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := onnx.Write(dir, m); err != nil {
				t.Fatal(err)
			}
			// The MNIST test set's first images for the networks of 784
			// inputs, random rows in [0, 1] for the others.
			const n = 300
			x := make([]float32, n*tc.cfg.Input)
			if tc.cfg.Input == 784 {
				copy(x, mnistTest(t).X)
			} else {
				for i := range x {
					x[i] = rng.Float32()
				}
			}
			var classes []uint8 // a conditional model's, one per row
			given := m
			if C := tc.cfg.Classes; C > 0 {
				for range n {
					classes = append(classes, uint8(rng.IntN(C)))
				}
				if given, err = m.Given(classes...); err != nil {
					t.Fatal(err)
				}
			}
			mean, logVar, err := given.Encode(x)
			if err != nil {
				t.Fatal(err)
			}
			got := ortRun(t, filepath.Join(dir, onnx.EncoderFile), "x", x, tc.cfg.Input, classes, "z_mean", "z_log_var")
			z := make([]float32, n*tc.cfg.Latent)
			for i := range z {
				z[i] = float32(rng.NormFloat64())
			}
			want, err := given.Decode(z)
			if err != nil {
				t.Fatal(err)
			}
			dec := ortRun(t, filepath.Join(dir, onnx.DecoderFile), "z", z, tc.cfg.Latent, classes, "x_mean")
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"z_mean", got["z_mean"], mean}, {"z_log_var", got["z_log_var"], logVar}, {"x_mean", dec["x_mean"], want}} {
				d := maxDiff(c.got, c.want)
				if !(d <= 1e-5) {
					t.Errorf("%s: max |ONNX Runtime − Go| = %.3g, want ≤ 1e-5", c.name, d)
				} else {
					t.Logf("%s: max |ONNX Runtime − Go| = %.3g", c.name, d)
				}
			}
		})
	}
}

// A table model's graphs take the encoded rows with their missing cells
// (NaN) and give each column's mean, as Encode and Decode do.
func TestRuntimeMatchesTableModel(t *testing.T) {
	needRuntime(t)
	parts := []vae.Part{
		{Name: "age", Likelihood: vae.Gaussian, Width: 1}, {Name: "smoker", Likelihood: vae.Bernoulli, Width: 1},
		{Name: "colour", Likelihood: vae.Categorical, Width: 3}, {Name: "income", Likelihood: vae.Gaussian, Width: 1},
	}
	cfg := vae.Config{Input: 6, Hidden: []int{16}, Latent: 3, Parts: parts}
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := vae.New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := onnx.Write(dir, m); err != nil {
		t.Fatal(err)
	}
	const n = 200
	nan := float32(math.NaN())
	x := make([]float32, 0, n*6)
	for range n {
		row := []float32{float32(rng.NormFloat64()), float32(rng.IntN(2)), 0, 0, 0, float32(rng.NormFloat64())}
		row[2+rng.IntN(3)] = 1
		if rng.IntN(4) == 0 {
			row[0] = nan
		}
		if rng.IntN(4) == 0 {
			row[2], row[3], row[4] = nan, nan, nan
		}
		x = append(x, row...)
	}
	mean, logVar, err := m.Encode(x)
	if err != nil {
		t.Fatal(err)
	}
	got := ortRun(t, filepath.Join(dir, onnx.EncoderFile), "x", x, 6, nil, "z_mean", "z_log_var")
	want, err := m.Decode(mean)
	if err != nil {
		t.Fatal(err)
	}
	dec := ortRun(t, filepath.Join(dir, onnx.DecoderFile), "z", mean, 3, nil, "x_mean")
	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"z_mean", got["z_mean"], mean}, {"z_log_var", got["z_log_var"], logVar}, {"x_mean", dec["x_mean"], want}} {
		if d := maxDiff(c.got, c.want); !(d <= 1e-5) {
			t.Errorf("%s: max |ONNX Runtime − Go| = %.3g, want ≤ 1e-5", c.name, d)
		} else {
			t.Logf("%s: max |ONNX Runtime − Go| = %.3g", c.name, d)
		}
	}
}

// A table model's preprocessing graph encodes the cells as Schema.Encode
// does (missing cells and an unseen category as NaN, with unknown:
// missing), and the encoder graph takes what it gives.
func TestRuntimeMatchesPreprocess(t *testing.T) {
	needRuntime(t)
	rng := rand.New(rand.NewPCG(5, 5))
	colours := []string{"red", "green", "blue"}
	csv := func(n int, extra ...string) string {
		var b strings.Builder
		b.WriteString("id,age,income,smoker,colour\n")
		for i := range n {
			cells := []string{fmt.Sprint(i), fmt.Sprintf("%.2f", 40+12*rng.NormFloat64()), fmt.Sprintf("%.0f", math.Exp(10+rng.NormFloat64())),
				[]string{"no", "yes"}[rng.IntN(2)], colours[rng.IntN(3)]}
			if rng.IntN(5) == 0 {
				cells[1+rng.IntN(4)] = []string{"", "NA"}[rng.IntN(2)]
			}
			b.WriteString(strings.Join(cells, ",") + "\n")
		}
		for _, line := range extra {
			b.WriteString(line + "\n")
		}
		return b.String()
	}
	fit := readRows(t, csv(300))
	schema, err := table.Infer(fit, table.Hints{ID: "id", Types: map[string]table.Type{"income": table.Positive}})
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Fit(fit); err != nil {
		t.Fatal(err)
	}
	schema.Unknown = table.UnknownMissing
	m, err := vae.New(vae.Config{Input: schema.Width(), Hidden: []int{8}, Latent: 2, Parts: vae.TableParts(schema)}, rng)
	if err != nil {
		t.Fatal(err)
	}
	m.Table = schema
	dir := t.TempDir()
	if err := onnx.Write(dir, m); err != nil {
		t.Fatal(err)
	}

	rows := readRows(t, csv(200, "900,33.5,51000,yes,purple", "901,NA,NA,NA,NA"))
	want, err := schema.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]any{}
	for _, f := range schema.Features() {
		var data []any
		for _, r := range rows.Records {
			cell := strings.TrimSpace(r[f.Column])
			switch {
			case f.Type == table.Binary || f.Type == table.Categorical:
				data = append(data, cell)
			case rows.IsMissing(cell):
				data = append(data, nil)
			default:
				x, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					t.Fatal(err)
				}
				data = append(data, x)
			}
		}
		typ := "float64"
		if f.Type == table.Binary || f.Type == table.Categorical {
			typ = "string"
		}
		feeds[f.Name] = map[string]any{"type": typ, "dims": []int{len(data), 1}, "data": data}
	}
	x := ortFeed(t, filepath.Join(dir, onnx.PreprocessFile), feeds, "x")["x"]
	if len(x) != len(want) {
		t.Fatalf("preprocess gave %d values, Schema.Encode %d", len(x), len(want))
	}
	if d := maxDiff(x, want); !(d <= 1e-6) {
		t.Errorf("x: max |ONNX Runtime − Schema.Encode| = %.3g, want ≤ 1e-6", d)
	} else {
		t.Logf("x: max |ONNX Runtime − Schema.Encode| = %.3g", d)
	}
	mean, _, err := m.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got := ortRun(t, filepath.Join(dir, onnx.EncoderFile), "x", x, schema.Width(), nil, "z_mean")
	if d := maxDiff(got["z_mean"], mean); !(d <= 1e-5) {
		t.Errorf("z_mean of the preprocessed cells: max |ONNX Runtime − Go| = %.3g, want ≤ 1e-5", d)
	}
}

// readRows reads a CSV table from text.
func readRows(t *testing.T, csv string) *table.Rows {
	t.Helper()
	r, err := table.NewReader(strings.NewReader(csv), "data.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := table.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
