package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// tableCodec turns the rows of a request to a table model (Model.Table)
// into the model's inputs, and its outputs back into rows, with the
// model's schema.
type tableCodec struct {
	schema   *table.Schema
	features []table.Feature
	columns  []string       // every column of the schema, in order
	index    map[string]int // of columns
	bind     *table.Binding // of columns: a record holds a cell per column
	id       int            // index of the id column in columns; -1: none
	width    int            // Input
	boolCell [][2]string    // per column, the cells of JSON false and true
	rowBytes int64          // the most bytes a decoded row takes in JSON
}

func newTableCodec(m *vae.Model) (*tableCodec, error) {
	s := m.Table
	t := &tableCodec{schema: s, features: s.Features(), index: map[string]int{}, id: -1, width: m.Config.Input}
	for j, c := range s.Columns {
		t.columns = append(t.columns, c.Name)
		if _, dup := t.index[c.Name]; dup {
			return nil, fmt.Errorf("the table's schema names column %q twice", c.Name)
		}
		t.index[c.Name] = j
		cells := [2]string{"false", "true"}
		if c.Type == table.Binary || c.Type == table.Categorical {
			for _, v := range c.Categories {
				for k, b := range cells {
					if strings.EqualFold(v, b) {
						cells[k] = v
					}
				}
			}
		}
		t.boolCell = append(t.boolCell, cells)
	}
	if s.ID != "" {
		if j, ok := t.index[s.ID]; ok {
			t.id = j
		}
	}
	b, err := s.Bind(t.columns)
	if err != nil {
		return nil, fmt.Errorf("the table's schema: %w", err)
	}
	if b.Width() != m.Config.Input {
		return nil, fmt.Errorf("the table's schema encodes %d values, the model's input is %d", b.Width(), m.Config.Input)
	}
	t.bind = b
	t.rowBytes = 2
	for _, f := range t.features {
		size := int64(24) // -1.2345678901234567e-308
		for _, v := range s.Columns[f.Column].Categories {
			size = max(size, int64(len(v))*6+2) // \u00XX at worst
		}
		t.rowBytes += int64(len(f.Name))*6 + 3 + size
	}
	return t, nil
}

// tableInput is the encoded rows of a request, with their ids.
type tableInput struct {
	n   int
	x   []float32 // [n, Input], NaN where a cell is missing
	ids []string  // the id column's cells, or nil when no row has one
}

// addRow encodes record, a cell per column of the schema, as row n; field
// names the row in errors ("rows[3]", "line 4"), sep what joins it to the
// name of a column.
func (t *tableCodec) addRow(in *tableInput, record []string, hasID bool, field, sep string) error {
	D := t.width
	if len(in.x)+D > cap(in.x) {
		// The rows grow by doubling: the next size must fit the budget.
		size := budget.Mul(2, int64(max(len(in.x), 8*D)))
		if err := budget.Check(fmt.Sprintf("encoding %d rows of %d values", in.n+1, D), budget.Mul(size, 4)); err != nil {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Field: "request", Message: err.Error()}
		}
		in.x = append(make([]float32, 0, size), in.x...)
	}
	in.x = in.x[:len(in.x)+D] // Encode writes every value
	if err := t.bind.Encode(in.x[in.n*D:], record); err != nil {
		col, msg := t.culprit(record, err)
		if col == "" {
			return badRequest(field, "%s", msg)
		}
		return badRequest(field+sep+col, "%s", msg)
	}
	if hasID && t.id >= 0 {
		if in.ids == nil {
			in.ids = make([]string, in.n, cap(in.x)/D)
		}
		in.ids = append(in.ids, strings.TrimSpace(record[t.id]))
	} else if in.ids != nil {
		in.ids = append(in.ids, "")
	}
	in.n++
	return nil
}

// culprit returns the model column whose cell of record Encode refused,
// with err's message less the column's name, or "" and err's message when
// no cell alone is at fault.
func (t *tableCodec) culprit(record []string, err error) (string, string) {
	one := make([]string, len(record))
	dst := make([]float32, t.width)
	for _, f := range t.features {
		clear(one)
		one[f.Column] = record[f.Column]
		if e := t.bind.Encode(dst, one); e != nil {
			msg, _ := strings.CutPrefix(e.Error(), "column "+strconv.Quote(f.Name)+": ")
			return f.Name, msg
		}
	}
	return "", err.Error()
}

