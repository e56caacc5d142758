package kernel

import (
	"sync"
	"time"
)

// PeakGFLOPS measures the float32 fused multiply-add throughput of this
// machine on threads goroutines at once, in 10⁹ operations per second
// (an FMA counts two), with the widest vectors Fast uses: the ceiling that
// Gemm figures can be compared with. It runs for about a tenth of a second
// and returns 0 where Fast has no assembly kernels.
func PeakGFLOPS(threads int) float64 {
	loop, perIter := fmaLoop()
	if loop == nil || threads < 1 {
		return 0
	}
	loop(1 << 16) // wake the vector units up
	const iters = 1 << 22
	best := 0.0
	for range 3 {
		var wg sync.WaitGroup
		start := time.Now()
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				loop(iters)
			}()
		}
		wg.Wait()
		if g := float64(threads) * iters * perIter / time.Since(start).Seconds() / 1e9; g > best {
			best = g
		}
	}
	return best
}
