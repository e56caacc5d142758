package vae

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/nn/nntest"
)

// tableParts is a small table: a continuous column, a binary one, a
// categorical one of three and another continuous one.
var tableParts = []Part{
	{"age", Gaussian, 1}, {"smoker", Bernoulli, 1}, {"colour", Categorical, 3}, {"income", Gaussian, 1},
}

// tableInput returns n rows of parts ps with each part missing (NaN) with
// probability missing.
func tableInput(rng *rand.Rand, ps []Part, n int, missing float64) []float32 {
	var x []float32
	for range n {
		for _, p := range ps {
			v := make([]float32, p.Width)
			switch p.Likelihood {
			case Gaussian:
				v[0] = float32(rng.NormFloat64())
			case Bernoulli:
				v[0] = float32(rng.IntN(2))
			case Categorical:
				v[rng.IntN(p.Width)] = 1
			}
			if rng.Float64() < missing {
				for j := range v {
					v[j] = float32(math.NaN())
				}
			}
			x = append(x, v...)
		}
	}
	return x
}

func partsConfig(hidden ...int) Config {
	return Config{Input: 6, Hidden: hidden, Latent: 2, Activation: nn.Tanh, Parts: tableParts} // smooth, for finite differences
}

// The loss of a model of parts, with missing values, against finite
// differences for every parameter, the learned variances included.
func TestPartsGradient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		k       int
		missing float64
	}{
		{"observed", partsConfig(5), 1, 0},
		{"missing", partsConfig(5), 1, 0.3},
		{"k=2 missing", partsConfig(4, 3), 2, 0.3},
		{"no hidden layer", partsConfig(), 1, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 9))
			m, err := New(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			fillNormal(m.OutputLogVar.Value, rng) // not all zero, as training leaves them
			const n = 4
			x := tableInput(rng, tableParts, n, tc.missing)
			p := m.newPass(n, tc.k, true)
			fillNormal(p.eps, rng)
			loss := func() float64 {
				r, kl := m.forward(p, x, n, tc.k, 0, 0)
				return (r + kl) / float64(n*tc.k)
			}
			nn.ZeroGrad(m.Params())
			m.forward(p, x, n, tc.k, 1/float32(n*tc.k), 1)
			m.backward(p, x, n, tc.k)
			for _, prm := range m.Params() {
				nntest.CheckGradient(t, prm.Name, prm.Value, prm.Grad, loss)
			}
		})
	}
}

// The reconstruction term of one row, part by part, against the
// likelihoods written out: a Gaussian's −log N(x; μ, σ²), a Bernoulli's
// −log σ(±l), a categorical's −log softmax; a missing part costs nothing.
func TestPartsLoss(t *testing.T) {
	ps := newParts(tableParts, nn.NewParam("output.log_var", 6))
	ps.logVar.Value[0], ps.logVar.Value[5] = 0.5, -1
	out := []float32{0.3, 2, 1, 0, -1, 4}
	nan := float32(math.NaN())
	x := []float32{1, 0, 0, 0, 1, nan}
	part := make([]float32, 4)
	got := ps.nll(nil, nil, part, out, x, 1)
	logSoftmax := func(l []float64, j int) float64 {
		var s float64
		for _, v := range l {
			s += math.Exp(v)
		}
		return l[j] - math.Log(s)
	}
	want := []float64{
		0.5 * ((1-0.3)*(1-0.3)/math.Exp(0.5) + 0.5 + math.Log(2*math.Pi)),
		-math.Log(1 - 1/(1+math.Exp(-2))),
		-logSoftmax([]float64{1, 0, -1}, 2),
		0,
	}
	var sum float64
	for i, w := range want {
		if math.Abs(float64(part[i])-w) > 1e-6 {
			t.Errorf("part %s: loss %v, want %v", tableParts[i].Name, part[i], w)
		}
		sum += w
	}
	if math.Abs(got-sum) > 1e-6 {
		t.Errorf("row loss %v, want %v", got, sum)
	}
	mean := make([]float32, 6)
	ps.mean(mean, out)
	if mean[0] != 0.3 || math.Abs(float64(mean[1])-1/(1+math.Exp(-2))) > 1e-6 || math.Abs(float64(mean[2]+mean[3]+mean[4])-1) > 1e-6 {
		t.Errorf("mean %v: want the Gaussian's μ, σ(2) and probabilities adding to 1", mean)
	}
}

