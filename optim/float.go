package optim

import "math"

// fma32 returns a*b+c rounded once to float32, as the fused multiply-add
// instructions of PyTorch's vectorised CPU kernels compute it.
//
// The product of two float32s is exact in float64, so the float64 sum s is
// a*b+c rounded once. Rounding s again to float32 gives the correctly
// rounded result unless s landed exactly halfway between two float32s; in
// float32's normal range such an s has its low 29 mantissa bits equal to
// 1<<28. The rare rest is left to fma32Slow.
func fma32(a, b, c float32) float32 {
	s := float64(a)*float64(b) + float64(c)
	// Not halfway, and |s| >= 2**-126 (biased exponent 1023-126).
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && bits&(0x7ff<<52) >= 897<<52 {
		return float32(s)
	}
	return fma32Slow(a, b, c)
}

// fma32Slow is fma32 for sums that are halfway between float32s or below
// float32's normal range: when the float64 sum s is halfway but the exact
// sum is not, the rounding error of s decides the direction.
func fma32Slow(a, b, c float32) float32 {
	p := float64(a) * float64(b) // exact
	s := p + float64(c)
	r := float32(s)
	if float64(r) == s || math.IsInf(float64(r), 0) || math.IsNaN(s) {
		return r
	}
	z := s - p
	e := (p - (s - z)) + (float64(c) - z) // exact error of s (TwoSum)
	if e == 0 {
		return r
	}
	// o is the float32 on the other side of s from r.
	o := math.Nextafter32(r, float32(math.Copysign(math.Inf(1), s-float64(r))))
	if s-float64(r) != float64(o)-s {
		return r // not halfway
	}
	if (e > 0) == (o > r) {
		return o
	}
	return r
}

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
