package kernel

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Fast is a float32 matrix-multiply engine with SIMD micro-kernels: AVX-512
// or AVX2+FMA on amd64, chosen when the program starts from what the CPU
// supports, and a portable pure-Go kernel on other architectures (on amd64
// CPUs without AVX2 it hands products to gonum, whose SSE kernels are faster
// there). Large products are split over up to runtime.GOMAXPROCS(0)
// goroutines of a persistent pool.
//
// The split is over the rows or columns of C only, never over k, and every
// element of C is accumulated in the same order whatever tile or goroutine
// computes it, so results are bit-identical for identical inputs whatever the
// thread count. They may differ in the last bits between kernels (AVX-512,
// AVX2, Go) and from other engines.
//
// In steady state Sgemm does not allocate: packing buffers are kept per
// goroutine and reused.
//
// The zero value uses the best kernel for the CPU and all of GOMAXPROCS.
type Fast struct {
	// Threads caps the goroutines one product may use; zero or less means
	// runtime.GOMAXPROCS(0).
	Threads int

	// arch is the kernel set; nil means the best one for this CPU.
	arch *arch
}

// Kernel returns the name of the micro-kernel set f uses: "avx512", "avx2",
// "go", or "gonum" when f delegates to gonum.
func (f Fast) Kernel() string {
	if ar := f.archOrBest(); ar != nil {
		return ar.name
	}
	return "gonum"
}

func (f Fast) archOrBest() *arch {
	if f.arch != nil {
		return f.arch
	}
	return bestArch
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with the BLAS conventions for
// row-major storage. When beta is zero C is not read, so NaNs in it do not
// propagate; when alpha is zero or k is zero A and B are not read.
func (f Fast) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ar := f.archOrBest()
	if ar == nil {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	aTrans := isTrans(tA)
	bTrans := isTrans(tB)
	checkGemm(aTrans, bTrans, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		if beta != 1 {
			scale(m, n, beta, c, ldc)
		}
		return
	}
	threads := f.Threads
	if p := runtime.GOMAXPROCS(0); threads <= 0 || threads > p {
		threads = p
	}
	ar.gemm(threads, problem{
		tA: aTrans, tB: bTrans,
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda,
		b: b, ldb: ldb,
		c: c, ldc: ldc,
	})
}

func isTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic("blas: illegal transpose")
}

// checkGemm panics, with gonum's messages, on the argument errors BLAS
// reports. Once it has passed, every element the kernels touch lies inside
// a, b and c.
func checkGemm(aTrans, bTrans bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	switch {
	case m < 0:
		panic("blas: m < 0")
	case n < 0:
		panic("blas: n < 0")
	case k < 0:
		panic("blas: k < 0")
	}
	if aTrans {
		if lda < max(1, m) {
			panic("blas: bad leading dimension of A")
		}
	} else if lda < max(1, k) {
		panic("blas: bad leading dimension of A")
	}
	if bTrans {
		if ldb < max(1, k) {
			panic("blas: bad leading dimension of B")
		}
	} else if ldb < max(1, n) {
		panic("blas: bad leading dimension of B")
	}
	if ldc < max(1, n) {
		panic("blas: bad leading dimension of C")
	}
	if m == 0 || n == 0 {
		return
	}
	if aTrans {
		if len(a) < (k-1)*lda+m {
			panic("blas: insufficient length of a")
		}
	} else if len(a) < (m-1)*lda+k {
		panic("blas: insufficient length of a")
	}
	if bTrans {
		if len(b) < (n-1)*ldb+k {
			panic("blas: insufficient length of b")
		}
	} else if len(b) < (k-1)*ldb+n {
		panic("blas: insufficient length of b")
	}
	if len(c) < (m-1)*ldc+n {
		panic("blas: insufficient length of c")
	}
}

// scale sets C = beta·C, writing zeros when beta is zero so that NaNs in C
// do not survive.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
