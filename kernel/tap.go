package kernel

import "fmt"

// Tap is the geometry of one kernel tap of an im2col: the pixels that one
// weight of a convolution's kernel meets, laid out densely. For each of
// Planes source planes (the images of a batch, PlaneStride floats apart) it
// describes a dense Rows×Cols destination plane whose point (i, j) holds
// the source pixel (i−RowLo)·RowStride + (j−ColLo)·Stride floats from the
// plane's origin when RowLo ≤ i < RowHi and ColLo ≤ j < ColHi (the span),
// and 0 elsewhere (the padding). The destination planes follow each other.
type Tap struct {
	Planes, PlaneStride        int
	Rows, Cols                 int
	RowLo, RowHi, ColLo, ColHi int
	RowStride, Stride          int
}

// Gather fills dst's Planes·Rows·Cols floats from src, whose element 0 is
// the origin: the source pixel of point (RowLo, ColLo) of the first plane
// (im2col). It panics if a slice is too short.
func (t *Tap) Gather(dst, src []float32) {
	dst = dst[:t.Planes*t.Rows*t.Cols]
	if t.empty() {
		clear(dst)
		return
	}
	t.checkSource(src)
	if tapVec(t, dst, src, false) {
		return
	}
	p := t.Rows * t.Cols
	for b := range t.Planes {
		d, s := dst[b*p:][:p], src[b*t.PlaneStride:]
		clear(d[:t.RowLo*t.Cols])
		clear(d[t.RowHi*t.Cols:])
		for i := t.RowLo; i < t.RowHi; i++ {
			r := d[i*t.Cols:][:t.Cols]
			clear(r[:t.ColLo])
			clear(r[t.ColHi:])
			gatherRow(r[t.ColLo:t.ColHi], s[(i-t.RowLo)*t.RowStride:], t.Stride)
		}
	}
}

// ScatterAdd is Gather's transpose (col2im): it adds each point of dst's
// planes that lies in the span to its source pixel in src, and ignores the
// others. It panics if a slice is too short.
func (t *Tap) ScatterAdd(src, dst []float32) {
	dst = dst[:t.Planes*t.Rows*t.Cols]
	if t.empty() {
		return
	}
	t.checkSource(src)
	if tapVec(t, dst, src, true) {
		return
	}
	p := t.Rows * t.Cols
	for b := range t.Planes {
		d, s := dst[b*p:][:p], src[b*t.PlaneStride:]
		for i := t.RowLo; i < t.RowHi; i++ {
			r := d[i*t.Cols:][:t.Cols]
			scatterAddRow(s[(i-t.RowLo)*t.RowStride:], r[t.ColLo:t.ColHi], t.Stride)
		}
	}
}

func (t *Tap) empty() bool { return t.RowLo >= t.RowHi || t.ColLo >= t.ColHi }

// checkSource panics unless the span lies in the destination plane, the
// strides are positive (RowStride and PlaneStride may be 0) and src holds
// the span's last pixel.
func (t *Tap) checkSource(src []float32) {
	if t.RowLo < 0 || t.RowHi > t.Rows || t.ColLo < 0 || t.ColHi > t.Cols || t.Stride <= 0 || t.RowStride < 0 || t.PlaneStride < 0 {
		panic(fmt.Sprintf("kernel: tap %+v: span outside the plane, or a stride not positive", *t))
	}
	last := (t.Planes-1)*t.PlaneStride + (t.RowHi-t.RowLo-1)*t.RowStride + (t.ColHi-t.ColLo-1)*t.Stride
	if last >= len(src) {
		panic(fmt.Sprintf("kernel: tap %+v: source of length %d, want %d", *t, len(src), last+1))
	}
}

// gatherRow sets d[j] = s[j·stride].
func gatherRow(d, s []float32, stride int) {
	if stride == 1 {
		copy(d, s)
		return
	}
	s = s[:(len(d)-1)*stride+1]
	for j := range d {
		d[j] = s[j*stride]
	}
}

// scatterAddRow adds d[j] to s[j·stride].
func scatterAddRow(s, d []float32, stride int) {
	s = s[:(len(d)-1)*stride+1]
	for j, v := range d {
		s[j*stride] += v
	}
}
