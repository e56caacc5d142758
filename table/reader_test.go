package table

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// read reads data, named name, with opts.
func read(data, name string, opts Options) (*Rows, error) {
	r, err := NewReader(strings.NewReader(data), name, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return ReadAll(r)
}

func TestReader(t *testing.T) {
	tests := []struct {
		name, file, data string
		opts             Options
		columns          []string
		records          [][]string
		lines            []int
	}{
		{
			name: "comma", file: "a.csv",
			data:    "a,b,c\n1,2,3\n4,5,6\n",
			columns: []string{"a", "b", "c"},
			records: [][]string{{"1", "2", "3"}, {"4", "5", "6"}},
			lines:   []int{2, 3},
		},
		{
			name: "tab", file: "a.txt",
			data:    "a\tb\n1,5\t2\n3,5\t4\n",
			columns: []string{"a", "b"},
			records: [][]string{{"1,5", "2"}, {"3,5", "4"}},
		},
		{
			name: "semicolon with decimal commas", file: "a.csv",
			data:    "x;y\n1,5;2,5\n3,25;4\n",
			columns: []string{"x", "y"},
			records: [][]string{{"1,5", "2,5"}, {"3,25", "4"}},
		},
		{
			name: "pipe", file: "a.txt",
			data:    "x|y\n1|2\n",
			columns: []string{"x", "y"},
			records: [][]string{{"1", "2"}},
		},
		{
			name: "tsv by name", file: "a.tsv.gz",
			data:    "x,y\tz\n1,2\t3\n",
			columns: []string{"x,y", "z"},
			records: [][]string{{"1,2", "3"}},
		},
		{
			name: "quoted delimiters and newlines", file: "q.csv",
			data:    "name,comment,n\n\"Smith, J\",\"line one\nline two, still\",1\nDoe,plain,2\n",
			columns: []string{"name", "comment", "n"},
			records: [][]string{{"Smith, J", "line one\nline two, still", "1"}, {"Doe", "plain", "2"}},
			lines:   []int{2, 4},
		},
		{
			name: "space before a quote", file: "a.csv",
			data:    "a, b\n1, \"x, y\"\n2, z\n",
			columns: []string{"a", "b"},
			records: [][]string{{"1", "x, y"}, {"2", "z"}},
		},
		{
			name: "empty cells in a TSV", file: "a.tsv",
			data:    "a\tb\tc\n1\t\t3\n\t \t\n",
			columns: []string{"a", "b", "c"},
			records: [][]string{{"1", "", "3"}, {"", "", ""}},
		},
		{
			name: "CRLF and spaces", file: "a.csv",
			data:    " a , b \r\n 1 , x \r\n2,y\r\n",
			columns: []string{"a", "b"},
			records: [][]string{{"1", "x"}, {"2", "y"}},
		},
		{
			name: "no header detected", file: "n.csv",
			data:    "1.5,2,x\n3,4,y\n5,6,z\n",
			columns: []string{"column1", "column2", "column3"},
			records: [][]string{{"1.5", "2", "x"}, {"3", "4", "y"}, {"5", "6", "z"}},
			lines:   []int{1, 2, 3},
		},
		{
			name: "header by length", file: "h.csv",
			data:    "sex,code\nM,AB\nF,CD\n",
			columns: []string{"sex", "code"},
			records: [][]string{{"M", "AB"}, {"F", "CD"}},
		},
		{
			name: "no header, same lengths", file: "h.csv",
			data:    "MM,AB\nFF,CD\nFM,EF\n",
			columns: []string{"column1", "column2"},
			records: [][]string{{"MM", "AB"}, {"FF", "CD"}, {"FM", "EF"}},
		},
		{
			name: "header with a missing cell in the first column", file: "pandas.csv",
			data:    ",a,b\n0,1.5,x\n1,2.5,y\n",
			columns: []string{"column1", "a", "b"},
			records: [][]string{{"0", "1.5", "x"}, {"1", "2.5", "y"}},
		},
		{
			name: "header forced off", file: "a.csv", opts: Options{Header: Bool(false)},
			data:    "a,b\nc,d\n",
			columns: []string{"column1", "column2"},
			records: [][]string{{"a", "b"}, {"c", "d"}},
		},
		{
			name: "header forced on", file: "a.csv", opts: Options{Header: Bool(true)},
			data:    "1,2\n3,4\n",
			columns: []string{"1", "2"},
			records: [][]string{{"3", "4"}},
		},
		{
			name: "delimiter given", file: "a.csv", opts: Options{Delimiter: ';'},
			data:    "a,b;c\n1,2;3\n",
			columns: []string{"a,b", "c"},
			records: [][]string{{"1,2", "3"}},
		},
		{
			name: "one column", file: "a.csv",
			data:    "x\n1\n2\n",
			columns: []string{"x"},
			records: [][]string{{"1"}, {"2"}},
		},
		{
			name: "BOM", file: "bom.csv",
			data:    "\ufeffa,b\n1,2\n",
			columns: []string{"a", "b"},
			records: [][]string{{"1", "2"}},
		},
		{
			name: "gzip", file: "data.bin",
			data:    gz("a;b\n1;2\n3;4\n"),
			columns: []string{"a", "b"},
			records: [][]string{{"1", "2"}, {"3", "4"}},
		},
		{
			name: "gzip with a BOM", file: "data.csv.gz",
			data:    gz("\ufeffa,b\n1,2\n"),
			columns: []string{"a", "b"},
			records: [][]string{{"1", "2"}},
		},
		{
			name: "empty header name", file: "a.csv",
			data:    "a,,c\n1,2,3\n",
			columns: []string{"a", "column2", "c"},
			records: [][]string{{"1", "2", "3"}},
		},
		{
			name: "last line without newline", file: "a.csv",
			data:    "a,b\n1,2",
			columns: []string{"a", "b"},
			records: [][]string{{"1", "2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := read(tt.data, tt.file, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows.Columns, tt.columns) {
				t.Errorf("columns %q, want %q", rows.Columns, tt.columns)
			}
			if !slices.EqualFunc(rows.Records, tt.records, slices.Equal) {
				t.Errorf("records %q, want %q", rows.Records, tt.records)
			}
			if tt.lines != nil && !slices.Equal(rows.Lines, tt.lines) {
				t.Errorf("lines %v, want %v", rows.Lines, tt.lines)
			}
		})
	}
}

// gz returns s compressed.
func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             string // the error message, exactly
	}{
		{"ragged", "data.csv", "a,b,c,d,e,f\n1,2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5,6\n1,2,3,4,5\n",
			"data.csv:7: 5 fields, the header has 6"},
		{"ragged far", "data.csv", "a,b\n" + strings.Repeat("1,2\n", 30) + "1,2,3\n",
			"data.csv:32: 3 fields, the header has 2"},
		{"ragged without a header", "data.csv", "1,2\n3,4\n5\n",
			"data.csv:3: 1 fields, the first record has 2"},
		{"unterminated quote", "data.csv", "a,b\n1,2\n\"3,4\n5,6\n",
			`data.csv:3: extraneous or missing " in quoted-field (the record runs to line 4: an unterminated quote?)`},
		{"quote in a field", "data.csv", "a,b\n1,2\n3,x\"y\n",
			`data.csv:3:4: bare " in non-quoted-field`},
		{"empty", "data.csv", "", "data.csv: empty file"},
		{"empty lines", "data.csv", "\n\n\r\n", "data.csv: empty file"},
		{"BOM only", "data.csv", "\ufeff", "data.csv: empty file"},
		{"header only", "data.csv", "a,b,c\n", "data.csv: no rows after the header"},
		{"duplicate columns", "data.csv", "a,b,a\n1,2,3\n", `data.csv:1: column "a" appears twice (columns 1 and 3)`},
		{"duplicate generated name", "data.csv", "column2,,b\n1,2,3\nx,y,z\n", `data.csv:1: column "column2" appears twice (columns 1 and 2)`},
		{"bad gzip", "data.csv.gz", gz("a,b\n1,2\n")[:15], "data.csv.gz: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(tt.data, tt.file, Options{})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%q, want\n%q", err, tt.want)
			}
		})
	}
}

