package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ewLevels returns the element-wise paths this machine runs, best first.
func ewLevels() []int {
	var l []int
	for lv := ewBest; lv >= ewGo; lv-- {
		l = append(l, lv)
	}
	return l
}

var ewNames = [...]string{ewGo: "go", ewAVX2: "avx2", ewAVX512: "avx512"}

// withLevel runs f with ewLevel set to lv.
func withLevel(lv int, f func()) {
	old := ewLevel
	ewLevel = lv
	defer func() { ewLevel = old }()
	f()
}

// refFMA32 is a*b+c rounded once to float32, computed independently of
// fma32: the float64 sum is exact whenever the exponents are close, and the
// slow path rounds the exact sum held as a big float otherwise.
func refFMA32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.IsNaN(s) || math.IsInf(s, 0) || math.IsInf(p, 0) {
		return float32(s)
	}
	// Error of s by TwoSum: s+e == p+c exactly.
	z := s - p
	e := (p - (s - z)) + (float64(c) - z)
	r := float32(s)
	if e == 0 || math.IsInf(float64(r), 0) {
		return r
	}
	// Round s+e to float32: pick between r and its neighbour towards s+e.
	lo, hi := r, r
	if float64(r) < s || (float64(r) == s && e > 0) {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	// Compare distances exactly: d = (s+e) - lo and hi - (s+e).
	dl := (s - float64(lo)) + e
	dh := (float64(hi) - s) - e
	switch {
	case dl < dh:
		return lo
	case dh < dl:
		return hi
	}
	if math.Float32bits(lo)&1 == 0 {
		return lo
	}
	return hi
}

func adamRef(value, grad, m, v []float32, beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps float32) {
	for j, g := range grad {
		if wd != 0 {
			g = refFMA32(value[j], wd, g)
		}
		mj := refFMA32(g, oneMinB1, float32(m[j]*beta1))
		vj := refFMA32(float32(oneMinB2*g), g, float32(v[j]*beta2))
		m[j], v[j] = mj, vj
		denom := float32(float32(math.Sqrt(float64(vj)))/bc2Sqrt) + eps
		value[j] += float32(negStep*mj) / denom
	}
}

func randMag(r *rand.Rand) float32 {
	x := float32(r.NormFloat64())
	switch r.IntN(8) {
	case 0:
		x *= 1e-20
	case 1:
		x *= 1e20
	case 2:
		x *= 1e-40 // subnormal
	case 3:
		x = 0
	case 4:
		x = float32(math.Copysign(0, -1))
	}
	return x
}

func TestAdamStepBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lens := []int{}
	for n := 0; n <= 70; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 1003)
	for _, lv := range ewLevels() {
		for _, wd := range []float32{0, 0.01, 1e-30} {
			for _, n := range lens {
				for rep := 0; rep < 3; rep++ {
					value, grad, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
					for j := range n {
						value[j], grad[j], m[j] = randMag(r), randMag(r), randMag(r)
						v[j] = float32(math.Abs(float64(randMag(r))))
					}
					beta1, beta2 := float32(0.9), float32(0.999)
					if rep == 2 {
						beta1, beta2 = float32(r.Float64()), float32(r.Float64())
					}
					oneMinB1, oneMinB2 := float32(1-float64(beta1)), float32(1-float64(beta2))
					negStep, bc2Sqrt, eps := float32(-1e-3*r.Float64()*3), float32(r.Float64()+0.01), float32(1e-8)
					rv, rm, rvv := append([]float32(nil), value...), append([]float32(nil), m...), append([]float32(nil), v...)
					adamRef(rv, grad, rm, rvv, beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps)
					withLevel(lv, func() {
						AdamStep(value, grad, m, v, beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps)
					})
					for j := range n {
						if !sameBits(value[j], rv[j]) || !sameBits(m[j], rm[j]) || !sameBits(v[j], rvv[j]) {
							t.Fatalf("%s wd=%g n=%d j=%d: got value %g m %g v %g, want %g %g %g",
								ewNames[lv], wd, n, j, value[j], m[j], v[j], rv[j], rm[j], rvv[j])
						}
					}
				}
			}
		}
	}
}

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		a, b, c := randMag(r), randMag(r), randMag(r)
		if r.IntN(2) == 0 {
			// Near-cancelling and halfway-prone sums.
			c = -float32(float64(a) * float64(b))
			c = math.Float32frombits(math.Float32bits(c) + uint32(r.IntN(3)) - 1)
		}
		if got, want := fma32(a, b, c), refFMA32(a, b, c); !sameBits(got, want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}

