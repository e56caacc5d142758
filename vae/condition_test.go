package vae

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
)

// A conditional model's class is a one-hot input beside the encoder's
// output and beside z: the embeddings add the columns of the one-hot, so
// that a model of the concatenation, with those columns as weights, gives
// the same posterior and decoder output.
func TestConditionalIsOneHotInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const C = 3
	cm, err := New(Config{Input: 6, Hidden: []int{4}, Latent: 2, Classes: C}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x, classes := randomInput(rng, 3, 6), []uint8{2, 0, 1}
	given, err := cm.Given(classes...)
	if err != nil {
		t.Fatal(err)
	}
	mean, logVar, err := given.Encode(x)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: the first layer of [x, onehot(y)], its ReLU, the heads.
	d := cm.Encoder[0].(*nn.Dense)
	for i := range 3 {
		h := make([]float32, 4)
		for o := range 4 {
			v := d.B.Value[o] + cm.EncoderClass.W.Value[int(classes[i])*4+o]
			for j := range 6 {
				v += d.W.Value[o*6+j] * x[i*6+j]
			}
			h[o] = max(v, 0)
		}
		for k, head := range []*nn.Dense{cm.ZMean, cm.ZLogVar} {
			got := [][]float32{mean, logVar}[k]
			for o := range 2 {
				want := head.B.Value[o]
				for j := range 4 {
					want += head.W.Value[o*4+j] * h[j]
				}
				if diff := want - got[i*2+o]; diff > 1e-5 || diff < -1e-5 {
					t.Errorf("head %d [%d, %d] = %v, want %v", k, i, o, got[i*2+o], want)
				}
			}
		}
	}
	// One class for every row is that class given row by row.
	one, _ := cm.Given(1)
	each, _ := cm.Given(1, 1, 1)
	a, _ := one.Decode(mean)
	b, _ := each.Decode(mean)
	if !slices.Equal(a, b) {
		t.Error("Given(1) and Given(1, 1, 1) decode differently")
	}
	c, _ := given.Decode(mean)
	if slices.Equal(a, c) {
		t.Error("the classes do not change the decoder's output")
	}
}

func TestConditionalErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	m, _ := New(Config{Input: 4, Hidden: []int{3}, Latent: 2, Classes: 2}, rng)
	x := randomInput(rng, 2, 4)
	if _, _, err := m.Encode(x); !errors.Is(err, ErrNoClass) {
		t.Errorf("Encode without classes: %v, want ErrNoClass", err)
	}
	if _, err := m.Decode(make([]float32, 4)); !errors.Is(err, ErrNoClass) {
		t.Errorf("Decode without classes: %v, want ErrNoClass", err)
	}
	if _, err := m.Given(2); err == nil {
		t.Error("Given(2) accepted a class of a model of 2")
	}
	v, _ := m.Given(0, 1, 1)
	if _, _, err := v.Encode(x); err == nil {
		t.Error("a view of 3 classes encoded 2 rows")
	}
	if got := len(m.Sample(5, rng)); got != 5*4 {
		t.Errorf("Sample without classes gave %d values, want 20 (classes drawn)", got)
	}
	u, _ := New(Config{Input: 4, Latent: 2}, rng)
	if _, err := u.Given(0); err == nil {
		t.Error("Given accepted a model that is not conditional")
	}
	if err := (Config{Input: 16, Image: []int{1, 4, 4}, Latent: 4, Classes: 2, Encoder: []string{"dense4"}, Decoder: []string{"reshape1x2x2", "convT1s2", "convT1s2"}}).Validate(); err == nil {
		t.Error("a conditional model's decoder may start with a convolution")
	}
	if err := (Config{Input: 4, Latent: 2, Classes: 2}).Validate(); err == nil {
		t.Error("a conditional model's encoder may have no dense layer")
	}
	set := &dataset.Set{Name: "unlabelled", X: x, N: 2, Dim: 4}
	if _, err := m.Train(t.Context(), set, nil, TrainOptions{Epochs: 1, BatchSize: 2}); err == nil {
		t.Error("Train of a conditional model accepted a set without labels")
	}
	set.Labels, set.Classes = []uint8{0, 3}, 4
	if _, err := m.Train(t.Context(), set, nil, TrainOptions{Epochs: 1, BatchSize: 2}); err == nil {
		t.Error("Train of a conditional model of 2 classes accepted label 3")
	}
}

// A conditional model trains on a labelled set, its file keeps the
// embeddings, and the classes matter once trained: each class's samples
// are nearer its own examples than the other's.
func TestConditionalTrainSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n, D = 256, 8
	set := &dataset.Set{Name: "two", X: make([]float32, n*D), Labels: make([]uint8, n), N: n, Dim: D, Classes: 2}
	for i := range n { // class 0 lights the first half, class 1 the second
		c := i % 2
		set.Labels[i] = uint8(c)
		for j := range D / 2 {
			set.X[i*D+c*D/2+j] = 1
		}
	}
	m, err := New(Config{Input: D, Hidden: []int{16}, Latent: 2, Classes: 2}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Train(t.Context(), set, set, TrainOptions{Epochs: 30, BatchSize: 32, Seed: 3, Optim: optim.Config{LR: 1e-2}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for c := range uint8(2) {
		v, _ := back.Given(c)
		s := v.Sample(20, rand.New(rand.NewPCG(1, 1)))
		var own, other float64
		for i := range 20 {
			for j := range D {
				if j/(D/2) == int(c) {
					own += float64(s[i*D+j])
				} else {
					other += float64(s[i*D+j])
				}
			}
		}
		if own < 3*other {
			t.Errorf("class %d: samples light its half %.1f, the other %.1f", c, own, other)
		}
	}
}
