//go:build openblas && cgo

package openblas

/*
#cgo LDFLAGS: -lopenblas
void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
	float alpha, const float *a, int lda, const float *b, int ldb,
	float beta, float *c, int ldc);
void openblas_set_num_threads(int n);
*/
import "C"

// CBLAS enum values.
const (
	rowMajor = 101
	noTrans  = 111
	trans    = 112
)

// SetThreads sets the number of OpenBLAS threads.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Sgemm is cblas_sgemm for row-major matrices. The caller checks the
// arguments: a, b and c must hold the matrices they describe.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := C.int(noTrans), C.int(noTrans)
	if tA {
		ta = trans
	}
	if tB {
		tb = trans
	}
	C.cblas_sgemm(rowMajor, ta, tb, C.int(m), C.int(n), C.int(k),
		C.float(alpha), ptr(a), C.int(lda), ptr(b), C.int(ldb),
		C.float(beta), ptr(c), C.int(ldc))
}

func ptr(x []float32) *C.float {
	if len(x) == 0 {
		return nil
	}
	return (*C.float)(&x[0])
}
