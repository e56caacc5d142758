package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// namedEngine is an engine under test.
type namedEngine struct {
	name string
	e    Engine
}

// testEngines returns every engine this machine can run: gonum's, and Fast
// with each kernel set (AVX-512, AVX2, Go), single-threaded and with all of
// GOMAXPROCS.
func testEngines() []namedEngine {
	l := []namedEngine{{"gonum", gonum.Implementation{}}}
	for _, ar := range archs {
		l = append(l,
			namedEngine{"fast-" + ar.name + "/t1", Fast{Threads: 1, arch: ar}},
			namedEngine{"fast-" + ar.name, Fast{arch: ar}},
		)
	}
	if openblasEngine != nil {
		l = append(l, namedEngine{"openblas", openblasEngine})
	}
	return l
}

// gemmCase is one product of the conformance suite.
type gemmCase struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	lda, ldb, ldc int
	nanC          bool // fill C with NaN (only with beta = 0)
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	s := fmt.Sprintf("%s%s/%dx%dx%d/a=%g/b=%g/ld=%d,%d,%d", t(tc.tA), t(tc.tB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.lda, tc.ldb, tc.ldc)
	if tc.nanC {
		s += "/nanC"
	}
	return s
}

// operands returns random A, B and C for tc. Elements outside the matrices
// (the padding when a leading dimension exceeds the row length) are NaN in A
// and B, so an engine that reads them into a result fails, and a sentinel in
// C, so an engine that writes them fails.
func (tc gemmCase) operands(rng *rand.Rand) (a, b, c []float32) {
	fill := func(rows, cols, ld int, pad float32) []float32 {
		if rows == 0 {
			return nil
		}
		x := make([]float32, (rows-1)*ld+cols)
		for i := range x {
			if i%ld < cols {
				x[i] = 2*rng.Float32() - 1
			} else {
				x[i] = pad
			}
		}
		return x
	}
	nan := float32(math.NaN())
	ar, ac := tc.m, tc.k
	if tc.tA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.tB {
		br, bc = bc, br
	}
	a = fill(ar, ac, tc.lda, nan)
	b = fill(br, bc, tc.ldb, nan)
	c = fill(tc.m, tc.n, tc.ldc, cSentinel)
	if tc.nanC {
		for i := range c {
			if i%tc.ldc < tc.n {
				c[i] = nan
			}
		}
	}
	return a, b, c
}

const cSentinel = 12345.5

// reference computes the product of tc in float64 and, for each element of
// C, a bound on the error a correct float32 implementation may make.
//
// A float32 sum of k products, accumulated in any order (with or without
// FMA), has an error of at most γ_k·Σ|a_p·b_p| with γ_k = k·u/(1-k·u) and
// u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
// Scaling by alpha and adding beta·C adds at most three more roundings, and
// gonum's order (alpha·a_p first) one more; so (k+4)·u·(|alpha|·Σ|a||b| +
// |beta|·|c|) bounds the error of any sensible order. The check allows twice
// that, for the 1/(1-k·u) factor and the reference's own rounding, plus a
// denormal-sized absolute slack.
func (tc gemmCase) reference(a, b, c []float32) (want, tol []float64) {
	want = make([]float64, tc.m*tc.n)
	tol = make([]float64, tc.m*tc.n)
	const u = 1.0 / (1 << 24)
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var sum, abs float64
			for p := 0; p < tc.k; p++ {
				var x, y float64
				if tc.tA {
					x = float64(a[p*tc.lda+i])
				} else {
					x = float64(a[i*tc.lda+p])
				}
				if tc.tB {
					y = float64(b[j*tc.ldb+p])
				} else {
					y = float64(b[p*tc.ldb+j])
				}
				sum += x * y
				abs += math.Abs(x * y)
			}
			alpha, beta := float64(tc.alpha), float64(tc.beta)
			v := alpha * sum
			bound := math.Abs(alpha) * abs
			if beta != 0 {
				c0 := float64(c[i*tc.ldc+j])
				v += beta * c0
				bound += math.Abs(beta * c0)
			}
			want[i*tc.n+j] = v
			tol[i*tc.n+j] = 2*float64(tc.k+4)*u*bound + 1e-30
		}
	}
	return want, tol
}

// check compares the C computed by an engine against the reference, and
// checks that the padding of C was not touched.
func (tc gemmCase) check(t *testing.T, engine string, got []float32, want, tol []float64) {
	t.Helper()
	bad := 0
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.ldc && (i < tc.m-1 || j < tc.n); j++ {
			g := got[i*tc.ldc+j]
			if j >= tc.n {
				if g != cSentinel {
					t.Errorf("%s %v: padding C[%d,%d] = %v was written", engine, tc, i, j, g)
					bad++
				}
				continue
			}
			w, e := want[i*tc.n+j], tol[i*tc.n+j]
			if d := math.Abs(float64(g) - w); !(d <= e) {
				t.Errorf("%s %v: C[%d,%d] = %v, want %v ± %.3g", engine, tc, i, j, g, w, e)
				bad++
			}
			if bad > 5 {
				t.Fatalf("%s %v: too many errors", engine, tc)
			}
		}
	}
}

