package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestTranspose checks each kernel set's packing transpose against the
// definition, for every row and lane count and column counts around the
// vector widths.
func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ar := range archs {
		for lanes := 1; lanes <= ar.tw; lanes++ {
			for rows := 0; rows <= lanes; rows++ {
				for _, cols := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100} {
					lds := cols + rows%3
					ldd := lanes + cols%2
					src := make([]float32, max(0, (rows-1)*lds+cols))
					for i := range src {
						src[i] = rng.Float32()
					}
					dst := make([]float32, (cols-1)*ldd+lanes+5)
					for i := range dst {
						dst[i] = -1
					}
					ar.transpose(dst, ldd, src, lds, rows, lanes, cols)
					for i, v := range dst {
						q, l := i/ldd, i%ldd
						want := float32(-1)
						if q < cols && l < lanes {
							want = 0
							if l < rows {
								want = src[l*lds+q]
							}
						}
						if v != want {
							t.Fatalf("%s rows=%d lanes=%d cols=%d: dst[%d] (q=%d, l=%d) = %v, want %v", ar.name, rows, lanes, cols, i, q, l, v, want)
						}
					}
				}
			}
		}
	}
}
