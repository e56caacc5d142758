package vae

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/govae/vae/table"
)

// TableBatch is a batch of records of a table, encoded with a model's
// preprocessing.
type TableBatch struct {
	N       int
	X       []float32  // [N, Input], NaN where a cell is missing
	IDs     []string   // the id column's cells, or "" without one
	Lines   []int      // the line each record starts on
	Records [][]string // the cells as read, one per column of the file
}

// tableBatch is the number of rows the table methods encode and score at
// once: enough for the fast kernels, little memory whatever the file's size.
const tableBatch = 4096

// ReadTable reads r to its end and calls f with each batch of up to 4096
// records, encoded with the model's preprocessing (Model.Table); the batch
// is valid during the call only. A record that cannot be encoded (an
// unknown category, text in a numeric column) is an error naming the file,
// line, column and cell, as is a file that lacks one of the model's
// columns. It stops with ctx's error when ctx is cancelled.
func (m *Model) ReadTable(ctx context.Context, r *table.Reader, f func(b *TableBatch) error) error {
	return m.readTable(ctx, r, nil, f)
}

// BadRow is a record of a table that could not be read (another number of
// fields than the file's columns) or encoded (an unknown category, text in
// a numeric column), as ScoreOptions.OnBadRow receives it.
type BadRow struct {
	File   string
	Line   int
	Record []string // the cells, when the record has the file's fields
	Err    error
}

