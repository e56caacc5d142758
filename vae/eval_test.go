package vae

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/internal/ctxtest"
	"github.com/govae/vae/nn"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distmv"
)

// exactLogLikelihood integrates p(x|z)·N(z; 0, 1) over a one-dimensional
// latent by the trapezoid rule, with p(x|z) = exp(−BCE(x, logits(z))).
func exactLogLikelihood(m *Model, x []float32) []float64 {
	const lo, hi, steps = -10.0, 10.0, 8000
	D := m.Config.Input
	n := len(x) / D
	h := (hi - lo) / steps
	p := m.newPass(1, 1, false)
	acc := make([]logSumExp, n)
	for s := range steps + 1 {
		z := lo + float64(s)*h
		p.z[0] = float32(z)
		m.decode(p, p.z, 1)
		w := math.Log(h) - z*z/2 - math.Log(2*math.Pi)/2
		if s == 0 || s == steps {
			w -= math.Ln2
		}
		for i := range n {
			var ll float64 // log p(x|z), in float64 from the logits
			for j, t := range x[i*D : (i+1)*D] {
				l := float64(p.logits[j])
				ll -= max(l, 0) - l*float64(t) + math.Log1p(math.Exp(-math.Abs(l)))
			}
			acc[i].add(w + ll)
		}
	}
	out := make([]float64, n)
	for i := range acc {
		out[i] = acc[i].value()
	}
	return out
}

