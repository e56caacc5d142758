// Package budget bounds what one computation may ask of the machine before it
// asks. Code about to allocate a size that came from a flag, a config, a file
// header or a request first calls Check with an estimate of the bytes, and
// gets an error that says what was asked, what it costs and the limit, instead
// of the runtime's fatal "out of memory" minutes later.
//
// The limit is process-wide, like runtime/debug.SetMemoryLimit: a quarter of
// the machine's memory (the smaller of the physical memory and the cgroup's
// limit) unless $VAE_MAX_MEMORY or SetLimit says otherwise.
package budget

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvVar names the environment variable that sets the limit, in the syntax
// of ParseSize.
const EnvVar = "VAE_MAX_MEMORY"

var limit atomic.Int64 // 0: not set, use Default

// Limit returns the number of bytes one computation may ask for.
func Limit() int64 {
	if n := limit.Load(); n > 0 {
		return n
	}
	return Default()
}

// SetLimit sets the limit to n bytes; n ≤ 0 restores the default.
func SetLimit(n int64) { limit.Store(max(n, 0)) }

// Default returns the limit that applies when SetLimit was not called:
// $VAE_MAX_MEMORY if it is set and valid, else a quarter of the machine's
// memory, else 4 GiB where that cannot be read.
func Default() int64 {
	if s := os.Getenv(EnvVar); s != "" {
		if n, err := ParseSize(s); err == nil && n > 0 {
			return n
		}
	}
	if m := memory(); m > 0 {
		return m / 4
	}
	return 4 << 30
}

// memory is machineMemory, read once.
var memory = sync.OnceValue(machineMemory)

// Error is the error of Check: What needs Bytes, more than Limit.
type Error struct {
	What         string
	Bytes, Limit int64
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s needs %s of memory, over the limit of %s (raise it with --max-memory or $%s)",
		e.What, Format(e.Bytes), Format(e.Limit), EnvVar)
}

// Check returns an *Error if bytes exceeds the limit. what names the request
// as the user made it, e.g. "a batch of 1000000 at 784-512-2".
func Check(what string, bytes int64) error {
	if l := Limit(); bytes > l || bytes < 0 {
		if bytes < 0 {
			bytes = math.MaxInt64
		}
		return &Error{What: what, Bytes: bytes, Limit: l}
	}
	return nil
}

// Mul returns the product of its factors, or math.MaxInt64 if it overflows
// or a factor is negative, so that an estimate built from hostile sizes
// fails Check instead of wrapping around.
func Mul(factors ...int64) int64 {
	p := uint64(1)
	for _, f := range factors {
		if f < 0 {
			return math.MaxInt64
		}
		hi, lo := bits.Mul64(p, uint64(f))
		if hi != 0 || lo > math.MaxInt64 {
			return math.MaxInt64
		}
		p = lo
	}
	return int64(p)
}

// Add returns the sum of its terms, saturating at math.MaxInt64 as Mul does.
func Add(terms ...int64) int64 {
	var s int64
	for _, t := range terms {
		if t < 0 || s > math.MaxInt64-t {
			return math.MaxInt64
		}
		s += t
	}
	return s
}

// Format writes n bytes for people: "512 B", "3.2 MiB", "7.4 GiB".
func Format(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}

// ParseSize reads a size in bytes: a number with an optional unit, binary
// (KiB, MiB, GiB, TiB) or decimal (kB, MB, GB, TB; K, M, G, T are taken as
// binary), e.g. "8GiB", "512M", "1e9", "4 GB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.TrimSpace(t[i:])
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[strings.ToLower(unit)]
	v, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || v < 0 || math.IsInf(v*mult, 0) || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit, e.g. 8GiB or 512MB", s)
	}
	return int64(v * mult), nil
}
