package vae

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/safetensors"
)

// python is the interpreter that has PyTorch (Debian's python3-torch).
const python = "/usr/bin/python3"

// torchTolerance bounds every difference to PyTorch, relative to the largest
// magnitude of the tensor compared (see worstDiff).
const torchTolerance = 1e-4

// torchParts is a table of five columns for the PyTorch checks: two
// continuous, a binary one and two categorical ones.
var torchParts = []Part{
	{"age", Gaussian, 1}, {"smoker", Bernoulli, 1}, {"colour", Categorical, 3}, {"income", Gaussian, 1}, {"blood", Categorical, 4},
}

// One training step of the model (forward, loss, backward, Adam) equals the
// same step in PyTorch, computed by scripts/torch_reference.py from the same
// weights, batch and noise: the loss and its two terms, every gradient and
// every weight after the step. Models of parts take a batch with missing
// cells and learned log-variances that are not zero.
func TestMatchesPyTorch(t *testing.T) {
	needTorch(t)
	adam := func(eps float64) optim.Config {
		return optim.Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: eps}
	}
	for i, tc := range []struct {
		name string
		cfg  Config
		opt  optim.Config // Adam's
	}{
		{"pytorch example 784-400-20", Config{Input: 784, Hidden: []int{400}, Latent: 20, Activation: nn.ReLU, Init: nn.InitPyTorch}, adam(1e-8)},
		{"keras example 784-512-2", Config{Input: 784, Hidden: []int{512}, Latent: 2, Activation: nn.ReLU, Init: nn.InitGlorot}, adam(1e-7)},
		{"deep tanh 97-61-29-5", Config{Input: 97, Hidden: []int{61, 29}, Latent: 5, Activation: nn.Tanh, Init: nn.InitPyTorch}, adam(1e-8)},
		{"per-layer softplus, tanh 50-30-20-4", Config{Input: 50, Hidden: []int{30, 20}, Latent: 4, Activations: []nn.Activation{nn.Softplus, nn.Tanh}, Init: nn.InitPyTorch}, adam(1e-8)},
		{"parts with missing cells, tanh 10-16-8-3", Config{Input: 10, Hidden: []int{16, 8}, Latent: 3, Activation: nn.Tanh, Init: nn.InitPyTorch, Parts: torchParts}, adam(1e-8)},
		{"parts with missing cells, per-layer relu, softplus 10-24-12-2", Config{Input: 10, Hidden: []int{24, 12}, Latent: 2, Activations: []nn.Activation{nn.ReLU, nn.Softplus}, Init: nn.InitGlorot, Parts: torchParts}, adam(1e-7)},
		{"parts with missing cells, no hidden layer 10-4", Config{Input: 10, Latent: 4, Init: nn.InitPyTorch, Parts: torchParts}, adam(1e-8)},
		{"keras conv example", kerasConv, adam(1e-7)},
		{"conditional 784-400-20 of 10 classes", Config{Input: 784, Hidden: []int{400}, Latent: 20, Classes: 10, Activation: nn.ReLU, Init: nn.InitPyTorch}, adam(1e-8)},
		{"conditional keras conv of 10 classes", Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Classes: 10, Init: nn.InitGlorot,
			Encoder: kerasConv.Encoder, Decoder: kerasConv.Decoder}, adam(1e-7)},
		{"conv with pytorch padding, tanh, gaussian", Config{Input: 2 * 9 * 9, Image: []int{2, 9, 9}, Latent: 3, Activation: nn.Tanh, Init: nn.InitPyTorch, Likelihood: Gaussian,
			Encoder: []string{"conv4k3s2p1", "conv5k2:softplus", "flatten", "dense6"},
			Decoder: []string{"dense20", "reshape5x2x2", "convT4k3s2p0", "convT3k3s2p1o0:relu", "convT2k3s1p1"}}, adam(1e-8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 32
			rng := rand.New(rand.NewPCG(1, uint64(i)))
			m, err := New(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			var x []float32 // [n, Input]
			if tc.cfg.Parts != nil {
				x = partsInput(rng, tc.cfg.Parts, n, 0.3)
				for i := range m.OutputLogVar.Value { // learned variances, not all 1
					m.OutputLogVar.Value[i] = float32(rng.Float64()*2 - 1)
				}
			} else {
				x = randomInput(rng, n, tc.cfg.Input)
			}
			eps := make([]float32, n*tc.cfg.Latent)
			fillNormal(eps, rng)
			var labels []uint8 // a conditional model's classes
			for range n * min(tc.cfg.Classes, 1) {
				labels = append(labels, uint8(rng.IntN(tc.cfg.Classes)))
			}

			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
			writeStepInput(t, in, m, x, labels, eps, tc.opt)
			b, err := exec.Command(python, "../scripts/torch_reference.py", "step", in, out).CombinedOutput()
			if err != nil {
				t.Fatalf("torch_reference.py step: %v\n%s", err, b)
			}
			want := readSafetensors(t, out)
			t.Logf("PyTorch %s, BLAS %s", want.Metadata["torch"], want.Metadata["blas"])

			params := m.Params()
			before := make([][]float32, len(params))
			for j, prm := range params {
				before[j] = slices.Clone(prm.Value)
			}
			// check compares got with PyTorch's tensor called name, each
			// element after taking off what slack(i) allows, if slack
			// is not nil.
			check := func(name string, got []float32, shape []int, slack func(i int) float64, note string) {
				t.Helper()
				w, err := want.Get(name, shape...)
				if err != nil {
					t.Errorf("PyTorch's output: %v", err)
					return
				}
				rel, at := worstDiff(got, w, slack)
				msg := fmt.Sprintf("%-24s worst relative difference %.2e at %d: Go %.9g, PyTorch %.9g%s", name, rel, at, got[at], w[at], note)
				if !(rel <= torchTolerance) {
					t.Errorf("%s; more than %g", msg, torchTolerance)
					return
				}
				t.Log(msg)
			}
			// Go's own step, on one goroutine and cut into shards.
			for _, shards := range []int{1, 3} {
				sh := fmt.Sprintf(" (%d shards)", shards)
				for j, prm := range params {
					copy(prm.Value, before[j])
				}
				opt, err := optim.New("adam", params, tc.opt)
				if err != nil {
					t.Fatal(err)
				}
				st := m.newStepper(n, 1, shards, opt)
				recon, kl, err := st.step(x, labels, eps, n, 1, objective{beta: 1}) // forward, backward, Adam
				st.close()
				if err != nil {
					t.Fatal(err)
				}

				check("loss", []float32{float32((recon + kl) / n)}, nil, nil, sh)
				check("recon", []float32{float32(recon / n)}, nil, nil, sh)
				check("kl", []float32{float32(kl / n)}, nil, nil, sh)
				for _, prm := range params {
					check("grad/"+prm.Name, prm.Grad, prm.Shape, nil, sh)
				}

				// The weights after Go's own step. Adam's first step moves a
				// weight by −lr·g/(|g|+ε): where a gradient is within
				// rounding of zero (|g| ~ ε) that is anything from −lr to +lr,
				// so each weight may differ, beyond the tolerance, by what the
				// difference of its two gradients explains.
				for _, prm := range params {
					grad := mustGet(t, want, "grad/"+prm.Name)
					explained := func(i int) float64 {
						return math.Abs(firstAdamStep(tc.opt, prm.Grad[i]) - firstAdamStep(tc.opt, grad[i]))
					}
					check("after/"+prm.Name, prm.Value, prm.Shape, explained, sh+" (beyond what the gradients' difference explains)")
				}

			}

			// Every weight after Adam's step from the same weights with
			// PyTorch's gradients: the optimizer on its own.
			for j, prm := range params {
				copy(prm.Value, before[j])
				copy(prm.Grad, mustGet(t, want, "grad/"+prm.Name))
			}
			opt, err := optim.New("adam", params, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			opt.Step()
			for _, prm := range params {
				check("after/"+prm.Name, prm.Value, prm.Shape, nil, " (Adam on PyTorch's gradients)")
			}
		})
	}
}

