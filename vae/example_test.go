package vae_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/vae"
)

// stripes is a toy data set of 4×4 images: one bright row each.
func stripes(n int) *dataset.Set {
	s := &dataset.Set{Name: "stripes", X: make([]float32, n*16), Labels: make([]uint8, n), N: n, Dim: 16, Rows: 4, Cols: 4}
	for i := range n {
		row := i % 4
		s.Labels[i] = uint8(row)
		for c := range 4 {
			s.X[i*16+row*4+c] = 1
		}
	}
	return s
}

func Example() {
	// The seed's network: input → hidden (ReLU) → z_mean, z_log_var → z → hidden → output.
	cfg := vae.Config{Input: 16, Hidden: []int{32}, Latent: 2}
	m, err := vae.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	train, test := stripes(400), stripes(40)
	opts := vae.TrainOptions{Epochs: 20, BatchSize: 20, Seed: 1}
	opts.Optim.LR = 0.01
	progress, err := m.Train(context.Background(), train, test, opts)
	if err != nil {
		log.Fatal(err)
	}
	first, last := progress.History[0].Test, progress.History[len(progress.History)-1].Test
	fmt.Println("epochs:", len(progress.History))
	fmt.Println("test loss fell by more than half:", last.Total < first.Total/2)

	// Latent means of four images, and the images decoded from them.
	mean, logVar, _ := m.Encode(test.X[:4*16])
	recon, _ := m.Decode(mean)
	fmt.Println("encoded:", len(mean), "means and", len(logVar), "log-variances; decoded:", len(recon), "pixels")
	// Output:
	// epochs: 20
	// test loss fell by more than half: true
	// encoded: 8 means and 8 log-variances; decoded: 64 pixels
}

func ExampleLoad() {
	m, _ := vae.New(vae.Config{Input: 16, Hidden: []int{8}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	path := filepath.Join(os.TempDir(), "example.safetensors")
	defer os.Remove(path)
	if err := vae.Save(path, m); err != nil {
		log.Fatal(err)
	}
	loaded, err := vae.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Config)
	// Output: 16-8-2
}

func ExampleModel_Sample() {
	m, _ := vae.New(vae.Config{Input: 16, Hidden: []int{8}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	images := m.Sample(3, rand.New(rand.NewPCG(3, 4)))
	fmt.Println(len(images), "pixels, all in (0, 1):", inUnit(images))
	// Output: 48 pixels, all in (0, 1): true
}

func inUnit(v []float32) bool {
	for _, x := range v {
		if x <= 0 || x >= 1 {
			return false
		}
	}
	return true
}

// How good a model is, in the field's unit: the importance-weighted test
// log-likelihood, beside the ELBO and the active units.
func ExampleModel_Evaluate() {
	m, _ := vae.New(vae.Config{Input: 16, Hidden: []int{32}, Latent: 3}, rand.New(rand.NewPCG(1, 2)))
	train, test := stripes(400), stripes(40)
	opts := vae.TrainOptions{Epochs: 20, BatchSize: 20, Seed: 1, Binarize: "dynamic"}
	opts.Optim.LR = 0.01
	if _, err := m.Train(context.Background(), train, nil, opts); err != nil {
		log.Fatal(err)
	}
	e, err := m.Evaluate(context.Background(), test.X, vae.NLLOptions{K: 1000, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("images:", e.N, "samples each:", e.K)
	fmt.Println("NLL below the negative ELBO:", e.NLL < e.Loss.Total)
	fmt.Println("latent units:", len(e.Variance), "active:", e.Active >= 1)

	// Per image, for anomaly detection: the negative ELBO of each.
	scores, _ := m.Scores(test.X[:2*16], rand.New(rand.NewPCG(1, 1)))
	fmt.Println("scores:", len(scores))
	// Output:
	// images: 40 samples each: 1000
	// NLL below the negative ELBO: true
	// latent units: 3 active: true
	// scores: 2
}
