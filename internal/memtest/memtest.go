// Package memtest has helpers for tests of memory bounds: the bytes a call
// allocates, and a memory budget (package budget) for the length of one
// test.
package memtest

import (
	"runtime"
	"testing"

	"github.com/govae/vae/budget"
)

// Allocated returns the bytes that f allocates on the heap while it runs.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// SetLimit sets the memory budget to n bytes until t and its subtests end,
// then restores the default.
func SetLimit(t testing.TB, n int64) {
	budget.SetLimit(n)
	t.Cleanup(func() { budget.SetLimit(0) })
}