// The error of a quote wraps encoding/csv's.
func TestReaderParseError(t *testing.T) {
	_, err := read("a,b\n\"1,2\n", "q.csv", Options{})
	var pe *csv.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, csv.ErrQuote) {
		t.Fatalf("error %v (%T), want a csv.ParseError", err, err)
	}
}

// Reading can go on after a ragged record.
func TestReaderAfterError(t *testing.T) {
	r, err := NewReader(strings.NewReader("a,b\n1\n2,3\n"), "x.csv", Options{Header: Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil {
		t.Fatal("no error for a ragged record")
	}
	rec, err := r.Next()
	if err != nil || !slices.Equal(rec, []string{"2", "3"}) || r.Line() != 3 {
		t.Fatalf("Next = %q, %v at line %d, want [2 3] at line 3", rec, err, r.Line())
	}
}

func TestMissing(t *testing.T) {
	tests := []struct {
		tokens []string
		cell   string
		want   bool
	}{
		{nil, "", true},
		{nil, "  ", true},
		{nil, "NA", true},
		{nil, " N/A ", true},
		{nil, "NaN", true},
		{nil, "nan", true},
		{nil, "null", true},
		{nil, "NULL", true},
		{nil, "None", true},
		{nil, "?", true},
		{nil, "na", false},
		{nil, "0", false},
		{nil, "-", false},
		{[]string{"-", " missing "}, "-", true},
		{[]string{"-", " missing "}, "missing", true},
		{[]string{"-"}, "NA", false},
		{[]string{}, "", false},
	}
	for _, tt := range tests {
		r, err := NewReader(strings.NewReader("a\n1\n"), "m.csv", Options{Missing: tt.tokens})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.IsMissing(tt.cell); got != tt.want {
			t.Errorf("missing %q with %q = %v, want %v", tt.cell, tt.tokens, got, tt.want)
		}
		rows := &Rows{Missing: tt.tokens}
		if got := rows.IsMissing(tt.cell); got != tt.want {
			t.Errorf("Rows: missing %q with %q = %v, want %v", tt.cell, tt.tokens, got, tt.want)
		}
	}
}

// Open reads plain and gzip-compressed files, and closes them.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"plain.csv":  "a,b\n1,2\n",
		"data.tsv":   "a\tb\n1\t2\n",
		"zip.csv.gz": gz("a,b\n1,2\n"),
		"zip.tsv.gz": gz("a\tb\n1\t2\n"),
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
		if !slices.Equal(rows.Columns, []string{"a", "b"}) || len(rows.Records) != 1 || !slices.Equal(rows.Records[0], []string{"1", "2"}) {
			t.Errorf("%s: read %q %q", name, rows.Columns, rows.Records)
		}
		if rows.Name != path {
			t.Errorf("%s: name %q", name, rows.Name)
		}
	}
	if _, err := Open(filepath.Join(dir, "none.csv"), Options{}); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "none.csv") {
		t.Errorf("Open of a missing file: %v", err)
	}
}

