//go:build openblas && cgo

package kernel

import (
	"runtime"
	"sync/atomic"

	"github.com/govae/vae/kernel/internal/openblas"
	"gonum.org/v1/gonum/blas"
)

func init() {
	openblasEngine = OpenBLAS{}
}

// OpenBLAS is an Engine that calls OpenBLAS's cblas_sgemm through cgo, with
// as many OpenBLAS threads as runtime.GOMAXPROCS(0). It exists only when the
// package is built with the openblas tag (see internal/openblas), as a
// yardstick for Fast.
type OpenBLAS struct{}

var openblasThreads atomic.Int64

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with cblas_sgemm.
func (OpenBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	aTrans, bTrans := isTrans(tA), isTrans(tB)
	checkGemm(aTrans, bTrans, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if p := int64(runtime.GOMAXPROCS(0)); openblasThreads.Swap(p) != p {
		openblas.SetThreads(int(p))
	}
	openblas.Sgemm(aTrans, bTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
