package kernel

import "sync"

// workspace holds the buffers of one goroutine's share of a product. The
// buffers grow to the largest product seen and are then reused, so that
// steady-state calls do not allocate.
type workspace struct {
	a, b []float32 // packed panels of A and B

	// The fields below belong to a product as a whole and are used only in
	// the workspace of the goroutine that called Sgemm.
	shared  []float32 // small operand packed for the dot kernels, read by all parts
	scratch []float32 // Cᵀ of the transposed strategy
	merge   mergeSpec
	wg      sync.WaitGroup
}

// The free workspaces form a stack: a program that repeats the same
// products gets back, call after call, the workspaces that already fit them
// (a FIFO would rotate through all of them, and grow each in turn; a
// sync.Pool may drop them at any garbage collection).
var (
	freeMu sync.Mutex
	free   = make([]*workspace, 0, 64)
)

func getWorkspace() *workspace {
	freeMu.Lock()
	defer freeMu.Unlock()
	if n := len(free); n > 0 {
		ws := free[n-1]
		free = free[:n-1]
		return ws
	}
	return new(workspace)
}

func putWorkspace(ws *workspace) {
	ws.merge = mergeSpec{} // drop references to the caller's slices
	freeMu.Lock()
	if len(free) < cap(free) {
		free = append(free, ws)
	}
	freeMu.Unlock()
}

// jobs feeds the pooled goroutines. Jobs are sent by value, which does not
// allocate, unlike starting a goroutine or a closure per call.
var jobs = make(chan job, 64)

var (
	workersMu sync.Mutex
	nWorkers  int
)

// ensureWorkers starts pooled goroutines until there are at least n. They
// live for the rest of the program, each blocked on jobs when idle.
func ensureWorkers(n int) {
	workersMu.Lock()
	for nWorkers < n {
		nWorkers++
		go worker()
	}
	workersMu.Unlock()
}

func worker() {
	for j := range jobs {
		ws := getWorkspace()
		j.run(ws)
		// Return the workspace before signalling, so that it is back on the
		// stack, below the caller's, when the caller returns: the next call
		// then hands each part the same workspace as this one.
		putWorkspace(ws)
		j.done.Done()
		j = job{} // drop references to the caller's slices while idle
	}
}
