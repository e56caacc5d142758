//go:build unix

package bench

import (
	"runtime"
	"syscall"
)

// peakRSSMiB returns the peak resident memory of this process in MiB.
func peakRSSMiB() float64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(u.Maxrss) / (1 << 20) // bytes
	}
	return float64(u.Maxrss) / (1 << 10) // KiB
}
