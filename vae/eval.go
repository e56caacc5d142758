package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/govae/vae/nn"
)

// Scores returns the loss of each row of x [n, Input] with one draw of ε per
// row from rng: its negative ELBO (Total), reconstruction and KL terms. A
// high score marks an input the model finds unlikely, which is what anomaly
// detection with a VAE ranks by.
func (m *Model) Scores(x []float32, rng *rand.Rand) ([]Loss, error) {
	D, L := m.Config.Input, m.Config.Latent
	n, err := rows("scores: x", x, D)
	if err != nil {
		return nil, err
	}
	out := make([]Loss, n)
	m.forChunks(n, func(p *pass, lo, hi int) {
		fillNormal(p.eps[:(hi-lo)*L], rng)
		m.forward(p, x[lo*D:hi*D], hi-lo, 0)
		for i := range hi - lo {
			r, k := float64(p.recon[i]), float64(p.kl[i])
			out[lo+i] = Loss{Total: r + k, Recon: r, KL: k}
		}
	})
	return out, nil
}

// NLLOptions says how NLL estimates.
type NLLOptions struct {
	K    int    // importance samples per input; default 5000
	Seed uint64 // seeds the samples; input i draws from its own stream

	// Progress, if set, is called after each block of inputs with the
	// number done so far.
	Progress func(done, total int)
}

// NLL returns, for each row of x [n, Input], the importance-weighted
// estimate of −log p(x) in nats of Burda, Grosse & Salakhutdinov (2016):
//
//	log p(x) ≈ log (1/K) Σₖ p(x|zₖ)·p(zₖ) / q(zₖ|x),   zₖ ~ q(z|x),
//
// summed with log-sum-exp in float64. The estimate is a lower bound on
// log p(x) that tightens as K grows; with K = 1 it is the ELBO. Results
// depend on the seed only, not on the number of threads.
//
// When ctx is cancelled NLL stops between blocks and returns an error
// wrapping ctx.Err().
func (m *Model) NLL(ctx context.Context, x []float32, opts NLLOptions) ([]float64, error) {
	D, L := m.Config.Input, m.Config.Latent
	n, err := rows("nll: x", x, D)
	if err != nil {
		return nil, err
	}
	K := opts.K
	if K == 0 {
		K = 5000
	}
	if K < 0 {
		return nil, fmt.Errorf("nll: K = %d, want ≥ 1", K)
	}
	mean, logVar, err := m.Encode(x)
	if err != nil {
		return nil, err
	}

	// The K samples of every input are laid end to end and decoded in
	// blocks of up to chunk rows; row r of the whole holds sample r mod K of
	// input r / K.
	p := m.getPass()
	defer m.passes.Put(p)
	target := make([]float32, len(p.logits))
	acc := make([]logSumExp, n)
	rngs := make([]*rand.Rand, n)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(opts.Seed, uint64(i)))
	}
	logw := make([]float64, chunk)
	total := n * K
	for lo := 0; lo < total; lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("nll: stopped after %d of %d inputs: %w", lo/K, n, err)
		}
		hi := min(lo+chunk, total)
		rowsN := hi - lo
		// z = μ + σ·ε; log p(z) − log q(z|x) = ½ Σ (ε² − z² + log σ²), the
		// log 2π terms cancelling.
		for r := range rowsN {
			i := (lo + r) / K
			mu, lv := mean[i*L:(i+1)*L], logVar[i*L:(i+1)*L]
			eps, z := p.eps[r*L:(r+1)*L], p.z[r*L:(r+1)*L]
			var s float64
			for j := range L {
				e := rngs[i].NormFloat64()
				zj := float64(mu[j]) + math.Exp(float64(lv[j])/2)*e
				eps[j], z[j] = float32(e), float32(zj)
				s += e*e - zj*zj + float64(lv[j])
			}
			logw[r] = s / 2
			copy(target[r*D:(r+1)*D], x[i*D:(i+1)*D])
		}
		m.decode(p, p.z, rowsN)
		nn.BCEWithLogits(nil, p.recon[:rowsN], p.logits[:rowsN*D], target[:rowsN*D], 1)
		for r := range rowsN {
			acc[(lo+r)/K].add(logw[r] - float64(p.recon[r]))
		}
		if opts.Progress != nil {
			opts.Progress(hi/K, n)
		}
	}
	nll := make([]float64, n)
	for i, a := range acc {
		nll[i] = -(a.value() - math.Log(float64(K)))
		if math.IsNaN(nll[i]) {
			return nil, fmt.Errorf("nll: input %d: %w", i, errNotFiniteNLL)
		}
	}
	return nll, nil
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
