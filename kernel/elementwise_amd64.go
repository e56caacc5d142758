//go:build amd64 && !purego

package kernel

// ewBest is the best path of the element-wise kernels on this machine.
var ewBest = func() int {
	switch {
	case hasAVX512:
		return ewAVX512
	case hasAVX2:
		return ewAVX2
	}
	return ewGo
}()

// adamStep512 and adamStep256 run AdamStep over n elements, n a multiple of
// 16 or 8; c is as for adamGo and wd says whether c[4] != 0.
//
//go:noescape
func adamStep512(n int, value, grad, m, v *float32, c *[8]float32, wd bool)

//go:noescape
func adamStep256(n int, value, grad, m, v *float32, c *[8]float32, wd bool)

// adamVec runs the vector path of AdamStep over the whole vectors at the
// start of the slices (of equal length) and returns how many it did.
func adamVec(value, grad, m, v []float32, c *[8]float32) int {
	n := vecLen(len(value))
	if n == 0 {
		return 0
	}
	if ewLevel == ewAVX512 {
		adamStep512(n, &value[0], &grad[0], &m[0], &v[0], c, c[4] != 0)
	} else {
		adamStep256(n, &value[0], &grad[0], &m[0], &v[0], c, c[4] != 0)
	}
	return n
}

// vecLen returns how many of n elements make whole vectors at ewLevel: a
// multiple of 16 (AVX-512), of 8 (AVX2), or 0 (Go).
func vecLen(n int) int {
	switch ewLevel {
	case ewAVX512:
		return n &^ 15
	case ewAVX2:
		return n &^ 7
	}
	return 0
}

// bce512 and bce256 run one row of BCEWithLogits over n elements, n a
// multiple of 16 or 8, and return the float64 sum of their losses; grad may
// be nil.
//
//go:noescape
func bce512(n int, grad, logits, targets *float32, scale float32, c *[nEwConst][16]float32) (sum float64)

//go:noescape
func bce256(n int, grad, logits, targets *float32, scale float32, c *[nEwConst][16]float32) (sum float64)

// sigmoid512 and sigmoid256 run Sigmoid over n elements, n a multiple of 16
// or 8.
//
//go:noescape
func sigmoid512(n int, y, x *float32, c *[nEwConst][16]float32)

//go:noescape
func sigmoid256(n int, y, x *float32, c *[nEwConst][16]float32)

// bceVec runs the vector path of bceRow over the whole vectors at the start
// of the slices (targets, and grad if not nil, as long as logits) and
// returns how many it did and the sum of their losses.
func bceVec(grad, logits, targets []float32, scale float32) (int, float64) {
	n := vecLen(len(logits))
	if n == 0 {
		return 0, 0
	}
	_ = targets[n-1]
	var g *float32
	if grad != nil {
		_ = grad[n-1]
		g = &grad[0]
	}
	if ewLevel == ewAVX512 {
		return n, bce512(n, g, &logits[0], &targets[0], scale, &ewConst)
	}
	return n, bce256(n, g, &logits[0], &targets[0], scale, &ewConst)
}

//go:noescape
func tanh512(n int, y, x *float32, c *[nEwConst][16]float32)

//go:noescape
func tanh256(n int, y, x *float32, c *[nEwConst][16]float32)

// sigmoidVec and tanhVec run the vector paths of Sigmoid and Tanh over the
// whole vectors at the start of x (y as long) and return how many they did.
func sigmoidVec(y, x []float32) int { return unaryVec(y, x, sigmoid512, sigmoid256) }
func tanhVec(y, x []float32) int    { return unaryVec(y, x, tanh512, tanh256) }

func unaryVec(y, x []float32, f512, f256 func(n int, y, x *float32, c *[nEwConst][16]float32)) int {
	n := vecLen(len(x))
	if n == 0 {
		return 0
	}
	_ = y[n-1]
	if ewLevel == ewAVX512 {
		f512(n, &y[0], &x[0], &ewConst)
	} else {
		f256(n, &y[0], &x[0], &ewConst)
	}
	return n
}

// relu512 and relu256 run ReLU over n elements, n a multiple of 16 or 8;
// reluBackward512 and reluBackward256 run ReLUBackward.
//
//go:noescape
func relu512(n int, y, x *float32)

//go:noescape
func relu256(n int, y, x *float32)

//go:noescape
func reluBackward512(n int, dx, dy, y *float32)

//go:noescape
func reluBackward256(n int, dx, dy, y *float32)

func reluVec(y, x []float32) int {
	n := vecLen(len(x))
	if n == 0 {
		return 0
	}
	_ = y[n-1]
	if ewLevel == ewAVX512 {
		relu512(n, &y[0], &x[0])
	} else {
		relu256(n, &y[0], &x[0])
	}
	return n
}

func reluBackwardVec(dx, dy, y []float32) int {
	n := vecLen(len(y))
	if n == 0 {
		return 0
	}
	_, _ = dx[n-1], dy[n-1]
	if ewLevel == ewAVX512 {
		reluBackward512(n, &dx[0], &dy[0], &y[0])
	} else {
		reluBackward256(n, &dx[0], &dy[0], &y[0])
	}
	return n
}

// allIn256 reports whether the n values at x, n a multiple of 8, are all
// in [lo, hi] (NaN is not).
//
//go:noescape
func allIn256(n int, x *float32, lo, hi float32) bool

func allInVec(x []float32, lo, hi float32) (int, bool) {
	if !hasAVX2 || ewLevel == ewGo {
		return 0, true
	}
	n := len(x) &^ 7
	if n == 0 {
		return 0, true
	}
	return n, allIn256(n, &x[0], lo, hi)
}
