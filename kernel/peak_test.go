package kernel

import (
	"runtime"
	"testing"
)

// PeakGFLOPS gives a plausible figure, and one that a real product on one
// thread does not exceed by much.
func TestPeakGFLOPS(t *testing.T) {
	peak := PeakGFLOPS(1)
	if loop, _ := fmaLoop(); loop == nil {
		if peak != 0 {
			t.Fatalf("PeakGFLOPS = %v without assembly kernels, want 0", peak)
		}
		t.Skip("no assembly kernels on this machine")
	}
	if peak < 5 || peak > 2000 {
		t.Fatalf("PeakGFLOPS(1) = %v, not a plausible single-core figure", peak)
	}
	t.Logf("peak: %.0f GFLOPS on 1 thread, %.0f on %d", peak, PeakGFLOPS(runtime.NumCPU()), runtime.NumCPU())
}
