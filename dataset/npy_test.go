package dataset

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/internal/memtest"
)

// npyHead returns the start of a .npy file of format version major.0 whose
// header is the dict literal dict, padded with spaces and a newline to a
// multiple of 64 bytes as numpy pads it.
func npyHead(major byte, dict string) []byte {
	lenBytes := 4
	if major == 1 {
		lenBytes = 2
	}
	pad := (64 - (len(npyMagic)+2+lenBytes+len(dict)+1)%64) % 64
	h := dict + strings.Repeat(" ", pad) + "\n"
	b := append([]byte(npyMagic), major, 0)
	if lenBytes == 2 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
	}
	return append(b, h...)
}

// npyDict writes the header dict as numpy does.
func npyDict(descr string, fortran bool, shape ...int) string {
	order := "False"
	if fortran {
		order = "True"
	}
	return fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, shapeString(shape))
}

// npyEncode encodes vals as elements of the dtype descr, by hand.
func npyEncode(t testing.TB, descr string, vals []float64) []byte {
	t.Helper()
	var o binary.AppendByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		o = binary.BigEndian
	}
	var b []byte
	for _, v := range vals {
		switch descr[1:] {
		case "f4":
			b = o.AppendUint32(b, math.Float32bits(float32(v)))
		case "f8":
			b = o.AppendUint64(b, math.Float64bits(v))
		case "i1", "u1", "b1":
			b = append(b, byte(int64(v)))
		case "i2", "u2":
			b = o.AppendUint16(b, uint16(int64(v)))
		case "i4", "u4":
			b = o.AppendUint32(b, uint32(int64(v)))
		case "i8":
			b = o.AppendUint64(b, uint64(int64(v)))
		case "u8":
			b = o.AppendUint64(b, uint64(v))
		default:
			t.Fatalf("npyEncode: dtype %q", descr)
		}
	}
	return b
}

// npyFile returns a version 1.0 .npy file of vals, which are in the order
// the file stores them (Fortran order if fortran is set).
func npyFile(t testing.TB, descr string, fortran bool, shape []int, vals []float64) []byte {
	t.Helper()
	return append(npyHead(1, npyDict(descr, fortran, shape...)), npyEncode(t, descr, vals)...)
}

// npyCount returns 0, 1, … n−1.
func npyCount(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)
	}
	return v
}

// npyFloats converts vals.
func npyFloats(vals ...float64) []float32 {
	out := make([]float32, len(vals))
	for i, v := range vals {
		out[i] = float32(v)
	}
	return out
}

// npySame compares float32s, taking NaN as equal to NaN.
func npySame(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		return x == y || x != x && y != y
	})
}

// npzMember is a member of a .npz archive, named without ".npy".
type npzMember struct {
	name string
	data []byte
}

