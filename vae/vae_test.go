package vae

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/nn/nntest"
)

// randomInput returns n rows of width d with values in [0, 1].
func randomInput(rng *rand.Rand, n, d int) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	return x
}

// The whole per-sample loss, with ε held fixed, against finite differences
// for every parameter of the model; with k > 1, the mean over k samples of z
// per input.
func TestLossGradient(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		k    int
	}{
		{"seed shape relu", Config{Input: 7, Hidden: []int{5}, Latent: 2}, 1},
		{"deep tanh", Config{Input: 6, Hidden: []int{5, 4}, Latent: 3, Activation: nn.Tanh}, 1},
		{"softplus glorot", Config{Input: 5, Hidden: []int{4}, Latent: 2, Activation: nn.Softplus, Init: nn.InitGlorot}, 1},
		{"no hidden layer", Config{Input: 4, Latent: 2}, 1},
		{"activation per layer", Config{Input: 6, Hidden: []int{5, 4, 3}, Latent: 2, Activations: []nn.Activation{nn.Tanh, nn.Softplus, nn.ReLU}}, 1},
		{"gaussian learned variance", Config{Input: 5, Hidden: []int{4}, Latent: 2, Likelihood: Gaussian}, 1},
		{"gaussian fixed sigma", Config{Input: 5, Hidden: []int{4}, Latent: 2, Likelihood: Gaussian, Sigma: 0.3}, 1},
		{"k=3 samples", Config{Input: 7, Hidden: []int{5}, Latent: 2}, 3},
		{"k=2 gaussian learned variance", Config{Input: 5, Hidden: []int{4}, Latent: 2, Likelihood: Gaussian}, 2},
		{"k=4 no hidden layer", Config{Input: 4, Latent: 3}, 4},
		{"conv same", smallConv, 1},
		{"conv pytorch padding k=2", Config{Input: 2 * 5 * 5, Image: []int{2, 5, 5}, Latent: 2, Activation: nn.Tanh,
			Encoder: []string{"conv3k3s2p1", "flatten", "dense4:softplus"},
			Decoder: []string{"dense12", "reshape3x2x2", "convT2k3s2p0", "convT2k1"}}, 2},
		{"conditional", Config{Input: 6, Hidden: []int{5}, Latent: 2, Classes: 3, Activation: nn.Tanh}, 1},
		{"conditional k=2 deep", Config{Input: 5, Hidden: []int{4, 3}, Latent: 2, Classes: 4, Activation: nn.Tanh}, 2},
		{"unconditional k=2 deep", Config{Input: 5, Hidden: []int{4, 3}, Latent: 2, Activation: nn.Tanh}, 2},
		{"conditional conv", Config{Input: 36, Image: []int{1, 6, 6}, Latent: 2, Classes: 2, Activation: nn.Tanh,
			Encoder: []string{"conv3s2", "dense5"}, Decoder: []string{"dense27", "reshape3x3x3", "convT1s2"}}, 1},
		{"conv then dense output", Config{Input: 16, Image: []int{1, 4, 4}, Latent: 2, Activation: nn.Tanh,
			Encoder: []string{"conv2k2s2"}, Decoder: []string{"dense8", "reshape2x2x2", "convT2s2", "flatten"}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 7))
			m, err := New(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			const n = 3
			k := tc.k
			x := randomInput(rng, n, tc.cfg.Input)
			p := m.newPass(n, k, true)
			fillNormal(p.eps, rng)
			if C := tc.cfg.Classes; C > 0 {
				p.labels = []uint8{1, 0, uint8(C - 1)}
			}
			const beta = 0.7 // the objective recon + β·KL
			loss := func() float64 {
				r, kl := m.forward(p, x, n, k, 0, 0)
				return (r + beta*kl) / float64(n*k)
			}
			nn.ZeroGrad(m.Params())
			m.forward(p, x, n, k, 1/float32(n*k), beta)
			m.backward(p, x, n, k)
			for _, prm := range m.Params() {
				nntest.CheckGradient(t, prm.Name, prm.Value, prm.Grad, loss)
			}
		})
	}
}

// Loss on a batch equals the mean of the per-row losses, and the two terms
// add up to the total.
func TestLossPerSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m, _ := New(Config{Input: 10, Hidden: []int{8}, Latent: 2}, rng)
	x := randomInput(rng, 5, 10)
	all, err := m.Loss(x, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(all.Total-(all.Recon+all.KL)) > 1e-9 {
		t.Errorf("total %v != recon %v + KL %v", all.Total, all.Recon, all.KL)
	}
	// Same ε stream row by row: ε is drawn row-major, so row i takes the
	// i-th pair of draws.
	eps := rand.New(rand.NewPCG(1, 1))
	var sum float64
	for i := range 5 {
		l, _ := m.Loss(x[i*10:(i+1)*10], eps)
		sum += l.Total
	}
	if math.Abs(sum/5-all.Total) > 1e-4 {
		t.Errorf("mean of row losses %v, batch loss %v", sum/5, all.Total)
	}
}

