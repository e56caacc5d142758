package vae

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// Loss is the cost of a set of examples, per sample: summed over input
// dimensions (and latent dimensions for KL), averaged over examples.
type Loss struct {
	Total float64 `json:"loss"`  // Recon + KL, the negative ELBO
	Recon float64 `json:"recon"` // −E_q[log p(x|z)] for one z: the binary cross-entropy of a Bernoulli model
	KL    float64 `json:"kl"`    // KL(q(z|x) ‖ p(z))
}

// rows checks that v holds whole rows of width and returns how many.
func rows(name string, v []float32, width int) (int, error) {
	if len(v) == 0 || len(v)%width != 0 {
		return 0, fmt.Errorf("%s: length %d is not a positive multiple of %d", name, len(v), width)
	}
	return len(v) / width, nil
}

// forChunks runs f over the rows of an n-row batch in chunks of up to chunk
// rows, cut so that every thread (GOMAXPROCS) gets some, on as many
// goroutines, each with its inference pass. f must touch only what belongs
// to its rows [lo, hi).
func (m *Model) forChunks(n int, f func(p *pass, lo, hi int)) {
	threads := runtime.GOMAXPROCS(0)
	size := min(m.chunk, (n+threads-1)/threads)
	chunks := (n + size - 1) / size
	run := func(next *atomic.Int64) {
		p := m.getPass()
		defer m.passes.Put(p)
		for {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			lo, hi := c*size, min((c+1)*size, n)
			m.bindClasses(p, lo, hi)
			f(p, lo, hi)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(threads, chunks) - 1 {
		wg.Go(func() { run(&next) })
	}
	run(&next)
	wg.Wait()
}

// getPass returns an inference pass over up to chunk rows, from m.passes
// when one is free.
func (m *Model) getPass() *pass {
	if p, ok := m.passes.Get().(*pass); ok {
		return p
	}
	return m.newPass(m.chunk, 1, false)
}

// Encode returns the mean and log-variance of q(z|x) for each row of
// x [n, Input]; both results are [n, Latent].
func (m *Model) Encode(x []float32) (mean, logVar []float32, err error) {
	D, L := m.Config.Input, m.Config.Latent
	n, err := rows("encode: x", x, D)
	if err != nil {
		return nil, nil, err
	}
	if err := m.checkInput("encode: x", x); err != nil {
		return nil, nil, err
	}
	if err := m.checkClasses("encode", n); err != nil {
		return nil, nil, err
	}
	mean, logVar = make([]float32, n*L), make([]float32, n*L)
	m.forChunks(n, func(p *pass, lo, hi int) {
		m.encode(p, x[lo*D:hi*D], hi-lo)
		copy(mean[lo*L:hi*L], p.mean)
		copy(logVar[lo*L:hi*L], p.logVar)
	})
	return mean, logVar, nil
}

// Decode returns the mean [n, Input] of p(x|z) for each row of z
// [n, Latent]: sigmoid(x̂) for a Bernoulli likelihood, x̂ for a Gaussian.
func (m *Model) Decode(z []float32) ([]float32, error) {
	n, err := rows("decode: z", z, m.Config.Latent)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n*m.Config.Input)
	return out, m.DecodeTo(out, z)
}

// DecodeTo is Decode writing into dst [n, Input], for callers that decode
// batch after batch into one buffer: fresh memory costs a page fault per
// 4 KiB on first touch, which can take as long as the decoding itself.
func (m *Model) DecodeTo(dst, z []float32) error {
	D, L := m.Config.Input, m.Config.Latent
	n, err := rows("decode: z", z, L)
	if err != nil {
		return err
	}
	if len(dst) != n*D {
		return fmt.Errorf("decode: dst has length %d, want %d for %d rows of %d", len(dst), n*D, n, D)
	}
	if err := m.checkClasses("decode", n); err != nil {
		return err
	}
	m.forChunks(n, func(p *pass, lo, hi int) {
		p.spreadLabels(hi-lo, 1)
		m.decode(p, z[lo*L:hi*L], hi-lo)
		m.lik.mean(dst[lo*D:hi*D], p.logits[:(hi-lo)*D])
	})
	return nil
}

// Reconstruct decodes the posterior mean of each row of x [n, Input].
func (m *Model) Reconstruct(x []float32) ([]float32, error) {
	mean, _, err := m.Encode(x)
	if err != nil {
		return nil, err
	}
	return m.Decode(mean)
}

// Sample decodes n draws of z from the prior N(0, I), returning [n, Input];
// a conditional model not given classes (see Given) draws each sample's
// class uniformly first.
func (m *Model) Sample(n int, rng *rand.Rand) []float32 {
	if C := m.Config.Classes; C > 0 && m.classes == nil && n > 0 {
		classes := make([]uint8, n)
		for i := range classes {
			classes[i] = uint8(rng.IntN(C))
		}
		v, _ := m.Given(classes...)
		return v.Sample(n, rng)
	}
	z := make([]float32, n*m.Config.Latent)
	fillNormal(z, rng)
	out, _ := m.Decode(z)
	return out
}

// Loss returns the per-sample cost of the rows of x [n, Input], with one
// draw of ε per row from rng. Targets are x itself, in [0, 1].
func (m *Model) Loss(x []float32, rng *rand.Rand) (Loss, error) {
	scores, err := m.Scores(x, rng)
	if err != nil {
		return Loss{}, err
	}
	return meanLoss(scores), nil
}

// meanLoss returns the mean of per-row losses.
func meanLoss(scores []Loss) Loss {
	var l Loss
	for _, s := range scores {
		l.Recon += s.Recon
		l.KL += s.KL
	}
	n := float64(len(scores))
	l.Recon /= n
	l.KL /= n
	l.Total = l.Recon + l.KL
	return l
}
