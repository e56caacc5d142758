package table

// A Feature is a column of the model's input: Width values of an encoded
// row, from Offset.
type Feature struct {
	Name   string
	Type   Type
	Column int // index in Schema.Columns
	Offset int // of its first value in an encoded row
	Width  int // 1, or for Categorical the number of categories
}

// Features returns the model's inputs: the columns that are not Ignored,
// not the ID and not the Label, in the file's order. A Categorical
// feature's width is known after Fit.
func (s *Schema) Features() []Feature {
	var fs []Feature
	off := 0
	for i, c := range s.Columns {
		if !s.isInput(c) {
			continue
		}
		w := 1
		if c.Type == Categorical {
			w = len(c.Categories)
		}
		fs = append(fs, Feature{Name: c.Name, Type: c.Type, Column: i, Offset: off, Width: w})
		off += w
	}
	return fs
}

// isInput reports whether c is a model input.
func (s *Schema) isInput(c Column) bool {
	switch c.Type {
	case Continuous, Positive, Binary, Categorical:
		return c.Name != s.ID && c.Name != s.Label
	}
	return false
}

// Width returns the number of values of an encoded row: the sum of the
// features' widths.
func (s *Schema) Width() int {
	w := 0
	for _, f := range s.Features() {
		w += f.Width
	}
	return w
}
