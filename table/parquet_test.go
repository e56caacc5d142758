package table

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/govae/vae/budget"
)

// writeParquet returns rows written as a Parquet file.
func writeParquet[T any](t testing.TB, rows []T, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[T](&b, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeTemp writes data to a file named name in a temporary folder.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr[T any](v T) *T { return &v }

type nestedPart struct {
	A int32   `parquet:"a"`
	B *string `parquet:"b,optional"`
}

type typedRow struct {
	F32    float32    `parquet:"f32"`
	F64    float64    `parquet:"f64"`
	I32    int32      `parquet:"i32"`
	I64    int64      `parquet:"i64"`
	U16    uint16     `parquet:"u16"`
	B      bool       `parquet:"b"`
	S      string     `parquet:"s"`
	OptF   *float64   `parquet:"opt_f,optional"`
	OptS   *string    `parquet:"opt_s,optional"`
	OptI   *int32     `parquet:"opt_i,optional"`
	Date   int32      `parquet:"date,date"`
	TS     int64      `parquet:"ts,timestamp(millisecond)"`
	Dec    int64      `parquet:"dec,decimal(2:18)"`
	Raw    []byte     `parquet:"raw"`
	Nested nestedPart `parquet:"nested"`
}

var typedRows = []typedRow{
	{F32: 1.5, F64: -2.25, I32: -7, I64: 1 << 40, U16: 65535, B: true, S: "hello", OptF: ptr(3.5), OptS: ptr("x"), OptI: ptr(int32(4)),
		Date: 19723, TS: 1709294400500, Dec: -1250, Raw: []byte("raw"), Nested: nestedPart{A: 1, B: ptr("n")}},
	{F32: 0.1, F64: 1e300, I32: math.MaxInt32, I64: math.MinInt64, S: "  padded ", Dec: 5, Nested: nestedPart{A: 2}},
	{F32: float32(math.Inf(-1)), F64: math.Pi, S: "", OptF: ptr(math.Copysign(0, -1)), Dec: 123456, TS: -1},
	{F32: 3.4028235e38, F64: 5e-324, S: "日本", OptS: ptr("NA"), Date: -1},
	{F32: -1e-10, S: "last"},
}

// typedCells are typedRows as cells.
var typedCells = [][]string{
	{"1.5", "-2.25", "-7", "1099511627776", "65535", "true", "hello", "3.5", "x", "4",
		"2024-01-01", "2024-03-01T12:00:00.5Z", "-12.50", "raw", "1", "n"},
	{strconv.FormatFloat(float64(float32(0.1)), 'g', -1, 32), "1e+300", "2147483647", "-9223372036854775808", "0", "false", "padded", "", "", "",
		"1970-01-01", "1970-01-01T00:00:00Z", "0.05", "", "2", ""},
	{"-Inf", strconv.FormatFloat(math.Pi, 'g', -1, 64), "0", "0", "0", "false", "", "-0", "", "",
		"1970-01-01", "1969-12-31T23:59:59.999Z", "1234.56", "", "0", ""},
	{"3.4028235e+38", "5e-324", "0", "0", "0", "false", "日本", "", "NA", "",
		"1969-12-31", "1970-01-01T00:00:00Z", "0.00", "", "0", ""},
	{"-1e-10", "0", "0", "0", "0", "false", "last", "", "", "",
		"1970-01-01", "1970-01-01T00:00:00Z", "0.00", "", "0", ""},
}

var typedColumns = []string{"f32", "f64", "i32", "i64", "u16", "b", "s", "opt_f", "opt_s", "opt_i",
	"date", "ts", "dec", "raw", "nested.a", "nested.b"}

func TestParquetTypes(t *testing.T) {
	data := writeParquet(t, typedRows, parquet.MaxRowsPerRowGroup(2))
	// Recognised by its first bytes, whatever its name.
	for _, name := range []string{"typed.parquet", "typed.csv", "typed"} {
		r, err := Open(writeTemp(t, name, data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Columns(); !reflect.DeepEqual(got, typedColumns) {
			t.Fatalf("%s: columns %q, want %q", name, got, typedColumns)
		}
		if !r.HasHeader() || r.Delimiter() != ',' {
			t.Errorf("HasHeader %v, Delimiter %q", r.HasHeader(), r.Delimiter())
		}
		for i, want := range typedCells {
			rec, err := r.Next()
			if err != nil {
				t.Fatalf("%s: row %d: %v", name, i+1, err)
			}
			if !reflect.DeepEqual(rec, want) {
				t.Errorf("%s: row %d:\n got %q\nwant %q", name, i+1, rec, want)
			}
			if r.Line() != i+2 {
				t.Errorf("row %d: line %d, want %d", i+1, r.Line(), i+2)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("after the last row: %v, want io.EOF", err)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("after io.EOF: %v, want io.EOF", err)
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestParquetMissing(t *testing.T) {
	data := writeParquet(t, typedRows)
	spare := append(make([]string, 0, 4), "?", "keep")[:1] // room to append to
	for _, missing := range [][]string{nil, {}, {"?"}, spare} {
		r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "t.parquet", Options{Missing: missing})
		if err != nil {
			t.Fatal(err)
		}
		if !r.IsMissing("") {
			t.Errorf("Missing %q: a null is not missing", missing)
		}
		if got := r.IsMissing("NA"); got != (missing == nil) {
			t.Errorf("Missing %q: IsMissing(NA) = %v", missing, got)
		}
		rows, err := ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.IsMissing(rows.Records[1][7]) {
			t.Errorf("Missing %q: the Rows' null %q is not missing", missing, rows.Records[1][7])
		}
		if got := spare[:2]; got[1] != "keep" {
			t.Errorf("the Options' array was modified: %q", got)
		}
	}
}

// mixedRow is a record of mixedCSV.
type mixedRow struct {
	ID     string   `parquet:"id"`
	X0     *float64 `parquet:"x0,optional"`
	X1     *float64 `parquet:"x1,optional"`
	X2     *float64 `parquet:"x2,optional"`
	X3     *float64 `parquet:"x3,optional"`
	X4     *float64 `parquet:"x4,optional"`
	X5     *float64 `parquet:"x5,optional"`
	X6     *float64 `parquet:"x6,optional"`
	X7     *float64 `parquet:"x7,optional"`
	Income *float32 `parquet:"income,optional"`
	Price  *float64 `parquet:"price,optional"`
	Wait   *float64 `parquet:"wait,optional"`
	Smoker *string  `parquet:"smoker,optional"`
	Member *int32   `parquet:"member,optional"`
	Sex    *string  `parquet:"sex,optional"`
	City   *string  `parquet:"city,optional"`
	Color  *string  `parquet:"color,optional"`
	Plan   *string  `parquet:"plan,optional"`
	Device *string  `parquet:"device,optional"`
	Code   *int64   `parquet:"code,optional"`
}

// mixedParquet returns mixedCSV(n) as a Parquet file of row groups of up
// to group rows, and as Rows.
func mixedParquet(t testing.TB, n, group int) ([]byte, *Rows) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(mixedCSV(n)), "mixed.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]mixedRow, len(rows.Records))
	for i, rec := range rows.Records {
		m := &out[i]
		v := reflect.ValueOf(m).Elem()
		for j, cell := range rec {
			f := v.Field(j)
			if f.Kind() == reflect.String {
				f.SetString(cell)
				continue
			}
			if cell == "" {
				continue
			}
			p := reflect.New(f.Type().Elem())
			switch e := p.Elem(); e.Kind() {
			case reflect.String:
				e.SetString(cell)
			case reflect.Float32, reflect.Float64:
				x, err := strconv.ParseFloat(cell, e.Type().Bits())
				if err != nil {
					t.Fatal(err)
				}
				e.SetFloat(x)
			default:
				x, err := strconv.ParseInt(cell, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				e.SetInt(x)
			}
			f.Set(p)
		}
	}
	// The CSV with the Parquet cells' text for the float32 column.
	for _, rec := range rows.Records {
		if rec[9] != "" {
			x, _ := strconv.ParseFloat(rec[9], 32)
			rec[9] = strconv.FormatFloat(x, 'g', -1, 32)
		}
	}
	return writeParquet(t, out, parquet.MaxRowsPerRowGroup(int64(group))), rows
}

// TestParquetLikeCSV reads the same table from a CSV and a Parquet file and
// checks that both infer, fit and encode alike.
func TestParquetLikeCSV(t *testing.T) {
	const n = 3000
	data, csvRows := mixedParquet(t, n, 700)
	path := writeTemp(t, "mixed.parquet", data)
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !reflect.DeepEqual(r.Columns(), csvRows.Columns) {
		t.Fatalf("columns %q, want %q", r.Columns(), csvRows.Columns)
	}
	pqRows, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(pqRows.Records) != n {
		t.Fatalf("%d records, want %d", len(pqRows.Records), n)
	}
	for i, l := range pqRows.Lines {
		if l != i+2 {
			t.Fatalf("record %d on line %d", i, l)
		}
	}
	fit := func(rows *Rows) *Schema {
		s, err := Infer(rows, Hints{ID: "id"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fit(rows); err != nil {
			t.Fatal(err)
		}
		return s
	}
	sc, sp := fit(csvRows), fit(pqRows)
	for i, c := range sc.Columns {
		if p := sp.Columns[i]; p.Name != c.Name || p.Type != c.Type {
			t.Errorf("column %d: %s %v from Parquet, %s %v from CSV", i, p.Name, p.Type, c.Name, c.Type)
		}
	}
	xc, err := sc.Encode(csvRows)
	if err != nil {
		t.Fatal(err)
	}
	xp, err := sp.Encode(pqRows)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFloats(xc, xp) {
		t.Fatal("the Parquet rows encode otherwise than the CSV's")
	}

	// Streaming, with the CSV's schema.
	r2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	bind, err := sc.Bind(r2.Columns())
	if err != nil {
		t.Fatal(err)
	}
	bind.IsMissing = r2.IsMissing
	w := sc.Width()
	for i := 0; ; i++ {
		rec, err := r2.Next()
		if err == io.EOF {
			if i != n {
				t.Fatalf("%d records streamed, want %d", i, n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, w)
		if err := bind.Encode(dst, rec); err != nil {
			t.Fatalf("line %d: %v", r2.Line(), err)
		}
		if !sameFloats(dst, xc[i*w:(i+1)*w]) {
			t.Fatalf("line %d encodes as %v, want %v", r2.Line(), dst, xc[i*w:(i+1)*w])
		}
	}
}

// sameFloats reports whether a and b hold the same values, NaN included.
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

func TestParquetUnsupported(t *testing.T) {
	type withList struct {
		A int32   `parquet:"a"`
		L []int32 `parquet:"l,list"`
	}
	type withRepeated struct {
		R []int64 `parquet:"r"`
	}
	type withMap struct {
		M map[string]int32 `parquet:"m"`
	}
	type withInt96 struct {
		T deprecated.Int96 `parquet:"t"`
	}
	type withFixed struct {
		F [8]byte `parquet:"f"`
	}
	type withJSONList struct {
		G struct {
			Items []string `parquet:"items,list"`
		} `parquet:"g"`
	}
	for _, c := range []struct {
		data []byte
		want []string
	}{
		{writeParquet(t, []withList{{A: 1, L: []int32{1, 2}}}), []string{`"l"`, "LIST"}},
		{writeParquet(t, []withRepeated{{R: []int64{1}}}), []string{`"r"`, "repeated", "INT64"}},
		{writeParquet(t, []withMap{{M: map[string]int32{"a": 1}}}), []string{`"m"`, "MAP"}},
		{writeParquet(t, []withInt96{{}}), []string{`"t"`, "INT96"}},
		{writeParquet(t, []withFixed{{}}), []string{`"f"`, "FIXED_LEN_BYTE_ARRAY(8)"}},
		{writeParquet(t, []withJSONList{{}}), []string{`"g.items"`, "LIST"}},
	} {
		_, err := Open(writeTemp(t, "bad.parquet", c.data), Options{})
		if err == nil {
			t.Errorf("no error, want one with %q", c.want)
			continue
		}
		for _, w := range append(c.want, "bad.parquet") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
}

type smallRow struct {
	A *float64 `parquet:"a,optional"`
	B string   `parquet:"b"`
	C int32    `parquet:"c"`
}

var smallRows = []smallRow{{A: ptr(1.5), B: "x", C: 1}, {B: "y", C: 2}, {A: ptr(-1.0), B: "x", C: 3}}

func TestParquetCorrupt(t *testing.T) {
	data := writeParquet(t, typedRows, parquet.MaxRowsPerRowGroup(2))
	read := func(name string, b []byte) error {
		r, err := NewParquetReader(bytes.NewReader(b), int64(len(b)), name, Options{})
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = ReadAll(r)
		return err
	}
	// Truncated anywhere: an error that names the file.
	for _, n := range []int{0, 3, 4, 11, 12, 100, len(data) / 2, len(data) - 9, len(data) - 8, len(data) - 1} {
		err := read("cut.parquet", data[:n])
		if err == nil || !strings.HasPrefix(err.Error(), "cut.parquet: ") {
			t.Errorf("cut at %d bytes of %d: error %v", n, len(data), err)
		}
	}
	path := writeTemp(t, "cut.parquet", data[:len(data)-1])
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), path+": a truncated Parquet file") {
		t.Errorf("Open of a truncated file: %v", err)
	}
	// Any byte changed, in a smaller file: no panic, and an error names the
	// file.
	data = writeParquet(t, smallRows, parquet.MaxRowsPerRowGroup(2))
	for i := range data {
		b := bytes.Clone(data)
		b[i] ^= 0xa5
		if err := read("flip.parquet", b); err != nil && !strings.HasPrefix(err.Error(), "flip.parquet") {
			t.Errorf("byte %d flipped: error %q does not name the file", i, err)
		}
	}
}

func TestParquetNotParquet(t *testing.T) {
	path := writeTemp(t, "data.parquet", []byte("a,b\n1,2\n"))
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), path+": not a Parquet file") {
		t.Errorf("a CSV named .parquet: %v", err)
	}
	// The first bytes decide, whatever the name, as for gzip: a CSV whose
	// first column is named PAR1 is taken for a Parquet file.
	path = writeTemp(t, "data.csv", []byte("PAR1,b\n1,2\n"))
	if _, err := Open(path, Options{}); err == nil {
		t.Error("a file starting with PAR1 read as a CSV")
	}
}

func TestParquetBudget(t *testing.T) {
	data := writeParquet(t, typedRows)
	defer budget.SetLimit(0)
	budget.SetLimit(1 << 10)
	_, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "t.parquet", Options{})
	var be *budget.Error
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "t.parquet") {
		t.Errorf("under a budget of 1 KiB: %v", err)
	}
}

// FuzzParquet reads arbitrary bytes after PAR1 as a Parquet file: nothing
// may panic (the Reader turns the decoder's panics into errors), and what
// reads must take the whole flow.
func FuzzParquet(f *testing.F) {
	seeds := [][]byte{
		writeParquet(f, typedRows, parquet.MaxRowsPerRowGroup(2)),
		writeParquet(f, smallRows),
		writeParquet(f, []smallRow{{B: "dict", C: 7}, {B: "dict", C: 7}}, parquet.Compression(&parquet.Snappy)),
	}
	for _, s := range seeds {
		f.Add(s[4:])
		f.Add(s[4 : len(s)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("PAR1"))
	// What a corrupt file asks of memory is checked against the budget
	// before it is allocated: a small budget keeps the runs fast.
	budget.SetLimit(256 << 20)
	f.Cleanup(func() { budget.SetLimit(0) })
	f.Fuzz(func(t *testing.T, data []byte) {
		b := append([]byte("PAR1"), data...)
		r, err := NewParquetReader(bytes.NewReader(b), int64(len(b)), "fuzz.parquet", Options{})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.parquet") && !strings.Contains(err.Error(), "fuzz.parquet") {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		defer r.Close()
		rows, err := ReadAll(r)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.parquet") {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		for _, rec := range rows.Records {
			if len(rec) != len(rows.Columns) {
				t.Fatalf("a record of %d cells, %d columns", len(rec), len(rows.Columns))
			}
		}
		flow(t, rows)
	})
}

// BenchmarkParquetReadEncode is BenchmarkReadEncode of the same table in a
// Parquet file (MB/s: of the Parquet file).
func BenchmarkParquetReadEncode(b *testing.B) {
	const n = 100000
	data, _ := mixedParquet(b, n, 1<<20)
	open := func() *Reader {
		r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "bench.parquet", Options{})
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	s := fittedMixed(b, open())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		r := open()
		encodeStream(b, s, r)
		r.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