// npzBytes returns a zip archive of members, stored or deflated by method.
func npzBytes(t testing.TB, method uint16, members ...npzMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name + ".npy", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// npyWrite writes b to a file called name in a new temporary folder and
// returns its path.
func npyWrite(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadNPYDTypes(t *testing.T) {
	signed := []float64{-128, -1, 0, 7, 100, 127}
	unsigned := []float64{0, 1, 7, 100, 200, 255}
	floats := []float64{-1.5, 0, 0.25, 1e3, -7e-3, 3}
	var cases []struct {
		descr string
		in    []float64
		want  []float32
	}
	add := func(descr string, in []float64, want []float32) {
		cases = append(cases, struct {
			descr string
			in    []float64
			want  []float32
		}{descr, in, want})
	}
	for _, o := range []string{"<", ">"} {
		add(o+"f4", floats, npyFloats(floats...))
		add(o+"f8", floats, npyFloats(floats...))
		for _, k := range []string{"i2", "i4", "i8"} {
			add(o+k, signed, npyFloats(signed...))
		}
		for _, k := range []string{"u2", "u4", "u8"} {
			add(o+k, unsigned, npyFloats(unsigned...))
		}
		add(o+"i8", []float64{-(1 << 40), 1 << 40}, npyFloats(-(1<<40), 1<<40))
		add(o+"u8", []float64{1 << 63}, npyFloats(1<<63))
		add(o+"u1", unsigned, npyFloats(0, 1./255, 7./255, 100./255, 200./255, 1))
	}
	add("|i1", signed, npyFloats(signed...))
	add("|u1", unsigned, npyFloats(0, 1./255, 7./255, 100./255, 200./255, 1))
	add("|b1", []float64{0, 1, 1, 0, 0, 1}, npyFloats(0, 1, 1, 0, 0, 1))
	nan := math.NaN()
	add("<f4", []float64{nan, math.Inf(1), math.Inf(-1)}, npyFloats(nan, math.Inf(1), math.Inf(-1)))
	add(">f8", []float64{nan, math.Inf(-1), 1e300}, npyFloats(nan, math.Inf(-1), math.Inf(1)))
	for _, c := range cases {
		t.Run(c.descr, func(t *testing.T) {
			in := npyFile(t, c.descr, false, []int{len(c.in)}, c.in)
			m, err := ReadNPY(bytes.NewReader(in), "t.npy")
			if err != nil {
				t.Fatal(err)
			}
			if m.DType != c.descr || !slices.Equal(m.Shape, []int{len(c.in)}) {
				t.Errorf("DType %q, Shape %v; want %q, [%d]", m.DType, m.Shape, c.descr, len(c.in))
			}
			if !npySame(m.Data, c.want) {
				t.Errorf("Data = %v, want %v", m.Data, c.want)
			}
		})
	}
}

// TestReadNPYHalf checks float16 by the bits of known values.
func TestReadNPYHalf(t *testing.T) {
	bits := []float64{0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x7e00}
	want := npyFloats(1, -2, 0.5, 65504, math.Ldexp(1, -24), 1023*math.Ldexp(1, -24), math.Inf(1), math.Inf(-1), 0, math.NaN())
	for _, o := range []string{"<", ">"} {
		in := append(npyHead(1, npyDict(o+"f2", false, len(bits))), npyEncode(t, o+"u2", bits)...)
		m, err := ReadNPY(bytes.NewReader(in), "half.npy")
		if err != nil {
			t.Fatal(err)
		}
		if !npySame(m.Data, want) || math.Signbit(float64(m.Data[8])) != true {
			t.Errorf("%sf2: Data = %v, want %v (with −0)", o, m.Data, want)
		}
	}
}

// TestReadNPYHeaders checks headers that numpy writes, or might: every
// format version, and the liberties a Python literal allows.
func TestReadNPYHeaders(t *testing.T) {
	data := npyEncode(t, "<i2", npyCount(6))
	for _, c := range []struct {
		name  string
		major byte
		dict  string
		shape []int
	}{
		{"version 1", 1, npyDict("<i2", false, 2, 3), []int{2, 3}},
		{"version 2", 2, npyDict("<i2", false, 2, 3), []int{2, 3}},
		{"version 3", 3, npyDict("<i2", false, 2, 3), []int{2, 3}},
		{"one dimension", 1, npyDict("<i2", false, 6), []int{6}},
		{"no trailing comma", 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (6,)}", []int{6}},
		{"double quotes", 1, `{"descr": "<i2", "fortran_order": False, "shape": (3, 2)}`, []int{3, 2}},
		{"other key order", 1, "{'shape': (1, 6), 'fortran_order': False, 'descr': '<i2'}", []int{1, 6}},
		{"white space", 2, "\t{ 'descr' :'<i2' ,\n'fortran_order':False,'shape':( 2 , 3 , ) , }", []int{2, 3}},
		{"python 2 longs", 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L), }", []int{2, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := append(npyHead(c.major, c.dict), data...)
			m, err := ReadNPY(bytes.NewReader(in), "h.npy")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Shape, c.shape) || !slices.Equal(m.Data, npyFloats(npyCount(6)...)) {
				t.Errorf("Shape %v, Data %v; want %v, 0..5", m.Shape, m.Data, c.shape)
			}
		})
	}
}

// TestReadNPYFortran checks that arrays in Fortran order come out in C
// order.
func TestReadNPYFortran(t *testing.T) {
	for _, shape := range [][]int{{6}, {2, 3}, {3, 2}, {2, 3, 4}, {1, 4, 1, 3}, {2, 3, 4, 5, 2}} {
		t.Run(dimsString(shape), func(t *testing.T) {
			n := 1
			for _, d := range shape {
				n *= d
			}
			// The C-order array holds 0, 1, …: element (i0, i1, …) is at
			// the C offset of its index. Write it in Fortran order: the
			// first index fastest.
			fvals := make([]float64, 0, n)
			idx := make([]int, len(shape))
			for range n {
				off := 0
				for a, d := range shape {
					off = off*d + idx[a]
				}
				fvals = append(fvals, float64(off))
				for a := range idx {
					if idx[a]++; idx[a] < shape[a] {
						break
					}
					idx[a] = 0
				}
			}
			in := npyFile(t, ">f8", true, shape, fvals)
			m, err := ReadNPY(bytes.NewReader(in), "f.npy")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Data, npyFloats(npyCount(n)...)) {
				t.Errorf("Data = %v, want 0..%d", m.Data, n-1)
			}
		})
	}
}

