package vae

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/stat"
)

// Scores returns the loss of each row of x [n, Input] with one draw of ε per
// row from rng: its negative ELBO (Total), reconstruction and KL terms. A
// high score marks an input the model finds unlikely, which is what anomaly
// detection with a VAE ranks by.
func (m *Model) Scores(x []float32, rng *rand.Rand) ([]Loss, error) {
	scores, _, _, err := m.score(x, nil, nil, rng)
	return scores, err
}

// PartScores is Scores for a model of parts that also returns, in
// parts [n, len(Config.Parts)], the reconstruction term of each part of each
// row: which columns make a row unlikely. A missing part's term is 0; the
// terms of a row add up to its Recon.
func (m *Model) PartScores(x []float32, rng *rand.Rand) (scores []Loss, parts []float32, err error) {
	P := len(m.Config.Parts)
	if P == 0 {
		return nil, nil, errors.New("part scores: the model has no parts")
	}
	parts = make([]float32, len(x)/m.Config.Input*P)
	scores, _, _, err = m.score(x, parts, nil, rng)
	return scores, parts, err
}

// InputScores is Scores for a model with one likelihood term per input
// (Bernoulli or Gaussian, not parts) that also returns, in terms
// [n, Input], the reconstruction term −log p(x_j|z) of each input of each
// row, and in recon [n, Input] the mean of p(x|z) at the z drawn: which
// pixels make an image unlikely, and what the model expected there. The
// terms of a row add up to its Recon, within float32 rounding.
func (m *Model) InputScores(x []float32, rng *rand.Rand) (scores []Loss, terms, recon []float32, err error) {
	if m.Config.Parts != nil {
		return nil, nil, nil, errors.New("input scores: a model of parts has one term per part (PartScores)")
	}
	terms, recon = make([]float32, len(x)), make([]float32, len(x))
	scores, _, _, err = m.score(x, nil, &inputTerms{terms, recon}, rng)
	return scores, terms, recon, err
}

// inputTerms receives the per-input terms and means of a score pass.
type inputTerms struct{ terms, recon []float32 }

// score is Scores that also returns the posterior means and
// log-variances [n, Latent] its pass computed on the way, and fills parts
// with the part scores and in with the per-input terms when they are not nil.
func (m *Model) score(x, parts []float32, in *inputTerms, rng *rand.Rand) (scores []Loss, mean, logVar []float32, err error) {
	D, L := m.Config.Input, m.Config.Latent
	n, err := rows("scores: x", x, D)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := m.checkInput("scores: x", x); err != nil {
		return nil, nil, nil, err
	}
	if err := m.checkClasses("scores", n); err != nil {
		return nil, nil, nil, err
	}
	eps := make([]float32, n*L) // drawn in row order, whatever the threads
	fillNormal(eps, rng)
	scores = make([]Loss, n)
	mean, logVar = make([]float32, n*L), make([]float32, n*L)
	m.forChunks(n, func(p *pass, lo, hi int) {
		copy(p.eps, eps[lo*L:hi*L])
		m.forward(p, x[lo*D:hi*D], hi-lo, 1, 0, 0)
		for i := range hi - lo {
			r, k := float64(p.recon[i]), float64(p.kl[i])
			scores[lo+i] = Loss{Total: r + k, Recon: r, KL: k}
		}
		if P := len(m.Config.Parts); parts != nil {
			copy(parts[lo*P:hi*P], p.partLoss)
		}
		if in != nil {
			t := m.lik.(termwise)
			t.terms(in.terms[lo*D:hi*D], p.logits[:(hi-lo)*D], x[lo*D:hi*D])
			m.lik.mean(in.recon[lo*D:hi*D], p.logits[:(hi-lo)*D])
		}
		copy(mean[lo*L:hi*L], p.mean)
		copy(logVar[lo*L:hi*L], p.logVar)
	})
	return scores, mean, logVar, nil
}

// NLLOptions says how NLL estimates.
type NLLOptions struct {
	K    int    // importance samples per input; default 5000, at most MaxK
	Seed uint64 // seeds the samples; input i draws from its own stream

	// Progress, if set, is called after each block of inputs with the
	// number done so far, never by two goroutines at once.
	Progress func(done, total int)

	// JournalDir, if not empty, is a folder (created if missing) where NLL
	// keeps the estimates made so far in a file named by what it estimates
	// (a hash of the model, x, K and Seed), rewritten atomically after
	// every 1% of the inputs or so. A call killed or cancelled part way
	// loses at most that much: a later call for the same estimate with the
	// same JournalDir continues from the file, with the results of one
	// uninterrupted call. NLL removes the file when it returns its
	// estimates.
	JournalDir string
}

// MaxK bounds the importance samples per input of NLL: 200 times the 5000 of
// the published protocol. The estimate's standard error falls as 1/√K, so
// more samples cost hours and change nothing one can see.
const MaxK = 1_000_000