// conformanceCases is the table of the suite.
func conformanceCases(short bool) []gemmCase {
	sizes := []int{1, 2, 3, 7, 17, 31, 33, 65, 127, 129, 400, 784}
	alphas := []float32{1, 0.5, 0, -2}
	betas := []float32{0, 1, 0.25}
	type ab struct {
		alpha, beta float32
		nan         bool
	}
	var combos []ab
	for _, a := range alphas {
		for _, b := range betas {
			combos = append(combos, ab{a, b, false})
			if b == 0 {
				combos = append(combos, ab{a, b, true})
			}
		}
	}
	pads := []int{0, 3, 1, 16}
	var cases []gemmCase
	add := func(tA, tB bool, m, n, k int, c ab, pad int) {
		lda, ldb := k, n
		if tA {
			lda = m
		}
		if tB {
			ldb = k
		}
		cases = append(cases, gemmCase{
			tA: tA, tB: tB, m: m, n: n, k: k,
			alpha: c.alpha, beta: c.beta, nanC: c.nan,
			lda: lda + pad, ldb: ldb + (pad+1)%5, ldc: n + pad/2,
		})
	}
	maxWork := 300_000
	if short {
		maxWork = 40_000
	}
	// Every combination of sizes up to a work limit, rotating through the
	// alpha, beta and padding choices.
	i := 0
	for _, m := range sizes {
		for _, n := range sizes {
			for _, k := range sizes {
				if m*n*k > maxWork {
					continue
				}
				for tr := 0; tr < 4; tr++ {
					add(tr&1 != 0, tr&2 != 0, m, n, k, combos[i%len(combos)], pads[i%len(pads)])
					i++
				}
			}
		}
	}
	// The layers' shapes, with every alpha and beta.
	for _, s := range layerShapes(128) {
		for ci, c := range combos {
			if short && ci%4 != 0 {
				continue
			}
			add(s.tA, s.tB, s.m, s.n, s.k, c, pads[ci%len(pads)])
		}
	}
	// A few large odd shapes, to cross the cache blocks (k > kc, n > nc).
	if !short {
		for tr := 0; tr < 4; tr++ {
			add(tr&1 != 0, tr&2 != 0, 129, 784, 400, combos[tr], 3)
			add(tr&1 != 0, tr&2 != 0, 65, 1100, 600, combos[tr+4], 1)
			add(tr&1 != 0, tr&2 != 0, 400, 127, 784, combos[tr+8], 0)
		}
	}
	return cases
}

func TestConformance(t *testing.T) {
	// Let the thread split act on small products too, so that its edges are
	// tested against the reference.
	defer func(w int) { parMinWork = w }(parMinWork)
	parMinWork = 1
	engines := testEngines()
	rng := rand.New(rand.NewPCG(1, 2))
	cases := conformanceCases(testing.Short())
	for _, tc := range cases {
		a, b, c0 := tc.operands(rng)
		want, tol := tc.reference(a, b, c0)
		c := make([]float32, len(c0))
		for _, e := range engines {
			copy(c, c0)
			e.e.Sgemm(trans(tc.tA), trans(tc.tB), tc.m, tc.n, tc.k, tc.alpha, a, tc.lda, b, tc.ldb, tc.beta, c, tc.ldc)
			tc.check(t, e.name, c, want, tol)
		}
	}
	t.Logf("%d cases × %d engines", len(cases), len(engines))
}

// TestThreadsBitIdentical checks that Fast gives the same bits whatever the
// number of goroutines.
func TestThreadsBitIdentical(t *testing.T) {
	defer func(w int) { parMinWork = w }(parMinWork)
	parMinWork = 1
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(5))
	rng := rand.New(rand.NewPCG(3, 4))
	var cases []gemmCase
	shapes := layerShapes(128)
	if !testing.Short() {
		shapes = append(shapes, layerShapes(1000)...)
	}
	for _, s := range shapes {
		cases = append(cases, gemmCase{tA: s.tA, tB: s.tB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: 1, lda: s.lda, ldb: s.ldb, ldc: s.ldc})
	}
	cases = append(cases,
		gemmCase{m: 129, n: 33, k: 600, alpha: -2, beta: 0.25, lda: 600, ldb: 33, ldc: 40},
		gemmCase{tA: true, m: 1000, n: 3, k: 65, alpha: 0.5, beta: 1, lda: 1000, ldb: 3, ldc: 3},
		gemmCase{tB: true, m: 5, n: 1000, k: 65, alpha: 0.5, beta: 1, lda: 65, ldb: 65, ldc: 1000},
	)
	for _, ar := range archs {
		for _, tc := range cases {
			a, b, c0 := tc.operands(rng)
			var first []float32
			for threads := 1; threads <= 5; threads++ {
				c := append([]float32(nil), c0...)
				Fast{Threads: threads, arch: ar}.Sgemm(trans(tc.tA), trans(tc.tB), tc.m, tc.n, tc.k, tc.alpha, a, tc.lda, b, tc.ldb, tc.beta, c, tc.ldc)
				if threads == 1 {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%s %v: %d threads: c[%d] = %v, 1 thread: %v", ar.name, tc, threads, i, c[i], first[i])
					}
				}
			}
		}
	}
}