// partsInput returns n rows of the parts ps, each part missing (NaN) with
// probability missing, but none in row 0 and all in row 1: Gaussian values
// around 0.5 with a standard deviation of 1.5, binary 0 or 1, one-hot
// categories.
func partsInput(rng *rand.Rand, ps []Part, n int, missing float64) []float32 {
	var x []float32
	for r := range n {
		for _, p := range ps {
			v := make([]float32, p.Width)
			switch p.Likelihood {
			case Gaussian:
				v[0] = float32(0.5 + 1.5*rng.NormFloat64())
			case Bernoulli:
				v[0] = float32(rng.IntN(2))
			default:
				v[rng.IntN(p.Width)] = 1
			}
			if r == 1 || r != 0 && rng.Float64() < missing {
				for j := range v {
					v[j] = float32(math.NaN())
				}
			}
			x = append(x, v...)
		}
	}
	return x
}

// writeStepInput writes what scripts/torch_reference.py step reads: m's
// parameters under their model-file names, the batch x and the noise eps,
// with the configuration and Adam's hyperparameters in the metadata.
func writeStepInput(t *testing.T, path string, m *Model, x []float32, labels []uint8, eps []float32, adam optim.Config) {
	t.Helper()
	n := len(x) / m.Config.Input
	ts := []safetensors.Tensor{
		{Name: "x", Shape: []int{n, m.Config.Input}, Data: x},
		{Name: "eps", Shape: []int{n, m.Config.Latent}, Data: eps},
	}
	if labels != nil {
		y := make([]float32, n)
		for i, c := range labels {
			y[i] = float32(c)
		}
		ts = append(ts, safetensors.Tensor{Name: "labels", Shape: []int{n}, Data: y})
	}
	for _, prm := range m.Params() {
		ts = append(ts, safetensors.Tensor{Name: prm.Name, Shape: prm.Shape, Data: prm.Value})
	}
	var b bytes.Buffer
	if err := safetensors.Write(&b, ts, map[string]string{metaConfig: mustJSON(m.Config), "adam": mustJSON(adam)}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustGet returns the tensor called name in f, of any shape.
func mustGet(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	v, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("PyTorch's output has no tensor %s", name)
	}
	return v.Data
}

// readSafetensors reads the safetensors file at path.
func readSafetensors(t *testing.T, path string) *safetensors.File {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := safetensors.Read(fh)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// worstDiff returns the largest |got[i] − want[i]| − slack(i) (slack may be
// nil: none), relative to the largest |want| of the tensor (a tensor of
// zeros counts as 1e-30), and its index i. A NaN (in got, want or the
// slack) gives +Inf. got and want have the same length.
func worstDiff(got, want []float32, slack func(i int) float64) (rel float64, at int) {
	scale := max(maxAbs(want), 1e-30)
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if slack != nil {
			d -= slack(i)
		}
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d/scale > rel {
			rel, at = d/scale, i
		}
	}
	return rel, at
}

// firstAdamStep returns how much Adam's first step, without weight decay,
// changes a weight whose gradient is g: the bias-corrected moments are g
// and g², so −lr·g/(|g|+ε).
func firstAdamStep(c optim.Config, g float32) float64 {
	return -c.LR * float64(g) / (math.Abs(float64(g)) + c.Eps)
}

// maxAbs returns the largest |v[i]|, 0 for an empty v.
func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}