func TestReadNPYGzip(t *testing.T) {
	in := gzipBytes(t, npyFile(t, "<f4", false, []int{2, 2}, []float64{1, 2, 3, 4}))
	m, err := ReadNPY(bytes.NewReader(in), "g.npy.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Data, npyFloats(1, 2, 3, 4)) {
		t.Errorf("Data = %v", m.Data)
	}
	s, err := LoadNPY(npyWrite(t, "g.npy.gz", in), "g")
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || s.Dim != 2 || !slices.Equal(s.X, npyFloats(1, 2, 3, 4)) {
		t.Errorf("LoadNPY: %d×%d %v", s.N, s.Dim, s.X)
	}
}

type npyBad struct {
	name    string
	in      []byte
	wantErr string
	npz     bool // a zip archive: LoadNPY reads it as a .npz
}

// npyBadCases returns broken .npy inputs and what their errors must say.
func npyBadCases(t testing.TB) []npyBad {
	good := npyFile(t, "<f4", false, []int{2, 3}, npyCount(6))
	head := func(dict string) []byte { return append(npyHead(1, dict), good[128:]...) }
	shape := func(s string) []byte {
		return head("{'descr': '<f4', 'fortran_order': False, 'shape': " + s + ", }")
	}
	descr := func(d string) []byte {
		return head("{'descr': " + d + ", 'fortran_order': False, 'shape': (2, 3), }")
	}
	v2 := append([]byte(npyMagic), 2, 0)
	return []npyBad{
		{name: "empty", in: nil, wantErr: "empty, not a .npy file"},
		{name: "wrong magic", in: append([]byte("\x93NUMPZ\x01\x00"), good[8:]...), wantErr: `not a .npy file: it starts with "\x93NUMPZ\x01\x00"`},
		{name: "text", in: []byte("hello, world"), wantErr: `not a .npy file: it starts with "hello, w"`},
		{name: "zip", in: npzBytes(t, zip.Store, npzMember{"x", good}), wantErr: "(it is a zip archive: a .npz file?)", npz: true},
		{name: "truncated magic", in: good[:4], wantErr: "truncated .npy header"},
		{name: "truncated length", in: good[:9], wantErr: "truncated .npy header"},
		{name: "version 4", in: append([]byte(npyMagic), 4, 0, 10, 0), wantErr: "unsupported .npy format version 4.0, want 1.0, 2.0 or 3.0"},
		{name: "version 1.1", in: append([]byte(npyMagic), 1, 1, 10, 0), wantErr: "unsupported .npy format version 1.1"},
		{name: "truncated header", in: good[:60], wantErr: "truncated .npy header: the header length is 118 bytes, found 50"},
		{name: "header length past the file", in: append(binary.LittleEndian.AppendUint32(bytes.Clone(v2), 5000), good[10:]...), wantErr: "the header length is 5000 bytes, found 142"},
		{name: "header over the limit", in: binary.LittleEndian.AppendUint32(bytes.Clone(v2), 1<<30), wantErr: "header length is 1073741824 bytes, over the limit of 65536"},
		{name: "not a dict", in: head("['descr', '<f4']"), wantErr: "not a dict: want '{' first"},
		{name: "unterminated dict", in: head("{'descr': '<f4', 'fortran_order': False"), wantErr: "unexpected end of the header, want ',' or '}'"},
		{name: "no colon", in: head("{'descr' '<f4'}"), wantErr: `unexpected '\'' at offset 9, want ':' after key "descr"`},
		{name: "garbage after dict", in: head(npyDict("<f4", false, 2, 3) + " x"), wantErr: "unexpected 'x'"},
		{name: "unterminated string", in: head("{'descr: 1}"), wantErr: "string at offset 1 runs past the end of the line"},
		{name: "bad escape", in: head(`{'de\scr': '<f4'}`), wantErr: "unsupported escape"},
		{name: "name", in: head("{'descr': float32}"), wantErr: `unexpected name "float32" at offset 10`},
		{name: "key not a string", in: head("{1: 2}"), wantErr: "dict key 1 at offset 2 is not a string"},
		{name: "duplicate key", in: head("{'descr': '<f4', 'descr': '<f4'}"), wantErr: `duplicate key "descr"`},
		{name: "missing descr", in: head("{'fortran_order': False, 'shape': (2, 3), }"), wantErr: "missing key 'descr'"},
		{name: "missing fortran_order", in: head("{'descr': '<f4', 'shape': (2, 3), }"), wantErr: "missing key 'fortran_order'"},
		{name: "missing shape", in: head("{'descr': '<f4', 'fortran_order': False}"), wantErr: "missing key 'shape'"},
		{name: "extra key", in: head("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}"), wantErr: `unexpected key "x"`},
		{name: "complex", in: descr("'<c8'"), wantErr: `unsupported dtype "<c8": want one of float16/32/64`},
		{name: "string dtype", in: descr("'|S5'"), wantErr: `unsupported dtype "|S5"`},
		{name: "unicode dtype", in: descr("'<U3'"), wantErr: `unsupported dtype "<U3"`},
		{name: "object dtype", in: descr("'|O'"), wantErr: `unsupported dtype "|O"`},
		{name: "datetime dtype", in: descr("'<M8[ns]'"), wantErr: `unsupported dtype "<M8[ns]"`},
		{name: "long double", in: descr("'<f16'"), wantErr: `unsupported dtype "<f16"`},
		{name: "no byte order", in: descr("'|f4'"), wantErr: `unsupported dtype "|f4"`},
		{name: "native byte order", in: descr("'=f4'"), wantErr: `unsupported dtype "=f4"`},
		{name: "signed size", in: descr("'<f+4'"), wantErr: `unsupported dtype "<f+4"`},
		{name: "structured dtype", in: descr("[('a', '<f4'), ('b', '<i4', (2,))]"), wantErr: "structured dtypes are not supported: want one of float16"},
		{name: "descr not a string", in: descr("4"), wantErr: "'descr' is 4, want a string"},
		{name: "fortran_order not a bool", in: head("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}"), wantErr: "'fortran_order' is 0, want True or False"},
		{name: "fortran_order None", in: head("{'descr': '<f4', 'fortran_order': None, 'shape': (6,)}"), wantErr: "'fortran_order' is None, want True or False"},
		{name: "shape a list", in: shape("[2, 3]"), wantErr: "'shape' is a list, want a tuple"},
		{name: "shape an int", in: shape("(6)"), wantErr: "'shape' is 6, want a tuple"},
		{name: "shape of strings", in: shape("('2', 3)"), wantErr: `dimension 0 of 'shape' is "2", want an integer`},
		{name: "negative shape", in: shape("(-2, -3)"), wantErr: "dimension 0 of 'shape' is -2, negative"},
		{name: "huge dimension", in: shape("(99999999999999999999,)"), wantErr: "dimension 0 of 'shape' is 99999999999999999999, too large"},
		{name: "overflowing shape", in: shape("(4294967296, 4294967296)"), wantErr: "shape (4294967296, 4294967296) declares more elements than can be counted"},
		{name: "scalar", in: shape("()"), wantErr: "empty: shape () holds a single value"},
		{name: "zero in shape", in: shape("(2, 0, 3)"), wantErr: "empty: shape (2, 0, 3) holds no values"},
		{name: "too many dimensions", in: shape("(" + strings.Repeat("1, ", 33) + ")"), wantErr: "'shape' has 33 dimensions, more than the limit of 32"},
		{name: "deep nesting", in: shape(strings.Repeat("(", 20) + strings.Repeat(")", 20)), wantErr: "nested more than 8 deep"},
		{name: "lone sign", in: shape("(-, 3)"), wantErr: `unexpected '-'`},
		{name: "truncated data", in: good[:len(good)-5], wantErr: "truncated data: shape (2, 3) of <f4 needs 24 bytes after the header, found 19"},
		{name: "no data", in: good[:128], wantErr: "truncated data: shape (2, 3) of <f4 needs 24 bytes after the header, found 0"},
		{name: "shape past the data", in: shape("(200, 3)"), wantErr: "needs 2400 bytes after the header, found 24"},
		{name: "trailing data", in: append(bytes.Clone(good), 0), wantErr: "trailing data after the 24 bytes of data the header describes"},
		{name: "gzip truncated", in: gzipBytes(t, good)[:60], wantErr: "truncated"},
		{name: "gzip bad header", in: []byte{0x1f, 0x8b, 0, 0, 0, 0}, wantErr: "read gzip header"},
	}
}

