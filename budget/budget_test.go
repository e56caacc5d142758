package budget

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"4096", 4096, false},
		{"8GiB", 8 << 30, false},
		{"8G", 8 << 30, false},
		{"8 GB", 8e9, false},
		{"512M", 512 << 20, false},
		{"1.5KiB", 1536, false},
		{"1e9", 1e9, false},
		{"2tib", 2 << 40, false},
		{"", 0, true},
		{"GiB", 0, true},
		{"-1G", 0, true},
		{"8XB", 0, true},
		{"1e30", 0, true},
		{"NaN", 0, true},
	} {
		got, err := ParseSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestMulAdd(t *testing.T) {
	for _, c := range []struct {
		got, want int64
	}{
		{Mul(), 1},
		{Mul(3, 4, 5), 60},
		{Mul(1<<40, 1<<30), math.MaxInt64},
		{Mul(math.MaxInt64, 0), 0},
		{Mul(-1, 5), math.MaxInt64},
		{Add(1, 2, 3), 6},
		{Add(math.MaxInt64, 1), math.MaxInt64},
		{Add(5, -1), math.MaxInt64},
	} {
		if c.got != c.want {
			t.Errorf("got %d, want %d", c.got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	SetLimit(1 << 20)
	t.Cleanup(func() { SetLimit(0) })
	if err := Check("a small thing", 1<<20); err != nil {
		t.Errorf("Check at the limit: %v", err)
	}
	err := Check("a batch of 1000", 3<<20)
	var e *Error
	if !errors.As(err, &e) || e.Bytes != 3<<20 || e.Limit != 1<<20 {
		t.Fatalf("Check over the limit = %v, want an *Error of 3 MiB against 1 MiB", err)
	}
	for _, part := range []string{"a batch of 1000", "3.0 MiB", "1.0 MiB", "--max-memory"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	if err := Check("overflowed", -1); err == nil {
		t.Error("Check of a negative (overflowed) size passed")
	}
}

func TestDefault(t *testing.T) {
	t.Setenv(EnvVar, "3GiB")
	if got := Default(); got != 3<<30 {
		t.Errorf("Default with $%s=3GiB = %d", EnvVar, got)
	}
	t.Setenv(EnvVar, "")
	if got := Default(); got < 1<<20 {
		t.Errorf("Default = %d, want a quarter of the machine or 4 GiB", got)
	}
	if Limit() != Default() {
		t.Errorf("Limit without SetLimit = %d, Default = %d", Limit(), Default())
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", math.MaxInt64: "8.0 EiB"} {
		if got := Format(in); got != want {
			t.Errorf("Format(%d) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"8GiB", "512M", "1e9", "4 GB", "", "-1", "1e400", "0.5kib"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
	})
}
