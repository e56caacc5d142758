package kernel

import "sync"

// This file holds the machine-independent part of Fast: the choice of a
// strategy for a shape, the split over goroutines, the cache blocking and the
// packing. The arithmetic is in the kernels of an arch.
//
// Two kinds of kernel do the work:
//
//   - A micro-kernel computes an mr×nv tile of C (nv ≤ nr) as a sum over k of
//     outer products of an mr-vector of op(A) (broadcast) and an nv-vector of
//     op(B) (loaded): op(A)[i0:i0+mr, p] must be contiguous for each p, and
//     so must op(B)[p, j0:j0+nv]. When A is stored transposed (k×m), or B is
//     not (k×n), the operand already has that layout and is used in place;
//     otherwise it is packed, panel by panel, into a buffer (the classic
//     Goto/BLIS design).
//
//   - A dot kernel computes a small block of C as dot products of rows of A
//     and rows of Bᵀ, vectorised over k. It needs no packing of a big
//     operand when both are contiguous along k, which is what the layers'
//     forward pass (x·Wᵀ) has, and it wastes no vector lanes when C has only
//     a few columns (2 or 20), where a 32-wide tile would be mostly empty.

// arch is a set of kernels for one instruction set, with its block sizes.
type arch struct {
	name string

	mr    int // rows of the micro-tile
	nr    int // columns of the widest micro-tile
	nrMin int // columns of the narrowest micro-tile; a panel of nv ≤ nrMin columns uses it
	kc    int // most of k per block: mr×kc of A stays in L1 across a row of tiles
	nc    int // most columns of B per block: kc×nc of B stays in L2 across the rows of A

	dotR, dotS int // block of the dot kernel: rows of A × rows of Bᵀ
	dotMaxN    int // most rows or columns of C for dot kernels (see plan)
	transMaxN  int // most columns of C for the transposed strategy (see plan)

	// kern computes the mr×nv tile
	//	c[i·ldc+j] = alpha·Σ_p a[p·sa+i]·b[p·sb+j] + beta·c[i·ldc+j]
	// for i < mr ≤ arch.mr, j < nv ≤ arch.nr, p < k, k ≥ 1, reading b[p·sb+j]
	// for j < width(nv) (pad a packed panel with zeros). When beta is zero c
	// is only written.
	kern func(mr, nv, k int, a []float32, sa int, b []float32, sb int, c []float32, ldc int, alpha, beta float32)

	// dot computes the r×s block
	//	c[i·ldc+j] = alpha·Σ_p a[i·lda+p]·b[j·ldb+p] + beta·c[i·ldc+j]
	// for i < r ≤ dotR, j < s ≤ dotS, p < k, k ≥ 1. When beta is zero c is
	// only written.
	dot func(r, s, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)

	// transpose sets dst[q·ldd+l] = src[l·lds+q] for l < rows and zero for
	// rows ≤ l < lanes, for q < cols, where rows ≤ lanes ≤ tw and cols ≥ 1.
	// src is not read when rows is zero. It does the packing.
	transpose func(dst []float32, ldd int, src []float32, lds, rows, lanes, cols int)
	tw        int
	// spill says that transpose stores whole columns of lanes values, one
	// column after the other, so that lanes may exceed ldd: each column
	// spills into the next, which overwrites it (see packAPanel).
	spill bool
}

// width returns the columns the micro-kernel reads from a B panel holding nv
// valid columns.
func (ar *arch) width(nv int) int {
	if nv <= ar.nrMin {
		return ar.nrMin
	}
	return ar.nr
}

// problem is one Sgemm call after argument checking: alpha ≠ 0, k > 0,
// m, n > 0.
type problem struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a           []float32
	lda         int
	b           []float32
	ldb         int
	c           []float32
	ldc         int
}

// Thresholds of the driver. They are variables so that tests and benchmarks
// can move them.
var (
	// parMinWork is the least m·n·k worth splitting over goroutines. Waking
	// a pooled goroutine takes some microseconds (a futex wake, and the
	// scheduler lets the waker's P keep a readied goroutine for ~3µs before
	// another P may steal it), and the two halves of a product share its
	// operands between cores. Package vae spreads its work over threads
	// itself, by rows (shards of a training batch, chunks of an inference
	// batch), which measured faster on the 2-vCPU AMD EPYC development
	// machine than splitting each product: `vae bench` at 2 threads trained
	// 784-400-20 at 30k samples/s with products split from 2²², against
	// 38k unsplit and 44k with shards. The threshold keeps the products of
	// its batches (up to 1000·784·512 ≈ 2²⁸·⁶ multiply-adds) whole and
	// splits only larger ones.
	parMinWork = 1 << 29

	// dotMinK is the least k for which few rows of C go to the dot kernels.
	dotMinK = 512

	// smallMergeK: the transposed strategy writes Cᵀ to a buffer and adds it
	// to C, an extra m·n pass that only pays when k is not tiny.
	smallMergeK = 8
)

