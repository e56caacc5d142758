package table

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/govae/vae/budget"
)

// sampleSize is the number of bytes read ahead to detect the delimiter.
const sampleSize = 64 << 10

// maxLine is the longest line a Reader accepts: a file without line breaks
// is not a table, and reading it whole would hold it in memory.
const maxLine = 64 << 20

// lookahead is the number of records after the first that header
// detection compares the first with.
const lookahead = 20

// A Reader reads the records of a delimited text file (or of a Parquet
// file: NewParquetReader) one at a time, so that files of any size can be
// encoded in a stream. Cells are trimmed of surrounding spaces.
type Reader struct {
	name    string
	csv     *csv.Reader
	src     source // instead of csv, if set
	gz      *gzip.Reader
	file    io.Closer
	columns []string
	header  bool
	missing func(string) bool
	opts    Options

	pending      [][]string // records read ahead, returned first by Next
	pendingLines []int
	pendingErr   error // met reading ahead; returned after pending
	line         int
}

// A source gives the records of a Reader that does not read delimited text.
type source interface {
	// next returns the next record, with one cell per column trimmed of
	// surrounding spaces, and its line, or io.EOF after the last.
	next() ([]string, int, error)
	Close() error
}

// Open opens the file at path for reading as a table. A gzip-compressed
// file is recognised by its first bytes, whatever its name, as is a Parquet
// file (or by its name ending in .parquet), which NewParquetReader reads.
func Open(path string, opts Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReaderAt(f, fi.Size(), path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReaderAt returns a Reader of the table of size bytes in r, which name
// (a path, usually) designates, read as Open reads a file: with
// NewParquetReader when it starts with PAR1 or name ends in .parquet, else
// with NewReader.
func NewReaderAt(r io.ReaderAt, size int64, name string, opts Options) (*Reader, error) {
	if isParquet(r, name) {
		return NewParquetReader(r, size, name, opts)
	}
	return NewReader(io.NewSectionReader(r, 0, size), name, opts)
}

// NewReader returns a Reader of the table in r, which name (a path, usually)
// designates in errors. It reads the header and, to detect what opts leave
// to detection, the first records; gzip-compressed input is decompressed and
// a UTF-8 byte-order mark is skipped.
func NewReader(r io.Reader, name string, opts Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, sampleSize)
	t := &Reader{name: name, missing: missingFunc(opts.Missing), opts: opts}
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		t.gz = gz
		br = bufio.NewReaderSize(gz, sampleSize)
	}
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\ufeff")) {
		br.Discard(3)
	}

	delim := opts.Delimiter
	switch {
	case delim != 0:
		if !validDelimiter(delim) {
			return nil, fmt.Errorf("%s: invalid delimiter %q", name, delim)
		}
	case isTSV(name):
		delim = '\t'
	default:
		delim = sniffDelimiter(peekSample(br))
	}
	t.csv = csv.NewReader(&lineLimiter{r: br})
	t.csv.Comma = delim
	t.csv.FieldsPerRecord = -1
	t.csv.TrimLeadingSpace = !unicode.IsSpace(delim)

	first, line, err := t.read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return nil, err
	}
	first = copyTrimmed(first)
	switch {
	case opts.Header != nil:
		t.header = *opts.Header
	default:
		for len(t.pending) < lookahead {
			rec, l, err := t.read()
			if err != nil {
				t.pendingErr = err
				break
			}
			t.pending = append(t.pending, copyTrimmed(rec))
			t.pendingLines = append(t.pendingLines, l)
		}
		t.header = detectHeader(first, t.pending, t.missing)
	}
	t.csv.ReuseRecord = true

	if t.header {
		cols, err := headerColumns(first)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		t.columns = cols
	} else {
		t.columns = make([]string, len(first))
		for i := range first {
			t.columns[i] = fmt.Sprintf("column%d", i+1)
		}
		t.pending = append([][]string{first}, t.pending...)
		t.pendingLines = append([]int{line}, t.pendingLines...)
	}
	return t, nil
}

// read returns the next record of the csv reader (or the source) and the
// line it starts on.
func (r *Reader) read() ([]string, int, error) {
	if r.src != nil {
		return r.src.next()
	}
	rec, err := r.csv.Read()
	if err != nil {
		if err == io.EOF {
			return nil, 0, err
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &parseError{path: r.name, err: pe}
		}
		return nil, 0, fmt.Errorf("%s: %w", r.name, err)
	}
	line, _ := r.csv.FieldPos(0)
	return rec, line, nil
}

// headerColumns returns the names of the columns in a header record.
func headerColumns(rec []string) ([]string, error) {
	cols := make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, name := range rec {
		if name == "" {
			name = fmt.Sprintf("column%d", i+1)
		}
		if j, ok := seen[name]; ok {
			return nil, fmt.Errorf("column %s appears twice (columns %d and %d)", quote(name), j+1, i+1)
		}
		seen[name] = i
		cols[i] = name
	}
	return cols, nil
}

