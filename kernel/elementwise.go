package kernel

import "math"

// Element-wise kernels for the optimizer and the losses. Each has an
// AVX-512 path (16 lanes), an AVX2+FMA path (8 lanes) and a pure Go path,
// chosen by ewLevel; the vector paths handle whole vectors and leave the
// tail to the Go code.

// Vector levels for ewLevel.
const (
	ewGo = iota
	ewAVX2
	ewAVX512
)

// ewLevel selects the path of the element-wise kernels. It is ewBest, the
// best this machine runs; tests lower it to check the other paths.
var ewLevel = ewBest

// AdamStep updates value, m and v in place (all the same length) from grad,
// computing for each j:
//
//	g := grad[j]; if wd != 0 { g = fma(value[j], wd, g) }
//	m[j] = fma(g, oneMinB1, m[j]*beta1)
//	v[j] = fma(oneMinB2*g, g, v[j]*beta2)
//	denom := sqrt(v[j])/bc2Sqrt + eps
//	value[j] += (negStep*m[j]) / denom
//
// with float32 IEEE operations, each rounded once (fma = fused multiply-add),
// exactly as optim.Adam.Step does per element: the result is bit-identical
// on every path. Note the test wd != 0 is on the float32 wd. It panics if
// grad, m or v is shorter than value.
func AdamStep(value, grad, m, v []float32, beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps float32) {
	n := len(value)
	grad, m, v = grad[:n], m[:n], v[:n]
	c := [8]float32{beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps}
	done := adamVec(value, grad, m, v, &c)
	adamGo(value[done:], grad[done:], m[done:], v[done:], &c)
}

// adamGo is AdamStep in plain Go; c holds beta1, beta2, oneMinB1, oneMinB2,
// wd, negStep, bc2Sqrt and eps. The explicit conversions keep the compiler
// from fusing products into FMAs.
func adamGo(value, grad, m, v []float32, c *[8]float32) {
	beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
	grad, m, v = grad[:len(value)], m[:len(value)], v[:len(value)]
	for j, g := range grad {
		if wd != 0 {
			g = fma32(value[j], wd, g)
		}
		mj := fma32(g, oneMinB1, float32(m[j]*beta1))
		vj := fma32(float32(oneMinB2*g), g, float32(v[j]*beta2))
		m[j], v[j] = mj, vj
		denom := float32(float32(math.Sqrt(float64(vj)))/bc2Sqrt) + eps
		value[j] += float32(negStep*mj) / denom
	}
}

// FMA32 returns a*b+c rounded once to float32, as a fused multiply-add
// instruction computes it, on any CPU. The product of two float32s is exact
// in float64, so the float64 sum s is a*b+c rounded once; rounding s again to
// float32 is correct unless s lies exactly halfway between two float32s or
// below float32's normal range, which fma32Slow resolves.
func FMA32(a, b, c float32) float32 { return fma32(a, b, c) }

func fma32(a, b, c float32) float32 {
	s := float64(a)*float64(b) + float64(c)
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && bits&(0x7ff<<52) >= 897<<52 {
		return float32(s)
	}
	return fma32Slow(a, b, c)
}

// fma32Slow is fma32 for the rare sums that are halfway between float32s
// or below float32's normal range: when the float64 sum s is halfway but the
// exact sum is not, the rounding error of s decides the direction.
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
	o := math.Nextafter32(r, float32(math.Copysign(math.Inf(1), s-float64(r))))
	if s-float64(r) != float64(o)-s {
		return r // not halfway
	}
	if (e > 0) == (o > r) {
		return o
	}
	return r
}

// ewConst holds the constants of the BCE and sigmoid kernels, each
// repeated in 16 lanes so the assembly can use them as memory operands; the
// index times 64 is the byte offset the assembly uses.
var ewConst = func() (c [nEwConst][16]float32) {
	v := [nEwConst]float32{
		cAbs:   math.Float32frombits(0x7fffffff),
		cSign:  math.Float32frombits(0x80000000),
		cClamp: expClamp,
		cLog2e: math.Log2E,
		cMagic: expMagic,
		cLn2Hi: -ln2Hi, cLn2Lo: -ln2Lo,
		cP0: expP0, cP1: expP1, cP2: expP2, cP3: expP3, cP4: expP4, cP5: expP5,
		cOne: 1, cTwo: 2,
		c127: math.Float32frombits(127),
		cL13: 1.0 / 13, cL11: 1.0 / 11, cL9: 1.0 / 9, cL7: 1.0 / 7, cL5: 1.0 / 5, cL3: 1.0 / 3,
		cTanhClamp: tanhClamp,
	}
	for i := range c {
		for j := range c[i] {
			c[i][j] = v[i]
		}
	}
	return c
}()