// NLL returns, for each row of x [n, Input], the importance-weighted
// estimate of −log p(x) in nats of Burda, Grosse & Salakhutdinov (2016):
//
//	log p(x) ≈ log (1/K) Σₖ p(x|zₖ)·p(zₖ) / q(zₖ|x),   zₖ ~ q(z|x),
//
// summed with log-sum-exp in float64. The estimate is a lower bound on
// log p(x) that tightens as K grows; with K = 1 it is the ELBO. Results
// depend on the seed only, not on the number of threads.
//
// When ctx is cancelled NLL stops between blocks of up to 1000 samples and
// returns an error wrapping ctx.Err().
func (m *Model) NLL(ctx context.Context, x []float32, opts NLLOptions) ([]float64, error) {
	D := m.Config.Input
	n, err := rows("nll: x", x, D)
	if err != nil {
		return nil, err
	}
	if err := m.checkInput("nll: x", x); err != nil {
		return nil, err
	}
	if err := m.checkClasses("nll", n); err != nil {
		return nil, err
	}
	K := opts.K
	if K == 0 {
		K = 5000
	}
	if K < 0 || K > MaxK {
		return nil, fmt.Errorf("nll: K = %d, want 1 to %d", K, MaxK)
	}

	if opts.JournalDir != "" {
		return m.nllJournaled(ctx, x, n, K, opts)
	}
	nll := make([]float64, n)
	if err := m.nllRows(ctx, nll, x, 0, n, K, opts); err != nil {
		return nil, err
	}
	return nll, nil
}

// nllRows estimates −log p(x) into nll[lo:hi] for the rows lo to hi of x
// [n, Input], with the threads the machine has; opts.Progress counts from
// lo.
func (m *Model) nllRows(ctx context.Context, nll []float64, x []float32, lo, hi, K int, opts NLLOptions) error {
	// The work comes in units of g whole inputs, whose K samples each are
	// laid end to end and decoded in blocks of up to chunk rows. Units and
	// blocks depend on n and K only, so that the results do not depend on
	// how many workers share the units.
	D := m.Config.Input
	g := m.nllUnit(K)
	units := (hi - lo + g - 1) / g
	var (
		next     atomic.Int64
		mu       sync.Mutex // guards done, firstErr and calls of opts.Progress
		done     = lo
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), units) {
		wg.Go(func() {
			w := m.newNLLWorker(K)
			defer m.passes.Put(w.p)
			for {
				u := int(next.Add(1)) - 1
				if u >= units {
					return
				}
				a, b := lo+u*g, min(hi, lo+(u+1)*g)
				if err := w.run(ctx, nll[a:b], x[a*D:b*D], a, opts.Seed); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				done += b - a
				if opts.Progress != nil {
					opts.Progress(done, len(nll))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("nll: stopped after %d of %d inputs: %w", done, len(nll), firstErr)
	}
	for i, v := range nll[lo:hi] {
		if math.IsNaN(v) {
			return fmt.Errorf("nll: input %d: %w", lo+i, errNotFiniteNLL)
		}
	}
	return nil
}

// nllUnit returns how many whole inputs a unit of nllRows' work holds: as
// many as fit their K samples each into one block of chunk rows, at least 1.
func (m *Model) nllUnit(K int) int { return max(1, m.chunk/K) }

// nllWorker holds one goroutine's buffers for NLL.
type nllWorker struct {
	m    *Model
	k    int
	p    *pass
	logw []float64 // [chunk]: log p(z) − log q(z|x) of each row
}

func (m *Model) newNLLWorker(k int) *nllWorker {
	return &nllWorker{m: m, k: k, p: m.getPass(), logw: make([]float64, m.chunk)}
}

// run estimates −log p(x) into nll for the rows of x; the first is input
// number first, whose number picks its stream of samples. It stops with
// ctx's error between two blocks of samples.
func (w *nllWorker) run(ctx context.Context, nll []float64, x []float32, first int, seed uint64) error {
	m, p, K := w.m, w.p, w.k
	D, L := m.Config.Input, m.Config.Latent
	n := len(nll)
	m.bindClasses(p, first, first+n)
	m.encode(p, x, n) // decoding leaves p.mean and p.logVar alone
	mean, logVar := p.mean[:n*L], p.logVar[:n*L]
	acc := make([]logSumExp, n)
	rngs := make([]*rand.Rand, n)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(seed, uint64(first+i)))
	}
	// row r of the whole holds sample r mod K of input r / K
	for lo := 0; lo < n*K; lo += m.chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		rowsN := min(m.chunk, n*K-lo)
		// z = μ + σ·ε; log p(z) − log q(z|x) = ½ Σ (ε² − z² + log σ²), the
		// log 2π terms cancelling.
		for r := range rowsN {
			i := (lo + r) / K
			mu, lv := mean[i*L:(i+1)*L], logVar[i*L:(i+1)*L]
			z := p.z[r*L : (r+1)*L]
			var s float64
			for j := range L {
				e := rngs[i].NormFloat64()
				zj := float64(mu[j]) + math.Exp(float64(lv[j])/2)*e
				z[j] = float32(zj)
				s += e*e - zj*zj + float64(lv[j])
			}
			w.logw[r] = s / 2
			if p.labels != nil {
				p.decLabels[r] = p.labels[i]
			}
		}
		m.decode(p, p.z, rowsN)
		for r := range rowsN {
			i := (lo + r) / K
			rec := m.lik.nll(nil, nil, nil, p.logits[r*D:(r+1)*D], x[i*D:(i+1)*D], 1)
			acc[i].add(w.logw[r] - rec)
		}
	}
	for i, a := range acc {
		nll[i] = -(a.value() - math.Log(float64(K)))
	}
	return nil
}

