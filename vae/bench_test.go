package vae

import (
	"math/rand/v2"
	"testing"

	"github.com/govae/vae/optim"
)

// BenchmarkTrainStep measures one training step (forward, backward, Adam)
// on a batch of 128 random images, reporting samples/s. The thread count is
// GOMAXPROCS, the -N suffix of the name: run it with -cpu 1,2.
func BenchmarkTrainStep(b *testing.B) {
	for _, cfg := range []Config{
		{Input: 784, Hidden: []int{400}, Latent: 20},
		{Input: 784, Hidden: []int{512}, Latent: 2},
	} {
		b.Run(cfg.String()+"/batch=128", func(b *testing.B) {
			const n = 128
			rng := rand.New(rand.NewPCG(1, 1))
			m, err := New(cfg, rng)
			if err != nil {
				b.Fatal(err)
			}
			opt, err := optim.New("adam", m.Params(), optim.Config{})
			if err != nil {
				b.Fatal(err)
			}
			st := m.newStepper(n, 1, shards(n, 1), opt)
			defer st.close()
			x := randomInput(rng, n, cfg.Input)
			eps := make([]float32, n*cfg.Latent)
			b.ReportAllocs()
			for b.Loop() {
				fillNormal(eps, rng)
				if _, _, err := st.step(x, eps, n, 1, 1, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
