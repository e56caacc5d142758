package vae

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/internal/memtest"
	"github.com/govae/vae/nn"
)

// allocated returns the bytes held by the float32 buffers of p.
func allocated(p *pass) int64 {
	var n int64
	seen := map[uintptr]bool{} // p.logits and p.dLogits alias the decoder's last buffers
	count := func(f reflect.Value) {
		if f.Len() > 0 && !seen[f.Pointer()] {
			seen[f.Pointer()] = true
			n += int64(f.Len()) * 4
		}
	}
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Type() {
		case reflect.TypeFor[[]float32]():
			count(f)
		case reflect.TypeFor[[][]float32]():
			for j := range f.Len() {
				count(f.Index(j))
			}
		}
	}
	return n
}

func TestCostEstimates(t *testing.T) {
	for _, cfg := range []Config{
		{Input: 784, Hidden: []int{512}, Latent: 2},
		{Input: 30, Hidden: []int{64, 16}, Latent: 5, Likelihood: Gaussian},
		{Input: 7, Latent: 3},
		kerasConv,
	} {
		m, err := New(cfg, rand.New(rand.NewPCG(1, 0)))
		if err != nil {
			t.Fatal(err)
		}
		var params int64
		for _, p := range m.Params() {
			params += int64(len(p.Value))
		}
		if got := cfg.ParamCount(); got != params {
			t.Errorf("%s: ParamCount = %d, the model has %d", cfg, got, params)
		}
		for _, c := range []struct {
			n, k int
			grad bool
		}{{1, 1, false}, {128, 1, true}, {20, 50, true}, {1000, 1, false}} {
			if got, want := cfg.passBytes(c.n, c.k, c.grad), allocated(m.newPass(c.n, c.k, c.grad)); got != want {
				t.Errorf("%s: passBytes(%d, %d, %v) = %d, newPass allocates %d", cfg, c.n, c.k, c.grad, got, want)
			}
		}
	}
}

// TestOverBudget checks that sizes the machine cannot hold are refused
// before they are allocated, with a *budget.Error.
func TestOverBudget(t *testing.T) {
	memtest.SetLimit(t, 64<<20)
	small := Config{Input: 784, Hidden: []int{512}, Latent: 2, Init: nn.InitGlorot}
	m, err := New(small, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	data := blobs(100, 784, 1)
	cases := []struct {
		name string
		run  func() error
	}{
		{"hidden 1e9", func() error {
			_, err := New(Config{Input: 784, Hidden: []int{1e9}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
			return err
		}},
		{"hidden 100000,100000", func() error {
			_, err := New(Config{Input: 784, Hidden: []int{100000, 100000}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
			return err
		}},
		{"batch 1e12", func() error {
			_, err := m.Train(context.Background(), data, nil, TrainOptions{Epochs: 1, BatchSize: 1e12, Optimizer: "adam"})
			return err
		}},
		{"iwae samples 1e6", func() error {
			_, err := m.Train(context.Background(), data, nil, TrainOptions{Epochs: 1, BatchSize: 128, Optimizer: "adam", Objective: "iwae", Samples: 1e6})
			return err
		}},
	}
	for _, c := range cases {
		var be *budget.Error
		if err := c.run(); !errors.As(err, &be) {
			t.Errorf("%s: err = %v, want a *budget.Error", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}