func BenchmarkAdamStep(b *testing.B) {
	const n = 784 * 400
	value, grad, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 2))
	for j := range n {
		value[j], grad[j] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	for _, lv := range ewLevels() {
		b.Run(ewNames[lv], func(b *testing.B) {
			withLevel(lv, func() {
				b.SetBytes(n * 4 * 7) // 4 loads, 3 stores
				for b.Loop() {
					AdamStep(value, grad, m, v, 0.9, 0.999, 0.1, 0.001, 0, -1e-3, 0.5, 1e-8)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		})
	}
}

// bceRef is the float64 formula of nn.BCEWithLogits for one element.
func bceRef(l, t float32) (loss, sig float64) {
	L, T := float64(l), float64(t)
	loss = max(L, 0) - L*T + math.Log1p(math.Exp(-math.Abs(L)))
	if L >= 0 {
		sig = 1 / (1 + math.Exp(-L))
	} else {
		e := math.Exp(L)
		sig = e / (1 + e)
	}
	return loss, sig
}

// bceLogits is a dense sweep of [-100, 100] with the special points.
func bceLogits() []float32 {
	var ls []float32
	for x := -100.0; x <= 100; x += 0.0137 {
		ls = append(ls, float32(x))
	}
	for _, x := range []float32{0, 1e-30, 1e-45, 1e-7, 88, 88.7, 89, 87.3, 100, 103.9, 104, 200, 1e30, float32(math.Inf(1))} {
		ls = append(ls, x, -x)
	}
	ls = append(ls, float32(math.Copysign(0, -1)))
	return ls
}

func TestBCEWithLogits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ls := bceLogits()
	ts := make([]float32, len(ls))
	for i := range ts {
		switch i % 5 {
		case 0:
			ts[i] = 0
		case 1:
			ts[i] = 1
		case 2:
			ts[i] = 0.99999994
		default:
			ts[i] = float32(r.Float64())
		}
	}
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			for _, scale := range []float32{1, 0.37} {
				grad := make([]float32, len(ls))
				rows := 7
				n := len(ls) / rows * rows
				rowLoss := make([]float32, rows)
				total := BCEWithLogits(grad[:n], rowLoss, ls[:n], ts[:n], scale)
				cols := n / rows
				var want float64
				for row := range rows {
					var rowWant float64
					for i := row * cols; i < (row+1)*cols; i++ {
						l, tt := ls[i], ts[i]
						wl, ws := bceRef(l, tt)
						rowWant += wl
						// Per-element loss through a one-element call.
						got := BCEWithLogits(nil, nil, ls[i:i+1], ts[i:i+1], 1)
						if !math.IsInf(wl, 0) && math.Abs(got-wl) > 2e-7+1e-6*math.Abs(wl) {
							t.Errorf("%s: loss(%g, %g) = %g, want %g", ewNames[lv], l, tt, got, wl)
						}
						wg := float64(scale) * (ws - float64(tt))
						if d := math.Abs(float64(grad[i]) - wg); d > float64(scale)*1e-7+1e-6*math.Abs(wg) {
							t.Errorf("%s: grad(%g, %g) = %g, want %g", ewNames[lv], l, tt, grad[i], wg)
						}
					}
					if !math.IsInf(rowWant, 0) && math.Abs(float64(rowLoss[row])-rowWant) > 1e-6*math.Abs(rowWant)+1e-6 {
						t.Errorf("%s: row %d loss %g, want %g", ewNames[lv], row, rowLoss[row], rowWant)
					}
					want += rowWant
				}
				if !math.IsInf(want, 0) && math.Abs(total-want) > 1e-6*math.Abs(want) {
					t.Errorf("%s: total %g, want %g", ewNames[lv], total, want)
				}
			}
			// Vector-length runs through the vector path, element by element
			// through both, must agree on each element's loss.
			for i := 0; i+16 <= len(ls); i += 16 {
				var g [16]float32
				sum := BCEWithLogits(g[:], nil, ls[i:i+16], ts[i:i+16], 1)
				var ref float64
				for j := i; j < i+16; j++ {
					wl, _ := bceRef(ls[j], ts[j])
					ref += wl
				}
				if !math.IsInf(ref, 0) && math.Abs(sum-ref) > 16*(2e-7)+1e-6*math.Abs(ref) {
					t.Fatalf("%s: block %d sum %g, want %g", ewNames[lv], i, sum, ref)
				}
			}
			// NaN logits give NaN, in the vector lanes and the tail.
			for _, n := range []int{1, 7, 16, 19} {
				l, tt, g := make([]float32, n), make([]float32, n), make([]float32, n)
				l[n-1] = float32(math.NaN())
				if s := BCEWithLogits(g, nil, l, tt, 1); !math.IsNaN(s) || !math.IsNaN(float64(g[n-1])) {
					t.Errorf("%s: NaN logit gave loss %g grad %g", ewNames[lv], s, g[n-1])
				}
			}
		})
	}
}

