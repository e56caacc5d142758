package table

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// column returns rows of one column "x" with the given cells.
func column(cells ...string) *Rows {
	rows := &Rows{Name: "data.csv", Columns: []string{"x"}}
	for _, c := range cells {
		rows.Records = append(rows.Records, []string{c})
	}
	return rows
}

// seq returns n cells made by f of 0, 1, …, n-1.
func seq(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestInfer(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		hints Hints
		typ   Type
		note  string // a prefix of the note
	}{
		{"empty", []string{"", "NA", "?"}, Hints{}, Ignored, "empty"},
		{"constant", []string{"a", "a", "", "a"}, Hints{}, Ignored, "constant"},
		{"constant number", []string{"1", "1.0", "1"}, Hints{}, Binary, "two values"},
		{"binary numbers", []string{"0", "1", "1", "0", "NA"}, Hints{}, Binary, "two values"},
		{"binary text", []string{"yes", "no", "no"}, Hints{}, Binary, "two values"},
		{"binary floats", []string{"0.5", "2.5", "2.5"}, Hints{}, Binary, ""},
		{"small integers", []string{"1", "2", "3", "1", "2", "3", "3"}, Hints{}, Categorical, "integers, 3 values"},
		{"few integers, each once", []string{"1", "2", "5", "7"}, Hints{}, Continuous, ""},
		{"ten integers", seq(40, func(i int) string { return strconv.Itoa(i % 10) }), Hints{}, Categorical, "integers, 10 values"},
		{"eleven integers", seq(44, func(i int) string { return strconv.Itoa(i % 11) }), Hints{}, Continuous, ""},
		{"integer ids", seq(25, func(i int) string { return strconv.Itoa(1000 + 7*i) }), Hints{}, Ignored, "unique per row (id-like)"},
		{"integer ids, many", seq(500, func(i int) string { return strconv.Itoa(i) }), Hints{}, Ignored, "unique per row (id-like)"},
		{"unique integers, few rows", seq(15, func(i int) string { return strconv.Itoa(i * i) }), Hints{}, Continuous, ""},
		{"unique floats", seq(300, func(i int) string { return strconv.FormatFloat(float64(i)/7, 'g', -1, 64) }), Hints{}, Continuous, ""},
		{"symmetric positive", seq(100, func(i int) string { return strconv.Itoa(100 + i%17) }), Hints{}, Continuous, ""},
		{"skewed positive", seq(200, func(i int) string { return strconv.FormatFloat(math.Exp(float64(i%20)/4), 'g', 6, 64) }), Hints{}, Positive, "all > 0, skewed"},
		{"skewed with a zero", append(seq(200, func(i int) string { return strconv.FormatFloat(math.Exp(float64(i%20)/4), 'g', 6, 64) }), "0"), Hints{}, Continuous, ""},
		{"numbers with missing", []string{"1.5", "", "2.5", "NA", "3.25"}, Hints{}, Continuous, ""},
		{"mixed text and numbers", []string{"1", "2", "x", "y", "3"}, Hints{}, Categorical, "5 categories"},
		{"text categories", []string{"red", "green", "blue", "red"}, Hints{}, Categorical, "3 categories"},
		{"text ids", seq(30, func(i int) string { return fmt.Sprintf("user-%d", i) }), Hints{}, Ignored, "unique per row (id-like)"},
		{"text unique, few rows", seq(10, func(i int) string { return fmt.Sprintf("u%d", i) }), Hints{}, Categorical, "10 categories"},
		{"free text", seq(300, func(i int) string { return fmt.Sprintf("w%d", i%150) }), Hints{}, Ignored, "free text, 150 distinct values"},
		{"MaxCategories", seq(30, func(i int) string { return fmt.Sprintf("w%d", i%6) }), Hints{MaxCategories: 5}, Ignored, "free text, 6 distinct values"},
		{"categories at the limit", seq(300, func(i int) string { return fmt.Sprintf("w%d", i%100) }), Hints{}, Categorical, "100 categories"},
		{"declared", []string{"1", "2", "3"}, Hints{Types: map[string]Type{"x": Categorical}}, Categorical, "declared"},
		{"declared over an error", []string{"1", "2", "Inf"}, Hints{Types: map[string]Type{"x": Categorical}}, Categorical, "declared"},
		{"ignored by hint", []string{"1", "2", "3"}, Hints{Ignore: []string{"x"}}, Ignored, "ignored by request"},
		{"id", []string{"1", "2", "3"}, Hints{ID: "x"}, Ignored, "id"},
		{"label typed", []string{"a", "b", "a"}, Hints{Label: "x"}, Binary, ""},
		{"Inf as text", []string{"Inf", "a", "b"}, Hints{}, Categorical, "3 categories"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Infer(column(tt.cells...), tt.hints)
			if err != nil {
				t.Fatal(err)
			}
			c := s.Columns[0]
			if c.Type != tt.typ || !strings.HasPrefix(c.Note, tt.note) {
				t.Errorf("%s (%q), want %s (%q…)", c.Type, c.Note, tt.typ, tt.note)
			}
		})
	}
}

