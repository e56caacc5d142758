package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/govae/vae/nn/nntest"
	"gonum.org/v1/gonum/stat/distuv"
)

func randSlice(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

// dot returns Σ c·y in float64: a loss whose gradient with respect to y is c.
func dot(c, y []float32) float64 {
	var s float64
	for i := range y {
		s += float64(c[i]) * float64(y[i])
	}
	return s
}

func TestDenseGradients(t *testing.T) {
	var ws *Workspace // Dense needs none
	for _, tc := range []struct{ n, in, out int }{{1, 1, 1}, {3, 5, 4}, {7, 13, 9}, {2, 70, 3}} {
		rng := rand.New(rand.NewPCG(1, uint64(tc.in)))
		d := NewDense("d", tc.in, tc.out)
		if err := d.Initialize(InitPyTorch, rng); err != nil {
			t.Fatal(err)
		}
		x := randSlice(rng, tc.n*tc.in, 1)
		c := randSlice(rng, tc.n*tc.out, 1)
		y := make([]float32, tc.n*tc.out)
		dx := make([]float32, tc.n*tc.in)
		loss := func() float64 { d.Forward(y, x, tc.n, ws); return dot(c, y) }
		loss()
		d.Backward(dx, c, x, nil, tc.n, ws)
		nntest.CheckGradient(t, "W", d.W.Value, d.W.Grad, loss)
		nntest.CheckGradient(t, "b", d.B.Value, d.B.Grad, loss)
		nntest.CheckGradient(t, "x", x, dx, loss)
	}
}

// Backward accumulates parameter gradients: two calls give twice one call.
func TestDenseBackwardAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	d := NewDense("d", 4, 3)
	d.Initialize(InitGlorot, rng)
	x, dy := randSlice(rng, 8, 1), randSlice(rng, 6, 1)
	d.Backward(nil, dy, x, nil, 2, nil)
	once := append([]float32(nil), d.W.Grad...)
	d.Backward(nil, dy, x, nil, 2, nil)
	for i := range once {
		if got := d.W.Grad[i]; math.Abs(float64(got-2*once[i])) > 1e-6 {
			t.Fatalf("W.Grad[%d] = %v after two calls, want %v", i, got, 2*once[i])
		}
	}
}

func TestDenseInitialize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	d := NewDense("d", 100, 50)
	for _, tc := range []struct {
		init         Init
		wBound       float64
		biasAllZeros bool
	}{
		{InitPyTorch, 1 / math.Sqrt(100), false},
		{InitGlorot, math.Sqrt(6.0 / 150), true},
	} {
		if err := d.Initialize(tc.init, rng); err != nil {
			t.Fatal(err)
		}
		var maxAbs float64
		for _, w := range d.W.Value {
			maxAbs = max(maxAbs, math.Abs(float64(w)))
		}
		if maxAbs > tc.wBound || maxAbs < 0.9*tc.wBound {
			t.Errorf("%s: max |w| = %v, want just below %v", tc.init, maxAbs, tc.wBound)
		}
		zeros := true
		for _, b := range d.B.Value {
			zeros = zeros && b == 0
		}
		if zeros != tc.biasAllZeros {
			t.Errorf("%s: bias all zero = %v, want %v", tc.init, zeros, tc.biasAllZeros)
		}
	}
	if err := d.Initialize("he", rng); err == nil {
		t.Error("unknown initialisation accepted")
	}
}

func TestActivationGradients(t *testing.T) {
	for _, a := range []Activation{ReLU, Tanh, Softplus, Identity} {
		rng := rand.New(rand.NewPCG(4, 4))
		x := randSlice(rng, 40, 2)
		for i := range x { // keep ReLU's kink out of the finite difference's reach
			if math.Abs(float64(x[i])) < 0.05 {
				x[i] = 0.5
			}
		}
		c := randSlice(rng, 40, 1)
		y := make([]float32, 40)
		dx := make([]float32, 40)
		loss := func() float64 { a.Forward(y, x); return dot(c, y) }
		loss()
		a.Backward(dx, c, x, y)
		nntest.CheckGradient(t, string(a), x, dx, loss)
	}
}

func TestActivationValues(t *testing.T) {
	x := []float32{-2, 0, 3}
	for _, tc := range []struct {
		a    Activation
		want []float64
	}{
		{ReLU, []float64{0, 0, 3}},
		{Tanh, []float64{math.Tanh(-2), 0, math.Tanh(3)}},
		{Softplus, []float64{math.Log(1 + math.Exp(-2)), math.Log(2), math.Log(1 + math.Exp(3))}},
		{Identity, []float64{-2, 0, 3}},
	} {
		y := make([]float32, 3)
		tc.a.Forward(y, x)
		for i := range y {
			if math.Abs(float64(y[i])-tc.want[i]) > 1e-6 {
				t.Errorf("%s(%v) = %v, want %v", tc.a, x[i], y[i], tc.want[i])
			}
		}
	}
	if err := Activation("gelu").Valid(); err == nil {
		t.Error("unknown activation reported valid")
	}
}