func TestSigmoid(t *testing.T) {
	xs := bceLogits()
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			for _, n := range []int{len(xs), 5, 16, 33} {
				y := make([]float32, n)
				Sigmoid(y, xs[:n])
				for i, x := range xs[:n] {
					_, want := bceRef(x, 0)
					tol := 1e-6 * want
					if want < 0x1p-126 {
						tol = 0x1p-126 // flushed to zero
					}
					if math.Abs(float64(y[i])-want) > tol {
						t.Errorf("%s: Sigmoid(%g) = %g, want %g", ewNames[lv], x, y[i], want)
					}
				}
			}
			x := []float32{float32(math.NaN()), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, float32(math.NaN()), 1, float32(math.NaN())}
			Sigmoid(x, x) // aliasing
			if !math.IsNaN(float64(x[0])) || !math.IsNaN(float64(x[15])) || !math.IsNaN(float64(x[17])) || math.Abs(float64(x[1])-0.7310585786) > 1e-7 {
				t.Errorf("%s: NaN/alias: %v", ewNames[lv], x)
			}
		})
	}
}

func BenchmarkBCEWithLogits(b *testing.B) {
	const rows, cols = 128, 784
	l, tt, g, rl := make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range l {
		l[i], tt[i] = float32(r.NormFloat64()*4), float32(r.Float64())
		if i%4 == 0 { // as a trained decoder gives its always-black pixels
			l[i], tt[i] = float32(-80-30*r.Float64()), 0
		}
	}
	for _, lv := range ewLevels() {
		b.Run(ewNames[lv], func(b *testing.B) {
			withLevel(lv, func() {
				for b.Loop() {
					BCEWithLogits(g, rl, l, tt, 1.0/rows)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(rows*cols), "ns/elem")
			})
		})
	}
}

func BenchmarkSigmoid(b *testing.B) {
	const n = 1000 * 784
	x, y := make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64() * 4)
		if i%4 == 0 { // as a trained decoder gives its always-black pixels
			x[i] = float32(-80 - 30*r.Float64())
		}
	}
	for _, lv := range ewLevels() {
		b.Run(ewNames[lv], func(b *testing.B) {
			withLevel(lv, func() {
				for b.Loop() {
					Sigmoid(y, x)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		})
	}
}

// ulps returns how many float32 steps apart got and want are.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	if got == w {
		return 0
	}
	step := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w))
	return math.Abs(float64(got)-want) / step
}

// Tanh against math.Tanh over the float32 range, at every level: within 4
// ulp, exact signs, ±1 at the ends, NaN for NaN.
func TestTanh(t *testing.T) {
	var xs []float32
	for e := -149.0; e <= 10; e += 0.01 { // magnitudes from the smallest subnormal up
		v := float32(math.Pow(2, e))
		xs = append(xs, v, -v)
	}
	r := rand.New(rand.NewPCG(3, 3))
	for range 20000 {
		xs = append(xs, float32(r.NormFloat64()*3))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 100, -100, float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -3e38)
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			y := make([]float32, len(xs))
			Tanh(y, xs)
			worst, at := 0.0, 0
			for i, x := range xs {
				want := math.Tanh(float64(x))
				if u := ulps(y[i], want); u > worst {
					worst, at = u, i
				}
				if math.Signbit(float64(y[i])) != math.Signbit(want) {
					t.Errorf("%s: Tanh(%g) = %g, wrong sign", ewNames[lv], x, y[i])
				}
			}
			if worst > 4 {
				t.Errorf("%s: Tanh(%g) = %g, want %g: %.1f ulp", ewNames[lv], xs[at], y[at], math.Tanh(float64(xs[at])), worst)
			}
			t.Logf("%s: worst %.2f ulp, at x = %g", ewNames[lv], worst, xs[at])
			nan := []float32{float32(math.NaN()), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, float32(math.NaN()), 0.5}
			Tanh(nan, nan) // aliasing
			if !math.IsNaN(float64(nan[0])) || !math.IsNaN(float64(nan[15])) || nan[16] != float32(math.Tanh(0.5)) && ulps(nan[16], math.Tanh(0.5)) > 4 {
				t.Errorf("%s: NaN/alias: %v", ewNames[lv], nan)
			}
		})
	}
}

