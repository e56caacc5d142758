package budget

import "testing"

// BenchmarkCheck is the cost of one Check at the default limit, which every
// server request pays: it must not read /proc each time.
func BenchmarkCheck(b *testing.B) {
	for b.Loop() {
		if err := Check("a request", 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