func TestBadLengths(t *testing.T) {
	m, _ := New(Config{Input: 4, Hidden: []int{3}, Latent: 2}, rand.New(rand.NewPCG(1, 1)))
	if _, _, err := m.Encode(make([]float32, 6)); err == nil {
		t.Error("Encode accepted 6 values for input size 4")
	}
	if _, err := m.Decode(make([]float32, 3)); err == nil {
		t.Error("Decode accepted 3 values for latent size 2")
	}
	if err := m.DecodeTo(make([]float32, 7), make([]float32, 4)); err == nil {
		t.Error("DecodeTo accepted a dst of 7 values for 2 rows of 4")
	}
	if _, err := m.Loss(nil, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("Loss accepted an empty batch")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Input: 0, Latent: 2}, "input size 0"},
		{Config{Input: 4, Latent: 0}, "latent size 0"},
		{Config{Input: 4, Hidden: []int{3, -1}, Latent: 2}, "hidden[1] = -1"},
		{Config{Input: 4, Latent: 2, Activation: "gelu"}, `"gelu"`},
		{Config{Input: 4, Latent: 2, Init: "he"}, `"he"`},
		{Config{Input: 4, Latent: 2, Likelihood: "poisson"}, `"poisson"`},
		{Config{Input: 4, Hidden: []int{3, 3}, Latent: 2, Activations: []nn.Activation{nn.Tanh}}, "1 activations for 2 hidden layers"},
		{Config{Input: 4, Hidden: []int{3}, Latent: 2, Activations: []nn.Activation{"gelu"}}, "activations[0]"},
		{Config{Input: 4, Latent: 2, Likelihood: Gaussian, Sigma: -1}, "sigma -1"},
		{Config{Input: 4, Latent: 2, Sigma: 0.5}, "sigma 0.5 set for a bernoulli"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", tc.cfg, err, tc.want)
		}
	}
	if got := (Config{Input: 784, Hidden: []int{400}, Latent: 20}).String(); got != "784-400-20" {
		t.Errorf("String() = %q", got)
	}
}

// The importance-weighted bound of k samples per input, with ε held fixed,
// against finite differences for every parameter.
func TestIWAEGradient(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		k    int
	}{
		{"k=3", Config{Input: 7, Hidden: []int{5}, Latent: 2, Init: nn.InitPyTorch}, 3},
		{"k=1 deep tanh", Config{Input: 6, Hidden: []int{5, 4}, Latent: 3, Activation: nn.Tanh}, 1},
		{"k=4 gaussian", Config{Input: 5, Hidden: []int{4}, Latent: 2, Likelihood: Gaussian, Sigma: 0.4}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 9))
			m, err := New(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			const n = 2
			k, D, L := tc.k, tc.cfg.Input, tc.cfg.Latent
			x := randomInput(rng, n, D)
			p := m.newPass(n, k, true)
			fillNormal(p.eps, rng)
			loss := func() float64 { // (1/n) Σ_i −log (1/k) Σ_s w_is
				m.forward(p, x, n, k, 0, 0)
				var total float64
				for i := range n {
					var acc logSumExp
					for s := range k {
						r := i*k + s
						lw := -float64(p.recon[r])
						for j := r * L; j < (r+1)*L; j++ {
							e, z := float64(p.eps[j]), float64(p.z[j])
							lw += 0.5 * (e*e - z*z + float64(p.logVar[j]))
						}
						acc.add(lw)
					}
					total -= acc.value() - math.Log(float64(k))
				}
				return total / n
			}
			nn.ZeroGrad(m.Params())
			m.forward(p, x, n, k, 1.0/n, 0)
			p.importanceWeights(n*k, k, L, 1.0/n)
			m.backward(p, x, n, k)
			for _, prm := range m.Params() {
				nntest.CheckGradient(t, prm.Name, prm.Value, prm.Grad, loss)
			}
		})
	}
}

// k samples of z per input give, row for row, the losses and samples of a
// pass over each input repeated k times with the same noise (up to rounding:
// the encoder's products of 3 and of 12 rows may round differently).
func TestSamplesMatchRepeatedInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	cfg := Config{Input: 6, Hidden: []int{5, 4}, Latent: 3, Activation: nn.Tanh}
	m, err := New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	const n, k = 3, 4
	D, L := cfg.Input, cfg.Latent
	x := randomInput(rng, n, D)
	repeated := make([]float32, n*k*D)
	for r := range n * k {
		copy(repeated[r*D:(r+1)*D], x[r/k*D:(r/k+1)*D])
	}
	p, q := m.newPass(n, k, false), m.newPass(n*k, 1, false)
	fillNormal(p.eps, rng)
	copy(q.eps, p.eps)
	m.forward(p, x, n, k, 0, 0)
	m.forward(q, repeated, n*k, 1, 0, 0)
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5*(1+math.Abs(float64(b))) }
	for r := range n * k {
		if !near(p.recon[r], q.recon[r]) || !near(p.kl[r], q.kl[r]) {
			t.Errorf("row %d: recon, KL %v, %v; repeated input %v, %v", r, p.recon[r], p.kl[r], q.recon[r], q.kl[r])
		}
	}
	for i := range n * k * L {
		if !near(p.z[i], q.z[i]) {
			t.Fatalf("z[%d] = %v, repeated input %v", i, p.z[i], q.z[i])
		}
	}
}
