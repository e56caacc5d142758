package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/internal/memtest"
)

// sameTensors reports how got differs from want, tensor by tensor, bits of
// the data included; "" if they are the same up to order.
func sameTensors(got, want []Tensor) string {
	if len(got) != len(want) {
		return "different numbers of tensors"
	}
	byName := make(map[string]Tensor, len(got))
	for _, t := range got {
		byName[t.Name] = t
	}
	for _, w := range want {
		g, ok := byName[w.Name]
		switch {
		case !ok:
			return "missing tensor " + w.Name
		case len(g.Shape) != len(w.Shape) || !slices.Equal(g.Shape, w.Shape):
			return "tensor " + w.Name + ": shapes differ"
		case len(g.Data) != len(w.Data):
			return "tensor " + w.Name + ": lengths differ"
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				return "tensor " + w.Name + ": data differ"
			}
		}
	}
	return ""
}

func sameMetadata(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	big := make([]float32, 30000) // spans several write chunks
	for i := range big {
		big[i] = float32(i) * 0.25
	}
	for _, tc := range []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
	}{
		{"empty", nil, nil},
		{"metadata only", nil, map[string]string{"format": "pt", "": "empty key"}},
		{"scalar", []Tensor{{Name: "s", Data: []float32{42}}}, nil},
		{"zero size", []Tensor{{Name: "z", Shape: []int{3, 0}, Data: nil}, {Name: "y", Shape: []int{2}, Data: []float32{1, 2}}}, nil},
		{"layers", []Tensor{
			{Name: "encoder.0.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
			{Name: "encoder.0.bias", Shape: []int{2}, Data: []float32{-1, 1}},
			{Name: "big", Shape: []int{100, 300}, Data: big},
		}, map[string]string{"epoch": "3", "note": `quotes " and <html> & \ backslash`}},
		{"special values", []Tensor{{Name: "x", Shape: []int{8}, Data: []float32{
			float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
			math.Float32frombits(0x7fc00001), math.Float32frombits(0xffa00000), // NaN payloads
			math.Float32frombits(1), math.MaxFloat32, math.SmallestNonzeroFloat32,
		}}}, nil},
		{"odd names", []Tensor{
			{Name: "", Shape: []int{1}, Data: []float32{1}},
			{Name: "ünï çødé ✓", Shape: []int{1}, Data: []float32{2}},
			{Name: "a\"b\\c\n<&>", Shape: []int{1}, Data: []float32{3}},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.tensors, tc.metadata); err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			if n := binary.LittleEndian.Uint64(out); n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			f, err := Read(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if d := sameTensors(f.Tensors, tc.tensors); d != "" {
				t.Error(d)
			}
			if !sameMetadata(f.Metadata, tc.metadata) {
				t.Errorf("metadata %v, want %v", f.Metadata, tc.metadata)
			}
			if !slices.IsSortedFunc(f.Tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) }) {
				t.Error("tensors not stored in name order")
			}
			for _, want := range tc.tensors {
				if _, err := f.Get(want.Name, want.Shape...); err != nil {
					t.Error(err)
				}
			}
			// The output does not depend on the order of the tensors.
			rev := slices.Clone(tc.tensors)
			slices.Reverse(rev)
			var again bytes.Buffer
			if err := Write(&again, rev, tc.metadata); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), out) {
				t.Error("writing the tensors in another order gave other bytes")
			}
		})
	}
}