// With a one-dimensional latent, log p(x) is an integral that quadrature
// computes to many digits: the estimate converges to it as K grows, and
// the ELBO (K = 1) lies below it on average.
func TestNLLConvergesToExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	m, err := New(Config{Input: 6, Hidden: []int{5}, Latent: 1, Activation: nn.Tanh}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Decoder { // let z matter: p(x|z) varies over a unit of z
		for _, prm := range l.Params() {
			if strings.HasSuffix(prm.Name, ".weight") {
				for i := range prm.Value {
					prm.Value[i] *= 4
				}
			}
		}
	}
	x := make([]float32, 4*6)
	for i := range x {
		x[i] = float32(rng.IntN(2))
	}
	exact := exactLogLikelihood(m, x)

	nll := func(k int, seed uint64) []float64 {
		v, err := m.NLL(context.Background(), x, NLLOptions{K: k, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	big := nll(20000, 1)
	for i, e := range exact {
		if d := math.Abs(big[i] + e); d > 0.01 {
			t.Errorf("input %d: K = 20000 gives −log p(x) = %.4f, exact %.4f", i, big[i], -e)
		}
	}
	// K = 1 is the negative ELBO of one draw; its mean over draws is above
	// −log p(x) by the KL from q(z|x) to the posterior.
	const draws = 4000
	elbo := make([]float64, len(exact))
	for s := range draws {
		for i, v := range nll(1, uint64(100+s)) {
			elbo[i] += v / draws
		}
	}
	for i, e := range exact {
		if elbo[i] < -e-0.01 {
			t.Errorf("input %d: mean negative ELBO %.4f below −log p(x) = %.4f", i, elbo[i], -e)
		}
	}
}

// When q(z|x) is the prior and the decoder ignores z, every importance
// weight is p(x) itself: the estimate is exact for any K.
func TestNLLExactWhenWeightsConstant(t *testing.T) {
	m, err := New(Config{Input: 5, Hidden: []int{3}, Latent: 2}, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*nn.Dense{m.ZMean, m.ZLogVar, outputLayer(m)} {
		clear(l.W.Value)
		clear(l.B.Value)
	}
	copy(outputLayer(m).B.Value, []float32{-1, 0.5, 2, 0, -3})
	x := []float32{0, 1, 1, 0, 0.25}
	var want float64 // −log p(x) = Σ BCE(x, b)
	for j, b := range outputLayer(m).B.Value {
		l, t := float64(b), float64(x[j])
		want += max(l, 0) - l*t + math.Log1p(math.Exp(-math.Abs(l)))
	}
	for _, k := range []int{1, 3, 1001} {
		got, err := m.NLL(context.Background(), x, NLLOptions{K: k})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got[0]-want) > 1e-5 {
			t.Errorf("K = %d: %.7f, want %.7f", k, got[0], want)
		}
	}
}

func TestNLLStopsWhenCancelled(t *testing.T) {
	m, _ := New(Config{Input: 4, Hidden: []int{3}, Latent: 2}, rand.New(rand.NewPCG(1, 1)))
	x := randomInput(rand.New(rand.NewPCG(2, 2)), 10, 4)
	_, err := m.NLL(ctxtest.CancelAfter(2), x, NLLOptions{K: 1000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// One input with many samples stops within its samples, not after.
	if _, err := m.NLL(ctxtest.CancelAfter(3), x[:4], NLLOptions{K: MaxK}); !errors.Is(err, context.Canceled) {
		t.Fatalf("one input, K = %d: err = %v, want context.Canceled", MaxK, err)
	}
	for _, k := range []int{-1, MaxK + 1, 100_000_000} {
		if _, err := m.NLL(context.Background(), x, NLLOptions{K: k}); err == nil {
			t.Errorf("K = %d accepted", k)
		}
	}
}

// The per-row scores are the terms whose mean Loss reports, with the same
// draws of ε.
func TestScoresMatchLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m, _ := New(Config{Input: 10, Hidden: []int{8}, Latent: 2}, rng)
	x := randomInput(rng, 7, 10)
	scores, err := m.Scores(x, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := m.Loss(x, rand.New(rand.NewPCG(1, 1)))
	var sum Loss
	for _, s := range scores {
		if math.Abs(s.Total-(s.Recon+s.KL)) > 1e-9 {
			t.Errorf("total %v != recon %v + KL %v", s.Total, s.Recon, s.KL)
		}
		sum.Total += s.Total / 7
		sum.Recon += s.Recon / 7
		sum.KL += s.KL / 7
	}
	if math.Abs(sum.Total-all.Total) > 1e-4 || math.Abs(sum.KL-all.KL) > 1e-5 {
		t.Errorf("mean of scores %+v, Loss %+v", sum, all)
	}
}

// The estimate depends on the seed, not on how many threads share the work.
func TestNLLSameOnAnyThreads(t *testing.T) {
	m, _ := New(Config{Input: 6, Hidden: []int{5}, Latent: 3}, rand.New(rand.NewPCG(5, 5)))
	x := randomInput(rand.New(rand.NewPCG(6, 6)), 7, 6)
	var first []float64
	for _, procs := range []int{1, 3} {
		old := runtime.GOMAXPROCS(procs)
		got, err := m.NLL(context.Background(), x, NLLOptions{K: 300, Seed: 9})
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("GOMAXPROCS %d: %v, GOMAXPROCS 1: %v", procs, got, first)
		}
	}
}

func TestActiveUnits(t *testing.T) {
	mean := []float32{0, 1, 0.1, 2, 1, 0.1, 4, 1, 0.3} // 3 inputs, 3 units
	active, v := ActiveUnits(mean, 3, 0.01)
	want := []float64{8.0 / 3, 0, 0.0088888888}
	for u := range want {
		if math.Abs(v[u]-want[u]) > 1e-6 {
			t.Errorf("variance of unit %d = %v, want %v", u, v[u], want[u])
		}
	}
	if active != 1 {
		t.Errorf("%d active units, want 1", active)
	}
}

// A unit whose posterior mean ignores the input has collapsed: Evaluate
// counts it out, and its NLL lies below the negative ELBO.
func TestEvaluate(t *testing.T) {
	m, _ := New(Config{Input: 8, Hidden: []int{6}, Latent: 3}, rand.New(rand.NewPCG(7, 7)))
	for j := range m.ZMean.In { // unit 1: z_mean ignores x
		m.ZMean.W.Value[1*m.ZMean.In+j] = 0
	}
	for i := range m.ZMean.W.Value { // the others vary enough to count
		m.ZMean.W.Value[i] *= 10
	}
	x := randomInput(rand.New(rand.NewPCG(8, 8)), 200, 8)
	e, err := m.Evaluate(context.Background(), x, NLLOptions{K: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e.Active != 2 || e.Variance[1] != 0 {
		t.Errorf("active units %d (variances %v), want 2 with unit 1 at 0", e.Active, e.Variance)
	}
	if e.N != 200 || e.K != 200 || !(e.NLL < e.Loss.Total) || !(e.NLLStdErr > 0) {
		t.Errorf("evaluation %+v: want N = K = 200, NLL below the negative ELBO, a standard error", e)
	}
}

// Probabilistic PCA: with no hidden layer and a Gaussian p(x|z) = N(Wz + b,
// σ²I), log p(x) = log N(x; b, WWᵀ + σ²I) in closed form. The estimate
// converges to it as K grows, and the ELBO lies below it.
func TestNLLProbabilisticPCA(t *testing.T) {
	const D, L, sigma = 4, 2, 0.5
	m, err := New(Config{Input: D, Latent: L, Likelihood: Gaussian, Sigma: sigma, Init: nn.InitPyTorch}, rand.New(rand.NewPCG(11, 11)))
	if err != nil {
		t.Fatal(err)
	}
	w := mat.NewDense(D, L, nil) // x = W z + b: W is the output layer's weight
	for i := range D {
		for j := range L {
			w.Set(i, j, float64(outputLayer(m).W.Value[i*L+j]))
		}
	}
	var cov mat.SymDense
	cov.SymOuterK(1, w)
	for i := range D {
		cov.SetSym(i, i, cov.At(i, i)+sigma*sigma)
	}
	b := make([]float64, D)
	for i := range b {
		b[i] = float64(outputLayer(m).B.Value[i])
	}
	px, ok := distmv.NewNormal(b, &cov, nil)
	if !ok {
		t.Fatal("covariance not positive definite")
	}
	x := randomInput(rand.New(rand.NewPCG(12, 12)), 5, D)
	errAt := func(k int) float64 {
		nll, err := m.NLL(context.Background(), x, NLLOptions{K: k, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i, v := range nll {
			xi := make([]float64, D)
			for j := range D {
				xi[j] = float64(x[i*D+j])
			}
			worst = math.Max(worst, math.Abs(v+px.LogProb(xi)))
		}
		return worst
	}
	if e := errAt(50000); e > 0.01 {
		t.Errorf("K = 50000: worst |estimate − exact| = %.4f nats, want ≤ 0.01", e)
	}
	if e1, e := errAt(1), errAt(50000); !(e < e1) {
		t.Errorf("error %.4f at K = 50000 not below %.4f at K = 1", e, e1)
	}
	scores, _ := m.Scores(x, rand.New(rand.NewPCG(1, 1)))
	elbo := make([]float64, len(scores))
	const draws = 2000
	for s := range draws {
		sc, _ := m.Scores(x, rand.New(rand.NewPCG(uint64(s), 2)))
		for i := range sc {
			elbo[i] += sc[i].Total / draws
		}
	}
	for i := range elbo {
		xi := make([]float64, D)
		for j := range D {
			xi[j] = float64(x[i*D+j])
		}
		if exact := -px.LogProb(xi); elbo[i] < exact-0.01 {
			t.Errorf("input %d: negative ELBO %.4f below −log p(x) = %.4f", i, elbo[i], exact)
		}
	}
}

// The per-input terms of each row add up to its reconstruction term, with
// the same draws as Scores, for each likelihood with one term per input; and
// a model of parts is sent to PartScores.
func TestInputScores(t *testing.T) {
	for _, cfg := range []Config{
		{Input: 10, Hidden: []int{8}, Latent: 2},
		{Input: 10, Hidden: []int{8}, Latent: 2, Likelihood: Gaussian},
		{Input: 10, Hidden: []int{8}, Latent: 2, Likelihood: Gaussian, Sigma: 0.3},
	} {
		rng := rand.New(rand.NewPCG(3, 3))
		m, err := New(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := randomInput(rng, 7, 10)
		scores, terms, recon, err := m.InputScores(x, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := m.Scores(x, rand.New(rand.NewPCG(1, 1)))
		for i, s := range scores {
			var sum float64
			for _, v := range terms[i*10 : (i+1)*10] {
				sum += float64(v)
			}
			if s != want[i] || math.Abs(sum-s.Recon) > 1e-4*max(1, math.Abs(s.Recon)) {
				t.Errorf("%s σ %v row %d: terms add up to %v, recon %v (Scores %v)", cfg.likelihood(), cfg.Sigma, i, sum, s.Recon, want[i].Recon)
			}
		}
		for _, v := range recon {
			if cfg.likelihood() == Bernoulli && (v <= 0 || v >= 1) {
				t.Fatalf("Bernoulli mean %v outside (0, 1)", v)
			}
		}
	}
	m, _ := New(partsConfig(5), rand.New(rand.NewPCG(4, 4)))
	if _, _, _, err := m.InputScores(make([]float32, 12), rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("a model of parts gave input scores")
	}
}
