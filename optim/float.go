package optim

import (
	"math"

	"github.com/govae/vae/kernel"
)

// fma32 returns a*b+c rounded once to float32, as the fused multiply-add
// instructions of PyTorch's vectorised CPU kernels compute it.
func fma32(a, b, c float32) float32 { return kernel.FMA32(a, b, c) }

// sqrt32 returns the correctly rounded float32 square root of x, as
// torch.sqrt does. Rounding the float64 root again is exact for sqrt.
func sqrt32(x float32) float32 {
	return float32(math.Sqrt(float64(x)))
}

// powInt returns b**n for n >= 0 in float64, to within one unit in the last
// place: it squares and multiplies in double-double arithmetic. PyTorch
// computes its bias corrections with C's pow, which is also within one unit;
// math.Pow strays further for large n.
func powInt(b float64, n int64) float64 {
	rh, rl := 1.0, 0.0
	xh, xl := b, 0.0
	for n > 0 {
		if n&1 == 1 {
			rh, rl = mulDD(rh, rl, xh, xl)
		}
		n >>= 1
		if n > 0 {
			xh, xl = mulDD(xh, xl, xh, xl)
		}
	}
	return rh + rl
}

// mulDD multiplies two double-double numbers ah+al and bh+bl.
func mulDD(ah, al, bh, bl float64) (hi, lo float64) {
	p := ah * bh
	e := math.FMA(ah, bh, -p)
	e += ah*bl + al*bh
	hi = p + e
	return hi, e - (hi - p)
}