// tinyHeader is the header Write makes for tinyTensors, as the Python
// library writes it: metadata first, then the tensors by name, with no
// spaces, padded with spaces to a multiple of 8 bytes.
const tinyHeader = `{"__metadata__":{"format":"pt"},` +
	`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
	`"b":{"dtype":"F32","shape":[1,3],"data_offsets":[8,20]}}` + "   "

var tinyTensors = []Tensor{
	{Name: "b", Shape: []int{1, 3}, Data: []float32{-0.5, 0, 3.25}},
	{Name: "a", Shape: []int{2}, Data: []float32{1, 2}},
}

// TestGolden checks the exact bytes of a small file, which are those of
// testdata/tiny.safetensors.
func TestGolden(t *testing.T) {
	want := []byte{0x90, 0, 0, 0, 0, 0, 0, 0} // 144, little-endian
	want = append(want, tinyHeader...)
	want = append(want,
		0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, // a: 1, 2
		0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x40, // b: -0.5, 0, 3.25
	)
	if len(tinyHeader) != 144 {
		t.Fatalf("test header has %d bytes", len(tinyHeader))
	}
	var buf bytes.Buffer
	if err := Write(&buf, tinyTensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write wrote\n%q\nwant\n%q", buf.Bytes(), want)
	}
	file, err := os.ReadFile("testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, want) {
		t.Error("testdata/tiny.safetensors differs from the expected bytes")
	}
	f, err := Read(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if d := sameTensors(f.Tensors, tinyTensors); d != "" {
		t.Error(d)
	}
}

// file returns a safetensors file with the given header and data.
func file(header string, data ...byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// f32 is the encoding of n float32s.
func f32(n int) []byte { return make([]byte, 4*n) }

// corrupt lists malformed files with what Read's error must say; FuzzRead
// starts from them too.
var corrupt = []struct {
	name  string
	input []byte
	want  []string
}{
	{"empty", nil, []string{"file of 0 bytes too short"}},
	{"short length", []byte{1, 0, 0}, []string{"file of 3 bytes too short"}},
	{"header too long", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), []string{"header length 100000001 exceeds the limit of 100000000"}},
	{"header past the end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), []string{"header length 100 exceeds the 2 bytes that follow it"}},
	{"huge header length", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), []string{"exceeds the limit"}},
	{"empty header", file(""), []string{"invalid JSON header"}},
	{"invalid JSON", file(`{"a":`), []string{"invalid JSON"}},
	{"not an object", file(`[1,2]`), []string{"not a JSON object"}},
	{"invalid UTF-8", file("{\"\xff\":1}"), []string{"not valid UTF-8"}},
	{"data after JSON", file(`{}{}`), []string{"after its JSON object"}},
	{"garbage after JSON", file(`{} x`), []string{"invalid JSON header"}},
	{"bf16", file(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: dtype BF16 not supported, want F32"}},
	{"unknown dtype", file(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a:", `unknown dtype "F33"`}},
	{"dtype case", file(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, f32(1)...), []string{`unknown dtype "f32"`}},
	{"missing dtype", file(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: missing dtype"}},
	{"missing shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: missing shape"}},
	{"missing offsets", file(`{"a":{"dtype":"F32","shape":[1]}}`, f32(1)...), []string{"tensor a: missing data_offsets"}},
	{"null shape", file(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: field shape is null"}},
	{"unknown field", file(`{"a":{"dtype":"F32","Shape":[1],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: unknown field Shape"}},
	{"field twice", file(`{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: field shape appears twice"}},
	{"entry not an object", file(`{"a":[0,4]}`, f32(1)...), []string{"tensor a: got [, want an object"}},
	{"tensor twice", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)...), []string{"tensor a: appears twice"}},
	{"negative dimension", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32(2)...), []string{"tensor a: negative dimension -2 in shape [-2]"}},
	{"fractional dimension", file(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: field shape"}},
	{"shape overflow", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, f32(1)...), []string{"tensor a: shape [4294967296 4294967296] too large"}},
	{"shape and offsets disagree", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32(2)...), []string{"tensor a: shape [3] needs 12 bytes, data_offsets [0 8] hold 8"}},
	{"offsets reversed", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, f32(2)...), []string{"tensor a: data_offsets [8 0], want 0 <= begin <= end"}},
	{"negative offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32(1)...), []string{"tensor a: data_offsets [-4 0]"}},
	{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f32(1)...), []string{"tensor a: data_offsets [0 4 8], want [begin end]"}},
	{"hole at start", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)...), []string{"tensor a: hole in the data: bytes [0 4)"}},
	{"hole between", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32(3)...), []string{"tensor b: hole in the data: bytes [4 8)"}},
	{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)...), []string{"tensor b: data_offsets [4 12] overlap those of tensor a, which end at 8"}},
	{"same offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(1)...), []string{"overlap those of tensor"}},
	{"offsets out of range", file(`{"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}`, f32(2)...), []string{"tensor a: data_offsets [0 4000] run past the end of the data", "unexpected EOF"}},
	{"truncated data", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(1)[:3]...), []string{"tensor a: data_offsets [0 8] run past the end"}},
	{"data after tensors", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(2)...), []string{"data goes on past the end of the last tensor at byte 4"}},
	{"data without tensors", file(`{}`, 0), []string{"past the end of the last tensor at byte 0"}},
	{"metadata not strings", file(`{"__metadata__":{"epoch":3}}`), []string{"__metadata__: value of epoch is 3, want a string"}},
	{"metadata not an object", file(`{"__metadata__":"pt"}`), []string{"__metadata__: got pt, want an object"}},
	{"metadata key twice", file(`{"__metadata__":{"k":"a","k":"b"}}`), []string{"__metadata__: key k appears twice"}},
	{"metadata twice", file(`{"__metadata__":{},"__metadata__":{}}`), []string{"__metadata__ appears twice"}},
	{"odd name quoted", file(`{"a b":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, 0), []string{`tensor "a b": dtype I8 not supported`}},
}

func TestReadErrors(t *testing.T) {
	for _, tc := range corrupt {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tc.input))
			if err == nil {
				t.Fatalf("Read succeeded: %+v", f)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %v (%T) is not a *FormatError", err, err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestReadValidVariants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
		want  []Tensor
		md    map[string]string
	}{
		{"unpadded header", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0x80, 0x3f), []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}, nil},
		{"whitespace and field order", file(" {\n \"a\" : {\"data_offsets\":[0,4],\"shape\":[],\"dtype\":\"F32\"}\t}  \n", 0, 0, 0x80, 0x3f), []Tensor{{Name: "a", Shape: []int{}, Data: []float32{1}}}, nil},
		{"data out of header order", file(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)...), []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{0}}, {Name: "b", Shape: []int{1}, Data: []float32{0}}}, nil},
		{"null metadata", file(`{"__metadata__":null}`), nil, nil},
		{"escaped names", file(`{"\u00e9\n":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`), []Tensor{{Name: "é\n", Shape: []int{0}, Data: []float32{}}}, nil},
		{"metadata last", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"__metadata__":{"k":"v"}}`), []Tensor{{Name: "a", Shape: []int{0}}}, map[string]string{"k": "v"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if d := sameTensors(f.Tensors, tc.want); d != "" {
				t.Error(d)
			}
			if !sameMetadata(f.Metadata, tc.md) {
				t.Errorf("metadata %v, want %v", f.Metadata, tc.md)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		want     string
	}{
		{"length", []Tensor{{Name: "w", Shape: []int{2, 3}, Data: make([]float32, 5)}}, nil, "tensor w: shape [2 3] has 6 elements, len(Data) = 5"},
		{"scalar without data", []Tensor{{Name: "s"}}, nil, "tensor s: shape [] has 1 elements, len(Data) = 0"},
		{"negative", []Tensor{{Name: "w", Shape: []int{-1}, Data: nil}}, nil, "tensor w: negative dimension -1"},
		{"twice", []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}, {Name: "w", Shape: []int{1}, Data: []float32{2}}}, nil, "tensor w: name used twice"},
		{"reserved", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, nil, "reserved"},
		{"bad UTF-8 name", []Tensor{{Name: "w\xff", Shape: []int{1}, Data: []float32{1}}}, nil, "not valid UTF-8"},
		{"bad UTF-8 metadata", nil, map[string]string{"k": "\xff"}, "metadata k: not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.tensors, tc.metadata)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteIOError(t *testing.T) {
	for _, n := range []int{0, 8, 160} {
		err := Write(&failWriter{n}, tinyTensors, map[string]string{"format": "pt"})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d bytes: error %v, want disk full", n, err)
		}
	}
}

// errReader returns its data, then err.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadIOError(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, tinyTensors, nil); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	ioErr := errors.New("bad sector")
	for _, n := range []int{0, 5, 8, 20, len(whole) - 3, len(whole)} {
		_, err := Read(&errReader{data: whole[:n], err: ioErr})
		if !errors.Is(err, ioErr) {
			t.Errorf("after %d bytes: error %v, want one wrapping %v", n, err, ioErr)
		}
	}
}

func TestGet(t *testing.T) {
	var buf bytes.Buffer
	tensors := []Tensor{{Name: "encoder.0.weight", Shape: []int{400, 784}, Data: make([]float32, 400*784)}, {Name: "s", Data: []float32{7}}}
	if err := Write(&buf, tensors, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		shape []int
		err   string
	}{
		{"encoder.0.weight", []int{400, 784}, ""},
		{"s", nil, ""},
		{"encoder.0.weight", []int{512, 784}, "safetensors: tensor encoder.0.weight: shape [400 784], want [512 784]"},
		{"encoder.0.weight", nil, "shape [400 784], want []"},
		{"s", []int{1}, "tensor s: shape [], want [1]"},
		{"decoder.0.weight", []int{1}, "safetensors: tensor decoder.0.weight not found"},
	} {
		data, err := f.Get(tc.name, tc.shape...)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Get(%s, %v): %v", tc.name, tc.shape, err)
		case tc.err == "" && len(data) == 0:
			t.Errorf("Get(%s, %v): no data", tc.name, tc.shape)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Get(%s, %v): error %v, want %s", tc.name, tc.shape, err, tc.err)
		}
	}
	// A File made by hand has no index.
	hand := &File{Tensors: tensors}
	if _, err := hand.Get("s"); err != nil {
		t.Error(err)
	}
	if _, ok := hand.Tensor("t"); ok {
		t.Error("found a missing tensor")
	}
}

// TestReadAllocationBounded checks that claims of huge headers and tensors
// in small inputs cost memory in proportion to the input only.
func TestReadAllocationBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
	}{
		{"header length", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize)},
		{"tensor size", file(`{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, f32(10)...)},
		{"many tensors", file(`{"a":{"dtype":"F32","shape":[250000000],"data_offsets":[0,1000000000]},"b":{"dtype":"F32","shape":[250000000],"data_offsets":[1000000000,2000000000]}}`, f32(10)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := memtest.Allocated(func() { _, err = Read(bytes.NewReader(tc.input)) })
			if err == nil {
				t.Fatal("Read succeeded")
			}
			if n > 1<<20 {
				t.Errorf("Read of %d bytes allocated %d bytes", len(tc.input), n)
			}
		})
	}
}

// TestReadFromStream reads a file from a reader that returns one byte at a
// time, as a slow network or pipe may.
func TestReadFromStream(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, tinyTensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(io.LimitReader(oneByteReader{&buf}, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if d := sameTensors(f.Tensors, tinyTensors); d != "" {
		t.Error(d)
	}
}

type oneByteReader struct{ r io.Reader }

func (r oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return r.r.Read(p[:1])
}