// TestReadNPYErrors checks that ReadNPY and LoadNPY reject broken files
// with errors that name the file and the fault.
func TestReadNPYErrors(t *testing.T) {
	for _, c := range npyBadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(c.in), "bad.npy")
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "bad.npy: ") {
				t.Fatalf("ReadNPY error = %v, want one naming bad.npy and containing %q", err, c.wantErr)
			}
			t.Log(err)
			if c.npz {
				return
			}
			path := npyWrite(t, "bad.npy", c.in)
			_, err = LoadNPY(path, "bad")
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadNPY error = %v, want one naming %s and containing %q", err, path, c.wantErr)
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "missing.npy")
	if _, err := LoadNPY(missing, "m"); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadNPY of a missing file: %v", err)
	}
}

// TestReadNPYOverBudget checks that a header that declares more than the
// memory budget allows is refused before anything is allocated for it.
func TestReadNPYOverBudget(t *testing.T) {
	memtest.SetLimit(t, 1<<20)
	lying := npyHead(1, npyDict("<f4", false, 1000000, 1000, 1000)) // 10^12 elements, no data
	honest := npyFile(t, "|u1", false, []int{512, 1024}, make([]float64, 512*1024))
	for _, c := range []struct {
		name  string
		in    []byte
		claim string
	}{
		{"lying", lying, ".npy array of 1000000×1000×1000 <f4 as float32 needs 3.6 TiB of memory, over the limit of 1.0 MiB"},
		{"lying fortran", npyHead(1, npyDict(">i8", true, 1000000000, 1000000)), ".npy array of 1000000000×1000000 >i8 as float32 needs 7.1 PiB"},
		{"honest", honest, ".npy array of 512×1024 |u1 as float32 needs 2.1 MiB of memory"},
		{"honest gzip", gzipBytes(t, honest), ".npy array of 512×1024 |u1 as float32 needs 2.1 MiB of memory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			n := memtest.Allocated(func() { _, err = ReadNPY(bytes.NewReader(c.in), "big.npy") })
			if err == nil || !strings.Contains(err.Error(), "big.npy: "+c.claim) {
				t.Errorf("ReadNPY error = %v, want one containing %q", err, c.claim)
			}
			if n > 128<<10 {
				t.Errorf("ReadNPY allocated %d bytes, more than reading a header takes", n)
			}
			path := npyWrite(t, "big.npy", c.in)
			n = memtest.Allocated(func() { _, err = LoadNPY(path, "big") })
			if err == nil || !strings.Contains(err.Error(), path+": "+c.claim) {
				t.Errorf("LoadNPY error = %v, want one containing %q", err, c.claim)
			}
			if n > 128<<10 {
				t.Errorf("LoadNPY allocated %d bytes, more than reading a header takes", n)
			}
		})
	}
	// Features and labels each fit, but not together.
	memtest.SetLimit(t, 3<<20)
	x := npyFile(t, "|u1", false, []int{512, 1024}, make([]float64, 512*1024))
	y := npyFile(t, "<i8", false, []int{512}, make([]float64, 512))
	if _, err := LoadNPY(npyWrite(t, "xy.npz", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", y})), "xy"); err != nil {
		t.Fatalf("LoadNPY within the budget: %v", err)
	}
	memtest.SetLimit(t, 2<<20+65<<10)
	_, err := LoadNPY(npyWrite(t, "xy.npz", npzBytes(t, zip.Deflate, npzMember{"x", x}, npzMember{"y", y})), "xy")
	if err == nil || !strings.Contains(err.Error(), ":x.npy: .npy array of 512×1024 |u1 as float32 and ") ||
		!strings.Contains(err.Error(), ":y.npy: .npy array of 512 <i8 as float32 needs") {
		t.Errorf("LoadNPY over the budget by the labels: %v", err)
	}
}

