//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/asmgen -s sgemm_amd64.s -go sgemm_amd64_gen.go

// gemmKernel is the signature of the assembly micro-kernels (see
// internal/asmgen): an mr×w tile of C, where mr and w are in the name, with
// the columns to store given by mask (a bit mask for AVX-512, a count for
// AVX2). Strides are in elements.
type gemmKernel func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, mask uint32)

// dotKernel is the signature of the assembly dot kernels.
type dotKernel func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// arch512 uses AVX-512F (+VL): 32 zmm registers hold a 14×32 tile of C
// (28 accumulators), the two B vectors of a k step and the broadcasts of A, so
// each k step does 28 FMAs for 2 vector loads and 14 broadcasts. Column edges
// are masked stores; a 16-wide variant serves panels of ≤ 16 columns.
//
// kc = 256 keeps the A panel (14×256×4 B = 14 KiB) well inside a 32–48 KiB L1
// while the B panel streams past it; nc = 512 makes the B block 512 KiB, half
// of a 1 MiB L2 (Zen 4/5, Skylake-SP; larger on newer Xeons).
var arch512 = &arch{
	name: "avx512",
	mr:   mr512, nr: 32, nrMin: 16,
	kc: 256, nc: 512,
	dotR: dotR, dotS: dotS512,
	dotMaxN: 47, transMaxN: 47,
	kern: kern512,
	dot:  dot512f,

	transpose: transpose512f,
	tw:        16, spill: true,
}

// arch256 uses AVX2 and FMA: 16 ymm registers hold a 6×16 tile (12
// accumulators), two B vectors and a broadcast. The block sizes are those of
// arch512, for the same caches.
var arch256 = &arch{
	name: "avx2",
	mr:   mr256, nr: 16, nrMin: 8,
	kc: 256, nc: 512,
	dotR: dotR, dotS: dotS256,
	dotMaxN: 47, transMaxN: 47,
	kern: kern256,
	dot:  dot256f,

	transpose: transpose256f,
	tw:        8, spill: true,
}

var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// bestArch is the kernel set Fast uses by default. Without AVX2 it is nil:
// Fast then hands products to gonum, whose SSE assembly is about 2.5 times
// faster than archGo's pure Go on such CPUs.
var bestArch = func() *arch {
	switch {
	case hasAVX512:
		return arch512
	case hasAVX2:
		return arch256
	}
	return nil
}()

// archs lists the kernel sets this machine can run, best first.
var archs = func() []*arch {
	var l []*arch
	if hasAVX512 {
		l = append(l, arch512)
	}
	if hasAVX2 {
		l = append(l, arch256)
	}
	return append(l, archGo)
}()

// The wrappers below check, once per tile, that every element the assembly
// will touch is inside the slices, so a driver bug panics instead of
// corrupting memory.

func kern512(mr, nv, k int, a []float32, sa int, b []float32, sb int, c []float32, ldc int, alpha, beta float32) {
	w := 32
	if nv <= 16 {
		w = 16
	}
	_ = a[(k-1)*sa+mr-1]
	_ = b[(k-1)*sb+w-1]
	_ = c[(mr-1)*ldc+nv-1]
	mask := uint32(uint64(1)<<nv - 1)
	if w == 16 {
		gemm512x16[mr](k, &a[0], sa, &b[0], sb, &c[0], ldc, alpha, beta, mask)
	} else {
		gemm512x32[mr](k, &a[0], sa, &b[0], sb, &c[0], ldc, alpha, beta, mask)
	}
}

func kern256(mr, nv, k int, a []float32, sa int, b []float32, sb int, c []float32, ldc int, alpha, beta float32) {
	w := 16
	if nv <= 8 {
		w = 8
	}
	_ = a[(k-1)*sa+mr-1]
	_ = b[(k-1)*sb+w-1]
	_ = c[(mr-1)*ldc+nv-1]
	if w == 8 {
		gemm256x8[mr](k, &a[0], sa, &b[0], sb, &c[0], ldc, alpha, beta, uint32(nv))
	} else {
		gemm256x16[mr](k, &a[0], sa, &b[0], sb, &c[0], ldc, alpha, beta, uint32(nv))
	}
}

func dot512f(r, s, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(r-1)*lda+k-1]
	_ = b[(s-1)*ldb+k-1]
	_ = c[(r-1)*ldc+s-1]
	dot512[r][s](k, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta)
}

func dot256f(r, s, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(r-1)*lda+k-1]
	_ = b[(s-1)*ldb+k-1]
	_ = c[(r-1)*ldc+s-1]
	dot256[r][s](k, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta)
}

func transpose512f(dst []float32, ldd int, src []float32, lds, rows, lanes, cols int) {
	_ = dst[(cols-1)*ldd+lanes-1]
	var s *float32
	if rows > 0 {
		_ = src[(rows-1)*lds+cols-1]
		s = &src[0]
	}
	transpose512(&dst[0], ldd, s, lds, rows, lanes, cols)
}

func transpose256f(dst []float32, ldd int, src []float32, lds, rows, lanes, cols int) {
	_ = dst[(cols-1)*ldd+lanes-1]
	var s *float32
	if rows > 0 {
		_ = src[(rows-1)*lds+cols-1]
		s = &src[0]
	}
	transpose256(&dst[0], ldd, s, lds, rows, lanes, cols)
}
