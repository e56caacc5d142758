package table

import (
	"fmt"
	"math"
	"strconv"
)

// Decode turns values, one row of the model's output in the encoded space
// (Width values), into one cell per Feature in the original units, appended
// to dst[:0]:
//
//   - Continuous: the standardised value z back as z·std + mean;
//   - Positive: exp(z·std + mean);
//   - Binary: the value read as 1 when z, the probability of it, is
//     above 0.5, else the value read as 0;
//   - Categorical: the category of the largest value (probabilities or
//     logits alike).
//
// Numbers are formatted by strconv.FormatFloat with 7 significant digits,
// or as integers for a column whose training values were all integers. A
// NaN (a missing value) decodes as "".
func (s *Schema) Decode(dst []string, values []float32) ([]string, error) {
	fs := s.Features()
	w := 0
	for _, f := range fs {
		w += f.Width
	}
	if len(values) != w {
		return dst, fmt.Errorf("decoding %d values, want %d", len(values), w)
	}
	dst = dst[:0]
	for _, f := range fs {
		c := &s.Columns[f.Column]
		v := values[f.Offset : f.Offset+f.Width]
		dst = append(dst, decode(c, v))
	}
	return dst, nil
}

// decode returns the cell of column c for its values v.
func decode(c *Column, v []float32) string {
	switch c.Type {
	case Continuous, Positive:
		z := float64(v[0])
		if math.IsNaN(z) {
			return ""
		}
		std := c.Std
		if std == 0 {
			std = 1
		}
		x := z*std + c.Mean
		if c.Type == Positive {
			x = math.Exp(x)
		}
		if c.Integer && !math.IsInf(x, 0) {
			x = math.Round(x)
			if c.Type == Positive {
				x = max(x, 1)
			}
			if math.Abs(x) < 1e15 {
				return strconv.FormatFloat(x, 'f', -1, 64)
			}
		}
		return strconv.FormatFloat(x, 'g', 7, 64)
	case Binary:
		p := v[0]
		switch {
		case math.IsNaN(float64(p)) || len(c.Categories) == 0:
			return ""
		case p > 0.5 && len(c.Categories) > 1:
			return c.Categories[1]
		}
		return c.Categories[0]
	case Categorical:
		best := -1
		for k, x := range v {
			if !math.IsNaN(float64(x)) && (best < 0 || x > v[best]) {
				best = k
			}
		}
		if best < 0 || best >= len(c.Categories) {
			return ""
		}
		return c.Categories[best]
	}
	return ""
}
