package kernel

import (
	"math/rand/v2"
	"testing"
)

// randomTap returns a tap whose span lies in its plane, with its source,
// including strides the vector path does not take and planes wider than it
// does, and guard values around both slices' ends.
func randomTap(r *rand.Rand) (t Tap, src []float32) {
	t.Planes = 1 + r.IntN(3)
	t.Rows, t.Cols = 1+r.IntN(9), 1+r.IntN(40)
	if r.IntN(8) == 0 {
		t.Cols = 120 + r.IntN(20) // around the widest vector plane
	}
	t.Stride = 1 + r.IntN(3)
	t.RowLo = r.IntN(t.Rows + 1)
	t.RowHi = t.RowLo + r.IntN(t.Rows-t.RowLo+1)
	t.ColLo = r.IntN(t.Cols + 1)
	t.ColHi = t.ColLo + r.IntN(t.Cols-t.ColLo+1)
	width := max(t.ColHi-t.ColLo-1, 0)*t.Stride + 1 + r.IntN(3)
	t.RowStride = width + r.IntN(4)
	t.PlaneStride = max(t.RowHi-t.RowLo, 1)*t.RowStride + r.IntN(5)
	src = make([]float32, (t.Planes-1)*t.PlaneStride+max(t.RowHi-t.RowLo-1, 0)*t.RowStride+width)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	return t, src
}

// at returns the source index of point (i, j) of plane b, or −1 outside the span.
func (t *Tap) at(b, i, j int) int {
	if i < t.RowLo || i >= t.RowHi || j < t.ColLo || j >= t.ColHi {
		return -1
	}
	return b*t.PlaneStride + (i-t.RowLo)*t.RowStride + (j-t.ColLo)*t.Stride
}

// Gather and ScatterAdd at every level against the definition: every point
// of the destination, none written past the end, each source pixel added
// to from the points that read it, the others untouched.
func TestTap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, lv := range ewLevels() {
		withLevel(lv, func() {
			for n := range 3000 {
				tap, src := randomTap(r)
				p := tap.Rows * tap.Cols
				dst := make([]float32, tap.Planes*p+1)
				for i := range dst {
					dst[i] = 99 // overwritten, padding included, except the guard
				}
				tap.Gather(dst[:tap.Planes*p], src)
				want := append([]float32(nil), src...)
				for b := range tap.Planes {
					for i := range tap.Rows {
						for j := range tap.Cols {
							got, w := dst[b*p+i*tap.Cols+j], float32(0)
							if k := tap.at(b, i, j); k >= 0 {
								w = src[k]
								want[k] += got
							}
							if got != w {
								t.Fatalf("%s case %d %+v: Gather point (%d, %d, %d) = %g, want %g", ewNames[lv], n, tap, b, i, j, got, w)
							}
						}
					}
				}
				if dst[len(dst)-1] != 99 {
					t.Fatalf("%s case %d %+v: Gather wrote past the planes", ewNames[lv], n, tap)
				}
				tap.ScatterAdd(src, dst[:tap.Planes*p])
				for k := range src {
					if src[k] != want[k] {
						t.Fatalf("%s case %d %+v: ScatterAdd source %d = %g, want %g", ewNames[lv], n, tap, k, src[k], want[k])
					}
				}
			}
		})
	}
}

func TestTapShortSource(t *testing.T) {
	tap := Tap{Planes: 2, PlaneStride: 10, Rows: 2, Cols: 3, RowHi: 2, ColHi: 3, RowStride: 5, Stride: 2}
	defer func() {
		if recover() == nil {
			t.Error("Gather took a source one float short")
		}
	}()
	tap.Gather(make([]float32, 12), make([]float32, 10+5+4))
}

// The taps of the Keras decoder's widest layers, at batch 128 in chunks as
// nn's convolutions make them.
func BenchmarkTap(b *testing.B) {
	for _, tc := range []struct {
		name string
		tap  Tap
	}{
		{"s2 14×14 from 28×28", Tap{Planes: 20, PlaneStride: 32 * 784, Rows: 14, Cols: 14, RowHi: 14, ColHi: 13, RowStride: 56, Stride: 2}},
		{"s2 7×7 from 14×14", Tap{Planes: 40, PlaneStride: 64 * 196, Rows: 7, Cols: 7, RowLo: 1, RowHi: 7, ColHi: 7, RowStride: 28, Stride: 2}},
		{"s1 28×28", Tap{Planes: 80, PlaneStride: 784, Rows: 28, Cols: 28, RowLo: 1, RowHi: 28, ColLo: 1, ColHi: 28, RowStride: 28, Stride: 1}},
	} {
		t := tc.tap
		src := make([]float32, (t.Planes-1)*t.PlaneStride+(t.RowHi-t.RowLo)*t.RowStride)
		dst := make([]float32, t.Planes*t.Rows*t.Cols)
		for _, lv := range ewLevels() {
			withLevel(lv, func() {
				b.Run(tc.name+"/gather/"+ewNames[lv], func(b *testing.B) {
					for b.Loop() {
						t.Gather(dst, src)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(dst)), "ns/point")
				})
				b.Run(tc.name+"/scatter/"+ewNames[lv], func(b *testing.B) {
					for b.Loop() {
						t.ScatterAdd(src, dst)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(dst)), "ns/point")
				})
			})
		}
	}
}
