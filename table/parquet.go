package table

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"

	"github.com/govae/vae/budget"
)

// parquetMagic starts and ends every Parquet file.
const parquetMagic = "PAR1"

// parquetBatch is the number of rows a Parquet Reader decodes at once.
const parquetBatch = 256

// isParquet reports whether the file f at path is to be read as Parquet: it
// starts with PAR1, or its name ends in .parquet.
func isParquet(f io.ReaderAt, path string) bool {
	var head [4]byte
	if n, _ := f.ReadAt(head[:], 0); n == 4 && string(head[:]) == parquetMagic {
		return true
	}
	return strings.EqualFold(filepath.Ext(path), ".parquet")
}

// NewParquetReader returns a Reader of the Parquet file of size bytes in r,
// which name designates in errors. Open and NewReaderAt call it for a file
// that starts with PAR1 or whose name ends in .parquet.
//
// The Reader's columns are the file's leaf columns, in the file's order; the
// leaves of a (non-repeated) group are named by their path, joined with dots
// ("address.city"). Lists, maps and other repeated fields are refused, as are
// leaves of a type without a text form here (INT96, BSON, …): the error names
// the file, the column and its type. Each cell is the text of its value:
//
//   - BOOLEAN: "true" or "false";
//   - INT32, INT64 (and the INT(n, signed) logical types): base 10;
//   - FLOAT: strconv's 'g' format, precision -1, 32 bits; DOUBLE: 64 bits;
//     FLOAT16 (FIXED_LEN_BYTE_ARRAY(2)) as a FLOAT;
//   - BYTE_ARRAY, plain or STRING, ENUM or JSON: its bytes, as they are;
//   - DECIMAL(p, s) of any physical type: the number in base 10 with s
//     decimals, e.g. "-12.50";
//   - DATE: "2006-01-02"; TIMESTAMP: RFC 3339 with the fraction that is not
//     zero ("2024-03-01T12:00:00.5Z"), without the "Z" for a timestamp that
//     is not adjusted to UTC (a local time); TIME: "15:04:05.999999999";
//   - UUID: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
//
// A null is the empty cell "", which the Reader's IsMissing (and that of
// the Rows ReadAll returns) reports as missing whatever Options.Missing
// says; Options.Delimiter and Options.Header do not apply. As every
// Reader's, the cells are trimmed of surrounding spaces.
//
// The Reader reads a row group at a time, a few hundred rows at a time, so
// that its memory does not grow with the file; the memory the file's
// metadata and each row group's pages ask for is checked against the memory
// budget first. Line counts the rows from 2, as if the file had a header
// line: the error about row 1 says "data.parquet:2". A corrupt file is an
// error naming it, including where the Parquet decoder panics: the Reader
// recovers, and fails from then on.
func NewParquetReader(r io.ReaderAt, size int64, name string, opts Options) (rd *Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, corrupt(name, p)
		}
	}()
	if err := checkFooter(r, size, name); err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid Parquet file: %w", name, err)
	}
	var cols []parquetColumn
	if err := leafColumns(f.Root(), "", &cols); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: a Parquet file without columns", name)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	if _, err := headerColumns(names); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ncol := int64(len(cols))
	if err := budget.Check(fmt.Sprintf("reading %s (%d columns)", name, ncol),
		budget.Mul(parquetBatch+1, ncol, int64(unsafe.Sizeof(parquet.Value{}))+16)); err != nil {
		return nil, err
	}

	if opts.Missing != nil && !missingFunc(opts.Missing)("") {
		opts.Missing = append(opts.Missing[:len(opts.Missing):len(opts.Missing)], "")
	}
	src := &parquetSource{
		name:   name,
		r:      r,
		size:   size,
		file:   f,
		cols:   cols,
		groups: f.RowGroups(),
		buf:    make([]parquet.Row, parquetBatch),
		rec:    make([]string, len(cols)),
		ends:   make([]int, len(cols)),
	}
	return &Reader{
		name:    name,
		src:     src,
		columns: names,
		header:  true,
		missing: missingFunc(opts.Missing),
		opts:    opts,
	}, nil
}

