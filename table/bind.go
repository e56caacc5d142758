package table

import (
	"fmt"
	"math"
)

// A Binding encodes the records of one file, whose columns it maps onto a
// schema's. It is safe for concurrent use once IsMissing is set.
type Binding struct {
	// IsMissing reports whether a cell is missing; nil means one of
	// DefaultMissing. Set it to the Reader's IsMissing to follow its
	// Options.
	IsMissing func(cell string) bool

	features       []boundFeature
	width          int
	id, label      int // indexes in the records; -1: none
	unknownMissing bool
}

// A boundFeature is a Feature with what encoding it takes.
type boundFeature struct {
	Feature
	src        int // index of the cell in a record
	mean, std  float64
	categories []string
	index      map[string]int // of the categories, for Categorical
}

// Bind returns the encoder of records with the given columns: those of
// another file, in any order, with columns the schema lacks allowed. The
// schema must have been fitted. Columns of the model's inputs that are not
// among columns are an error listing them; the ID and Label columns may be
// absent.
func (s *Schema) Bind(columns []string) (*Binding, error) {
	if err := checkUnknown(s.Unknown); err != nil {
		return nil, err
	}
	index := make(map[string]int, len(columns))
	for j, name := range columns {
		if _, ok := index[name]; !ok {
			index[name] = j
		}
	}
	b := &Binding{id: -1, label: -1, unknownMissing: s.Unknown == UnknownMissing}
	if j, ok := index[s.ID]; ok && s.ID != "" {
		b.id = j
	}
	if j, ok := index[s.Label]; ok && s.Label != "" {
		b.label = j
	}
	var lacking []string
	for _, f := range s.Features() {
		c := &s.Columns[f.Column]
		j, ok := index[f.Name]
		if !ok {
			lacking = append(lacking, f.Name)
			continue
		}
		switch {
		case (c.Type == Continuous || c.Type == Positive) && (!(c.Std > 0) || math.IsInf(c.Std, 0) || math.IsNaN(c.Mean) || math.IsInf(c.Mean, 0)):
			return nil, fmt.Errorf("column %s: the schema is not fitted (std %v, mean %v)", quote(c.Name), c.Std, c.Mean)
		case (c.Type == Binary || c.Type == Categorical) && len(c.Categories) == 0:
			return nil, fmt.Errorf("column %s: the schema is not fitted (no categories)", quote(c.Name))
		case c.Type == Binary && len(c.Categories) > 2:
			return nil, fmt.Errorf("column %s: a binary column with %d categories", quote(c.Name), len(c.Categories))
		}
		bf := boundFeature{Feature: f, src: j, mean: c.Mean, std: c.Std, categories: c.Categories}
		if c.Type == Categorical {
			bf.index = make(map[string]int, len(c.Categories))
			for k, v := range c.Categories {
				if _, dup := bf.index[v]; dup {
					return nil, fmt.Errorf("column %s: category %s appears twice", quote(c.Name), quote(v))
				}
				bf.index[v] = k
			}
		}
		b.features = append(b.features, bf)
		b.width += f.Width
	}
	if len(lacking) > 0 {
		return nil, fmt.Errorf("missing columns %s (of the schema's %d inputs)", quoteList(lacking, 10), len(b.features)+len(lacking))
	}
	return b, nil
}

// Width returns the number of values Encode writes.
func (b *Binding) Width() int { return b.width }

// Encode writes the model's input for record, a record of the bound
// columns, to dst[:Width]: a Continuous value x as (x − mean)/std, a
// Positive one as (log x − mean)/std, a Binary one as 0 or 1, a
// Categorical one as one-hot. A missing cell is NaN over the feature's
// width, and so is an unknown category when the schema's Unknown is
// UnknownMissing. The error of a bad cell names the column and the cell;
// the caller adds the file and line.
func (b *Binding) Encode(dst []float32, record []string) error {
	if len(dst) < b.width {
		return fmt.Errorf("encoding into %d values, want %d", len(dst), b.width)
	}
	missing := b.IsMissing
	if missing == nil {
		missing = isDefaultMissing
	}
	nan := float32(math.NaN())
	for i := range b.features {
		f := &b.features[i]
		if f.src >= len(record) {
			return fmt.Errorf("%d fields, want at least %d", len(record), f.src+1)
		}
		out := dst[f.Offset : f.Offset+f.Width]
		cell := trim(record[f.src])
		if missing(cell) {
			fill(out, nan)
			continue
		}
		switch f.Type {
		case Continuous, Positive:
			x, err := number(f.Name, f.Type, cell)
			if err != nil {
				return err
			}
			if f.Type == Positive {
				x = math.Log(x)
			}
			z := (x - f.mean) / f.std
			if math.IsNaN(z) || math.Abs(z) > math.MaxFloat32 {
				return cellError(f.Name, cell, "is too far from the training values (mean %.4g, std %.4g) to encode", f.mean, f.std)
			}
			out[0] = float32(z)
		case Binary:
			switch {
			case cell == f.categories[0]:
				out[0] = 0
			case len(f.categories) > 1 && cell == f.categories[1]:
				out[0] = 1
			case b.unknownMissing:
				out[0] = nan
			default:
				return unknownCategory(f, cell)
			}
		case Categorical:
			k, ok := f.index[cell]
			switch {
			case ok:
				fill(out, 0)
				out[k] = 1
			case b.unknownMissing:
				fill(out, nan)
			default:
				return unknownCategory(f, cell)
			}
		}
	}
	return nil
}

// unknownCategory returns the error of a cell of f that is none of its
// categories.
func unknownCategory(f *boundFeature, cell string) error {
	return cellError(f.Name, cell, "is an unknown category (the training rows had %s; or set the schema's unknown: missing)",
		quoteList(f.categories, 10))
}

// fill sets every element of dst to v.
func fill(dst []float32, v float32) {
	for i := range dst {
		dst[i] = v
	}
}

// ID returns the cell of the schema's ID column in record, or "" without
// one (in the schema or the bound columns).
func (b *Binding) ID(record []string) string { return cell(record, b.id) }

// Label returns the cell of the schema's Label column in record, or ""
// without one.
func (b *Binding) Label(record []string) string { return cell(record, b.label) }

// cell returns record[j] trimmed, or "" if there is none.
func cell(record []string, j int) string {
	if j < 0 || j >= len(record) {
		return ""
	}
	return trim(record[j])
}