// Indices in ewConst.
const (
	cAbs = iota
	cSign
	cClamp
	cLog2e
	cMagic
	cLn2Hi
	cLn2Lo
	cP0
	cP1
	cP2
	cP3
	cP4
	cP5
	cOne
	cTwo
	c127
	cL13
	cL11
	cL9
	cL7
	cL5
	cL3
	cTanhClamp
	nEwConst
)

// Constants of expNeg: Cephes' expf.
const (
	expClamp = -103.9     // exp(-103.9) rounds to 0 in float32
	expMagic = 12582912.0 // 1.5·2²³: adding it rounds to an integer in the low bits
	ln2Hi    = 0.693359375
	ln2Lo    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// expNeg returns exp(−|x|) in float32 as the assembly computes it (but for
// the FMAs, which Go may or may not fuse): within a few ulp, 0 where that
// is below the smallest normal float32 (the assembly runs with
// flush-to-zero), NaN for NaN.
func expNeg(x float32) float32 {
	x = -float32(math.Abs(float64(x)))
	if x < expClamp {
		x = expClamp
	}
	t := x*math.Log2E + expMagic
	n := t - expMagic
	ni := int32(math.Float32bits(t) - math.Float32bits(expMagic))
	r := x - n*ln2Hi - n*ln2Lo
	p := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	p = p*(r*r) + r + 1
	n1 := ni >> 1
	n2 := ni - n1
	e := p * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
	if e < 0x1p-126 {
		return 0
	}
	return e
}

// log1pSmall returns log(1+e) for e in [0, 1] as 2·atanh(s), s = e/(2+e),
// by the atanh series to s¹³ (truncation below 2e-8 relative).
func log1pSmall(e float32) float32 {
	s := e / (2 + e)
	z := s * s
	q := (((((1.0/13)*z+1.0/11)*z+1.0/9)*z+1.0/7)*z+1.0/5)*z + 1.0/3
	s += s
	return s + s*(q*z)
}

// BCEWithLogits is nn.BCEWithLogits vectorised: it returns the sum over all
// elements of the binary cross-entropy max(l,0) − l·t + log(1+e^−|l|) of
// logits l and targets t ∈ [0, 1], writes per-row sums to rowLoss when it is
// not nil (rows = len(rowLoss), else one row) and, when grad is not nil,
// sets grad[i] = scale·(σ(l) − t).
//
// Each element's loss is computed in float32 as |l|·(l<0 ? t : 1−t) +
// log1p(e^−|l|), all terms non-negative so nothing cancels, within about
// 3e-7 relative of the exact value; the losses are summed in float64 (in
// float64 lanes, then across lanes, per row). NaN logits give NaN.
func BCEWithLogits(grad, rowLoss, logits, targets []float32, scale float32) float64 {
	rows := 1
	if rowLoss != nil {
		rows = len(rowLoss)
	}
	if rows == 0 {
		return 0
	}
	cols := len(logits) / rows
	targets = targets[:rows*cols]
	if grad != nil {
		grad = grad[:rows*cols]
	}
	var total float64
	for r := range rows {
		lo, hi := r*cols, (r+1)*cols
		var g []float32
		if grad != nil {
			g = grad[lo:hi]
		}
		sum := bceRow(g, logits[lo:hi], targets[lo:hi], scale)
		if rowLoss != nil {
			rowLoss[r] = float32(sum)
		}
		total += sum
	}
	return total
}

// bceRow is BCEWithLogits over one row.
func bceRow(grad, logits, targets []float32, scale float32) float64 {
	done, sum := bceVec(grad, logits, targets, scale)
	for i := done; i < len(logits); i++ {
		l, t := logits[i], targets[i]
		e := expNeg(l)
		w := 1 - t
		if math.Signbit(float64(l)) {
			w = t
		}
		sum += float64(float32(math.Abs(float64(l)))*w + log1pSmall(e))
		if grad != nil {
			grad[i] = scale * (sigmoidFrom(l, e) - t)
		}
	}
	return sum
}

// sigmoidFrom returns σ(l) given e = exp(−|l|).
func sigmoidFrom(l, e float32) float32 {
	q := 1 / (1 + e)
	if math.Signbit(float64(l)) {
		return e * q
	}
	return q
}

// tanhClamp bounds |x| in tanh: tanh(9.1) rounds to 1 in float32, and
// e^−2·9.1 keeps the scale 2ⁿ of the exponential a normal float.
const tanhClamp = 9.1

// tanhGo returns tanh(x) in float32 as the assembly computes it (but for
// the FMAs, which Go may or may not fuse): (1 − e)/(1 + e) = −m/(2 + m)
// with m = e − 1 = expm1(−2|x|), the sign of x restored. expm1 comes from
// the exponential's reduction −2|x| = n·ln2 + r as 2ⁿ·expm1(r) + (2ⁿ − 1),
// with expm1(r) = r + r²·P(r) from Cephes' polynomial, so nothing cancels
// for small |x|.
func tanhGo(x float32) float32 {
	if x != x {
		return x
	}
	t := -2 * min(float32(math.Abs(float64(x))), tanhClamp)
	tt := t*math.Log2E + expMagic
	n := tt - expMagic
	ni := int32(math.Float32bits(tt) - math.Float32bits(expMagic))
	r := t - n*ln2Hi - n*ln2Lo
	p := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	m := p*(r*r) + r
	s := math.Float32frombits(uint32(ni+127) << 23)
	m = s*m + (s - 1)
	return float32(math.Copysign(float64(-m/(2+m)), float64(x)))
}

// Tanh writes tanh(x) into y element-wise (y may alias x, and must be at
// least as long), within 4 ulp of the exact value (tested over the whole
// float32 range). NaN gives NaN.
func Tanh(y, x []float32) {
	y = y[:len(x)]
	done := tanhVec(y, x)
	for i := done; i < len(x); i++ {
		y[i] = tanhGo(x[i])
	}
}

// Sigmoid writes 1/(1+e^−x) into y element-wise (y may alias x, and must
// be at least as long). The result is within 1e-6 relative of the exact
// value where that is a normal float32 (x > −87.3), and 0 below. NaN gives
// NaN.
func Sigmoid(y, x []float32) {
	y = y[:len(x)]
	done := sigmoidVec(y, x)
	for i := done; i < len(x); i++ {
		y[i] = sigmoidFrom(x[i], expNeg(x[i]))
	}
}

// ReLU writes max(x, 0) into y element-wise (y may alias x, and must be at
// least as long): +0 for x ≤ 0 (−0 included), NaN for NaN, as Go's max.
func ReLU(y, x []float32) {
	y = y[:len(x)]
	done := reluVec(y, x)
	for i := done; i < len(x); i++ {
		y[i] = max(x[i], 0)
	}
}

// ReLUBackward writes ReLU's input gradient into dx given dy and the output
// y = ReLU(x): dy where y is non-zero (positive or NaN), else +0. dx may
// alias dy; both must be at least as long as y.
func ReLUBackward(dx, dy, y []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	done := reluBackwardVec(dx, dy, y)
	for i := done; i < len(y); i++ {
		// Branch-free: ReLU's active pattern is data, not predictable. y is
		// +0 or not, and mask is all ones exactly when its bits are non-zero.
		mask := uint32(int32(-math.Float32bits(y[i])) >> 31)
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & mask)
	}
}

// AllIn reports whether every value of x is in [lo, hi]; NaN is in no
// range. With lo and hi the most negative and the largest float32 it tells
// whether x is all finite. It checks the inputs of every pass at a few
// values per cycle, so that a caller looks for the culprit only when one is
// there.
func AllIn(x []float32, lo, hi float32) bool {
	done, ok := allInVec(x, lo, hi)
	if !ok {
		return false
	}
	for _, v := range x[done:] {
		if !(v >= lo && v <= hi) {
			return false
		}
	}
	return true
}