type strategy int

const (
	general    strategy = iota // micro-kernels on C
	transposed                 // micro-kernels on Cᵀ = op(B)ᵀ·op(A)ᵀ, then a merge
	dots                       // dot kernels
)

// plan picks the strategy for a shape. It depends on the shape only, never on
// the thread count, so that the order of the sums (and so the bits of the
// result) does not either.
//
// The micro-kernels are efficient when the columns fill their 16- or 32-wide
// (AVX2: 8- or 16-wide) panels; the other strategies win, in measurements on
// Zen 5 for both instruction sets, when C has few columns that do not (n = 2,
// 20, 24, 40), and lose when they do (32, 48, 64). The same holds for rows
// with the roles of A and B exchanged.
func (ar *arch) plan(p *problem) strategy {
	switch {
	case ar.ragged(p.n, ar.dotMaxN) && p.m > p.n && !p.tA:
		// Few columns, A rows contiguous in k: dot products (Bᵀ is small
		// and packed if it is not stored so).
		return dots
	case ar.ragged(p.m, ar.dotMaxN) && p.n > p.m && p.tB && p.k >= dotMinK:
		// Few rows, B rows contiguous in k: the same, the other way round,
		// when k is long enough to amortise each dot product's reduction
		// (at a batch of 20, k = 784 measured 7% faster on dots, k = 200
		// 27% slower and k = 50 3× slower).
		return dots
	case ar.ragged(p.n, ar.transMaxN) && p.n%16 != 0 && p.m > p.n && p.tA && p.k >= smallMergeK:
		// Few columns but A stored k×m: a tile of Cᵀ has n rows and its
		// vectors run along m, straight out of A. (At n = 16 the plain
		// micro-kernels measured faster.)
		return transposed
	}
	return general
}

// ragged reports whether a dimension d of C is at most limit and fits the
// micro-kernels' panels badly: not a multiple of 16, or at most 16 (where
// the narrow kernels are limited by loads).
func (ar *arch) ragged(d, limit int) bool {
	return d <= limit && (d <= 16 || d%16 != 0)
}

// gemm runs p on up to threads goroutines.
func (ar *arch) gemm(threads int, p problem) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	if p.m*p.n*p.k < parMinWork {
		threads = 1
	}
	switch ar.plan(&p) {
	case dots:
		// Make both operands row-major along k, packing the small one if
		// needed (the big one, if it were not, would not have been planned
		// here).
		if p.tA {
			ws.shared = growBuf(ws.shared, p.m*p.k)
			ar.transposeInto(ws.shared, p.a, p.lda, p.k, p.m)
			p.a, p.lda, p.tA = ws.shared, p.k, false
		}
		if !p.tB {
			ws.shared = growBuf(ws.shared, p.n*p.k)
			ar.transposeInto(ws.shared, p.b, p.ldb, p.k, p.n)
			p.b, p.ldb, p.tB = ws.shared, p.k, true
		}
		if p.n > p.m {
			ar.split(ws, threads, job{ar: ar, kind: dots, p: p}, false, ar.dotS)
		} else {
			ar.split(ws, threads, job{ar: ar, kind: dots, p: p}, true, ar.dotR)
		}
	case transposed:
		// Cᵀ = op(B)ᵀ·op(A)ᵀ into ws.scratch (n×m), merged into C by each
		// goroutine for its own columns of Cᵀ.
		ws.scratch = growBuf(ws.scratch, p.n*p.m)
		ws.merge = mergeSpec{c: p.c, ldc: p.ldc, beta: p.beta, s: ws.scratch, lds: p.m, n: p.n}
		pt := problem{
			tA: !p.tB, tB: !p.tA,
			m: p.n, n: p.m, k: p.k,
			alpha: p.alpha, beta: 0,
			a: p.b, lda: p.ldb,
			b: p.a, ldb: p.lda,
			c: ws.scratch, ldc: p.m,
		}
		ar.split(ws, threads, job{ar: ar, kind: general, p: pt, merge: &ws.merge}, false, ar.nrMin)
	default:
		if p.m > p.n {
			ar.split(ws, threads, job{ar: ar, kind: general, p: p}, true, ar.mr)
		} else {
			ar.split(ws, threads, job{ar: ar, kind: general, p: p}, false, ar.nrMin)
		}
	}
}

