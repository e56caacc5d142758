package kernel

// archGo is the portable kernel set, in plain Go, for CPUs without AVX2 and
// other architectures. It runs the same driver (packing, blocking, threads)
// as the assembly kernels, with a 4×4 tile.
var archGo = &arch{
	name: "go",
	mr:   4, nr: 4, nrMin: 4,
	kc: 256, nc: 512,
	dotR: 1, dotS: 1,
	dotMaxN: 4, transMaxN: 3,
	kern: kernGo,
	dot:  dotGo,

	transpose: transposeGo,
	tw:        16,
}

func kernGo(mr, nv, k int, a []float32, sa int, b []float32, sb int, c []float32, ldc int, alpha, beta float32) {
	var acc [4][4]float32
	if mr == 4 && nv == 4 {
		// Two passes of 4×2: 8 sums, 4 values of A and 2 of B fit in the 15
		// free XMM registers of amd64, where a single 4×4 pass spills.
		for h := 0; h < 4; h += 2 {
			var c00, c01, c10, c11, c20, c21, c30, c31 float32
			ai, bi := 0, h
			for p := 0; p < k; p++ {
				ap := a[ai : ai+4 : ai+4]
				bp := b[bi : bi+2 : bi+2]
				a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
				b0, b1 := bp[0], bp[1]
				c00 += a0 * b0
				c01 += a0 * b1
				c10 += a1 * b0
				c11 += a1 * b1
				c20 += a2 * b0
				c21 += a2 * b1
				c30 += a3 * b0
				c31 += a3 * b1
				ai += sa
				bi += sb
			}
			acc[0][h], acc[0][h+1] = c00, c01
			acc[1][h], acc[1][h+1] = c10, c11
			acc[2][h], acc[2][h+1] = c20, c21
			acc[3][h], acc[3][h+1] = c30, c31
		}
	} else {
		for p := 0; p < k; p++ {
			ap := a[p*sa : p*sa+mr]
			bp := b[p*sb : p*sb+nv]
			for i, av := range ap {
				for j, bv := range bp {
					acc[i][j] += av * bv
				}
			}
		}
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nv]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * acc[i][j]
			} else {
				row[j] = alpha*acc[i][j] + beta*row[j]
			}
		}
	}
}

func dotGo(r, s, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	for i := 0; i < r; i++ {
		x := a[i*lda : i*lda+k]
		for j := 0; j < s; j++ {
			y := b[j*ldb : j*ldb+k]
			// Four partial sums break the dependency chain of one.
			var s0, s1, s2, s3 float32
			q := 0
			for ; q+4 <= len(x); q += 4 {
				s0 += x[q] * y[q]
				s1 += x[q+1] * y[q+1]
				s2 += x[q+2] * y[q+2]
				s3 += x[q+3] * y[q+3]
			}
			for ; q < len(x); q++ {
				s0 += x[q] * y[q]
			}
			sum := alpha * ((s0 + s1) + (s2 + s3))
			if beta == 0 {
				c[i*ldc+j] = sum
			} else {
				c[i*ldc+j] = sum + beta*c[i*ldc+j]
			}
		}
	}
}

func transposeGo(dst []float32, ldd int, src []float32, lds, rows, lanes, cols int) {
	for l := 0; l < lanes; l++ {
		d := dst[l:]
		if l >= rows {
			for q := 0; q < cols; q++ {
				d[q*ldd] = 0
			}
			continue
		}
		for q, v := range src[l*lds : l*lds+cols] {
			d[q*ldd] = v
		}
	}
}
