package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// layerShape is one of the products a dense layer makes.
type layerShape struct {
	name          string
	tA, tB        bool
	m, n, k       int
	lda, ldb, ldc int
	beta          float32
}

// layerShapes returns the products of the dense layers of the two model
// architectures for a batch of n rows: (In, Out) = (784,400), (400,20) (twice,
// mean and log-variance), (20,400), (400,784), and (784,512), (512,2) (twice),
// (2,512), (512,784). For each layer: forward y += x·Wᵀ, the weight gradient
// dW += dyᵀ·x and the input gradient dx = dy·W. With n = 1000 (inference)
// only the forward products are listed.
func layerShapes(n int) []layerShape {
	layers := [][2]int{{784, 400}, {400, 20}, {20, 400}, {400, 784}, {784, 512}, {512, 2}, {2, 512}, {512, 784}}
	var l []layerShape
	for _, io := range layers {
		in, out := io[0], io[1]
		l = append(l, layerShape{fmt.Sprintf("layer=%dx%d/op=fwd/n=%d", in, out, n), false, true, n, out, in, in, in, out, 1})
		if n != 128 {
			continue
		}
		l = append(l,
			layerShape{fmt.Sprintf("layer=%dx%d/op=dW/n=%d", in, out, n), true, false, out, in, n, out, in, in, 1},
			layerShape{fmt.Sprintf("layer=%dx%d/op=dx/n=%d", in, out, n), false, false, n, in, out, out, in, in, 0},
		)
	}
	return l
}

func (s layerShape) operands() (a, b, c []float32) {
	rng := rand.New(rand.NewPCG(uint64(s.m), uint64(s.n*s.k)))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = 2*rng.Float32() - 1
		}
		return x
	}
	ar := s.m
	if s.tA {
		ar = s.k
	}
	br := s.k
	if s.tB {
		br = s.n
	}
	return rnd(ar * s.lda), rnd(br * s.ldb), rnd(s.m * s.ldc)
}

// BenchmarkGemm times the layers' products on gonum's engine and on Fast.
// Run with -cpu 1,2 for one and two threads; the GFLOPS metric counts
// 2·m·n·k floating-point operations per call. To compare the engines:
//
//	go test -run NONE -bench Gemm$ -cpu 1,2 -count 6 ./kernel > out.txt
//	benchstat -col /engine out.txt
func BenchmarkGemm(b *testing.B) {
	engines := []namedEngine{{"gonum", gonum.Implementation{}}, {"fast", Fast{}}}
	if openblasEngine != nil {
		engines = append(engines, namedEngine{"openblas", openblasEngine})
	}
	for _, s := range append(layerShapes(128), layerShapes(1000)...) {
		for _, e := range engines {
			b.Run(s.name+"/engine="+e.name, func(b *testing.B) {
				benchGemm(b, e.e, s)
			})
		}
	}
}

// BenchmarkGemmKernels times the layers' products on each kernel set this
// machine has (AVX-512, AVX2, Go).
func BenchmarkGemmKernels(b *testing.B) {
	for _, s := range append(layerShapes(128), layerShapes(1000)...) {
		for _, ar := range archs {
			b.Run(s.name+"/kernel="+ar.name, func(b *testing.B) {
				benchGemm(b, Fast{arch: ar}, s)
			})
		}
	}
}

func benchGemm(b *testing.B, e Engine, s layerShape) {
	a, bb, c := s.operands()
	// One call outside the timing, to grow the engine's buffers.
	e.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a, s.lda, bb, s.ldb, s.beta, c, s.ldc)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a, s.lda, bb, s.ldb, s.beta, c, s.ldc)
	}
	b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

// BenchmarkExpAfterKernel checks that the kernels leave the vector unit in a
// clean state (VZEROUPPER): on Intel cores, dirty upper halves of the ymm/zmm
// registers make later SSE code, such as math.Exp's, pay a transition penalty
// or a false dependency. Each iteration runs a tiny product, or nothing for
// the baseline, and then 1000 math.Exp calls; the ns/exp metrics should match.
func BenchmarkExpAfterKernel(b *testing.B) {
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i)/500 - 1
	}
	a := make([]float32, 16)
	c := make([]float32, 16)
	run := func(b *testing.B, before func()) {
		var sum float64
		var expTime time.Duration
		for b.Loop() {
			before()
			t0 := time.Now()
			for _, x := range xs {
				sum += math.Exp(x)
			}
			expTime += time.Since(t0)
		}
		b.ReportMetric(float64(expTime.Nanoseconds())/float64(b.N*len(xs)), "ns/exp")
		if sum == 0 {
			b.Fatal("unreachable")
		}
	}
	b.Run("none", func(b *testing.B) { run(b, func() {}) })
	for _, ar := range archs {
		e := Fast{Threads: 1, arch: ar}
		b.Run(ar.name, func(b *testing.B) {
			run(b, func() {
				e.Sgemm(blas.NoTrans, blas.NoTrans, 1, 16, 1, 1, a, 1, c, 16, 1, c, 16)
			})
		})
	}
}
