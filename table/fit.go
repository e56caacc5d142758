package table

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Fit learns the preprocessing of every column that is not Ignored from
// rows, the training rows: the fraction of cells missing, and
//
//   - Continuous: the mean and the population standard deviation (the
//     root mean square deviation, dividing by n) of the numbers; a
//     standard deviation of 0 becomes 1;
//   - Positive: the same, of the numbers' logarithms;
//   - Binary: the two values, sorted, read as 0 and 1;
//   - Categorical: the values, sorted (numerically when all are numbers),
//     in the order of the one-hot encoding.
//
// rows must have the schema's columns, in any order. A cell that is not a
// finite number in a Continuous or Positive column, one ≤ 0 in a Positive
// column and a third value in a Binary column are errors naming the file,
// line, column and cell; so is a column that is not Ignored but has no
// values. The schema is unchanged on error.
func (s *Schema) Fit(rows *Rows) error {
	if err := rows.check(); err != nil {
		return err
	}
	index := make(map[string]int, len(rows.Columns))
	for j, name := range rows.Columns {
		index[name] = j
	}
	var lacking []string
	for _, c := range s.Columns {
		if _, ok := index[c.Name]; !ok && c.Type != Ignored {
			lacking = append(lacking, c.Name)
		}
	}
	if len(lacking) > 0 {
		return fmt.Errorf("%s: missing columns %s", rows.Name, quoteList(lacking, 10))
	}
	missing := missingFunc(rows.Missing)
	cols := slices.Clone(s.Columns)
	err := parallel(len(cols), func(i int) error {
		c := &cols[i]
		c.Mean, c.Std, c.Integer, c.Categories, c.Missing = 0, 0, false, nil, 0
		if c.Type == Ignored {
			return nil
		}
		return fitColumn(c, rows, index[c.Name], missing)
	})
	if err != nil {
		return err
	}
	s.Columns = cols
	return nil
}

// fitColumn fits c to column j of rows.
func fitColumn(c *Column, rows *Rows, j int, missing func(string) bool) error {
	switch c.Type {
	case Continuous, Positive:
		return fitNumbers(c, rows, j, missing)
	case Binary, Categorical:
		return fitCategories(c, rows, j, missing)
	}
	return fmt.Errorf("%s: column %s: unknown type %s", rows.Name, quote(c.Name), quote(string(c.Type)))
}

// noValues returns the error of a column c without values to fit.
func noValues(c *Column, rows *Rows) error {
	return fmt.Errorf("%s: column %s (%s) has no values to fit: declare it ignored", rows.Name, quote(c.Name), c.Type)
}

// fitNumbers fits c, Continuous or Positive, to column j of rows.
func fitNumbers(c *Column, rows *Rows, j int, missing func(string) bool) error {
	var w welford
	nmissing, integer, maxAbs := 0, true, 0.0
	for i, rec := range rows.Records {
		cell := rec[j]
		if missing(cell) {
			nmissing++
			continue
		}
		x, err := number(c.Name, c.Type, cell)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", rows.Name, rows.Line(i), err)
		}
		integer = integer && x == math.Trunc(x) && math.Abs(x) <= 1<<53
		if c.Type == Positive {
			x = math.Log(x)
		}
		w.add(x)
		maxAbs = max(maxAbs, math.Abs(x))
	}
	if w.n == 0 {
		return noValues(c, rows)
	}
	mean, std := w.mean, w.std()
	if math.IsInf(mean, 0) || math.IsInf(std, 0) || math.IsNaN(std) {
		// The squares overflowed: again, on the numbers scaled into [-1, 1].
		var s welford
		for _, rec := range rows.Records {
			if !missing(rec[j]) {
				x, _ := parseNumber(rec[j])
				if c.Type == Positive {
					x = math.Log(x)
				}
				s.add(x / maxAbs)
			}
		}
		mean, std = s.mean*maxAbs, s.std()*maxAbs
	}
	if !(std > 0) || math.IsInf(std, 0) {
		std = 1
	}
	c.Mean, c.Std, c.Integer = mean, std, integer
	c.Missing = float64(nmissing) / float64(len(rows.Records))
	return nil
}

// welford accumulates the mean and the sum of squared deviations of
// numbers, by Welford's algorithm.
type welford struct {
	n        int
	mean, m2 float64
}

func (w *welford) add(x float64) {
	w.n++
	d := x - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (x - w.mean)
}

// std returns the population standard deviation of the numbers added.
func (w *welford) std() float64 { return math.Sqrt(w.m2 / float64(w.n)) }

// fitCategories fits c, Binary or Categorical, to column j of rows.
func fitCategories(c *Column, rows *Rows, j int, missing func(string) bool) error {
	nmissing := 0
	seen := make(map[string]struct{})
	for i, rec := range rows.Records {
		cell := rec[j]
		if missing(cell) {
			nmissing++
			continue
		}
		if _, ok := seen[cell]; ok {
			continue
		}
		if c.Type == Binary && len(seen) == 2 {
			two := sortCategories(keys(seen))
			return fmt.Errorf("%s:%d: %w", rows.Name, rows.Line(i),
				cellError(c.Name, cell, "is a third value in a binary column (of %s and %s)", quote(two[0]), quote(two[1])))
		}
		seen[cell] = struct{}{}
	}
	if len(seen) == 0 {
		return noValues(c, rows)
	}
	c.Categories = sortCategories(keys(seen))
	c.Missing = float64(nmissing) / float64(len(rows.Records))
	return nil
}

// number returns cell as a number of the column of the given name and type
// (Continuous or Positive), or the error saying why it is not one.
func number(name string, typ Type, cell string) (float64, error) {
	x, ok := parseNumber(cell)
	switch {
	case !ok || math.IsNaN(x):
		return 0, cellError(name, cell, "is not a number")
	case math.IsInf(x, 0):
		return 0, cellError(name, cell, "is not a finite number")
	case typ == Positive && x <= 0:
		return 0, cellError(name, cell, "is not > 0, in a positive column")
	}
	return x, nil
}

// keys returns the keys of m, in no order.
func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// sortCategories sorts values numerically when all are numbers, else
// lexically, and returns them.
func sortCategories(values []string) []string {
	nums := make(map[string]float64, len(values))
	for _, v := range values {
		x, ok := parseNumber(v)
		if !ok || math.IsNaN(x) {
			slices.Sort(values)
			return values
		}
		nums[v] = x
	}
	slices.SortFunc(values, func(a, b string) int {
		return cmp.Or(cmp.Compare(nums[a], nums[b]), cmp.Compare(a, b))
	})
	return values
}