// A record spanning lines has the line it starts on, also far into a big
// file, and ReadAll keeps many records apart.
func TestReadAllLines(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,text\n")
	line, want := 2, []int{}
	for i := range 70000 {
		want = append(want, line)
		if i%1000 == 0 {
			b.WriteString("1,\"two\nlines\"\n")
			line += 2
		} else {
			b.WriteString("2,one\n")
			line++
		}
	}
	rows, err := read(b.String(), "big.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows.Lines, want) {
		t.Fatal("lines differ")
	}
	if rows.Records[1000][1] != "two\nlines" || rows.Records[69999][1] != "one" {
		t.Fatalf("records %q, %q", rows.Records[1000], rows.Records[69999])
	}
	rows.Records[0][0] = "changed"
	if rows.Records[1][0] != "2" {
		t.Fatal("records share cells")
	}
}

func TestReaderBadDelimiter(t *testing.T) {
	for _, d := range []rune{'"', '\n', '\r', 0xFFFD, -1} {
		if _, err := NewReader(strings.NewReader("a\n1\n"), "d.csv", Options{Delimiter: d}); err == nil {
			t.Errorf("delimiter %q: no error", d)
		}
	}
}

func TestLongLine(t *testing.T) {
	data := "a,b\n" + strings.Repeat("x", maxLine+10)
	_, err := read(data, "long.csv", Options{Delimiter: ','})
	if err == nil || !strings.HasPrefix(err.Error(), "long.csv: a line longer than 64.0 MiB") {
		t.Fatalf("error %v", err)
	}
}