var errNotFiniteNLL = errors.New("estimate is NaN")

// logSumExp accumulates log Σ exp(vᵢ) without overflow.
type logSumExp struct {
	max, sum float64 // Σ exp(vᵢ − max)
	started  bool
}

func (a *logSumExp) add(v float64) {
	switch {
	case !a.started:
		a.max, a.sum, a.started = v, 1, true
	case v <= a.max:
		a.sum += math.Exp(v - a.max)
	default:
		a.sum = a.sum*math.Exp(a.max-v) + 1
		a.max = v
	}
}

func (a *logSumExp) value() float64 { return a.max + math.Log(a.sum) }

// ActiveUnits returns, for each latent dimension u, the variance over the
// rows of mean [n, latent] (the posterior means E_q[z_u] of n inputs), and
// how many of them exceed threshold: the units the model uses. Burda et al.
// (2016) call a unit active when Cov_x(E_q[z_u]) > 0.01; an inactive one
// has collapsed to the prior.
func ActiveUnits(mean []float32, latent int, threshold float64) (active int, variance []float64) {
	n := len(mean) / latent
	variance = make([]float64, latent)
	col := make([]float64, n)
	for u := range latent {
		for i := range n {
			col[i] = float64(mean[i*latent+u])
		}
		variance[u] = stat.PopVariance(col, nil)
		if variance[u] > threshold {
			active++
		}
	}
	return active, variance
}

// Evaluation is what Evaluate measures on a set of inputs.
type Evaluation struct {
	N    int  `json:"n"`
	Loss Loss `json:"elbo"` // negative ELBO and its terms, per sample, one draw of ε

	K         int       `json:"k,omitempty"`      // importance samples of the NLL; 0 when not estimated
	NLL       float64   `json:"nll,omitempty"`    // mean importance-weighted −log p(x), nats
	NLLStdErr float64   `json:"nll_se,omitempty"` // its standard error over the inputs
	Active    int       `json:"active_units"`     // latent units with variance of E_q[z] > 0.01
	Variance  []float64 `json:"unit_variance"`    // that variance, per latent unit

	// Parts, for a model of parts, is the reconstruction term of each
	// part (Config.Parts) per sample: the mean over the inputs, a missing
	// part counting 0. They add up to Loss.Recon.
	Parts []float64 `json:"parts,omitempty"`
}

// Evaluate measures the model on the rows of x [n, Input]: the negative
// ELBO, its reconstruction and KL terms, the active units and, when opts.K
// is positive, the importance-weighted NLL with its standard error. The
// draws of ε come from opts.Seed.
func (m *Model) Evaluate(ctx context.Context, x []float32, opts NLLOptions) (*Evaluation, error) {
	P := len(m.Config.Parts)
	var parts []float32
	if P > 0 {
		parts = make([]float32, len(x)/m.Config.Input*P)
	}
	scores, mean, _, err := m.score(x, parts, nil, rand.New(rand.NewPCG(opts.Seed, math.MaxUint64)))
	if err != nil {
		return nil, err
	}
	e := &Evaluation{N: len(scores), Loss: meanLoss(scores)}
	if P > 0 {
		e.Parts = make([]float64, P)
		for i, v := range parts {
			e.Parts[i%P] += float64(v) / float64(len(scores))
		}
	}
	e.Active, e.Variance = ActiveUnits(mean, m.Config.Latent, 0.01)
	if opts.K <= 0 {
		return e, nil
	}
	nll, err := m.NLL(ctx, x, opts)
	if err != nil {
		return nil, err
	}
	mu, sd := stat.MeanStdDev(nll, nil)
	e.K, e.NLL, e.NLLStdErr = opts.K, mu, sd/math.Sqrt(float64(len(nll)))
	return e, nil
}
