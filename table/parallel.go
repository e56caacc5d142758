package table

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel runs f(i) for i in [0, n) on up to GOMAXPROCS goroutines and
// returns the error of the lowest i that failed, so that the error does not
// depend on the scheduling. Inference, fitting and encoding are this
// package's hot loops; their columns and rows are independent.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				errs[i] = f(i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