// corrupt is the error of a panic p of the Parquet decoder reading name.
func corrupt(name string, p any) error {
	return fmt.Errorf("%s: a corrupt Parquet file (the decoder failed: %v)", name, p)
}

// A cellKind says how to write the values of a column as text.
type cellKind uint8

const (
	cellNull cellKind = iota // every value is null
	cellBool
	cellInt32
	cellUint32
	cellInt64
	cellUint64
	cellFloat
	cellDouble
	cellBytes
	cellDecimal // scale in parquetColumn
	cellDate
	cellTime      // unit in parquetColumn
	cellTimestamp // unit and utc in parquetColumn
	cellUUID
	cellFloat16
)

// A parquetColumn is a leaf column of a Parquet file and how its values are
// written.
type parquetColumn struct {
	name  string
	kind  cellKind
	scale int           // of a decimal
	unit  time.Duration // of a time or timestamp
	utc   bool          // a timestamp adjusted to UTC
}

// leafColumns appends the leaf columns under c, whose path is prefix, to
// cols, or returns the error of one that cannot be read.
func leafColumns(c *parquet.Column, prefix string, cols *[]parquetColumn) error {
	for _, child := range c.Columns() {
		name := child.Name()
		if prefix != "" {
			name = prefix + "." + name
		}
		if !child.Leaf() {
			what := "a repeated group"
			var lt format.LogicalTypeValue
			if l := child.Type().LogicalType(); l != nil {
				lt = l.Value
			}
			switch lt.(type) {
			case *format.ListType:
				what = "a list (LIST)"
			case *format.MapType:
				what = "a map (MAP)"
			}
			switch {
			case what != "a repeated group":
			case !child.Repeated():
				if err := leafColumns(child, name, cols); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("column %s is %s: only flat columns and groups of them can be read", quote(name), what)
		}
		if child.Repeated() {
			return fmt.Errorf("column %s is repeated (%s): only flat columns can be read", quote(name), typeName(child.Type()))
		}
		pc, ok := cellColumn(child.Type())
		if !ok {
			return fmt.Errorf("column %s: the Parquet type %s is not supported", quote(name), typeName(child.Type()))
		}
		pc.name = name
		*cols = append(*cols, pc)
	}
	return nil
}

// typeName describes a Parquet type in errors: its physical type, with its
// logical type if it has one, e.g. "INT96" or "BYTE_ARRAY (BSON)".
func typeName(t parquet.Type) string {
	s := t.Kind().String()
	if t.Kind() == parquet.FixedLenByteArray {
		s = fmt.Sprintf("%s(%d)", s, t.Length())
	}
	if lt := t.LogicalType(); lt != nil && lt.String() != "" {
		s += " (" + lt.String() + ")"
	}
	return s
}

// cellColumn returns how to write the values of type t, or false.
func cellColumn(t parquet.Type) (parquetColumn, bool) {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	kind := t.Kind()
	switch lt := lt.(type) {
	case nil:
		switch kind {
		case parquet.Boolean:
			return parquetColumn{kind: cellBool}, true
		case parquet.Int32:
			return parquetColumn{kind: cellInt32}, true
		case parquet.Int64:
			return parquetColumn{kind: cellInt64}, true
		case parquet.Float:
			return parquetColumn{kind: cellFloat}, true
		case parquet.Double:
			return parquetColumn{kind: cellDouble}, true
		case parquet.ByteArray:
			return parquetColumn{kind: cellBytes}, true
		}
	case *format.NullType:
		return parquetColumn{kind: cellNull}, true
	case *format.StringType, *format.EnumType, *format.JsonType:
		if kind == parquet.ByteArray {
			return parquetColumn{kind: cellBytes}, true
		}
	case *format.IntType:
		switch {
		case kind == parquet.Int32 && lt.IsSigned:
			return parquetColumn{kind: cellInt32}, true
		case kind == parquet.Int32:
			return parquetColumn{kind: cellUint32}, true
		case kind == parquet.Int64 && lt.IsSigned:
			return parquetColumn{kind: cellInt64}, true
		case kind == parquet.Int64:
			return parquetColumn{kind: cellUint64}, true
		}
	case *format.DecimalType:
		if lt.Scale >= 0 && lt.Scale <= 1000 && kind != parquet.Boolean && kind != parquet.Float && kind != parquet.Double && kind != parquet.Int96 {
			return parquetColumn{kind: cellDecimal, scale: int(lt.Scale)}, true
		}
	case *format.DateType:
		if kind == parquet.Int32 {
			return parquetColumn{kind: cellDate}, true
		}
	case *format.TimeType:
		if lt.Unit.Value != nil && (kind == parquet.Int32 || kind == parquet.Int64) {
			return parquetColumn{kind: cellTime, unit: lt.Unit.Value.Duration()}, true
		}
	case *format.TimestampType:
		if lt.Unit.Value != nil && kind == parquet.Int64 {
			return parquetColumn{kind: cellTimestamp, unit: lt.Unit.Value.Duration(), utc: lt.IsAdjustedToUTC}, true
		}
	case *format.UUIDType:
		if kind == parquet.FixedLenByteArray && t.Length() == 16 {
			return parquetColumn{kind: cellUUID}, true
		}
	case *format.Float16Type:
		if kind == parquet.FixedLenByteArray && t.Length() == 2 {
			return parquetColumn{kind: cellFloat16}, true
		}
	}
	return parquetColumn{}, false
}

// A parquetSource is the source of a Reader of a Parquet file.
type parquetSource struct {
	name   string
	r      io.ReaderAt
	size   int64
	file   *parquet.File
	cols   []parquetColumn
	groups []parquet.RowGroup
	group  int          // the next row group to open
	rows   parquet.Rows // of the row group being read; nil between
	buf    []parquet.Row
	n, i   int // rows in buf, the next one
	row    int // rows returned
	rec    []string
	text   []byte // the text of the row's cells
	ends   []int  // where each cell ends in text
	err    error  // met, returned from then on
}

// next returns the next row: its cells and its line, the row's number from 2.
func (s *parquetSource) next() (rec []string, line int, err error) {
	if s.err != nil {
		return nil, 0, s.err
	}
	defer func() {
		if p := recover(); p != nil {
			s.rows = nil
			s.err = corrupt(s.name, p)
			rec, line, err = nil, 0, s.err
		}
	}()
	for s.i >= s.n {
		if err := s.fill(); err != nil {
			if err != io.EOF {
				s.err = err
				s.close()
			}
			return nil, 0, err
		}
	}
	row := s.buf[s.i]
	s.i++
	s.row++
	line = s.row + 1
	if len(row) != len(s.cols) {
		return nil, 0, fmt.Errorf("%s:%d: %d values in the row, %d columns", s.name, line, len(row), len(s.cols))
	}
	// The cells are written one after the other, and cut from one string.
	b := s.text[:0]
	for j, v := range row {
		if v.Column() != j {
			return nil, 0, fmt.Errorf("%s:%d: a value of column %d in the place of column %d", s.name, line, v.Column()+1, j+1)
		}
		if b, err = s.cols[j].appendCell(b, v); err != nil {
			return nil, 0, fmt.Errorf("%s:%d: column %s: %w", s.name, line, quote(s.cols[j].name), err)
		}
		s.ends[j] = len(b)
	}
	s.text = b
	text, start := string(b), 0
	for j, end := range s.ends {
		s.rec[j], start = text[start:end], end
	}
	return s.rec, line, nil
}

// fill reads the next rows into buf, opening the next row group after the
// last; it returns io.EOF after the last row group.
func (s *parquetSource) fill() error {
	if s.rows == nil {
		if s.group == len(s.groups) {
			return io.EOF
		}
		if err := s.checkGroup(s.group); err != nil {
			return err
		}
		s.rows = s.groups[s.group].Rows()
		s.group++
	}
	n, err := s.rows.ReadRows(s.buf)
	s.n, s.i = n, 0
	if err == io.EOF {
		err = s.rows.Close()
		s.rows = nil
	}
	if err != nil {
		return fmt.Errorf("%s: row group %d (after row %d): %w", s.name, s.group, s.row, err)
	}
	return nil
}

// close closes the rows being read.
func (s *parquetSource) close() error {
	if s.rows == nil {
		return nil
	}
	defer func() { recover() }() // the decoder failed already
	err := s.rows.Close()
	s.rows = nil
	return err
}

// Close releases the row group being read.
func (s *parquetSource) Close() error { return s.close() }

// appendCell appends the text of a value of c to b.
func (c *parquetColumn) appendCell(b []byte, v parquet.Value) ([]byte, error) {
	if v.IsNull() {
		return b, nil
	}
	switch c.kind {
	case cellBool:
		return strconv.AppendBool(b, v.Boolean()), nil
	case cellInt32:
		return strconv.AppendInt(b, int64(v.Int32()), 10), nil
	case cellUint32:
		return strconv.AppendUint(b, uint64(v.Uint32()), 10), nil
	case cellInt64:
		return strconv.AppendInt(b, v.Int64(), 10), nil
	case cellUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), nil
	case cellFloat:
		return strconv.AppendFloat(b, float64(v.Float()), 'g', -1, 32), nil
	case cellDouble:
		return strconv.AppendFloat(b, v.Double(), 'g', -1, 64), nil
	case cellBytes:
		return append(b, bytes.TrimSpace(v.ByteArray())...), nil
	case cellDecimal:
		var n big.Int
		switch v.Kind() {
		case parquet.Int32:
			n.SetInt64(int64(v.Int32()))
		case parquet.Int64:
			n.SetInt64(v.Int64())
		default:
			d := v.ByteArray()
			n.SetBytes(d)
			if len(d) > 0 && d[0]&0x80 != 0 { // two's complement
				n.Sub(&n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(d))))
			}
		}
		return append(b, decimal(n.String(), c.scale)...), nil
	case cellDate:
		return time.Unix(int64(v.Int32())*86400, 0).UTC().AppendFormat(b, time.DateOnly), nil
	case cellTime:
		n := v.Int64()
		if v.Kind() == parquet.Int32 {
			n = int64(v.Int32())
		}
		if n < 0 || n >= int64(24*time.Hour/c.unit) {
			return b, fmt.Errorf("%d %s is not a time of day", n, unitName(c.unit))
		}
		return time.Time{}.Add(time.Duration(n)*c.unit).AppendFormat(b, "15:04:05.999999999"), nil
	case cellTimestamp:
		n := v.Int64()
		var t time.Time
		switch c.unit {
		case time.Millisecond:
			t = time.UnixMilli(n)
		case time.Microsecond:
			t = time.UnixMicro(n)
		default:
			t = time.Unix(0, n)
		}
		if c.utc {
			return t.UTC().AppendFormat(b, time.RFC3339Nano), nil
		}
		return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.999999999"), nil
	case cellUUID:
		d := v.ByteArray()
		if len(d) != 16 {
			return b, fmt.Errorf("a UUID of %d bytes", len(d))
		}
		h := hex.EncodeToString(d)
		return append(b, h[:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:]...), nil
	case cellFloat16:
		d := v.ByteArray()
		if len(d) != 2 {
			return b, fmt.Errorf("a FLOAT16 of %d bytes", len(d))
		}
		return strconv.AppendFloat(b, float64(float16(binary.LittleEndian.Uint16(d))), 'g', -1, 32), nil
	}
	return b, nil // cellNull
}

