//go:build amd64 && !purego

package kernel

// cpuid executes CPUID with EAX = leaf and ECX = sub.
//
//go:noescape
func cpuid(leaf, sub uint32) (a, b, c, d uint32)

var processor = readCPU()

func readCPU() CPU {
	max, b, c, d := cpuid(0, 0)
	var v [12]byte
	for i, r := range []uint32{b, d, c} {
		v[4*i], v[4*i+1], v[4*i+2], v[4*i+3] = byte(r), byte(r>>8), byte(r>>16), byte(r>>24)
	}
	cpu := CPU{Vendor: string(v[:])}
	if max >= 1 {
		a, _, _, _ := cpuid(1, 0)
		cpu.Family = int(a>>8) & 0xf
		cpu.Model = int(a>>4) & 0xf
		if cpu.Family == 0xf {
			cpu.Family += int(a>>20) & 0xff
		}
		if cpu.Family == 6 || cpu.Family >= 0xf {
			cpu.Model += int(a>>16) & 0xf << 4
		}
	}
	// The deterministic cache parameters: leaf 4 (Intel) or 0x8000001D
	// (AMD), one sub-leaf per cache until type 0.
	leaf := uint32(4)
	if cpu.Vendor == "AuthenticAMD" {
		leaf = 0x8000001D
		if ext, _, _, _ := cpuid(0x80000000, 0); ext < leaf {
			return cpu
		}
	} else if max < 4 {
		return cpu
	}
	for sub := uint32(0); sub < 16; sub++ {
		a, b, c, _ := cpuid(leaf, sub)
		kind, level := a&0x1f, a>>5&7
		if kind == 0 {
			break
		}
		if kind == 2 { // instructions
			continue
		}
		size := int(b>>22+1) * int(b>>12&0x3ff+1) * int(b&0xfff+1) * int(c+1)
		switch level {
		case 1:
			cpu.L1d = size
		case 2:
			cpu.L2 = size
		case 3:
			cpu.L3 = size
		}
	}
	return cpu
}
