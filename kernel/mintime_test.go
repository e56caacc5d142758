package kernel

import (
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/gonum"
)

var minTimes = flag.Bool("mintimes", false, "run TestMinTimes: best-of-N GFLOPS of each engine on the layers' shapes")

// TestMinTimes prints, for each of the layers' products, the best time of
// many calls of each engine at 1 and 2 threads. The best time is robust to
// other processes sharing the CPU, which inflate the averages of benchmarks.
// It is what the block sizes and strategy thresholds were tuned with. Run
// with
//
//	go test -run MinTimes -v ./kernel -args -mintimes
func TestMinTimes(t *testing.T) {
	if !*minTimes {
		t.Skip("use -mintimes")
	}
	engines := []namedEngine{{"gonum", gonum.Implementation{}}}
	for _, ar := range archs {
		engines = append(engines, namedEngine{ar.name, Fast{arch: ar}})
	}
	if openblasEngine != nil {
		engines = append(engines, namedEngine{"openblas", openblasEngine})
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, threads := range []int{1, 2} {
		runtime.GOMAXPROCS(threads)
		for _, s := range append(layerShapes(128), layerShapes(1000)...) {
			a, b, c := s.operands()
			line := fmt.Sprintf("threads=%d %-30s GFLOPS", threads, s.name)
			for _, e := range engines {
				f := func() {
					e.e.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a, s.lda, b, s.ldb, s.beta, c, s.ldc)
				}
				// About 0.1 s for the fast engines, at least 3 calls.
				reps := max(3, min(500, int(1e7/float64(s.m*s.n*s.k)*1000)))
				if e.name == "gonum" || e.name == "go" {
					reps = max(3, reps/20)
				}
				best := time.Duration(1 << 62)
				for range reps {
					t0 := time.Now()
					f()
					best = min(best, time.Since(t0))
				}
				line += fmt.Sprintf(" %s %6.1f", e.name, 2*float64(s.m*s.n*s.k)/best.Seconds()/1e9)
			}
			t.Log(line)
		}
	}
}
