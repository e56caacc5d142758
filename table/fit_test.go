package table

import (
	"math"
	"slices"
	"strconv"
	"testing"
)

// near reports whether a and b agree to 1e-9, relatively.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestFit(t *testing.T) {
	tests := []struct {
		name       string
		typ        Type
		cells      []string
		mean, std  float64
		integer    bool
		categories []string
		missing    float64
	}{
		// mean 5, deviations ±3, ±1: population variance (9+1+1+9)/4 = 5
		{"continuous", Continuous, []string{"2", "4", "6", "8"}, 5, math.Sqrt(5), true, nil, 0},
		{"continuous with missing", Continuous, []string{"1.5", "NA", "2.5", ""}, 2, 0.5, false, nil, 0.5},
		{"constant", Continuous, []string{"3", "3"}, 3, 1, true, nil, 0},
		// log 1, log e², log e⁴ = 0, 2, 4: mean 2, variance 8/3
		{"positive", Positive, []string{"1", strE(2), strE(4)}, 2, math.Sqrt(8.0 / 3), false, nil, 0},
		{"binary", Binary, []string{"yes", "no", "yes", "?"}, 0, 0, false, []string{"no", "yes"}, 0.25},
		{"binary numbers", Binary, []string{"1", "0"}, 0, 0, false, []string{"0", "1"}, 0},
		{"binary, one value", Binary, []string{"t", "t"}, 0, 0, false, []string{"t"}, 0},
		{"categorical text", Categorical, []string{"b", "c", "a", "b"}, 0, 0, false, []string{"a", "b", "c"}, 0},
		{"categorical numbers", Categorical, []string{"10", "9", "-1", "2.5", "10"}, 0, 0, false, []string{"-1", "2.5", "9", "10"}, 0},
		{"categorical mixed", Categorical, []string{"10", "9", "x"}, 0, 0, false, []string{"10", "9", "x"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Schema{Columns: []Column{{Name: "x", Type: tt.typ}}}
			if err := s.Fit(column(tt.cells...)); err != nil {
				t.Fatal(err)
			}
			c := s.Columns[0]
			if !near(c.Mean, tt.mean) || !near(c.Std, tt.std) || c.Integer != tt.integer {
				t.Errorf("mean %v, std %v, integer %v, want %v, %v, %v", c.Mean, c.Std, c.Integer, tt.mean, tt.std, tt.integer)
			}
			if !slices.Equal(c.Categories, tt.categories) {
				t.Errorf("categories %q, want %q", c.Categories, tt.categories)
			}
			if !near(c.Missing, tt.missing) {
				t.Errorf("missing %v, want %v", c.Missing, tt.missing)
			}
		})
	}
}

// strE returns e^x as a cell.
func strE(x float64) string { return strconv.FormatFloat(math.Exp(x), 'g', -1, 64) }

func TestFitErrors(t *testing.T) {
	tests := []struct {
		name  string
		typ   Type
		cells []string
		want  string
	}{
		{"text", Continuous, []string{"1", "2", "abc"}, `data.csv:4: column "x": "abc" is not a number`},
		{"Inf", Continuous, []string{"1", "Inf"}, `data.csv:3: column "x": "Inf" is not a finite number`},
		{"NaN not missing", Continuous, []string{"1", "NaN"}, ``}, // NaN is missing by default
		{"zero", Positive, []string{"1", "0"}, `data.csv:3: column "x": "0" is not > 0, in a positive column`},
		{"negative", Positive, []string{"-2", "1"}, `data.csv:2: column "x": "-2" is not > 0, in a positive column`},
		{"third value", Binary, []string{"a", "b", "a", "c"}, `data.csv:5: column "x": "c" is a third value in a binary column (of "a" and "b")`},
		{"no values", Categorical, []string{"", "NA"}, `data.csv: column "x" (categorical) has no values to fit: declare it ignored`},
		{"bad type", "numeric", []string{"1"}, `data.csv: column "x": unknown type "numeric"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Schema{Columns: []Column{{Name: "x", Type: tt.typ}}}
			err := s.Fit(column(tt.cells...))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n%v, want\n%s", err, tt.want)
			}
			if s.Columns[0].Std != 0 || s.Columns[0].Categories != nil {
				t.Error("the schema changed on error")
			}
		})
	}
}

// Fit takes the columns by name and needs all but the ignored ones.
func TestFitColumns(t *testing.T) {
	s := &Schema{Columns: []Column{{Name: "a", Type: Continuous}, {Name: "b", Type: Ignored}, {Name: "c", Type: Binary}}}
	rows := &Rows{Name: "r.csv", Columns: []string{"c", "extra", "a"}, Records: [][]string{{"x", "?", "1"}, {"y", "?", "3"}}}
	if err := s.Fit(rows); err != nil {
		t.Fatal(err)
	}
	if s.Columns[0].Mean != 2 || !slices.Equal(s.Columns[2].Categories, []string{"x", "y"}) {
		t.Errorf("fitted %+v", s.Columns)
	}
	rows.Columns = []string{"b", "extra", "z"}
	if err := s.Fit(rows); err == nil || err.Error() != `r.csv: missing columns "a", "c"` {
		t.Errorf("error %v", err)
	}
}