func TestBCEWithLogits(t *testing.T) {
	// Against the naive formula where it is accurate.
	rng := rand.New(rand.NewPCG(5, 5))
	logits := randSlice(rng, 12, 3)
	targets := make([]float32, 12)
	for i := range targets {
		targets[i] = float32(rng.Float64())
	}
	var naive float64
	for i, l := range logits {
		p := 1 / (1 + math.Exp(-float64(l)))
		tt := float64(targets[i])
		naive -= tt*math.Log(p) + (1-tt)*math.Log(1-p)
	}
	rows := make([]float32, 3)
	// Each element is computed in float32 (relative error ≲ 1e-6), the sum in float64.
	if got := BCEWithLogits(nil, rows, logits, targets, 1); math.Abs(got-naive) > 1e-6*math.Abs(naive) {
		t.Errorf("BCE = %v, naive formula %v", got, naive)
	}
	if s := float64(rows[0] + rows[1] + rows[2]); math.Abs(s-naive) > 1e-4 {
		t.Errorf("row sums add to %v, want %v", s, naive)
	}
	// Extreme logits stay finite and right: log(1+e^-100) ≈ 0, and a wrong
	// confident guess costs its logit.
	got := BCEWithLogits(nil, nil, []float32{100, -100, 100}, []float32{1, 0, 0}, 1)
	if math.Abs(got-100) > 1e-5 {
		t.Errorf("BCE at extreme logits = %v, want 100", got)
	}
	// Gradient.
	grad := make([]float32, 12)
	loss := func() float64 { return BCEWithLogits(nil, nil, logits, targets, 1) }
	BCEWithLogits(grad, nil, logits, targets, 1)
	nntest.CheckGradient(t, "dlogits", logits, grad, loss)
}

// GaussianKL against the closed form of KL between two univariate Gaussians,
// KL(N(μ₁,σ₁²) ‖ N(μ₂,σ₂²)) = log(σ₂/σ₁) + (σ₁² + (μ₁−μ₂)²)/(2σ₂²) − ½, with μ₂=0, σ₂=1.
func TestGaussianKL(t *testing.T) {
	mean := []float32{0, 1, -2, 0.3}
	logVar := []float32{0, 0, 1, -3}
	var want float64
	for i := range mean {
		mu, s1 := float64(mean[i]), math.Exp(float64(logVar[i])/2)
		want += math.Log(1/s1) + (s1*s1+mu*mu)/2 - 0.5
	}
	rows := make([]float32, 2)
	if got := GaussianKL(nil, nil, rows, mean, logVar, 1); math.Abs(got-want) > 1e-9 {
		t.Errorf("KL = %v, closed form %v", got, want)
	}
	if float64(rows[0]) != 0.5 { // row 0 is N(0,1) then N(1,1): 0 + ½
		t.Errorf("row 0 KL = %v, want 0.5", rows[0])
	}
	dm, dlv := make([]float32, 4), make([]float32, 4)
	GaussianKL(dm, dlv, nil, mean, logVar, 1)
	nntest.CheckGradient(t, "dmean", mean, dm, func() float64 { return GaussianKL(nil, nil, nil, mean, logVar, 1) })
	nntest.CheckGradient(t, "dlogvar", logVar, dlv, func() float64 { return GaussianKL(nil, nil, nil, mean, logVar, 1) })
}

// GaussianNLL against the log-density of gonum's distuv.Normal, and its
// gradients against finite differences.
func TestGaussianNLL(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	mean, targets := randSlice(rng, 12, 2), randSlice(rng, 12, 2)
	logVar := randSlice(rng, 4, 1)
	var want float64
	for i, x := range targets {
		want -= distuv.Normal{Mu: float64(mean[i]), Sigma: math.Exp(float64(logVar[i%4]) / 2)}.LogProb(float64(x))
	}
	rows := make([]float32, 3)
	if got := GaussianNLL(nil, nil, rows, mean, logVar, targets, 1); math.Abs(got-want) > 1e-9*math.Abs(want) {
		t.Errorf("NLL = %v, distuv %v", got, want)
	}
	if s := float64(rows[0] + rows[1] + rows[2]); math.Abs(s-want) > 1e-4 {
		t.Errorf("row sums add to %v, want %v", s, want)
	}
	loss := func() float64 { return 0.25 * GaussianNLL(nil, nil, nil, mean, logVar, targets, 1) }
	dm, dlv := make([]float32, 12), make([]float32, 4)
	GaussianNLL(dm, dlv, rows, mean, logVar, targets, 0.25)
	nntest.CheckGradient(t, "dmean", mean, dm, loss)
	nntest.CheckGradient(t, "dlogvar", logVar, dlv, loss)
}

// SoftmaxCrossEntropy against −log softmax computed naively, at logits
// where that is accurate and at extreme ones where it overflows, and its
// gradient against finite differences.
func TestSoftmaxCrossEntropy(t *testing.T) {
	for _, tc := range []struct {
		name            string
		logits, targets []float32
		want            float64
	}{
		{"uniform", []float32{0, 0, 0, 0}, []float32{0, 1, 0, 0}, math.Log(4)},
		{"two classes is BCE", []float32{0, 2}, []float32{0, 1}, math.Log1p(math.Exp(-2))},
		{"soft target", []float32{1, 0}, []float32{0.5, 0.5}, math.Log(1+math.E) - 0.5},
		{"extreme", []float32{1000, 0, -1000}, []float32{0, 1, 0}, 1000},
	} {
		got := SoftmaxCrossEntropy(nil, tc.logits, tc.targets, 1)
		if math.Abs(got-tc.want) > 1e-6*max(1, tc.want) {
			t.Errorf("%s: loss %v, want %v", tc.name, got, tc.want)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	logits := randSlice(rng, 5, 2)
	targets := []float32{0, 0, 1, 0, 0}
	grad := make([]float32, 5)
	SoftmaxCrossEntropy(grad, logits, targets, 0.5)
	nntest.CheckGradient(t, "dlogits", logits, grad, func() float64 { return 0.5 * SoftmaxCrossEntropy(nil, logits, targets, 1) })
}