// TestLoadNPYShapes checks which shapes are taken as images, and the
// rearrangement of channels-last images.
func TestLoadNPYShapes(t *testing.T) {
	// hwc is two 2×3 images of 3 channels, stored channels last: the value
	// of pixel (h, w) of channel c of image n is n·100 + c·10 + h·3 + w.
	var hwc, chw []float64
	for n := range 2 {
		for h := range 2 {
			for w := range 3 {
				for c := range 3 {
					hwc = append(hwc, float64(n*100+c*10+h*3+w))
				}
			}
		}
		for c := range 3 {
			for p := range 6 {
				chw = append(chw, float64(n*100+c*10+p))
			}
		}
	}
	// hwcF is hwc in Fortran order.
	var hwcF []float64
	for c := range 3 {
		for w := range 3 {
			for h := range 2 {
				for n := range 2 {
					hwcF = append(hwcF, float64(n*100+c*10+h*3+w))
				}
			}
		}
	}
	for _, c := range []struct {
		name                 string
		descr                string
		fortran              bool
		shape                []int
		in                   []float64 // nil: 0, 1, …
		want                 []float32 // nil: 0, 1, …
		n, dim               int
		rows, cols, channels int
	}{
		{name: "vector", descr: "<f4", shape: []int{5}, n: 5, dim: 1},
		{name: "rows", descr: "<f4", shape: []int{2, 3}, n: 2, dim: 3},
		{name: "gray", descr: "<f4", shape: []int{2, 2, 3}, n: 2, dim: 6, rows: 2, cols: 3},
		{name: "gray bytes", descr: "|u1", shape: []int{1, 2, 2}, in: []float64{0, 51, 102, 255}, want: npyFloats(0, 0.2, 0.4, 1), n: 1, dim: 4, rows: 2, cols: 2},
		{name: "channels last", descr: "<f8", shape: []int{2, 2, 3, 3}, in: hwc, want: npyFloats(chw...), n: 2, dim: 18, rows: 2, cols: 3, channels: 3},
		{name: "channels last fortran", descr: "<i4", fortran: true, shape: []int{2, 2, 3, 3}, in: hwcF, want: npyFloats(chw...), n: 2, dim: 18, rows: 2, cols: 3, channels: 3},
		{name: "one channel last", descr: "<f4", shape: []int{2, 4, 5, 1}, n: 2, dim: 20, rows: 4, cols: 5, channels: 1},
		{name: "channels first", descr: "<f4", shape: []int{2, 3, 4, 5}, n: 2, dim: 60, rows: 4, cols: 5, channels: 3},
		{name: "one channel first", descr: "<f4", shape: []int{2, 1, 4, 5}, n: 2, dim: 20, rows: 4, cols: 5, channels: 1},
		{name: "plain 4-d", descr: "<f4", shape: []int{2, 5, 4, 6}, n: 2, dim: 120},
		{name: "plain 5-d", descr: "<f4", shape: []int{2, 2, 2, 2, 2}, n: 2, dim: 16},
		{name: "fortran rows", descr: "<f4", fortran: true, shape: []int{2, 3}, in: []float64{0, 3, 1, 4, 2, 5}, n: 2, dim: 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			count := 1
			for _, d := range c.shape {
				count *= d
			}
			in, want := c.in, c.want
			if in == nil {
				in = npyCount(count)
			}
			if want == nil {
				want = npyFloats(npyCount(count)...)
			}
			path := npyWrite(t, "a.npy", npyFile(t, c.descr, c.fortran, c.shape, in))
			s, err := LoadNPY(path, "set")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			if s.Name != "set" || s.N != c.n || s.Dim != c.dim || s.Rows != c.rows || s.Cols != c.cols || s.Channels != c.channels {
				t.Errorf("Name %q, N %d, Dim %d, Rows·Cols·Channels %d·%d·%d; want set, %d, %d, %d·%d·%d",
					s.Name, s.N, s.Dim, s.Rows, s.Cols, s.Channels, c.n, c.dim, c.rows, c.cols, c.channels)
			}
			if !slices.Equal(s.X, want) {
				t.Errorf("X = %v, want %v", s.X, want)
			}
			if s.Labels != nil || s.Classes != 0 {
				t.Errorf("labels %v of %d classes, want none", s.Labels, s.Classes)
			}
		})
	}
}