const wantRows = "an array of objects keyed by column name"

// parseRows reads raw, the field "rows" of a request: an array of at most
// maxRows JSON objects, one per row, whose keys are columns of the schema
// and whose values are the cells: a string, a number (its text), a boolean
// (true or false, or the binary column's value that reads so) or null (a
// missing cell, as is a column left out). Every fault is an *apiError
// naming the row and column.
func (t *tableCodec) parseRows(raw []byte, maxRows int) (*tableInput, error) {
	p := &scanner{b: raw}
	p.space()
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, badRequest("rows", "missing; want %s", wantRows)
	}
	if p.peek() != '[' {
		return nil, badRequest("rows", "got %s, want %s", p.kind(), wantRows)
	}
	p.i++
	if p.space(); p.peek() == ']' {
		return nil, badRequest("rows", "empty; want at least one row")
	}
	in := &tableInput{}
	record := make([]string, len(t.columns))
	seen := make([]bool, len(t.columns))
	for {
		if in.n == maxRows {
			return nil, tooLarge("rows", "more than %d rows; send at most %d per request (raise it with --max-batch)", maxRows, maxRows)
		}
		row := fmt.Sprintf("rows[%d]", in.n)
		if p.space(); p.peek() != '{' {
			return nil, badRequest(row, "got %s, want an object keyed by column name", p.kind())
		}
		p.i++
		clear(record)
		clear(seen)
		if p.space(); p.peek() == '}' {
			p.i++
		} else {
			for {
				p.space()
				if p.peek() != '"' {
					return nil, badRequest(row, "invalid JSON at byte %d: want a column name in quotes", p.i)
				}
				end := skipValue(raw, p.i)
				var name string
				if err := json.Unmarshal(raw[p.i:end], &name); err != nil {
					return nil, badRequest(row, "invalid JSON at byte %d: want a column name in quotes", p.i)
				}
				p.i = end
				if p.space(); p.next() != ':' {
					return nil, badRequest(row, "invalid JSON at byte %d: want a colon after %q", p.i-1, name)
				}
				field := row + "." + name
				j, ok := t.index[name]
				switch {
				case !ok:
					return nil, badRequest(field, "unknown column; the table's are %s", t.columnList())
				case seen[j]:
					return nil, badRequest(field, "given twice")
				}
				p.space()
				cell, err := t.cell(p, j)
				if err != nil {
					return nil, badRequest(field, "%s", err)
				}
				record[j], seen[j] = cell, true
				p.space()
				if c := p.next(); c == '}' {
					break
				} else if c != ',' {
					return nil, badRequest(field, "invalid JSON after the value: want , or }")
				}
			}
		}
		if err := t.addRow(in, record, t.id >= 0 && seen[t.id] && record[t.id] != "", row, "."); err != nil {
			return nil, err
		}
		p.space()
		if c := p.next(); c == ']' {
			break
		} else if c != ',' {
			return nil, badRequest(row, "invalid JSON after the row: want , or ]")
		}
	}
	if p.space(); p.i != len(raw) {
		return nil, badRequest("rows", "invalid JSON after the array")
	}
	return in, nil
}

