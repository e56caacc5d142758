package table

import (
	"strconv"
	"strings"
	"testing"
)

// A large table is typed from an even sample of its rows; Fit still reads
// every cell and names one that does not fit the type.
func TestInferSample(t *testing.T) {
	n := inferRows*2 + 1
	rows := &Rows{Name: "big.csv", Columns: []string{"x"}, Records: make([][]string, n)}
	for i := range rows.Records {
		rows.Records[i] = []string{strconv.Itoa(i%1000) + ".5"}
	}
	if s := rows.sample(inferRows); len(s.Records) != inferRows || s.Line(1) != 4 {
		t.Fatalf("sample of %d rows: %d rows, second on line %d; want %d, line 4", n, len(s.Records), s.Line(1), inferRows)
	}
	rows.Records[1] = []string{"oops"} // not in the sample: rows 0, 2, 4, …
	s, err := Infer(rows, Hints{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Columns[0].Type != Continuous {
		t.Fatalf("type %s, want continuous", s.Columns[0].Type)
	}
	err = s.Fit(rows)
	if err == nil || !strings.Contains(err.Error(), "big.csv:3") || !strings.Contains(err.Error(), "oops") {
		t.Errorf("Fit: %v, want an error naming big.csv:3 and the cell", err)
	}
}
