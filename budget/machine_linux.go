package budget

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// machineMemory returns the smaller of the physical memory and the memory
// limit of the process's cgroup (v2 or v1), or 0 if neither can be read.
func machineMemory() int64 {
	var m int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					m = kb << 10
				}
				break
			}
		}
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if c, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && c > 0 && (m == 0 || c < m) {
			m = c
		}
	}
	return m
}