// cell reads the JSON value at p, the cell of column j, as the text of a
// cell of a CSV file: "" for null (missing).
func (t *tableCodec) cell(p *scanner, j int) (string, error) {
	const want = "a string, number, boolean or null"
	literal := func(s string) bool {
		if bytes.HasPrefix(p.b[p.i:], []byte(s)) && (p.i+len(s) == len(p.b) || !isWordByte(p.b[p.i+len(s)])) {
			p.i += len(s)
			return true
		}
		return false
	}
	switch c := p.peek(); {
	case c == '"':
		end := skipValue(p.b, p.i)
		var s string
		if err := json.Unmarshal(p.b[p.i:end], &s); err != nil {
			return "", fmt.Errorf("invalid JSON string at byte %d", p.i)
		}
		p.i = end
		return s, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		tok := p.number()
		if tok == nil || p.i < len(p.b) && (isWordByte(p.b[p.i]) || p.b[p.i] == '.' || p.b[p.i] >= '0' && p.b[p.i] <= '9') {
			p.i = start
			return "", fmt.Errorf("got %s, want %s", p.kind(), want)
		}
		s := string(tok)
		if col := &t.schema.Columns[j]; col.Type == table.Binary || col.Type == table.Categorical {
			// 1.0 for a category read as 1
			if v, err := strconv.ParseFloat(s, 64); err == nil && !isCategory(col, s) {
				if f := strconv.FormatFloat(v, 'f', -1, 64); isCategory(col, f) {
					s = f
				}
			}
		}
		return s, nil
	case c == 't' && literal("true"):
		return t.boolCell[j][1], nil
	case c == 'f' && literal("false"):
		return t.boolCell[j][0], nil
	case c == 'n' && literal("null"):
		return "", nil
	}
	return "", fmt.Errorf("got %s, want %s", p.kind(), want)
}

func isCategory(c *table.Column, v string) bool {
	for _, x := range c.Categories {
		if x == v {
			return true
		}
	}
	return false
}

// columnList names the schema's columns for an error, the first few.
func (t *tableCodec) columnList() string {
	const few = 8
	var b strings.Builder
	for i, c := range t.columns {
		if i == few {
			fmt.Fprintf(&b, " and %d more", len(t.columns)-few)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(c))
	}
	return b.String()
}

// readCSV reads body, a CSV file (a header line, then one record per row;
// delim separates the fields) of at most maxRows records, encoding each
// row. Its columns may come in any order and include others the schema
// lacks. Faults name the line.
func (t *tableCodec) readCSV(body []byte, delim rune, maxRows int) (*tableInput, error) {
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Field: "body", Message: "gzip-compressed; send the CSV text as it is"}
	}
	r, err := table.NewReader(bytes.NewReader(body), "body", table.Options{Delimiter: delim, Header: table.Bool(true)})
	if err != nil {
		return nil, badRequest("body", "%s", strings.TrimPrefix(err.Error(), "body: "))
	}
	defer r.Close()
	cols := r.Columns()
	pos := make([]int, len(t.columns)) // of each schema column in the file; -1: absent
	for j, name := range t.columns {
		pos[j] = -1
		for k, c := range cols {
			if c == name {
				pos[j] = k
				break
			}
		}
	}
	var lacking []string
	for _, f := range t.features {
		if pos[f.Column] < 0 {
			lacking = append(lacking, strconv.Quote(f.Name))
		}
	}
	if len(lacking) > 0 {
		list := strings.Join(lacking[:min(8, len(lacking))], ", ")
		if len(lacking) > 8 {
			list += fmt.Sprintf(" and %d more", len(lacking)-8)
		}
		return nil, badRequest("line 1", "the header lacks the model's columns %s", list)
	}
	in := &tableInput{}
	record := make([]string, len(t.columns))
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if in.n == maxRows {
			return nil, tooLarge("body", "more than %d rows; send at most %d per request (raise it with --max-batch)", maxRows, maxRows)
		}
		for j, k := range pos {
			record[j] = ""
			if k >= 0 {
				record[j] = rec[k]
			}
		}
		if err := t.addRow(in, record, t.id >= 0 && pos[t.id] >= 0, fmt.Sprintf("line %d", r.Line()), ", column "); err != nil {
			return nil, err
		}
	}
	if in.n == 0 {
		return nil, badRequest("body", "no rows after the header")
	}
	return in, nil
}

// csvError is the error of a record the CSV reader refused: its message,
// "body:LINE[:COL]: what", as a 400 naming the line.
func csvError(err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "body:"); ok {
		line, what, _ := strings.Cut(rest, ": ")
		if n, col, _ := strings.Cut(line, ":"); n != "" {
			if col != "" {
				what = "byte " + col + ": " + what
			}
			return badRequest("line "+n, "%s", what)
		}
	}
	return badRequest("body", "%s", msg)
}