// split cuts j.p into up to threads parts along its rows (byRows) or columns,
// at multiples of unit, runs the first part on the calling goroutine and the
// others on the pool, and waits for them all.
func (ar *arch) split(ws *workspace, threads int, j job, byRows bool, unit int) {
	size := j.p.n
	if byRows {
		size = j.p.m
	}
	units := (size + unit - 1) / unit
	threads = min(threads, units)
	if threads <= 1 {
		j.lo, j.hi = 0, size
		j.run(ws)
		return
	}
	ensureWorkers(threads - 1)
	ws.wg.Add(threads - 1)
	j.done = &ws.wg
	var mine job
	for t := 0; t < threads; t++ {
		lo := min(size, t*units/threads*unit)
		hi := min(size, (t+1)*units/threads*unit)
		part := j.sub(byRows, lo, hi)
		if t == 0 {
			mine = part
			continue
		}
		jobs <- part
	}
	mine.run(ws)
	ws.wg.Wait()
}

// job is a part of a product, run by one goroutine.
type job struct {
	ar    *arch
	kind  strategy // general or dots
	p     problem
	merge *mergeSpec // when not nil, add columns [lo, hi) of p.c, transposed, to merge.c
	lo    int
	hi    int
	done  *sync.WaitGroup
}

// sub returns the part of j for rows (or columns) [lo, hi) of its C.
func (j job) sub(byRows bool, lo, hi int) job {
	p := &j.p
	if byRows {
		if p.tA {
			p.a = p.a[lo:]
		} else {
			p.a = p.a[lo*p.lda:]
		}
		p.c = p.c[lo*p.ldc:]
		p.m = hi - lo
	} else {
		if p.tB {
			p.b = p.b[lo*p.ldb:]
		} else {
			p.b = p.b[lo:]
		}
		p.c = p.c[lo:]
		p.n = hi - lo
	}
	j.lo, j.hi = lo, hi
	return j
}

func (j *job) run(ws *workspace) {
	if j.kind == dots {
		j.ar.dotProduct(&j.p)
	} else {
		j.ar.blocked(ws, &j.p)
	}
	if j.merge != nil {
		j.merge.add(j.lo, j.hi)
	}
}

// mergeSpec describes C = beta·C + S′ where S′ is the transpose of the n×m
// matrix s.
type mergeSpec struct {
	c    []float32
	ldc  int
	beta float32
	s    []float32
	lds  int
	n    int
}

// add merges rows [lo, hi) of C.
func (ms *mergeSpec) add(lo, hi int) {
	for i := lo; i < hi; i++ {
		row := ms.c[i*ms.ldc : i*ms.ldc+ms.n]
		s := ms.s[i:]
		if ms.beta == 0 {
			for j := range row {
				row[j] = s[j*ms.lds]
			}
			continue
		}
		for j := range row {
			row[j] = ms.beta*row[j] + s[j*ms.lds]
		}
	}
}

// dotProduct computes p with dot kernels; p.tA is false and p.tB true.
// The loops put the bigger operand outside, so that it is read once while
// the blocks of the smaller one are reused from cache.
func (ar *arch) dotProduct(p *problem) {
	R, S := ar.dotR, ar.dotS
	if p.n > p.m {
		for j := 0; j < p.n; j += S {
			s := min(S, p.n-j)
			for i := 0; i < p.m; i += R {
				r := min(R, p.m-i)
				ar.dot(r, s, p.k, p.a[i*p.lda:], p.lda, p.b[j*p.ldb:], p.ldb, p.c[i*p.ldc+j:], p.ldc, p.alpha, p.beta)
			}
		}
		return
	}
	for i := 0; i < p.m; i += R {
		r := min(R, p.m-i)
		for j := 0; j < p.n; j += S {
			s := min(S, p.n-j)
			ar.dot(r, s, p.k, p.a[i*p.lda:], p.lda, p.b[j*p.ldb:], p.ldb, p.c[i*p.ldc+j:], p.ldc, p.alpha, p.beta)
		}
	}
}

// kBlock returns the k block for k: at most kc, and as even as possible, so
// that no block is a sliver.
func kBlock(k, kc int) int {
	nb := (k + kc - 1) / kc
	return (k + nb - 1) / nb
}