// unitName names a time unit in errors.
func unitName(d time.Duration) string {
	switch d {
	case time.Millisecond:
		return "ms"
	case time.Microsecond:
		return "µs"
	}
	return "ns"
}

// decimal writes the integer digits (with an optional '-') with scale
// decimals.
func decimal(digits string, scale int) string {
	if scale == 0 {
		return digits
	}
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// float16 returns the IEEE 754 half-precision number h as a float32.
func float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0: // zero, subnormal: frac × 2^-24
		f := float32(frac) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// The Parquet decoder allocates what the file's metadata and page headers
// say before it can tell whether the file holds it: a list's length, a
// string's, a page's size. Before it opens the file, checkFooter walks the
// metadata's encoding (Thrift's compact protocol) without decoding it, so
// that no length exceeds the bytes left and no nesting is deeper than
// maxThriftDepth, and checks what decoding it will allocate against the
// budget; before it reads a row group, checkGroup does the same for each
// page header of its column chunks and checks the pages' sizes.

// maxThriftDepth bounds the nesting of structures in the metadata and page
// headers: the decoder recurses into each.
const maxThriftDepth = 24

// thriftStructSize is the largest in memory of the structures that the
// file's metadata lists.
var thriftStructSize = max(unsafe.Sizeof(format.ColumnChunk{}), unsafe.Sizeof(format.RowGroup{}),
	unsafe.Sizeof(format.SchemaElement{}), unsafe.Sizeof(format.KeyValue{}),
	unsafe.Sizeof(format.PageEncodingStats{}), unsafe.Sizeof(format.SortingColumn{}),
	unsafe.Sizeof(format.ColumnOrder{}))

// errThriftShort is the error of Thrift bytes that end too soon.
var errThriftShort = errors.New("the metadata ends too soon")

// A thriftWalk walks Thrift compact-protocol bytes.
type thriftWalk struct {
	b    []byte
	pos  int
	cost int64 // bytes decoding allocates, about
	// ints, if set, is called with each integer field and the field ids on
	// its path
	ints func(path []int16, v int64)
	path []int16
}

func (w *thriftWalk) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, errThriftShort
	}
	w.pos++
	return w.b[w.pos-1], nil
}