func TestLoadNPZ(t *testing.T) {
	x := npyFile(t, "<f4", false, []int{4, 2}, npyCount(8))
	u8x := npyFile(t, "|u1", false, []int{4, 2, 1}, []float64{0, 255, 51, 0, 0, 0, 255, 255})
	y := npyFile(t, "<i8", false, []int{4}, []float64{3, 0, 1, 1})
	yBytes := npyFile(t, "|u1", false, []int{4}, []float64{0, 200, 255, 7})
	yColumn := npyFile(t, ">u2", true, []int{4, 1}, []float64{2, 2, 0, 1})
	for _, c := range []struct {
		name    string
		members []npzMember
		x       []float32 // nil: 0, 1, …
		labels  []uint8
		classes int
	}{
		{name: "x and y", members: []npzMember{{"x", x}, {"y", y}}, labels: []uint8{3, 0, 1, 1}, classes: 4},
		{name: "savez positional", members: []npzMember{{"arr_1", y}, {"arr_0", x}}, labels: []uint8{3, 0, 1, 1}, classes: 4},
		{name: "images and labels", members: []npzMember{{"images", u8x}, {"labels", yBytes}},
			x: npyFloats(0, 1, 0.2, 0, 0, 0, 1, 1), labels: []uint8{0, 200, 255, 7}, classes: 256},
		{name: "data and targets", members: []npzMember{{"targets", yColumn}, {"data", x}}, labels: []uint8{2, 2, 0, 1}, classes: 3},
		{name: "X and y", members: []npzMember{{"X", x}, {"y", y}, {"other", y}}, labels: []uint8{3, 0, 1, 1}, classes: 4},
		{name: "preference", members: []npzMember{{"arr_0", y}, {"x", x}}},
		{name: "only member", members: []npzMember{{"pixels", x}}},
		{name: "only member named as labels", members: []npzMember{{"y", x}}},
		{name: "no labels", members: []npzMember{{"x", x}, {"means", y}}},
	} {
		for _, method := range []uint16{zip.Store, zip.Deflate} {
			t.Run(fmt.Sprintf("%s/method %d", c.name, method), func(t *testing.T) {
				path := npyWrite(t, "a.npz", npzBytes(t, method, c.members...))
				s, err := LoadNPY(path, "npz")
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Check(); err != nil {
					t.Fatal(err)
				}
				want := c.x
				if want == nil {
					want = npyFloats(npyCount(8)...)
				}
				if s.Name != "npz" || s.N != 4 || s.Dim != 2 || !slices.Equal(s.X, want) {
					t.Errorf("%s: %d×%d %v, want npz: 4×2 %v", s.Name, s.N, s.Dim, s.X, want)
				}
				if !slices.Equal(s.Labels, c.labels) || s.Classes != c.classes {
					t.Errorf("labels %v of %d classes, want %v of %d", s.Labels, s.Classes, c.labels, c.classes)
				}
			})
		}
	}
}

