// Package kernel is the seam between the network layers and the numeric
// routines they spend their time in. Every matrix product in the project goes
// through Gemm, so engines can be swapped without touching a layer.
//
// All matrices are row-major float32 slices with an explicit leading dimension,
// as in BLAS.
//
// The default engine is Fast, with AVX-512 and AVX2 assembly kernels chosen
// by CPU at start-up (10–20 times gonum's pure-Go blas32 per core); gonum's
// is there by name ("gonum") for comparison, see EngineByName.
package kernel

import (
	"fmt"

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

var engine Engine = Fast{}

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

// EngineNames lists the names EngineByName accepts on this machine: "gonum"
// (gonum's pure-Go blas), "fast" (Fast with the best kernels for this CPU),
// and "fast-" followed by each kernel set the CPU can run ("fast-avx512",
// "fast-avx2", "fast-go"). When the package is built with the openblas tag,
// "openblas" (OpenBLAS through cgo) is listed too.
func EngineNames() []string {
	names := []string{"gonum", "fast"}
	for _, ar := range archs {
		names = append(names, "fast-"+ar.name)
	}
	if openblasEngine != nil {
		names = append(names, "openblas")
	}
	return names
}

// openblasEngine is OpenBLAS when built with the openblas tag, else nil.
var openblasEngine Engine

// EngineByName returns the engine called name (see EngineNames), or an error
// if there is none or this CPU cannot run it.
func EngineByName(name string) (Engine, error) {
	switch name {
	case "gonum":
		return gonum.Implementation{}, nil
	case "fast":
		return Fast{}, nil
	case "openblas":
		if openblasEngine != nil {
			return openblasEngine, nil
		}
	}
	for _, ar := range archs {
		if name == "fast-"+ar.name {
			return Fast{arch: ar}, nil
		}
	}
	return nil, fmt.Errorf("kernel: no engine %q on this machine (have %v)", name, EngineNames())
}

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
