package table

import (
	"fmt"
	"math"
	"slices"

	"github.com/govae/vae/budget"
)

// maxIntCategories is the most distinct integers that make a numeric
// column Categorical.
const maxIntCategories = 10

// minUniqueRows is the fewest cells that make a column with a distinct
// value per cell id-like.
const minUniqueRows = 20

// inferRows is the most rows Infer reads.
const inferRows = 50_000

// sample returns up to n of the records of r, evenly spaced, with their
// lines: r itself if it has no more.
func (r *Rows) sample(n int) *Rows {
	N := len(r.Records)
	if N <= n {
		return r
	}
	s := *r
	s.Records, s.Lines = make([][]string, n), make([]int, n)
	for k := range n {
		i := int(int64(k) * int64(N) / int64(n))
		s.Records[k], s.Lines[k] = r.Records[i], r.Line(i)
	}
	return &s
}

// numericShare is the share of numbers that makes the text cells of a
// column mistakes rather than the column text.
const numericShare = 0.95

// Infer returns the schema of rows: a type and a note (why that type) per
// column, in order, from the column's cells that are not missing and from
// the hints. The rules, the first that applies winning:
//
//   - the ID hint: Ignored ("id, carried to outputs"); the Ignore hints:
//     Ignored; the Types hints: the type declared. The Label column is
//     typed by the rules below, but Features leaves it out.
//   - no cell: Ignored ("empty"); one distinct value: Ignored ("constant").
//   - an infinite number (Inf, or out of float64's range) in a column of
//     numbers: an error naming the cell.
//   - exactly two distinct values, numbers or text: Binary.
//   - all numbers, as strconv.ParseFloat reads them: integers with at most
//     10 distinct values, each appearing twice on average, are
//     Categorical; integers distinct in each of at least 20 cells are
//     Ignored ("unique per row (id-like)"); numbers all > 0 and skewed (the
//     sample skewness of x above 1, and that of log x smaller in absolute
//     value) are Positive; other numbers are Continuous.
//   - at least 95% numbers: an error naming the first other cell, saying to
//     fix it or declare the column categorical in a schema file.
//   - text distinct in each of at least 20 cells: Ignored ("unique per row
//     (id-like)"); text with more distinct values than MaxCategories:
//     Ignored ("free text, N distinct values"); other text: Categorical.
//
// Distinct values are compared as text, so "1" and "1.0" are two. Fit, not
// Infer, learns the categories. A table of more than 50,000 rows is typed
// from 50,000 of them, evenly spaced, as pandas types a file by chunks: Fit
// then reads every cell, and a cell that does not fit its column's type (a
// word in a column of numbers, a third value in a binary column) is its
// error. A hint naming a column rows lack, or an
// unknown type, is an error naming it.
func Infer(rows *Rows, h Hints) (*Schema, error) {
	if err := rows.check(); err != nil {
		return nil, err
	}
	if len(rows.Records) == 0 {
		return nil, fmt.Errorf("%s: no rows", rows.Name)
	}
	if err := checkHints(rows, h); err != nil {
		return nil, err
	}
	if h.MaxCategories <= 0 {
		h.MaxCategories = 100
	}
	ignore := make(map[string]bool, len(h.Ignore))
	for _, name := range h.Ignore {
		ignore[name] = true
	}
	s := &Schema{ID: h.ID, Label: h.Label, Unknown: h.Unknown, Columns: make([]Column, len(rows.Columns))}
	missing := missingFunc(rows.Missing)
	rows = rows.sample(inferRows)
	err := parallel(len(rows.Columns), func(j int) error {
		name := rows.Columns[j]
		c := Column{Name: name}
		switch t, declared := h.Types[name]; {
		case name == h.ID:
			c.Type, c.Note = Ignored, "id, carried to outputs"
		case ignore[name]:
			c.Type, c.Note = Ignored, "ignored by request"
		case declared:
			c.Type, c.Note = t, "declared"
		default:
			var err error
			if c.Type, c.Note, err = inferColumn(rows, j, h.MaxCategories, missing); err != nil {
				return err
			}
		}
		s.Columns[j] = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// checkHints returns an error if h names a column rows lack, a type that
// does not exist or an unknown policy.
func checkHints(rows *Rows, h Hints) error {
	has := make(map[string]bool, len(rows.Columns))
	for _, c := range rows.Columns {
		has[c] = true
	}
	var lacking []string
	need := func(name string) {
		if !has[name] && !slices.Contains(lacking, name) {
			lacking = append(lacking, name)
		}
	}
	if h.ID != "" {
		need(h.ID)
	}
	if h.Label != "" {
		need(h.Label)
	}
	if h.ID != "" && h.ID == h.Label {
		return fmt.Errorf("%s: column %s is both the id and the label", rows.Name, quote(h.ID))
	}
	for _, name := range h.Ignore {
		need(name)
	}
	names := make([]string, 0, len(h.Types))
	for name := range h.Types {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		need(name)
		if !slices.Contains(types, h.Types[name]) {
			return fmt.Errorf("%s: column %s: unknown type %s", rows.Name, quote(name), quote(string(h.Types[name])))
		}
	}
	if len(lacking) > 0 {
		word := "a column"
		if len(lacking) > 1 {
			word = "columns"
		}
		return fmt.Errorf("%s: the hints name %s the file lacks: %s (it has %s)",
			rows.Name, word, quoteList(lacking, 10), quoteList(rows.Columns, 10))
	}
	if err := checkUnknown(h.Unknown); err != nil {
		return fmt.Errorf("%s: %w", rows.Name, err)
	}
	return nil
}

// cellStats are what inferColumn learns of a column in one pass.
type cellStats struct {
	n, numbers     int // cells not missing, numbers among them
	firstText      int // record of the first cell not a number; -1: none
	firstInf       int // record of the first infinite number; -1: none
	allInt, allPos bool
	distinct       map[string]struct{} // up to a limit of values
	overflow       bool                // more distinct values than the limit
	sum, logSum    float64
}

// inferColumn returns the type of column j by the rules of Infer, and why.
func inferColumn(rows *Rows, j, maxCategories int, missing func(string) bool) (Type, string, error) {
	name := rows.Columns[j]
	limit := max(maxCategories, maxIntCategories) + 1
	st := cellStats{firstText: -1, firstInf: -1, allInt: true, allPos: true, distinct: make(map[string]struct{})}
	for i, rec := range rows.Records {
		cell := rec[j]
		if missing(cell) {
			continue
		}
		st.n++
		if !st.overflow {
			if _, ok := st.distinct[cell]; !ok {
				if len(st.distinct) == limit {
					st.overflow = true
				} else {
					st.distinct[cell] = struct{}{}
				}
			}
		}
		v, ok := parseNumber(cell)
		if !ok || math.IsNaN(v) {
			if st.firstText < 0 {
				st.firstText = i
			}
			continue
		}
		st.numbers++
		if math.IsInf(v, 0) {
			if st.firstInf < 0 {
				st.firstInf = i
			}
			continue
		}
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			st.allInt = false
		}
		if v <= 0 {
			st.allPos = false
		} else {
			st.logSum += math.Log(v)
		}
		st.sum += v
	}
	distinct := len(st.distinct)
	// exact returns the number of distinct values, counted again if it
	// went over the limit.
	exact := func() (int, error) {
		if !st.overflow {
			return distinct, nil
		}
		return countDistinct(rows, j, missing)
	}
	switch {
	case st.n == 0:
		return Ignored, "empty", nil
	case distinct == 1 && !st.overflow:
		return Ignored, "constant", nil
	case st.numbers == st.n && st.firstInf >= 0:
		i := st.firstInf
		return "", "", fmt.Errorf("%s:%d: %w", rows.Name, rows.Line(i), cellError(name, rows.Records[i][j], "is not a finite number"))
	case distinct == 2 && !st.overflow:
		return Binary, "two values", nil
	case st.numbers == st.n:
		if st.allInt && distinct <= maxIntCategories && !st.overflow && st.n >= 2*distinct {
			return Categorical, fmt.Sprintf("integers, %d values", distinct), nil
		}
		if st.allInt && st.n >= minUniqueRows {
			d, err := exact()
			if err != nil {
				return "", "", err
			}
			if d == st.n {
				return Ignored, "unique per row (id-like)", nil
			}
		}
		if st.allPos {
			n := float64(st.n)
			gx, glog := skewness(rows, j, missing, st.sum/n, st.logSum/n)
			if gx > 1 && math.Abs(glog) < math.Abs(gx) {
				return Positive, fmt.Sprintf("all > 0, skewed (skewness %.2g, of log %.2g)", gx, glog), nil
			}
		}
		return Continuous, "", nil
	case float64(st.numbers) >= numericShare*float64(st.n):
		i := st.firstText
		return "", "", fmt.Errorf("%s:%d: %w, yet %.0f%% of the column are numbers: fix the cell, or declare the column categorical in a schema file",
			rows.Name, rows.Line(i), cellError(name, rows.Records[i][j], "is not a number"), math.Floor(100*float64(st.numbers)/float64(st.n)))
	}
	d, err := exact()
	if err != nil {
		return "", "", err
	}
	switch {
	case st.n >= minUniqueRows && d == st.n:
		return Ignored, "unique per row (id-like)", nil
	case d > maxCategories:
		return Ignored, fmt.Sprintf("free text, %d distinct values", d), nil
	}
	return Categorical, fmt.Sprintf("%d categories", d), nil
}

// countDistinct returns the number of distinct cells of column j, by
// sorting a copy of them.
func countDistinct(rows *Rows, j int, missing func(string) bool) (int, error) {
	n := int64(len(rows.Records))
	if err := budget.Check(fmt.Sprintf("counting the values of column %s of %s (%d rows)", quote(rows.Columns[j]), rows.Name, n), budget.Mul(n, 16)); err != nil {
		return 0, err
	}
	cells := make([]string, 0, n)
	for _, rec := range rows.Records {
		if !missing(rec[j]) {
			cells = append(cells, rec[j])
		}
	}
	slices.Sort(cells)
	return len(slices.Compact(cells)), nil
}

// skewness returns the sample skewness (the third central moment over the
// second to the power 3/2) of the numbers of column j, all > 0, and that of
// their logarithms, given the means of both.
func skewness(rows *Rows, j int, missing func(string) bool, mean, logMean float64) (gx, glog float64) {
	var n, m2, m3, l2, l3 float64
	for _, rec := range rows.Records {
		if missing(rec[j]) {
			continue
		}
		v, _ := parseNumber(rec[j])
		d, l := v-mean, math.Log(v)-logMean
		n++
		m2 += d * d
		m3 += d * d * d
		l2 += l * l
		l3 += l * l * l
	}
	// (m3/n) / (m2/n)^1.5 = √n·m3 / m2^1.5
	g := func(m2, m3 float64) float64 {
		if m2 <= 0 || math.IsInf(m2, 0) {
			return 0
		}
		return math.Sqrt(n) * m3 / math.Pow(m2, 1.5)
	}
	return g(m2, m3), g(l2, l3)
}