func TestLoadNPZErrors(t *testing.T) {
	x := npyFile(t, "<f4", false, []int{4, 2}, npyCount(8))
	good := npzBytes(t, zip.Store, npzMember{"x", x})
	corrupt := bytes.Clone(npzBytes(t, zip.Deflate, npzMember{"x", x}))
	corrupt[40] ^= 0xff
	badCRC := bytes.Clone(good)
	badCRC[len("x.npy")+30+150] ^= 0xff // in the data of the stored member
	for _, c := range []struct {
		name string
		in   []byte
		want string // after the path
	}{
		{"label count", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", npyFile(t, "<i8", false, []int{3}, npyCount(3))}),
			":y.npy holds 3 labels but %s:x.npy holds 4 examples"},
		{"float labels", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", npyFile(t, "<f4", false, []int{4}, npyCount(4))}),
			`:y.npy: labels must be integers, got dtype "<f4"`},
		{"bool labels", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", npyFile(t, "|b1", false, []int{4}, npyCount(4))}),
			`:y.npy: labels must be integers, got dtype "|b1"`},
		{"label shape", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", npyFile(t, "<i8", false, []int{4, 2}, npyCount(8))}),
			":y.npy: labels must have shape (N,) or (N, 1), got (4, 2)"},
		{"label too large", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", npyFile(t, "<i4", false, []int{4}, []float64{0, 1, 300, 2})}),
			":y.npy: label 2 is 300, outside 0..255"},
		{"negative label", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", npyFile(t, "|i1", false, []int{4}, []float64{0, -1, 3, 2})}),
			":y.npy: label 1 is -1, outside 0..255"},
		{"no features", npzBytes(t, zip.Store, npzMember{"a", x}, npzMember{"b", x}),
			": no features in the .npz archive: want an array named x, X, data, images, arr_0 (or a single array), found a, b"},
		{"empty archive", npzBytes(t, zip.Store), ": no features in the .npz archive: want an array named x, X, data, images, arr_0 (or a single array), found none"},
		{"features broken", npzBytes(t, zip.Store, npzMember{"x", x[:100]}), ":x.npy: truncated .npy header: the header length is 118 bytes, found 90"},
		{"features truncated", npzBytes(t, zip.Deflate, npzMember{"x", x[:len(x)-1]}), ":x.npy: truncated data: shape (4, 2) of <f4 needs 32 bytes after the header, found 31"},
		{"labels broken", npzBytes(t, zip.Store, npzMember{"x", x}, npzMember{"y", []byte("garbage")}), `:y.npy: not a .npy file: it starts with "garbage"`},
		{"corrupt member", corrupt, ":x.npy: "},
		{"bad checksum", badCRC, ":x.npy: read .npy data: zip: checksum error"},
		{"truncated archive", good[:len(good)-10], ": read .npz (zip) archive: zip: not a valid zip file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := npyWrite(t, "bad.npz", c.in)
			want := path + c.want
			if strings.Contains(c.want, "%s") {
				want = path + fmt.Sprintf(c.want, path)
			}
			_, err := LoadNPY(path, "bad")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("LoadNPY error = %v, want one containing %q", err, want)
			}
			t.Log(err)
		})
	}
}

// npyFuzzSeeds returns valid files and some broken ones for FuzzReadNPY.
func npyFuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		npyFile(t, "<f4", false, []int{2, 3}, npyCount(6)),
		npyFile(t, ">f8", true, []int{2, 3, 2}, npyCount(12)),
		npyFile(t, "|u1", false, []int{2, 2, 2, 3}, npyCount(24)),
		npyFile(t, "<i8", false, []int{3}, npyCount(3)),
		npyFile(t, "|b1", true, []int{1, 2}, []float64{0, 1}),
		append(npyHead(2, npyDict(">u2", false, 2, 1)), 0, 1, 2, 3),
		append(npyHead(3, npyDict("<f2", false, 1)), 0, 0x3c),
		gzipBytes(t, npyFile(t, "<i2", false, []int{4}, npyCount(4))),
	}
	for _, c := range npyBadCases(t) {
		seeds = append(seeds, c.in)
	}
	return seeds
}

