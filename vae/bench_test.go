package vae

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
)

// BenchmarkTrainStep measures one training step (forward, backward, Adam)
// on a batch of random images, reporting samples/s (input images): the two
// examples' networks at batch 128, and Burda et al.'s one-stochastic-layer
// network at their batch of 20, trained as a VAE and as an IWAE with k = 50,
// and the Keras example's convolutional VAE at batch 128.
// The thread count is GOMAXPROCS, the -N suffix of the name: run it with
// -cpu 1,2.
func BenchmarkTrainStep(b *testing.B) {
	burda := Config{Input: 784, Hidden: []int{200, 200}, Latent: 50, Activation: nn.Tanh}
	for _, tc := range []struct {
		cfg  Config
		n, k int
	}{
		{Config{Input: 784, Hidden: []int{400}, Latent: 20}, 128, 1},
		{Config{Input: 784, Hidden: []int{512}, Latent: 2}, 128, 1},
		{burda, 20, 1},
		{burda, 20, 50},
		{kerasConv, 128, 1},
	} {
		cfg, n, k := tc.cfg, tc.n, tc.k
		name := fmt.Sprintf("%s/batch=%d", cfg, n)
		if cfg.Encoder != nil {
			name = fmt.Sprintf("keras-conv/batch=%d", n)
		}
		if k > 1 {
			name += fmt.Sprintf("/iwae=%d", k)
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			m, err := New(cfg, rng)
			if err != nil {
				b.Fatal(err)
			}
			opt, err := optim.New("adam", m.Params(), optim.Config{})
			if err != nil {
				b.Fatal(err)
			}
			st := m.newStepper(n, k, shards(n, k), opt)
			defer st.close()
			x := randomInput(rng, n, cfg.Input)
			eps := make([]float32, n*k*cfg.Latent)
			b.ReportAllocs()
			for b.Loop() {
				fillNormal(eps, rng)
				if _, _, err := st.step(x, nil, eps, n, k, objective{iwae: k > 1, beta: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