// TestConcurrentCalls checks that concurrent products on one engine do not
// disturb each other (the worker pool and the buffers are shared).
func TestConcurrentCalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tc := gemmCase{tB: true, m: 200, n: 300, k: 250, alpha: 1, beta: 0, lda: 250, ldb: 250, ldc: 300}
	a, b, c0 := tc.operands(rng)
	want := append([]float32(nil), c0...)
	Fast{Threads: 1}.Sgemm(blas.NoTrans, blas.Trans, tc.m, tc.n, tc.k, 1, a, tc.lda, b, tc.ldb, 0, want, tc.ldc)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make([]float32, len(c0))
			for it := 0; it < 20; it++ {
				Fast{}.Sgemm(blas.NoTrans, blas.Trans, tc.m, tc.n, tc.k, 1, a, tc.lda, b, tc.ldb, 0, c, tc.ldc)
				for i := range c {
					if c[i] != want[i] {
						t.Errorf("concurrent call: c[%d] = %v, want %v", i, c[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestPanics checks that Fast rejects the arguments gonum rejects.
func TestPanics(t *testing.T) {
	buf := make([]float32, 100)
	for _, tc := range []struct {
		name          string
		tA            blas.Transpose
		m, n, k       int
		lda, ldb, ldc int
		a, b, c       []float32
	}{
		{"trans", 'x', 2, 2, 2, 2, 2, 2, buf, buf, buf},
		{"m<0", blas.NoTrans, -1, 2, 2, 2, 2, 2, buf, buf, buf},
		{"lda", blas.NoTrans, 2, 2, 3, 2, 2, 2, buf, buf, buf},
		{"ldc", blas.NoTrans, 2, 3, 2, 2, 3, 2, buf, buf, buf},
		{"short a", blas.NoTrans, 20, 2, 20, 20, 2, 2, buf, buf, buf},
		{"short c", blas.NoTrans, 2, 2, 2, 2, 2, 2, buf, buf, buf[:3]},
	} {
		for _, e := range testEngines() {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s %s: no panic", e.name, tc.name)
					}
				}()
				e.e.Sgemm(tc.tA, blas.NoTrans, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, tc.c, tc.ldc)
			}()
		}
	}
}

// TestNoAllocs checks that the layers' products do not allocate in steady
// state, on one thread and on two. testing.AllocsPerRun would not do: it
// runs with GOMAXPROCS=1 and rounds the average down.
//
// The count (MemStats.Mallocs) is of the whole process, and the runtime
// allocates now and then on its own account: when it starts an OS thread to
// wake an idle P, or refills its cache of the records of blocked goroutines
// (emptied by each garbage collection). So the test counts in a few rounds,
// after a collection and warm-up calls, and fails only if no round is free of
// allocations.
func TestNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumented build")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	defer func(w int) { parMinWork = w }(parMinWork)
	parMinWork = 1 << 20 // split the products at two threads, to count the split path too
	for _, ar := range archs {
		runs, shapes := 5, append(layerShapes(128), layerShapes(1000)...)
		if ar == archGo {
			runs, shapes = 1, layerShapes(128) // slow, and the driver is the same
		}
		for _, threads := range []int{1, 2} {
			for _, s := range shapes {
				a, b, c := s.operands()
				e := Fast{Threads: threads, arch: ar}
				f := func() {
					e.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a, s.lda, b, s.ldb, s.beta, c, s.ldc)
				}
				f()
				runtime.GC()
				f()
				least := uint64(math.MaxUint64)
				for round := 0; round < 4 && least > 0; round++ {
					var m0, m1 runtime.MemStats
					runtime.ReadMemStats(&m0)
					for range runs {
						f()
					}
					runtime.ReadMemStats(&m1)
					least = min(least, m1.Mallocs-m0.Mallocs)
				}
				if least != 0 {
					t.Errorf("%s threads=%d %s: %d allocations in %d calls", ar.name, threads, s.name, least, runs)
				}
			}
		}
	}
	workersMu.Lock()
	defer workersMu.Unlock()
	if nWorkers == 0 {
		t.Error("no pooled goroutine was started: the products were not split")
	}
}

func TestEngineByName(t *testing.T) {
	for _, name := range EngineNames() {
		e, err := EngineByName(name)
		if err != nil {
			t.Errorf("EngineByName(%q): %v", name, err)
			continue
		}
		c := []float32{1}
		e.Sgemm(blas.NoTrans, blas.NoTrans, 1, 1, 1, 2, []float32{3}, 1, []float32{4}, 1, 1, c, 1)
		if c[0] != 25 {
			t.Errorf("%s: 2·3·4+1 = %v", name, c[0])
		}
	}
	if _, err := EngineByName("no such engine"); err == nil {
		t.Error("EngineByName accepted an unknown name")
	}
}
