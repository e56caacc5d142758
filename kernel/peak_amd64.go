//go:build amd64 && !purego

package kernel

//go:noescape
func fmaLoop512(n int)

//go:noescape
func fmaLoop256(n int)

// fmaLoop returns the loop PeakGFLOPS times and the float32 operations one
// of its iterations does (12 FMAs of 16 or 8 lanes, 2 operations each), or
// nil without AVX2.
func fmaLoop() (func(n int), float64) {
	switch {
	case hasAVX512:
		return fmaLoop512, 12 * 16 * 2
	case hasAVX2:
		return fmaLoop256, 12 * 8 * 2
	}
	return nil, 0
}
