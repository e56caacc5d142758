package kernel

import (
	"strings"
	"testing"
)

// On amd64 the CPU names its vendor and has caches that add up to
// something plausible; String and Describe say what they are about.
func TestProcessor(t *testing.T) {
	c := Processor()
	t.Logf("%v; %s", c, Fast{}.Describe())
	if c.Vendor == "" {
		t.Skip("no CPUID here")
	}
	if c.Family < 5 || c.L1d < 8<<10 || c.L1d > 1<<20 || c.L2 < c.L1d || c.L3 != 0 && c.L3 < c.L2 {
		t.Errorf("implausible CPU %+v", c)
	}
	if s := c.String(); !strings.Contains(s, c.Vendor) || !strings.Contains(s, "L2 ") {
		t.Errorf("String() = %q", s)
	}
	if d := (Fast{}).Describe(); !strings.Contains(d, "tile") && !strings.HasPrefix(d, "gonum") {
		t.Errorf("Describe() = %q", d)
	}
}