// blocked computes p with micro-kernels, blocking for the caches:
//
//	for each block of k (kb ≤ kc):          C += alpha·A[:, kb]·B[kb, :]
//	  for each block of columns (≤ nc):     B block stays in L2
//	    for each panel of mr rows of A:     A panel (mr×kb) stays in L1
//	      for each panel of nr columns:     stream the B panel from L2
//
// Panels are packed on first use (A during the first column block, B during
// the first row panel), which keeps them in cache for their first use.
// The k blocks depend on k only, so the order of the sums in each element of C
// does not depend on how the rows and columns were split.
func (ar *arch) blocked(ws *workspace, p *problem) {
	kb := kBlock(p.k, ar.kc)
	mPanels := (p.m + ar.mr - 1) / ar.mr
	packA := !p.tA
	for pc := 0; pc < p.k; pc += kb {
		kl := min(kb, p.k-pc)
		beta := p.beta
		if pc > 0 {
			beta = 1
		}
		if packA {
			ws.a = growBuf(ws.a, mPanels*ar.mr*kl+ar.tw) // packAPanel writes past a panel
		}
		for jc := 0; jc < p.n; jc += ar.nc {
			nl := min(ar.nc, p.n-jc)
			ws.b = growBuf(ws.b, (nl+ar.nr-1)/ar.nr*ar.nr*kl)
			for ir := 0; ir < p.m; ir += ar.mr {
				mr := min(ar.mr, p.m-ir)
				var ap []float32
				sa := mr
				if packA {
					ap = ws.a[ir*kl : ir*kl+mr*kl]
					if jc == 0 {
						ar.packAPanel(ws.a[ir*kl:], p, ir, mr, pc, kl)
					}
				} else {
					ap = p.a[pc*p.lda+ir:]
					sa = p.lda
				}
				for jr := 0; jr < nl; jr += ar.nr {
					nv := min(ar.nr, nl-jr)
					w := ar.width(nv)
					var bp []float32
					sb := w
					if p.tB || nv != w {
						bp = ws.b[jr*kl : jr*kl+w*kl]
						if ir == 0 {
							ar.packBPanel(bp, w, p, jc+jr, nv, pc, kl)
						}
					} else {
						bp = p.b[pc*p.ldb+jc+jr:]
						sb = p.ldb
					}
					ar.kern(mr, nv, kl, ap, sa, bp, sb, p.c[ir*p.ldc+jc+jr:], p.ldc, p.alpha, beta)
				}
			}
		}
	}
}

// packAPanel writes op(A)[i0:i0+mr, p0:p0+kl] to dst as kl groups of mr
// values (one group per k). A is stored m×k here (not transposed), so this is
// a transpose.
//
// With spill, a panel of at most tw rows is written as whole vectors of tw
// lanes, each spilling tw − mr zeros into the next group, which the next
// store overwrites: an unmasked store where a masked one (6 of 8 lanes in
// AVX2) is microcoded on AMD. dst needs room for tw − mr values more.
func (ar *arch) packAPanel(dst []float32, p *problem, i0, mr, p0, kl int) {
	if ar.spill && mr <= ar.tw {
		ar.transpose(dst, mr, p.a[i0*p.lda+p0:], p.lda, mr, ar.tw, kl)
		return
	}
	for g := 0; g < mr; g += ar.tw {
		rows := min(ar.tw, mr-g)
		ar.transpose(dst[g:], mr, p.a[(i0+g)*p.lda+p0:], p.lda, rows, rows, kl)
	}
}

// packBPanel writes op(B)[p0:p0+kl, j0:j0+nv] to dst as kl groups of w
// values, the last w-nv of each zero.
func (ar *arch) packBPanel(dst []float32, w int, p *problem, j0, nv, p0, kl int) {
	if p.tB {
		// B is stored n×k: a transpose.
		for g := 0; g < w; g += ar.tw {
			rows := max(0, min(ar.tw, nv-g))
			var src []float32
			if rows > 0 {
				src = p.b[(j0+g)*p.ldb+p0:]
			}
			ar.transpose(dst[g:], w, src, p.ldb, rows, min(ar.tw, w-g), kl)
		}
		return
	}
	for q := 0; q < kl; q++ {
		d := dst[q*w : q*w+w]
		copy(d, p.b[(p0+q)*p.ldb+j0:(p0+q)*p.ldb+j0+nv])
		clear(d[nv:])
	}
}

// transposeInto writes the transpose of the rows×cols matrix src (leading
// dimension lds) to dst as a cols×rows matrix with leading dimension rows.
func (ar *arch) transposeInto(dst, src []float32, lds, rows, cols int) {
	for r := 0; r < rows; r += ar.tw {
		n := min(ar.tw, rows-r)
		ar.transpose(dst[r:], rows, src[r*lds:], lds, n, n, cols)
	}
}

// growBuf returns buf resliced to n elements, reallocated if it is too short.
// The contents are not preserved.
func growBuf(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