func (w *thriftWalk) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.pos:])
	switch {
	case n == 0:
		return 0, errThriftShort
	case n < 0:
		return 0, errors.New("a malformed integer in the metadata")
	}
	w.pos += n
	return v, nil
}

// length reads a length of n elements of at least one byte each.
func (w *thriftWalk) length() (int, error) {
	n, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(w.b)-w.pos) {
		return 0, errThriftShort
	}
	return int(n), nil
}

// skip skips n bytes.
func (w *thriftWalk) skip(n int) error {
	if n > len(w.b)-w.pos {
		return errThriftShort
	}
	w.pos += n
	return nil
}

// elemCost is what decoding an element of Thrift type typ allocates, beyond
// its contents.
func elemCost(typ byte) int64 {
	switch typ {
	case 12:
		return int64(thriftStructSize)
	case 8, 9, 10, 11:
		return 24
	}
	return 8
}

// structure walks the fields of a structure up to its stop byte.
func (w *thriftWalk) structure(depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("metadata nested deeper than %d", maxThriftDepth)
	}
	var id int16
	for {
		b, err := w.byte()
		if err != nil {
			return err
		}
		if b == 0 {
			return nil
		}
		if d := b >> 4; d != 0 {
			id += int16(d)
		} else {
			u, err := w.uvarint()
			if err != nil {
				return err
			}
			id = int16(int64(u>>1) ^ -int64(u&1))
		}
		typ := b & 0x0f
		if typ == 1 || typ == 2 { // a boolean field holds its value in its type
			if w.ints != nil {
				w.ints(append(w.path, id), int64(2-typ))
			}
			continue
		}
		w.path = append(w.path, id)
		err = w.value(typ, depth)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
}

