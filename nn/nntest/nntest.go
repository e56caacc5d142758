// Package nntest checks analytic gradients against central finite
// differences, for the tests of nn, vae and anything built on them.
package nntest

import (
	"math"

	"gonum.org/v1/gonum/diff/fd"
)

// Tolerances for float32 forward passes. The loss is computed in float32 with
// float64 accumulation, so it carries a relative rounding error of about
// 1e-6; a central difference with step h = 1e-2 turns that into an absolute
// error near 1e-6·|L|/(2h) = 5e-5·|L|, while its truncation error is about
// h²/6·|f”'| ≈ 2e-5·|f”'|. With the small losses of the tests (|L| ≲ 50)
// both stay below 3e-3, so the check allows 5e-3 absolute plus 1e-2
// relative. A wrong gradient (a dropped term, a wrong factor, a sign) is off
// by far more than that.
const (
	Step   = 1e-2
	AbsTol = 5e-3
	RelTol = 1e-2
)

// Reporter is the part of testing.TB the checker uses.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// CheckGradient compares grad, the analytic gradient of loss with respect to
// value at the current value, with a central finite difference of loss, where
// loss recomputes the loss from the current contents of value. It reports
// each element that is off (at most 5) through r and returns the number of
// elements off. value is restored before it returns.
func CheckGradient(r Reporter, name string, value, grad []float32, loss func() float64) int {
	r.Helper()
	x := make([]float64, len(value))
	for i, v := range value {
		x[i] = float64(v)
	}
	saved := append([]float32(nil), value...)
	f := func(y []float64) float64 {
		for i, v := range y {
			value[i] = float32(v)
		}
		return loss()
	}
	numeric := fd.Gradient(nil, f, x, &fd.Settings{Formula: fd.Central, Step: Step})
	copy(value, saved)

	bad := 0
	for i, n := range numeric {
		a := float64(grad[i])
		if math.Abs(a-n) <= AbsTol+RelTol*math.Max(math.Abs(a), math.Abs(n)) {
			continue
		}
		if bad < 5 {
			r.Errorf("%s[%d]: analytic gradient %.6g, finite difference %.6g", name, i, a, n)
		}
		bad++
	}
	if bad > 5 {
		r.Errorf("%s: %d of %d gradient elements off", name, bad, len(value))
	}
	return bad
}
