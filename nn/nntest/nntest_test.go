package nntest

import (
	"fmt"
	"testing"
)

type recorder struct{ msgs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, a...))
}

// The checker must accept a right gradient and catch a wrong one.
func TestCheckGradient(t *testing.T) {
	v := []float32{0.5, -1.5, 2}
	loss := func() float64 { // Σ x³
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x) * float64(x)
		}
		return s
	}
	right := []float32{3 * 0.25, 3 * 2.25, 3 * 4}
	if bad := CheckGradient(t, "right", v, right, loss); bad != 0 {
		t.Fatalf("right gradient: %d elements reported off", bad)
	}
	wrong := []float32{3 * 0.25, 2 * 2.25, 3 * 4} // a wrong factor in one element
	var r recorder
	if bad := CheckGradient(&r, "wrong", v, wrong, loss); bad != 1 || len(r.msgs) != 1 {
		t.Fatalf("wrong gradient: %d elements off, messages %q; want 1", bad, r.msgs)
	}
	if v[0] != 0.5 || v[1] != -1.5 || v[2] != 2 {
		t.Fatalf("values not restored: %v", v)
	}
}