// The encoder sees missing values as zeros beside a 1 per missing part.
func TestMaskedInput(t *testing.T) {
	ps := newParts(tableParts, nil)
	nan := float32(math.NaN())
	x := []float32{1.5, nan, nan, nan, nan, -2}
	dst := make([]float32, 10)
	ps.maskedInput(dst, x, 1)
	want := []float32{1.5, 0, 0, 0, 0, -2, 0, 1, 1, 0}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("masked input %v, want %v", dst, want)
		}
	}
}

// Inputs a model cannot take are errors naming the row and the part or
// column, not NaN scores.
func TestCheckInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	bern, _ := New(Config{Input: 3, Latent: 2}, rng)
	gauss, _ := New(Config{Input: 3, Latent: 2, Likelihood: Gaussian}, rng)
	table, _ := New(partsConfig(4), rng)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		m    *Model
		x    []float32
		want string // "" for no error
	}{
		{"bernoulli ok", bern, []float32{0, 0.5, 1}, ""},
		{"bernoulli above 1", bern, []float32{0, 0.5, 1, 0, 1.5, 0}, "row 1, column 1 is 1.5, outside the [0, 1]"},
		{"bernoulli NaN", bern, []float32{0, nan, 1}, "row 0, column 1 is NaN"},
		{"gaussian any value", gauss, []float32{-7, 3, 100}, ""},
		{"gaussian Inf", gauss, []float32{-7, inf, 100}, "row 0, column 1 is +Inf"},
		{"table missing", table, []float32{nan, nan, nan, nan, nan, nan}, ""},
		{"table partly missing category", table, []float32{1, 0, nan, 1, 0, 2}, "row 0, part colour: partly missing"},
		{"table not one-hot", table, []float32{1, 0, 1, 1, 0, 2}, "row 0, part colour: its 3 values add up to 2"},
		{"table binary 2", table, []float32{1, 2, 1, 0, 0, 2}, "row 0, part smoker holds 2"},
		{"table Inf", table, []float32{inf, 0, 1, 0, 0, 2}, "row 0, part age is +Inf"},
	} {
		err := tc.m.checkInput("x", tc.x)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// Configurations of parts that do not add up are errors.
func TestPartsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"sum", Config{Input: 5, Latent: 2, Parts: tableParts}, "parts add up to 6 inputs, input is 5"},
		{"likelihood beside parts", Config{Input: 6, Latent: 2, Parts: tableParts, Likelihood: Gaussian}, "likelihood per part"},
		{"categorical of one", Config{Input: 1, Latent: 2, Parts: []Part{{"c", Categorical, 1}}}, "width ≥ 2"},
		{"wide gaussian", Config{Input: 2, Latent: 2, Parts: []Part{{"g", Gaussian, 2}}}, "width 1, not 2"},
		{"unknown", Config{Input: 1, Latent: 2, Parts: []Part{{"p", "poisson", 1}}}, `unknown likelihood "poisson"`},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// The part scores of each row add up to its reconstruction term, a missing
// part scores 0, and Evaluate's per-part means add up to its Recon.
func TestPartScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := New(partsConfig(5), rng)
	if err != nil {
		t.Fatal(err)
	}
	x := tableInput(rng, tableParts, 50, 0.3)
	scores, parts, err := m.PartScores(x, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	P := len(tableParts)
	for i, s := range scores {
		var sum float64
		for j, v := range parts[i*P : (i+1)*P] {
			sum += float64(v)
			if math.IsNaN(float64(x[i*6+m.parts.offset[j]])) && v != 0 {
				t.Errorf("row %d: missing part %s scores %v", i, tableParts[j].Name, v)
			}
		}
		if math.Abs(sum-s.Recon) > 1e-4*max(1, math.Abs(s.Recon)) {
			t.Errorf("row %d: parts add up to %v, recon %v", i, sum, s.Recon)
		}
	}
	e, err := m.Evaluate(t.Context(), x, NLLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, v := range e.Parts {
		sum += v
	}
	if len(e.Parts) != P || math.Abs(sum-e.Loss.Recon) > 1e-4*max(1, e.Loss.Recon) {
		t.Errorf("Evaluate: parts %v add up to %v, recon %v", e.Parts, sum, e.Loss.Recon)
	}
}
