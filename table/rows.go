package table

import (
	"fmt"
	"io"
	"strings"

	"github.com/govae/vae/budget"
)

// Rows are the records of a table, in memory.
type Rows struct {
	Name    string     // of the file, for errors
	Columns []string   // one name per column
	Records [][]string // one cell per column each, trimmed of spaces
	Lines   []int      // the line each record starts on; nil: the record's index + 2
	Missing []string   // cells read as missing, as in Options
}

// Line returns the line on which record i starts.
func (r *Rows) Line(i int) int {
	if i < len(r.Lines) {
		return r.Lines[i]
	}
	return i + 2
}

// IsMissing reports whether cell is one of the missing cells.
func (r *Rows) IsMissing(cell string) bool {
	cell = trim(cell)
	if r.Missing == nil {
		return defaultMissingSet[cell]
	}
	for _, t := range r.Missing {
		if strings.TrimSpace(t) == cell {
			return true
		}
	}
	return false
}

// check returns an error if the rows are not a table: names repeated, or
// a record with another number of cells than there are columns.
func (r *Rows) check() error {
	seen := make(map[string]bool, len(r.Columns))
	for _, c := range r.Columns {
		if seen[c] {
			return fmt.Errorf("%s: column %s appears twice", r.Name, quote(c))
		}
		seen[c] = true
	}
	for i, rec := range r.Records {
		if len(rec) != len(r.Columns) {
			return fmt.Errorf("%s:%d: %d fields, the header has %d", r.Name, r.Line(i), len(rec), len(r.Columns))
		}
	}
	return nil
}

// ReadAll checks the memory budget every checkEvery records, and whenever
// the cells it holds grew by checkBytes.
const (
	checkEvery = 1 << 16
	checkBytes = 64 << 20
)

// ReadAll reads the records left in r into memory, with their lines. It
// checks the bytes it holds against the memory budget every 65536 records
// (and 64 MiB of cells), and fails on a file with a header but no records. It does not close r.
func ReadAll(r *Reader) (*Rows, error) {
	rows := &Rows{Name: r.name, Columns: r.columns, Missing: r.opts.Missing}
	ncol := len(r.columns)
	var arena []string      // backs the records, a chunk at a time
	var held, checked int64 // bytes of the cells, at the last check
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(arena) < ncol {
			// doubling, up to about 1<<20 cells
			arena = make([]string, ncol*max(1, min(1+len(rows.Records), (1<<20)/max(ncol, 1))))
		}
		dst := arena[:ncol:ncol]
		arena = arena[ncol:]
		copy(dst, rec)
		for _, c := range rec {
			held += int64(len(c))
		}
		rows.Records = append(rows.Records, dst)
		rows.Lines = append(rows.Lines, r.line)
		if n := len(rows.Records); n%checkEvery == 0 || held-checked > checkBytes {
			checked = held
			// cells, their string headers, the records' slice headers and lines
			est := budget.Add(held, budget.Mul(int64(n), int64(ncol), 16), budget.Mul(int64(cap(rows.Records)), 24+8))
			if err := budget.Check(fmt.Sprintf("reading %s (%d records so far)", r.name, n), est); err != nil {
				return nil, err
			}
		}
	}
	if len(rows.Records) == 0 {
		return nil, fmt.Errorf("%s: no rows after the header", r.name)
	}
	return rows, nil
}