// ReLU and its backward pass at every level against Go's max and the
// definition, on lengths that leave every tail, with −0, NaN and ±Inf, and
// aliased.
func TestReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45}
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			for n := range 40 {
				x, dy := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i], dy[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
					if r.IntN(4) == 0 {
						x[i] = special[r.IntN(len(special))]
					}
				}
				y, dx := make([]float32, n), make([]float32, n)
				ReLU(y, x)
				ReLUBackward(dx, dy, y)
				for i, v := range x {
					want, wantD := max(v, 0), float32(0)
					if v > 0 || v != v {
						wantD = dy[i]
					}
					if math.Float32bits(y[i]) != math.Float32bits(want) && !(v != v && y[i] != y[i]) {
						t.Errorf("%s n %d: ReLU(%g) = %g, want %g", ewNames[lv], n, v, y[i], want)
					}
					if math.Float32bits(dx[i]) != math.Float32bits(wantD) {
						t.Errorf("%s n %d: ReLU'(%g)·%g = %g, want %g", ewNames[lv], n, v, dy[i], dx[i], wantD)
					}
				}
				ReLU(x, x) // aliasing
				ReLUBackward(dy, dy, x)
				if !equalBits(x, y) || !equalBits(dy, dx) {
					t.Errorf("%s n %d: aliased results differ", ewNames[lv], n)
				}
			}
		})
	}
}

// equalBits reports whether a and b hold the same bits.
func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func BenchmarkTanh(b *testing.B) {
	const n = 20 * 800 // a batch of 20 through Burda et al.'s four hidden layers of 200
	x, y := make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64() * 2)
	}
	for _, lv := range ewLevels() {
		b.Run(ewNames[lv], func(b *testing.B) {
			withLevel(lv, func() {
				for b.Loop() {
					Tanh(y, x)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
			})
		})
	}
}

// tinyPair multiplies to a subnormal; mul32 keeps the compiler from
// folding the product.
var tinyPair = []float32{1e-30, 1e-10}

//go:noinline
func mul32(a, b float32) float32 { return a * b }

// The kernels that set flush-to-zero restore the caller's MXCSR: Go's own
// float32 arithmetic still gives subnormals after them.
func TestFlushToZeroRestored(t *testing.T) {
	x := make([]float32, 64)
	for i := range x {
		x[i] = -100 // subnormal sigmoid, flushed inside the kernel
	}
	g, rows := make([]float32, 64), make([]float32, 1)
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			Sigmoid(g, x)
			BCEWithLogits(g, rows, x, x, 1)
			if p := mul32(tinyPair[0], tinyPair[1]); p == 0 {
				t.Errorf("%s: 1e-30·1e-10 = 0 after the kernels: flush-to-zero left on", ewNames[lv])
			}
		})
	}
}

// AllIn finds one value outside the range, NaN or infinite, wherever it is
// (in the vector part or the tail), and takes the bounds as inside.
func TestAllIn(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			for n := range 35 {
				x := make([]float32, n)
				for i := range x {
					x[i] = []float32{0, 1, 0.5}[i%3] // the bounds themselves are in
				}
				if !AllIn(x, 0, 1) {
					t.Fatalf("%s: n %d: values in [0, 1] reported outside", ewNames[lv], n)
				}
				for i := range x {
					for _, bad := range []float32{nan, inf, -inf, -1e-30, 1.0000001} {
						old := x[i]
						x[i] = bad
						if AllIn(x, 0, 1) {
							t.Errorf("%s: n %d: %v at %d not found", ewNames[lv], n, bad, i)
						}
						x[i] = old
					}
				}
			}
			if !AllIn([]float32{-math.MaxFloat32, 3, math.MaxFloat32, 0, 0, 0, 0, 0, 1}, -math.MaxFloat32, math.MaxFloat32) {
				t.Errorf("%s: finite values reported infinite", ewNames[lv])
			}
		})
	}
}
