//go:build !unix

package bench

// peakRSSMiB returns 0: the peak resident memory is not known here.
func peakRSSMiB() float64 { return 0 }