// readTable is ReadTable passing the records that cannot be read or encoded
// to bad, when it is not nil, instead of stopping at the first.
func (m *Model) readTable(ctx context.Context, r *table.Reader, bad func(BadRow) error, f func(b *TableBatch) error) error {
	if m.Table == nil {
		return errors.New("the model was not trained on a table: give it images or arrays")
	}
	bind, err := m.Table.Bind(r.Columns())
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name(), err)
	}
	bind.IsMissing = r.IsMissing
	D := m.Config.Input
	b := &TableBatch{X: make([]float32, tableBatch*D)}
	flush := func() error {
		if b.N == 0 {
			return nil
		}
		b.X = b.X[:b.N*D]
		err := f(b)
		b.N, b.X, b.IDs, b.Lines, b.Records = 0, b.X[:cap(b.X)], b.IDs[:0], b.Lines[:0], b.Records[:0]
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if bad != nil && errors.Is(err, table.ErrFieldCount) {
			if err := bad(BadRow{File: r.Name(), Line: r.Line(), Err: err}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := bind.Encode(b.X[b.N*D:(b.N+1)*D], rec); err != nil {
			err = fmt.Errorf("%s:%d: %w", r.Name(), r.Line(), err)
			if bad == nil {
				return err
			}
			if err := bad(BadRow{File: r.Name(), Line: r.Line(), Record: append([]string(nil), rec...), Err: err}); err != nil {
				return err
			}
			continue
		}
		b.IDs = append(b.IDs, bind.ID(rec))
		b.Lines = append(b.Lines, r.Line())
		b.Records = append(b.Records, append([]string(nil), rec...))
		b.N++
		if b.N == tableBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// ScoreOptions say what ScoreTable writes.
type ScoreOptions struct {
	Seed uint64 // seeds ε
	K    int    // if positive, also −log p(x) with K importance samples (NLL)
	// OnBadRow, if set, receives each record that cannot be read or
	// encoded, which is then skipped (a dead letter) instead of stopping
	// the scoring; an error it returns stops it.
	OnBadRow func(BadRow) error
}

// ScoreTable writes a CSV to w with one row per record of r: its id (the
// id column's cell, else its line), the negative ELBO with its
// reconstruction and KL terms, −log p(x) with opts.K, and the
// reconstruction term of each model column (recon_NAME): which columns make
// a row unlikely. It reads and writes batch by batch, so memory does not
// grow with the file.
func (m *Model) ScoreTable(ctx context.Context, r *table.Reader, w io.Writer, opts ScoreOptions) error {
	cw := csv.NewWriter(w)
	head := []string{"id", "loss", "recon", "kl"}
	if opts.K > 0 {
		head = append(head, "nll")
	}
	for _, p := range m.Config.Parts {
		head = append(head, "recon_"+p.Name)
	}
	if m.Detector != nil {
		head = append(head, "anomaly")
	}
	cw.Write(head)
	rng := rand.New(rand.NewPCG(opts.Seed, 0))
	P, done := len(m.Config.Parts), 0
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	err := m.readTable(ctx, r, opts.OnBadRow, func(b *TableBatch) error {
		scores, parts, err := m.PartScores(b.X, rng)
		if err != nil {
			return fmt.Errorf("%s: rows from line %d: %w", r.Name(), b.Lines[0], err)
		}
		var nll []float64
		if opts.K > 0 {
			if nll, err = m.NLL(ctx, b.X, NLLOptions{K: opts.K, Seed: opts.Seed + uint64(done)}); err != nil {
				return err
			}
		}
		var flags []bool
		if m.Detector != nil {
			if flags, _, err = m.IsAnomaly(ctx, b.X); err != nil {
				return err
			}
		}
		for i, s := range scores {
			row := []string{rowID(b, i), f(s.Total), f(s.Recon), f(s.KL)}
			if nll != nil {
				row = append(row, f(nll[i]))
			}
			for _, v := range parts[i*P : (i+1)*P] {
				row = append(row, f(float64(v)))
			}
			if flags != nil {
				row = append(row, "0")
				if flags[i] {
					row[len(row)-1] = "1"
				}
			}
			cw.Write(row)
		}
		done += b.N
		return cw.Error()
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// rowID is row i's id: its id cell, else "line N".
func rowID(b *TableBatch, i int) string {
	if b.IDs[i] != "" {
		return b.IDs[i]
	}
	return "line " + strconv.Itoa(b.Lines[i])
}

// EncodeOptions say what EncodeTable does with the records it cannot read.
type EncodeOptions struct {
	// OnBadRow, if set, receives each record that cannot be read or
	// encoded, which is then skipped, as ScoreOptions.OnBadRow.
	OnBadRow func(BadRow) error
}

// EncodeTable writes a CSV to w with one row per record of r: its id and
// the mean and log-variance of q(z|x), z_mean_0… z_log_var_0….
func (m *Model) EncodeTable(ctx context.Context, r *table.Reader, w io.Writer, opts EncodeOptions) error {
	cw := csv.NewWriter(w)
	L := m.Config.Latent
	head := []string{"id"}
	for _, p := range []string{"z_mean_", "z_log_var_"} {
		for j := range L {
			head = append(head, p+strconv.Itoa(j))
		}
	}
	cw.Write(head)
	err := m.readTable(ctx, r, opts.OnBadRow, func(b *TableBatch) error {
		mean, logVar, err := m.Encode(b.X)
		if err != nil {
			return fmt.Errorf("%s: rows from line %d: %w", r.Name(), b.Lines[0], err)
		}
		for i := range b.N {
			row := []string{rowID(b, i)}
			for _, v := range append(mean[i*L:(i+1)*L:(i+1)*L], logVar[i*L:(i+1)*L]...) {
				row = append(row, strconv.FormatFloat(float64(v), 'g', 6, 32))
			}
			cw.Write(row)
		}
		return cw.Error()
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// ImputeTable writes the table of r to w as CSV, its header and every
// record, with each missing cell of a model column filled with the model's
// estimate (Impute, with draws posterior draws, in the column's original
// units: continuous the mean, binary and categorical the likeliest value).
// Every other cell is written as it was read.
func (m *Model) ImputeTable(ctx context.Context, r *table.Reader, w io.Writer, draws int, seed uint64) error {
	cw := csv.NewWriter(w)
	cw.Comma = r.Delimiter()
	cw.Write(r.Columns())
	col := columnIndex(r)
	feats := m.Table.Features()
	rng := rand.New(rand.NewPCG(seed, 0))
	D := m.Config.Input
	var cells []string
	err := m.ReadTable(ctx, r, func(b *TableBatch) error {
		filled, err := m.Impute(b.X, draws, rng)
		if err != nil {
			return fmt.Errorf("%s: rows from line %d: %w", r.Name(), b.Lines[0], err)
		}
		for i, rec := range b.Records {
			if cells, err = m.Table.Decode(cells, filled[i*D:(i+1)*D]); err != nil {
				return fmt.Errorf("%s:%d: %w", r.Name(), b.Lines[i], err)
			}
			for j, f := range feats {
				if c := col[f.Name]; r.IsMissing(rec[c]) {
					rec[c] = cells[j]
				}
			}
			cw.Write(rec)
		}
		return cw.Error()
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// SampleTable writes n rows decoded from draws of the prior as CSV to w, in
// the model columns' original units (Schema.Decode of the means of p(x|z)).
func (m *Model) SampleTable(w io.Writer, n int, rng *rand.Rand) error {
	if m.Table == nil {
		return errors.New("the model was not trained on a table")
	}
	cw := csv.NewWriter(w)
	cw.Write(m.decodedHead(false))
	if err := m.writeDecoded(cw, nil, m.Sample(n, rng)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// ReconstructTable writes each record of r reconstructed (decoded from its
// posterior mean) as CSV to w: its id, then the model columns in their
// original units.
func (m *Model) ReconstructTable(ctx context.Context, r *table.Reader, w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(m.decodedHead(true))
	var ids []string
	err := m.ReadTable(ctx, r, func(b *TableBatch) error {
		out, err := m.Reconstruct(b.X)
		if err != nil {
			return fmt.Errorf("%s: rows from line %d: %w", r.Name(), b.Lines[0], err)
		}
		ids = ids[:0]
		for i := range b.N {
			ids = append(ids, rowID(b, i))
		}
		return m.writeDecoded(cw, ids, out)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// decodedHead is the header of writeDecoded's rows: the model columns,
// after "id" with withID.
func (m *Model) decodedHead(withID bool) []string {
	var head []string
	if withID {
		head = append(head, "id")
	}
	for _, f := range m.Table.Features() {
		head = append(head, f.Name)
	}
	return head
}

// writeDecoded writes rows x [n, Input] of means of p(x|z) to cw in the
// model columns' original units, each after ids[i] when ids is not nil.
func (m *Model) writeDecoded(cw *csv.Writer, ids []string, x []float32) error {
	D := m.Config.Input
	var cells []string
	var err error
	for i := range len(x) / D {
		if cells, err = m.Table.Decode(cells, x[i*D:(i+1)*D]); err != nil {
			return err
		}
		if ids != nil {
			cells = append([]string{ids[i]}, cells...)
		}
		cw.Write(cells)
	}
	return cw.Error()
}

// Explained is one of the rows ExplainTable ranks highest: its score and
// the model columns by their share of its reconstruction term.
type Explained struct {
	ID      string
	Line    int
	Loss    float64 // the negative ELBO
	Columns []ExplainedColumn
}

// ExplainedColumn is one column's part of a row's score.
type ExplainedColumn struct {
	Name          string
	Recon         float64 // its reconstruction term
	Share         float64 // of the row's reconstruction term
	Observed      string  // the cell as read ("" when missing)
	Reconstructed string  // the decoded reconstruction, in the column's units
}

// ExplainTable reads r to its end and returns the n records with the
// highest negative ELBO (one draw of ε from seed), highest first, each with
// its model columns ranked by their share of its reconstruction term and
// their observed and reconstructed values: which columns make the row
// unlikely. It holds n rows at a time, whatever the file's size.
func (m *Model) ExplainTable(ctx context.Context, r *table.Reader, n int, seed uint64) ([]Explained, error) {
	if n < 1 {
		return nil, fmt.Errorf("explain: %d rows, want ≥ 1", n)
	}
	col := columnIndex(r)
	feats := m.Table.Features()
	rng := rand.New(rand.NewPCG(seed, 0))
	D, P := m.Config.Input, len(m.Config.Parts)
	var top []Explained
	var cells []string
	err := m.ReadTable(ctx, r, func(b *TableBatch) error {
		scores, parts, err := m.PartScores(b.X, rng)
		if err != nil {
			return fmt.Errorf("%s: rows from line %d: %w", r.Name(), b.Lines[0], err)
		}
		var recon []float32
		for i, s := range scores {
			if len(top) == n && s.Total <= top[n-1].Loss {
				continue
			}
			if recon == nil {
				if recon, err = m.Reconstruct(b.X); err != nil {
					return err
				}
			}
			if cells, err = m.Table.Decode(cells, recon[i*D:(i+1)*D]); err != nil {
				return err
			}
			e := Explained{ID: rowID(b, i), Line: b.Lines[i], Loss: s.Total}
			for j, f := range feats {
				c := ExplainedColumn{Name: f.Name, Recon: float64(parts[i*P+j]), Reconstructed: cells[j]}
				if s.Recon != 0 {
					c.Share = c.Recon / s.Recon
				}
				if obs := b.Records[i][col[f.Name]]; !r.IsMissing(obs) {
					c.Observed = obs
				}
				e.Columns = append(e.Columns, c)
			}
			slices.SortStableFunc(e.Columns, func(a, b ExplainedColumn) int { return cmp.Compare(b.Recon, a.Recon) })
			k, _ := slices.BinarySearchFunc(top, e.Loss, func(x Explained, t float64) int { return cmp.Compare(t, x.Loss) })
			top = slices.Insert(top, k, e)
			if len(top) > n {
				top = top[:n]
			}
		}
		return nil
	})
	return top, err
}

// WriteExplained writes explanations as CSV, one line per row and column:
// id, line, loss, rank, column, recon, share, observed, reconstructed.
func WriteExplained(w io.Writer, top []Explained) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "line", "loss", "rank", "column", "recon", "share", "observed", "reconstructed"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, e := range top {
		for k, c := range e.Columns {
			cw.Write([]string{e.ID, strconv.Itoa(e.Line), f(e.Loss), strconv.Itoa(k + 1), c.Name, f(c.Recon), f(c.Share), c.Observed, c.Reconstructed})
		}
	}
	cw.Flush()
	return cw.Error()
}

// columnIndex maps the names of r's columns to their places in a record.
func columnIndex(r *table.Reader) map[string]int {
	col := make(map[string]int, len(r.Columns()))
	for i, c := range r.Columns() {
		col[c] = i
	}
	return col
}