func FuzzReadNPY(f *testing.F) {
	for _, s := range npyFuzzSeeds(f) {
		f.Add(s)
	}
	memtest.SetLimit(f, 64<<20)
	f.Fuzz(func(t *testing.T, in []byte) {
		gzipped := len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b
		var m *NPY
		var err error
		n := memtest.Allocated(func() { m, err = ReadNPY(bytes.NewReader(in), "fuzz.npy") })
		// Memory follows the input, not what its header claims.
		if limit := uint64(1<<20 + 40*len(in)); !gzipped && n > limit {
			t.Fatalf("ReadNPY of %d bytes allocated %d bytes, want at most %d", len(in), n, limit)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.npy: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		count := 1
		for _, d := range m.Shape {
			if d <= 0 {
				t.Fatalf("shape %v", m.Shape)
			}
			count *= d
		}
		if len(m.Shape) == 0 || count != len(m.Data) {
			t.Fatalf("shape %v with %d values", m.Shape, len(m.Data))
		}
		var a npyArray
		if err := a.setDType(m.DType); err != nil {
			t.Fatalf("DType %q: %v", m.DType, err)
		}
		if a.kind == 'u' && a.size == 1 || a.kind == 'b' {
			for _, v := range m.Data {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("%s value %g outside [0, 1]", m.DType, v)
				}
			}
		}
	})
}

// TestNPYNumpy compares what ReadNPY and LoadNPY read with what numpy
// writes, where numpy is at hand.
func TestNPYNumpy(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("no numpy for %s (%v): the files of the other tests are built by hand", python, err)
	}
	dir := t.TempDir()
	script := `
import sys, numpy as np
d = sys.argv[1]
a = np.arange(2*3*4, dtype=np.float64).reshape(2, 3, 4)
for dt in ['<f4', '>f4', '<f8', '>f8', '<f2', '|i1', '<i2', '>i4', '<i8', '>u2', '<u4', '>u8']:
    np.save(f'{d}/a{dt[1:]}{"be" if dt[0] == ">" else ""}.npy', a.astype(dt))
np.save(f'{d}/fortran.npy', np.asfortranarray(a))
for v in [(1, 0), (2, 0), (3, 0)]:
    with open(f'{d}/av{v[0]}.npy', 'wb') as f:
        np.lib.format.write_array(f, a.astype('<f4'), version=v)
np.save(f'{d}/u1.npy', (a * 10).astype(np.uint8))
np.save(f'{d}/b1.npy', a % 3 == 0)
np.save(f'{d}/hwc.npy', np.arange(2*4*5*3, dtype=np.uint8).reshape(2, 4, 5, 3))
np.savez(f'{d}/xy.npz', x=a.astype(np.float32), y=np.array([1, 7]))
np.savez_compressed(f'{d}/pos.npz', a.astype(np.float32), np.array([0, 2], dtype=np.uint8))
`
	if out, err := exec.Command(python, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	want := npyFloats(npyCount(24)...)
	names, _ := filepath.Glob(filepath.Join(dir, "a*.npy"))
	names = append(names, filepath.Join(dir, "fortran.npy"))
	if len(names) != 16 {
		t.Fatalf("numpy wrote %d files, want 16: %v", len(names), names)
	}
	for _, path := range names {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ReadNPY(f, path)
		f.Close()
		if err != nil {
			t.Errorf("ReadNPY: %v", err)
			continue
		}
		if !slices.Equal(m.Shape, []int{2, 3, 4}) || !slices.Equal(m.Data, want) {
			t.Errorf("%s: %s %v %v", path, m.DType, m.Shape, m.Data)
		}
	}
	check := func(file string, f func(s *Set) bool) {
		t.Helper()
		s, err := LoadNPY(filepath.Join(dir, file), file)
		if err != nil {
			t.Errorf("LoadNPY: %v", err)
			return
		}
		if !f(s) {
			t.Errorf("%s: %+v", file, *s)
		}
	}
	check("u1.npy", func(s *Set) bool { return s.Rows == 3 && s.Cols == 4 && s.X[1] == float32(10)/255 })
	check("b1.npy", func(s *Set) bool { return s.X[0] == 1 && s.X[1] == 0 && s.X[3] == 1 })
	check("hwc.npy", func(s *Set) bool {
		return s.Channels == 3 && s.Rows == 4 && s.Cols == 5 && s.X[1] == float32(3)/255 && s.X[20] == float32(1)/255
	})
	check("xy.npz", func(s *Set) bool {
		return slices.Equal(s.X, want) && slices.Equal(s.Labels, []uint8{1, 7}) && s.Classes == 8
	})
	check("pos.npz", func(s *Set) bool {
		return slices.Equal(s.X, want) && slices.Equal(s.Labels, []uint8{0, 2}) && s.Classes == 3
	})
}
