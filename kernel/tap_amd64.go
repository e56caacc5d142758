//go:build amd64 && !purego

package kernel

// tapArgs is a Tap as tap512's kernels read it: int64s at the offsets the
// assembly names, then for each chunk of 16 destination columns its masks:
// the columns inside the plane (store), and the source lanes of the span's
// points in the chunk's first and second 16 source floats (in0, in1; in1 is
// only used with stride 2).
type tapArgs struct {
	planes, planeStride, rows, cols int64                   // 0, 8, 16, 24
	rowLo, rowHi, rowStride, colOff int64                   // 32, 40, 48, 56: colOff = ColLo·Stride
	chunks                          int64                   // 64
	masks                           [tapMaxChunks][4]uint16 // 72: store, in0, in1, unused
}

// tapMaxChunks is the widest plane, in chunks of 16 columns, the vector
// path takes.
const tapMaxChunks = 8

// tapIdx holds VPERMT2PS's indices of the even lanes of two vectors
// (stride 2's gather), and VPERMPS's spreading 8 lanes to the even lanes of
// a vector: the first 8 and the last 8 (stride 2's scatter).
var tapIdx = [3][16]int32{
	{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
	{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7},
	{8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15},
}

//go:noescape
func tapGather512s1(dst, src *float32, a *tapArgs)

//go:noescape
func tapGather512s2(dst, src *float32, a *tapArgs, idx *[3][16]int32)

//go:noescape
func tapScatter512s1(dst, src *float32, a *tapArgs)

//go:noescape
func tapScatter512s2(dst, src *float32, a *tapArgs, idx *[3][16]int32)

// tapVec runs Gather (or ScatterAdd) of a non-empty tap, whose slices have
// been checked, with AVX-512, and reports whether it did: it takes strides
// 1 and 2 and planes of up to 128 columns.
func tapVec(t *Tap, dst, src []float32, scatter bool) bool {
	if ewLevel != ewAVX512 || t.Stride > 2 || t.Cols > 16*tapMaxChunks || t.Planes == 0 {
		return false
	}
	a := tapArgs{
		planes: int64(t.Planes), planeStride: int64(t.PlaneStride), rows: int64(t.Rows), cols: int64(t.Cols),
		rowLo: int64(t.RowLo), rowHi: int64(t.RowHi), rowStride: int64(t.RowStride), colOff: int64(t.ColLo * t.Stride),
		chunks: int64((t.Cols + 15) / 16),
	}
	for c := range int(a.chunks) {
		j0 := 16 * c
		store := span16(0, t.Cols-j0)
		valid := span16(t.ColLo-j0, t.ColHi-j0)
		m := &a.masks[c]
		m[0] = store
		if t.Stride == 1 {
			m[1] = valid
		} else {
			m[1], m[2] = spreadEven(uint8(valid)), spreadEven(uint8(valid>>8))
		}
	}
	switch {
	case scatter && t.Stride == 1:
		tapScatter512s1(&dst[0], &src[0], &a)
	case scatter:
		tapScatter512s2(&dst[0], &src[0], &a, &tapIdx)
	case t.Stride == 1:
		tapGather512s1(&dst[0], &src[0], &a)
	default:
		tapGather512s2(&dst[0], &src[0], &a, &tapIdx)
	}
	return true
}

// span16 returns the bits [lo, hi) of 16, clamped.
func span16(lo, hi int) uint16 {
	lo, hi = min(max(lo, 0), 16), min(max(hi, 0), 16)
	return uint16(1<<hi - 1<<lo)
}

// spreadEven moves bit l of b to bit 2l.
func spreadEven(b uint8) uint16 {
	x := uint16(b)
	x = (x | x<<4) & 0x0f0f
	x = (x | x<<2) & 0x3333
	return (x | x<<1) & 0x5555
}
