package dataset

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Each binarised element is 1 with the probability the input gives it.
func TestBinarize(t *testing.T) {
	probs := []float32{0, 1, 0.5, 0.1, 0.9, -0.5, 1.5, 1e-3}
	const n = 200000
	x := make([]float32, n*len(probs))
	for i := range x {
		x[i] = probs[i%len(probs)]
	}
	Binarize(x, x, rand.NewPCG(1, 2))
	for j, p := range probs {
		var ones float64
		for i := j; i < len(x); i += len(probs) {
			switch x[i] {
			case 1:
				ones++
			case 0:
			default:
				t.Fatalf("element %d = %v, want 0 or 1", i, x[i])
			}
		}
		want := math.Min(1, math.Max(0, float64(p)))
		se := math.Sqrt(want*(1-want)/n) + 1e-9
		if got := ones / n; math.Abs(got-want) > 5*se {
			t.Errorf("probability %v: %.5f ones, want %.5f ± %.5f", p, got, want, 5*se)
		}
	}
}

func TestBinarized(t *testing.T) {
	s := &Set{Name: "toy", N: 3, Dim: 4, Rows: 2, Cols: 2, X: []float32{0, 1, .5, .5, .2, .8, .5, .5, 1, 1, 0, 0}, Labels: []uint8{1, 2, 3}}
	a, b := s.Binarized(7), s.Binarized(7)
	if a.Name != "toy/binarized" || a.N != 3 || &a.X[0] == &s.X[0] {
		t.Fatalf("Binarized: %+v", a)
	}
	for i, v := range a.X {
		if v != b.X[i] || (v != 0 && v != 1) || (s.X[i] == 0 && v != 0) || (s.X[i] == 1 && v != 1) {
			t.Fatalf("element %d: %v from %v (again: %v)", i, v, s.X[i], b.X[i])
		}
	}
	// Example 1 alone binarises as it does within the set.
	one := &Set{Name: "one", N: 1, Dim: 4, X: s.X[4:8]}
	var rng rand.PCG
	rng.Seed(7, 1)
	got := make([]float32, 4)
	Binarize(got, one.X, &rng)
	for i := range got {
		if got[i] != a.X[4+i] {
			t.Errorf("example 1 alone %v, in the set %v", got, a.X[4:8])
		}
	}
}