// appendRows appends out [n, Input], the model's means, decoded into the
// original units, as a JSON array of objects keyed by column name, in the
// schema's order: numbers for numeric columns, strings for the others, null
// for a missing value.
func (t *tableCodec) appendRows(b []byte, out []float32) ([]byte, error) {
	D := t.width
	b = append(b, '[')
	var cells []string
	for r := range len(out) / D {
		if r > 0 {
			b = append(b, ',')
		}
		var err error
		if cells, err = t.schema.Decode(cells, out[r*D:(r+1)*D]); err != nil {
			return nil, err
		}
		b = t.appendRow(b, cells)
	}
	return append(b, ']'), nil
}

// appendRow appends the cells of the model's columns as a JSON object.
func (t *tableCodec) appendRow(b []byte, cells []string) []byte {
	b = append(b, '{')
	for i, f := range t.features {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendCell(b, f.Type, cells[i])
	}
	return append(b, '}')
}

// appendCell appends a decoded cell: a number for a numeric column (a
// string when it is not finite), a string for the others, null when it is
// missing.
func appendCell(b []byte, typ table.Type, cell string) []byte {
	if cell == "" {
		return append(b, "null"...)
	}
	if typ == table.Continuous || typ == table.Positive {
		if v, err := strconv.ParseFloat(cell, 64); err == nil && finite(v) {
			return strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return appendString(b, cell)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// decodeRow returns the cells of row x, one encoded input, as a JSON object.
func (t *tableCodec) decodeRow(x []float32) (json.RawMessage, error) {
	cells, err := t.schema.Decode(nil, x)
	if err != nil {
		return nil, err
	}
	return t.appendRow(nil, cells), nil
}

// checkInputs reports the first value of x [n, Input], the encoded rows of
// the field "inputs", that does not fit its column: a binary value outside
// [0, 1], a categorical column that is not one-hot (its values in [0, 1],
// adding up to 1).
func (t *tableCodec) checkInputs(x []float32) error {
	D := t.width
	for r := range len(x) / D {
		row := x[r*D : (r+1)*D]
		for _, f := range t.features {
			if f.Type != table.Binary && f.Type != table.Categorical {
				continue
			}
			var sum float64
			for k := f.Offset; k < f.Offset+f.Width; k++ {
				if v := row[k]; v < 0 || v > 1 {
					return badRequest(fmt.Sprintf("inputs[%d][%d]", r, k), "%v is outside [0, 1], in column %s (%s)", v, strconv.Quote(f.Name), f.Type)
				}
				sum += float64(row[k])
			}
			if f.Type == table.Categorical && math.Abs(sum-1) > 1e-3 {
				return badRequest(fmt.Sprintf("inputs[%d][%d]", r, f.Offset), "the %d values of column %s add up to %v, want 1 (one-hot)", f.Width, strconv.Quote(f.Name), sum)
			}
		}
	}
	return nil
}

// TableInfo is what GET /v1/model says of a table model's schema.
type TableInfo struct {
	Columns []TableColumn `json:"columns"`           // the model's columns, in the order of its input
	ID      string        `json:"id,omitempty"`      // the id column, carried to outputs
	Label   string        `json:"label,omitempty"`   // the label column, which colours the map
	Classes []string      `json:"classes,omitempty"` // the label's values in the test set, by class index
}

// TableColumn is one of the model's columns.
type TableColumn struct {
	Name       string     `json:"name"`
	Type       table.Type `json:"type"`
	Categories []string   `json:"categories,omitempty"` // a binary column's values read as 0 and 1, a categorical one's in one-hot order
	Offset     int        `json:"offset"`               // of its first value in an encoded row
	Width      int        `json:"width"`
}

func (t *tableCodec) info() *TableInfo {
	ti := &TableInfo{ID: t.schema.ID, Label: t.schema.Label, Columns: []TableColumn{}}
	for _, f := range t.features {
		c := t.schema.Columns[f.Column]
		tc := TableColumn{Name: f.Name, Type: f.Type, Offset: f.Offset, Width: f.Width}
		if f.Type == table.Binary || f.Type == table.Categorical {
			tc.Categories = c.Categories
		}
		ti.Columns = append(ti.Columns, tc)
	}
	return ti
}