// value walks a value of Thrift type typ.
func (w *thriftWalk) value(typ byte, depth int) error {
	switch typ {
	case 1, 2, 3: // a boolean in a list, a byte
		return w.skip(1)
	case 4, 5, 6:
		u, err := w.uvarint()
		if err == nil && w.ints != nil {
			w.ints(w.path, int64(u>>1)^-int64(u&1))
		}
		return err
	case 7:
		return w.skip(8)
	case 8:
		n, err := w.length()
		if err != nil {
			return err
		}
		w.cost += int64(n)
		return w.skip(n)
	case 9, 10:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n, elem := int(h>>4), h&0x0f
		if n == 0x0f {
			if n, err = w.length(); err != nil {
				return err
			}
		}
		w.cost += int64(n) * elemCost(elem)
		for range n {
			if err := w.value(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11:
		n, err := w.length()
		if err != nil || n == 0 {
			return err
		}
		h, err := w.byte()
		if err != nil {
			return err
		}
		w.cost += int64(n) * (elemCost(h>>4) + elemCost(h&0x0f))
		for range n {
			if err := w.value(h>>4, depth+1); err != nil {
				return err
			}
			if err := w.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12:
		return w.structure(depth + 1)
	case 13: // UUID
		return w.skip(16)
	}
	return fmt.Errorf("a value of unknown type %d in the metadata", typ)
}

// checkFooter checks the metadata at the end of the Parquet file of size
// bytes in r, so that opening it is safe.
func checkFooter(r io.ReaderAt, size int64, name string) error {
	var head, tail [8]byte
	if size < 12 {
		return fmt.Errorf("%s: not a Parquet file (%d bytes)", name, max(size, 0))
	}
	if _, err := r.ReadAt(head[:4], 0); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if string(head[:4]) != parquetMagic {
		return fmt.Errorf("%s: not a Parquet file (it does not start with %s)", name, parquetMagic)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if string(tail[4:]) != parquetMagic {
		return fmt.Errorf("%s: a truncated Parquet file (it does not end with %s)", name, parquetMagic)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return fmt.Errorf("%s: a truncated or corrupt Parquet file (metadata of %d bytes in a file of %d)", name, n, size)
	}
	if err := budget.Check(fmt.Sprintf("reading the metadata of %s", name), budget.Mul(n, 4)); err != nil {
		return err
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, size-8-n); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	w := &thriftWalk{b: b}
	if err := w.structure(0); err != nil {
		return fmt.Errorf("%s: a corrupt Parquet file: %w", name, err)
	}
	// The decoder holds a copy of the bytes, and the file's structures
	// built from the metadata.
	return budget.Check(fmt.Sprintf("reading the metadata of %s", name), budget.Add(budget.Mul(n, 3), budget.Mul(w.cost, 2)))
}

// checkGroup walks the page headers of row group g's column chunks, checking
// that they lie within the file and what reading the row group asks of
// memory: a page and a dictionary for each column at once.
func (s *parquetSource) checkGroup(g int) error {
	md := s.file.Metadata()
	if g >= len(md.RowGroups) {
		return fmt.Errorf("%s: row group %d is not in the metadata", s.name, g+1)
	}
	var total int64
	for j, c := range md.RowGroups[g].Columns {
		if c.FilePath != "" {
			return fmt.Errorf("%s: row group %d: column chunk %d is in another file (%s)", s.name, g+1, j+1, c.FilePath)
		}
		start := c.MetaData.DataPageOffset
		if c.MetaData.DictionaryPageOffset != 0 {
			start = c.MetaData.DictionaryPageOffset
		}
		end := budget.Add(start, c.MetaData.TotalCompressedSize)
		if start < 4 || end > s.size-8 || c.MetaData.TotalCompressedSize < 0 {
			return fmt.Errorf("%s: a truncated or corrupt Parquet file (row group %d, column chunk %d at bytes %d to %d of %d)",
				s.name, g+1, j+1, start, end, s.size)
		}
		// The decoder decompresses a column's chunks with the codec of its
		// first.
		codec := c.MetaData.Codec
		if j < len(md.RowGroups[0].Columns) {
			codec = md.RowGroups[0].Columns[j].MetaData.Codec
		}
		var page, dict int64
		for pos := start; pos < end; {
			hdr, p, d, err := s.pageHeader(pos, end, codec)
			if err != nil {
				return fmt.Errorf("%s: row group %d, column chunk %d, page at byte %d: %w", s.name, g+1, j+1, pos, err)
			}
			page, dict = max(page, p), max(dict, d)
			pos += hdr
		}
		total = budget.Add(total, page, dict)
	}
	return budget.Check(fmt.Sprintf("reading row group %d of %s", g+1, s.name), total)
}

// pageHeader walks the page header at pos, in a column chunk that ends at
// end, and returns the bytes of the header and page and what decoding the
// page asks of memory, as a data page or as a dictionary.
func (s *parquetSource) pageHeader(pos, end int64, codec format.CompressionCodec) (n, page, dict int64, err error) {
	var typ, uncompressed, compressed, values, levels int64
	decompress := true
	size := min(end-pos, 4<<10)
	for {
		if err := budget.Check(fmt.Sprintf("reading a page header of %s", s.name), size); err != nil {
			return 0, 0, 0, err
		}
		b := make([]byte, size)
		if _, err := s.r.ReadAt(b, pos); err != nil {
			return 0, 0, 0, err
		}
		w := &thriftWalk{b: b, ints: func(path []int16, v int64) {
			switch {
			case len(path) == 1 && path[0] == 1:
				typ = v
			case len(path) == 1 && path[0] == 2:
				uncompressed = v
			case len(path) == 1 && path[0] == 3:
				compressed = v
			case len(path) == 2 && path[1] == 1 && (path[0] == 5 || path[0] == 7 || path[0] == 8):
				values = v // num_values of a data or dictionary page
			case len(path) == 2 && path[0] == 8 && (path[1] == 5 || path[1] == 6):
				levels += v // of a data page v2, not compressed
			case len(path) == 2 && path[0] == 8 && path[1] == 7:
				decompress = v != 0
			}
		}}
		err = w.structure(0)
		if err == errThriftShort && size < end-pos {
			size = min(end-pos, 2*size)
			continue
		}
		if err != nil {
			return 0, 0, 0, err
		}
		n = int64(w.pos)
		if compressed < 0 || uncompressed < 0 || values < 0 || levels < 0 || levels > compressed || levels > uncompressed || compressed > end-pos-n {
			return 0, 0, 0, fmt.Errorf("a corrupt page header (%d bytes, %d uncompressed, %d values, in %d bytes left)",
				compressed, uncompressed, values, end-pos-n)
		}
		// The page as read and uncompressed, its header, and the decoded
		// values with their levels.
		cost := budget.Add(compressed, uncompressed, w.cost, budget.Mul(values, 40))
		if decompress {
			if err := checkCompressed(s.r, pos+n+levels, compressed-levels, uncompressed-levels, codec); err != nil {
				return 0, 0, 0, err
			}
		}
		if typ == int64(format.DictionaryPage) {
			return n + compressed, 0, cost, nil
		}
		return n + compressed, cost, 0, nil
	}
}

// checkCompressed checks what the decoder cannot bound itself: the size a
// Snappy block says it holds, and that an LZ4 block fits in the size its
// page header says (the LZ4 decoder doubles its buffer until it fits, so
// that a corrupt block exhausts memory). The n bytes at off in r uncompress
// to size bytes.
func checkCompressed(r io.ReaderAt, off, n, size int64, codec format.CompressionCodec) error {
	switch codec {
	case format.Snappy:
		var b [binary.MaxVarintLen64]byte
		m, err := r.ReadAt(b[:min(n, int64(len(b)))], off)
		if err != nil && err != io.EOF {
			return err
		}
		if l, k := binary.Uvarint(b[:m]); k <= 0 || l > uint64(size) {
			return fmt.Errorf("a corrupt Snappy page (of %d bytes, %d uncompressed)", n, size)
		}
	case format.Lz4Raw:
		src, dst := make([]byte, n), make([]byte, size) // in the budget of the page
		if _, err := r.ReadAt(src, off); err != nil {
			return err
		}
		if _, err := lz4.UncompressBlock(src, dst); err != nil {
			return fmt.Errorf("a corrupt LZ4 page (of %d bytes, %d uncompressed): %w", n, size, err)
		}
	}
	return nil
}
