// Package kernel is the seam between the network layers and the numeric
// routines they spend their time in. Every matrix product in the project goes
// through Gemm, so a faster engine can replace the default (gonum's pure-Go
// blas32) without touching a layer.
//
// All matrices are row-major float32 slices with an explicit leading dimension,
// as in BLAS.
package kernel

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

// Engine computes general matrix products. Implementations must be safe for
// concurrent use and must give bit-identical results for identical inputs and
// thread count.
type Engine interface {
	// Sgemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ
	// as tA and tB say, op(A) is m×k, op(B) is k×n and C is m×n.
	Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

var engine Engine = gonum.Implementation{}

// Use makes e the engine behind Gemm and tells blas32 to use it too. It is not
// safe to call while a computation is running.
func Use(e Engine) {
	engine = e
	if impl, ok := e.(blas.Float32); ok {
		blas32.Use(impl)
	}
}

// Current returns the engine behind Gemm.
func Current() Engine { return engine }

// Gemm computes C = alpha·op(A)·op(B) + beta·C with the current engine, where
// op(A) is m×k (A is stored k×m when transA), op(B) is k×n (B is stored n×k
// when transB), and C is m×n. It panics on inconsistent shapes, as BLAS does.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	engine.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
