package optim

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA32 returns a*b+c rounded once to float32, computed exactly.
func exactFMA32(a, b, c float32) float32 {
	if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) || math.IsNaN(float64(c)) ||
		math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return float32(float64(a)*float64(b) + float64(c))
	}
	const prec = 1200 // wide enough for any sum of float32 products
	x := new(big.Float).SetPrec(prec).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(prec).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(prec).SetFloat64(float64(c)))
	if x.Sign() == 0 {
		return float32(float64(a)*float64(b) + float64(c)) // signed zero rules
	}
	f, _ := x.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	tie := float32(1 + 0x1p-12) // tie*tie = 1 + 2^-11 + 2^-24, halfway between float32s
	for _, tc := range []struct{ a, b, c float32 }{
		{tie, tie, 0},
		{tie, tie, 0x1p-80},
		{tie, tie, -0x1p-80},
		{-tie, tie, 0x1p-80},
		{-tie, tie, -0x1p-80},
		{tie, tie, 0x1p-149},
		{0x1p-75, 0x1p-75, 0x1p-149},  // subnormal results
		{0x1p-75, 0x1p-76, -0x1p-149}, //
		{3, 0x1p-150 * 1.5, 0x1p-149}, // product below the smallest subnormal
		{1, 1, -1},
		{-1, 0, 0},
		{float32(math.MaxFloat32), 2, 0},
		{float32(math.MaxFloat32), 1, float32(math.MaxFloat32)},
		{float32(math.Inf(1)), 0, 1},
		{1, 2, 3},
	} {
		got, want := fma32(tc.a, tc.b, tc.c), exactFMA32(tc.a, tc.b, tc.c)
		if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			t.Errorf("fma32(%g, %g, %g) = %g, want %g", tc.a, tc.b, tc.c, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() float32 {
		// Random signs, mantissas and exponents over the whole range.
		return math.Float32frombits(rng.Uint32()&^(0xff<<23) | uint32(rng.IntN(254)+1)<<23)
	}
	for i := range 200000 {
		a, b, c := random(), random(), random()
		switch i % 4 {
		case 1: // close exponents: cancellation and exact sums
			c = float32(float64(a)*float64(b)) * float32(1+rng.Float64()/8)
		case 2: // product halfway between float32s, c tiny
			a = float32(1+float64(rng.IntN(1<<11))*0x1p-11) * 0x1p-12
			b, c = a, float32(rng.NormFloat64())*0x1p-70
		case 3: // float32's subnormal range, where halfway has another bit pattern
			a = float32(rng.NormFloat64()) * 0x1p-70
			b = float32(rng.NormFloat64()) * 0x1p-70
			c = float32(rng.NormFloat64()) * 0x1p-135
		}
		got, want := fma32(a, b, c), exactFMA32(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}

func TestPowInt(t *testing.T) {
	for _, b := range []float64{0.9, 0.99, 0.999, 0.9999, 0.5, 0.8} {
		for _, n := range []int64{0, 1, 2, 3, 7, 100, 1000, 12345, 1e6, 1e8} {
			x := new(big.Float).SetPrec(4000).SetFloat64(b)
			r := new(big.Float).SetPrec(4000).SetFloat64(1)
			for k := n; k > 0; k >>= 1 {
				if k&1 == 1 {
					r.Mul(r, x)
				}
				x.Mul(x, x)
			}
			want, _ := r.Float64()
			got := powInt(b, n)
			if ulps := math.Abs(got-want) / (math.Nextafter(want, 2) - want); ulps > 1 {
				t.Errorf("powInt(%v, %d) = %v, want %v (%.1f ulps off)", b, n, got, want, ulps)
			}
		}
	}
}
