package kernel

import "fmt"

// CPU is what the processor says of itself through CPUID, the facts the
// kernels and their block sizes are chosen by.
type CPU struct {
	Vendor        string // "AuthenticAMD", "GenuineIntel", …; empty where unknown
	Family, Model int    // the display family and model (AMD EPYC Zen 3: 25, 1)
	// Data cache sizes in bytes: L1d and L2 of one core, L3 of the
	// package (shared); 0 where unknown.
	L1d, L2, L3 int
}

// Processor returns this machine's CPU, read once at start-up.
func Processor() CPU { return processor }

// String gives the vendor, family, model and caches, e.g.
// "AuthenticAMD family 25 model 1, L1d 32 KiB, L2 512 KiB, L3 32 MiB".
func (c CPU) String() string {
	if c.Vendor == "" {
		return "unknown CPU"
	}
	size := func(b int) string {
		switch {
		case b == 0:
			return "?"
		case b%(1<<20) == 0:
			return fmt.Sprintf("%d MiB", b>>20)
		}
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%s family %d model %d, L1d %s, L2 %s, L3 %s", c.Vendor, c.Family, c.Model, size(c.L1d), size(c.L2), size(c.L3))
}

// Describe says which kernels f runs and why: the instruction set, the
// micro-tile and the cache blocks, e.g.
// "avx2: 6×16 tile, kc 256, nc 512 (AVX2 and FMA, no AVX-512)".
func (f Fast) Describe() string {
	ar := f.arch
	if ar == nil {
		ar = bestArch
	}
	if ar == nil {
		return "gonum: no AVX2 on this CPU"
	}
	why := map[string]string{
		"avx512": "AVX-512F and VL",
		"avx2":   "AVX2 and FMA, no AVX-512",
		"go":     "pure Go, by name",
	}[ar.name]
	return fmt.Sprintf("%s: %d×%d tile, kc %d, nc %d (%s)", ar.name, ar.mr, ar.nr, ar.kc, ar.nc, why)
}
