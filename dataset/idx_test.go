package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/internal/memtest"
)

type idxCase struct {
	name     string
	in       []byte
	wantDims []int  // on success
	wantErr  string // substring of the error; "" for success
}

// idxCases returns good and broken IDX inputs.
func idxCases(t testing.TB) []idxCase {
	labels := idxBytes(t, []int{4}, []byte{0, 1, 2, 9})
	images := idxBytes(t, []int{2, 2, 3}, []byte{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255})
	gz := gzipBytes(t, images)

	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff // first byte of the CRC-32 in the trailer
	badBody := bytes.Clone(gz)
	badBody[12] ^= 0xff

	return []idxCase{
		{name: "labels", in: labels, wantDims: []int{4}},
		{name: "images", in: images, wantDims: []int{2, 2, 3}},
		{name: "gzip", in: gz, wantDims: []int{2, 2, 3}},
		{name: "empty", in: nil, wantErr: "truncated IDX header"},
		{name: "short header", in: []byte{0, 0, 8}, wantErr: "truncated IDX header"},
		{name: "bad magic", in: []byte{1, 0, 8, 1, 0, 0, 0, 1, 7}, wantErr: "not an IDX file: magic bytes 0x01 0x00"},
		{name: "float type", in: []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, wantErr: "unsupported IDX element type 0x0d"},
		{name: "int type", in: []byte{0, 0, 0x0c, 1, 0, 0, 0, 1, 0, 0, 0, 0}, wantErr: "unsupported IDX element type 0x0c"},
		{name: "no dimensions", in: []byte{0, 0, 8, 0}, wantErr: "declares 0 dimensions"},
		{name: "too many dimensions", in: []byte{0, 0, 8, 5}, wantErr: "declares 5 dimensions"},
		{name: "zero dimension", in: []byte{0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 0}, wantErr: "dimension 1 is 0"},
		{name: "absurd size", in: []byte{0, 0, 8, 3, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 1}, wantErr: "more than the limit"},
		{name: "huge dimension", in: []byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1}, wantErr: "more than the limit"},
		{name: "truncated dimensions", in: []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, wantErr: "truncated IDX header"},
		{name: "truncated data", in: images[:len(images)-5], wantErr: "truncated: want 12 bytes of data, got 7"},
		{name: "header only", in: images[:16], wantErr: "truncated: want 12 bytes of data, got 0"},
		{name: "trailing data", in: append(bytes.Clone(labels), 0), wantErr: "trailing data after the 4 bytes"},
		{name: "gzip trailing data", in: gzipBytes(t, append(bytes.Clone(labels), 1, 2)), wantErr: "trailing data"},
		{name: "gzip truncated", in: gz[:len(gz)/2], wantErr: "truncated"},
		{name: "gzip bad checksum", in: badCRC, wantErr: "decompress: gzip: invalid checksum"},
		{name: "gzip corrupt stream", in: badBody, wantErr: "IDX"},
		{name: "gzip bad header", in: []byte{0x1f, 0x8b, 0, 0, 0, 0}, wantErr: "read gzip header"},
		{name: "gzip garbage after stream", in: append(bytes.Clone(gz), 'x', 'y', 'z'), wantErr: "decompress: unexpected EOF"},
	}
}

func TestReadIDX(t *testing.T) {
	for _, tc := range idxCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadIDX(bytes.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadIDX error = %v, want one containing %q", err, tc.wantErr)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatalf("ReadIDX: %v", err)
			}
			if !slices.Equal(m.Dims, tc.wantDims) {
				t.Errorf("Dims = %v, want %v", m.Dims, tc.wantDims)
			}
		})
	}
}

func TestReadIDXData(t *testing.T) {
	data := []byte{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255}
	plain := idxBytes(t, []int{2, 2, 3}, data)
	for name, in := range map[string][]byte{"plain": plain, "gzip": gzipBytes(t, plain)} {
		m, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(m.Data, data) {
			t.Errorf("%s: Data = %v, want %v", name, m.Data, data)
		}
	}
}