func TestInferErrors(t *testing.T) {
	many := seq(40, strconv.Itoa)
	many[16] = "abc"
	tests := []struct {
		name  string
		rows  *Rows
		hints Hints
		want  string
	}{
		{"text in numbers", column(many...), Hints{},
			`data.csv:18: column "x": "abc" is not a number, yet 97% of the column are numbers: fix the cell, or declare the column categorical in a schema file`},
		{"Inf", column("1.5", "2", "-Inf", "3"), Hints{}, `data.csv:4: column "x": "-Inf" is not a finite number`},
		{"out of range", column("1.5", "2", "1e999", "3"), Hints{}, `data.csv:4: column "x": "1e999" is not a finite number`},
		{"lacking hint", column("1", "2"), Hints{ID: "id", Ignore: []string{"y"}, Types: map[string]Type{"z": Binary, "x": Continuous}},
			`data.csv: the hints name columns the file lacks: "id", "y", "z" (it has "x")`},
		{"bad type", column("1", "2"), Hints{Types: map[string]Type{"x": "numeric"}}, `data.csv: column "x": unknown type "numeric"`},
		{"id is label", column("1", "2"), Hints{ID: "x", Label: "x"}, `data.csv: column "x" is both the id and the label`},
		{"bad policy", column("1", "2"), Hints{Unknown: "skip"}, `data.csv: unknown-category policy "skip" (want "error" or "missing")`},
		{"no rows", column(), Hints{}, "data.csv: no rows"},
		{"ragged rows", &Rows{Name: "r.csv", Columns: []string{"a", "b"}, Records: [][]string{{"1", "2"}, {"3"}}, Lines: []int{2, 9}}, Hints{},
			"r.csv:9: 1 fields, the header has 2"},
		{"duplicate columns", &Rows{Name: "r.csv", Columns: []string{"a", "a"}, Records: [][]string{{"1", "2"}}}, Hints{},
			`r.csv: column "a" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Infer(tt.rows, tt.hints)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n%v, want\n%s", err, tt.want)
			}
		})
	}
}

// Infer types every column of a file, in order, with the schema's roles.
func TestInferTable(t *testing.T) {
	rows, err := read("id,age,sex,label\n1,30,M,a\n2,40,F,b\n3,35,F,a\n", "t.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Infer(rows, Hints{ID: "id", Label: "label", Unknown: UnknownMissing})
	if err != nil {
		t.Fatal(err)
	}
	want := []Type{Ignored, Continuous, Binary, Binary}
	for i, c := range s.Columns {
		if c.Name != rows.Columns[i] || c.Type != want[i] {
			t.Errorf("column %d: %s %s, want %s %s", i, c.Name, c.Type, rows.Columns[i], want[i])
		}
	}
	if s.ID != "id" || s.Label != "label" || s.Unknown != UnknownMissing {
		t.Errorf("roles %q %q %q", s.ID, s.Label, s.Unknown)
	}
}