// Columns returns the names of the columns: the header's cells, trimmed,
// with an empty one named columnN (N counting from 1), or column1, column2, …
// for a file without a header. The slice must not be modified.
func (r *Reader) Columns() []string { return r.columns }

// Name returns the name the Reader was given.
func (r *Reader) Name() string { return r.name }

// HasHeader reports whether the first record was read as the header.
func (r *Reader) HasHeader() bool { return r.header }

// Next returns the next record, with one cell per column, or io.EOF after
// the last. The slice may be reused by the next call. A record with another
// number of fields than the header is an error naming its line; reading can
// go on after it.
func (r *Reader) Next() ([]string, error) {
	var rec []string
	switch {
	case len(r.pending) > 0:
		rec, r.line = r.pending[0], r.pendingLines[0]
		r.pending, r.pendingLines = r.pending[1:], r.pendingLines[1:]
	case r.pendingErr != nil:
		err := r.pendingErr
		r.pendingErr = nil
		return nil, err
	default:
		var err error
		if rec, r.line, err = r.read(); err != nil {
			return nil, err
		}
		if r.src == nil { // a source trims its cells
			for i, c := range rec {
				rec[i] = trim(c)
			}
		}
	}
	if len(rec) != len(r.columns) {
		what := "the header has"
		if !r.header {
			what = "the first record has"
		}
		return nil, fieldCountError(fmt.Sprintf("%s:%d: %d fields, %s %d", r.name, r.line, len(rec), what, len(r.columns)))
	}
	return rec, nil
}

// ErrFieldCount is what the error of Next for a record with another number
// of fields than the file's columns is (errors.Is); the next call reads on.
var ErrFieldCount = errors.New("wrong number of fields")

// fieldCountError is the message of an ErrFieldCount.
type fieldCountError string

func (e fieldCountError) Error() string        { return string(e) }
func (e fieldCountError) Is(target error) bool { return target == ErrFieldCount }

// Line returns the line on which the record that Next returned last
// starts, counting from 1 with the header; for a Parquet file, the row's
// number (from 1) plus 1, as if it had a header line.
func (r *Reader) Line() int { return r.line }

// IsMissing reports whether cell is one of the Options' missing cells.
func (r *Reader) IsMissing(cell string) bool { return r.missing(cell) }

// Close closes the file that Open opened; it does nothing more for a Reader
// from NewReader (beyond releasing its decompressor).
func (r *Reader) Close() error {
	var err error
	if r.gz != nil {
		err = r.gz.Close()
	}
	if r.src != nil {
		err = r.src.Close()
	}
	if r.file != nil {
		if e := r.file.Close(); err == nil {
			err = e
		}
	}
	return err
}

// copyTrimmed returns a copy of rec with its cells trimmed.
func copyTrimmed(rec []string) []string {
	out := make([]string, len(rec))
	for i, c := range rec {
		out[i] = trim(c)
	}
	return out
}

// isTSV reports whether name ends in .tsv or .tab (before an optional .gz).
func isTSV(name string) bool {
	n := strings.ToLower(name)
	n = strings.TrimSuffix(n, ".gz")
	return strings.HasSuffix(n, ".tsv") || strings.HasSuffix(n, ".tab")
}

// validDelimiter reports whether encoding/csv accepts d as a delimiter.
func validDelimiter(d rune) bool {
	return d != '"' && d != '\r' && d != '\n' && d != 0xFFFD && d > 0 && d <= 0x10FFFF && (d < 0xD800 || d > 0xDFFF)
}

// peekSample returns the first bytes of br, up to sampleSize, cut after the
// last complete line when there is more.
func peekSample(br *bufio.Reader) []byte {
	b, err := br.Peek(sampleSize)
	if err == nil {
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			b = b[:i+1]
		}
	}
	return b
}

// A parseError is a csv.ParseError of the file path.
type parseError struct {
	path string
	err  *csv.ParseError
}

func (e *parseError) Error() string {
	msg := e.err.Err.Error()
	if errors.Is(e.err.Err, csv.ErrQuote) && e.err.Line != e.err.StartLine {
		return fmt.Sprintf("%s:%d: %s (the record runs to line %d: an unterminated quote?)",
			e.path, e.err.StartLine, msg, e.err.Line)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.path, e.err.Line, e.err.Column, msg)
}

func (e *parseError) Unwrap() error { return e.err }

// errLongLine is the error of a line longer than maxLine.
var errLongLine = fmt.Errorf("a line longer than %s: not a table", budget.Format(maxLine))

// A lineLimiter fails a read that makes a line longer than maxLine.
type lineLimiter struct {
	r io.Reader
	n int // bytes since the last newline
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		l.n = n - 1 - i
	} else {
		l.n += n
	}
	if l.n > maxLine {
		return 0, errLongLine
	}
	return n, err
}

// Delimiter returns the delimiter the Reader splits fields at, given or
// detected; ',' for a Parquet file.
func (r *Reader) Delimiter() rune {
	if r.csv == nil {
		return ','
	}
	return r.csv.Comma
}