// TestReadIDXFile checks that errors name the file, whatever went wrong.
func TestReadIDXFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range idxCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, tc.in, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := ReadIDXFile(path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ReadIDXFile: %v", err)
				}
				if !slices.Equal(m.Dims, tc.wantDims) {
					t.Errorf("Dims = %v, want %v", m.Dims, tc.wantDims)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("ReadIDXFile error = %v, want one naming %s and containing %q", err, path, tc.wantErr)
			}
		})
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ReadIDXFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadIDXFile of a missing file: error = %v, want one naming %s", err, missing)
	}
}

func TestWriteIDX(t *testing.T) {
	tests := []struct {
		name    string
		m       IDX
		wantErr string
	}{
		{"ok", IDX{Dims: []int{2, 1}, Data: []byte{1, 2}}, ""},
		{"no dimensions", IDX{Data: []byte{1}}, "0 dimensions"},
		{"too many dimensions", IDX{Dims: []int{1, 1, 1, 1, 1}, Data: []byte{1}}, "5 dimensions"},
		{"zero dimension", IDX{Dims: []int{0}}, "dimension 0 is 0"},
		{"negative dimension", IDX{Dims: []int{2, -1}}, "dimension 1 is -1"},
		{"too large", IDX{Dims: []int{1 << 20, 1 << 20}}, "exceed"},
		{"wrong length", IDX{Dims: []int{3}, Data: []byte{1, 2}}, "need 3 bytes of data, have 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteIDX(&buf, &tc.m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("WriteIDX error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, err := ReadIDX(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Dims, tc.m.Dims) || !bytes.Equal(back.Data, tc.m.Data) {
				t.Errorf("read back %+v, want %+v", back, tc.m)
			}
		})
	}
}

func FuzzReadIDX(f *testing.F) {
	for _, tc := range idxCases(f) {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		gzipped := len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b
		var before, after runtime.MemStats
		if !gzipped {
			runtime.ReadMemStats(&before)
		}
		m, err := ReadIDX(bytes.NewReader(in))
		if !gzipped {
			// Memory follows the input, not what its header claims.
			runtime.ReadMemStats(&after)
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(1<<20+4*len(in)); got > limit {
				t.Fatalf("ReadIDX of %d bytes allocated %d bytes, want at most %d", len(in), got, limit)
			}
		}
		if err != nil {
			return
		}
		if len(m.Dims) < 1 || len(m.Dims) > maxIDXDims {
			t.Fatalf("%d dimensions", len(m.Dims))
		}
		n := 1
		for _, d := range m.Dims {
			if d <= 0 {
				t.Fatalf("dimensions %v", m.Dims)
			}
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("dimensions %v with %d bytes of data", m.Dims, len(m.Data))
		}
		var buf bytes.Buffer
		if err := WriteIDX(&buf, m); err != nil {
			t.Fatalf("WriteIDX of what ReadIDX returned: %v", err)
		}
		back, err := ReadIDX(&buf)
		if err != nil || !slices.Equal(back.Dims, m.Dims) || !bytes.Equal(back.Data, m.Data) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestReadIDXOverBudget checks that a header that declares more data than
// the memory budget allows is refused before the data is read, whether the
// data is there or not.
func TestReadIDXOverBudget(t *testing.T) {
	memtest.SetLimit(t, 1<<20)
	dir := t.TempDir()
	lying := filepath.Join(dir, "lying")
	if err := os.WriteFile(lying, idxBytes(t, []int{4000, 1000}, make([]byte, 4e6))[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	honest := filepath.Join(dir, "honest.gz")
	writeZeroIDXGz(t, honest, 4000, 1000)
	const claim = "IDX data of 4000×1000 bytes needs 3.8 MiB of memory, over the limit of 1.0 MiB"
	for _, path := range []string{lying, honest} {
		var err error
		n := memtest.Allocated(func() { _, err = ReadIDXFile(path) })
		if err == nil || !strings.Contains(err.Error(), path+": "+claim) {
			t.Errorf("ReadIDXFile error = %v, want one containing %q", err, path+": "+claim)
		}
		if n > 256<<10 {
			t.Errorf("ReadIDXFile allocated %d bytes, more than reading a header takes", n)
		}
	}
	in, err := os.ReadFile(honest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIDX(bytes.NewReader(in)); err == nil || !strings.Contains(err.Error(), claim) {
		t.Errorf("ReadIDX error = %v, want one containing %q", err, claim)
	}
}
