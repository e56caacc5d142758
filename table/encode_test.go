package table

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/govae/vae/budget"
)

// fitted returns the schema inferred and fitted from data, a CSV named
// data.csv.
func fitted(t *testing.T, data string, h Hints) (*Schema, *Rows) {
	t.Helper()
	rows, err := read(data, "data.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Infer(rows, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fit(rows); err != nil {
		t.Fatal(err)
	}
	return s, rows
}

// equalNaN reports whether a and b are equal to 1e-6, NaN equal to NaN.
func equalNaN(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		if math.IsNaN(float64(x)) || math.IsNaN(float64(y)) {
			return math.IsNaN(float64(x)) && math.IsNaN(float64(y))
		}
		return math.Abs(float64(x-y)) < 1e-6
	})
}

const mixed = `id,height,income,smoker,color,label
a,1.5,1,no,red,x
b,2.5,10,yes,green,y
c,NA,100,no,blue,x
d,3.5,1000,,red,y
`

func TestEncodeDecode(t *testing.T) {
	s, rows := fitted(t, mixed, Hints{ID: "id", Label: "label", Types: map[string]Type{"income": Positive}})
	fs := s.Features()
	wantFeatures := []Feature{
		{Name: "height", Type: Continuous, Column: 1, Offset: 0, Width: 1},
		{Name: "income", Type: Positive, Column: 2, Offset: 1, Width: 1},
		{Name: "smoker", Type: Binary, Column: 3, Offset: 2, Width: 1},
		{Name: "color", Type: Categorical, Column: 4, Offset: 3, Width: 3},
	}
	if !slices.Equal(fs, wantFeatures) {
		t.Fatalf("features %+v,\nwant %+v", fs, wantFeatures)
	}
	if s.Width() != 6 {
		t.Fatalf("width %d", s.Width())
	}
	x, err := s.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	// height: mean 2.5, std √(2/3); income: log 10^k, mean 1.5·ln 10, std √1.25·ln 10
	h, inc := math.Sqrt(2.0/3), math.Sqrt(1.25)
	nan := float32(math.NaN())
	want := []float32{
		float32(-1 / h), float32(-1.5 / inc), 0, 0, 0, 1,
		0, float32(-0.5 / inc), 1, 0, 1, 0,
		nan, float32(0.5 / inc), 0, 1, 0, 0,
		float32(1 / h), float32(1.5 / inc), nan, 0, 0, 1,
	}
	if !equalNaN(x, want) {
		t.Fatalf("encoded\n%v, want\n%v", x, want)
	}
	// Decoding the encoding gives the cells back.
	wantCells := [][]string{{"1.5", "1", "no", "red"}, {"2.5", "10", "yes", "green"}, {"", "100", "no", "blue"}, {"3.5", "1000", "", "red"}}
	var cells []string
	for i, wc := range wantCells {
		cells, err = s.Decode(cells, x[i*6:(i+1)*6])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cells, wc) {
			t.Errorf("row %d decoded %q, want %q", i, cells, wc)
		}
	}
}

func TestDecode(t *testing.T) {
	s := &Schema{Columns: []Column{
		{Name: "c", Type: Continuous, Mean: 10, Std: 2},
		{Name: "i", Type: Continuous, Mean: 10, Std: 2, Integer: true},
		{Name: "p", Type: Positive, Mean: 0, Std: 1, Integer: true},
		{Name: "q", Type: Positive, Mean: 1, Std: 0.5},
		{Name: "b", Type: Binary, Categories: []string{"F", "M"}},
		{Name: "k", Type: Categorical, Categories: []string{"a", "b", "c"}},
	}}
	nan := float32(math.NaN())
	tests := []struct {
		values []float32
		want   []string
	}{
		{[]float32{0, 0, 0, 0, 0.2, 0.1, 0.7, 0.2}, []string{"10", "10", "1", "2.718282", "F", "b"}},
		{[]float32{1.25, 1.3, -5, 2, 0.9, -3, 1, 4}, []string{"12.5", "13", "1", "7.389056", "M", "c"}},
		{[]float32{0.1, -0.7, 2, -2, 0.5, 5, nan, 1}, []string{"10.2", "9", "7", "1", "F", "a"}},
		{[]float32{nan, nan, nan, nan, nan, nan, nan, nan}, []string{"", "", "", "", "", ""}},
	}
	for _, tt := range tests {
		got, err := s.Decode(nil, tt.values)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Decode(%v) = %q, want %q", tt.values, got, tt.want)
		}
	}
	if _, err := s.Decode(nil, make([]float32, 7)); err == nil || err.Error() != "decoding 7 values, want 8" {
		t.Errorf("Decode of 7 values: %v", err)
	}
}

func TestBind(t *testing.T) {
	s, _ := fitted(t, mixed, Hints{ID: "id", Label: "label"})
	// Reordered, with an extra column, without the id.
	b, err := s.Bind([]string{"color", "extra", "smoker", "income", "height", "label"})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, b.Width())
	if err := b.Encode(dst, []string{"blue", "zzz", "yes", "10", "2.5", "y"}); err != nil {
		t.Fatal(err)
	}
	want, err := s.Encode(&Rows{Name: "x", Columns: s.columnNames(), Records: [][]string{{"q", "2.5", "10", "yes", "blue", "y"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !equalNaN(dst, want) {
		t.Errorf("encoded %v, want %v", dst, want)
	}
	if b.ID([]string{"blue"}) != "" || b.Label([]string{"blue", "zzz", "yes", "10", "2.5", " y "}) != "y" {
		t.Error("ID or Label wrong")
	}
	b, err = s.Bind(s.columnNames())
	if err != nil {
		t.Fatal(err)
	}
	if got := b.ID([]string{" q ", "1"}); got != "q" {
		t.Errorf("ID = %q", got)
	}

	_, err = s.Bind([]string{"color", "label", "height"})
	if err == nil || err.Error() != `missing columns "income", "smoker" (of the schema's 4 inputs)` {
		t.Errorf("error %v", err)
	}
	if _, err := (&Schema{Columns: []Column{{Name: "a", Type: Continuous}}}).Bind([]string{"a"}); err == nil ||
		!strings.Contains(err.Error(), "not fitted") {
		t.Errorf("unfitted schema: %v", err)
	}
}

// columnNames returns the names of the schema's columns.
func (s *Schema) columnNames() []string {
	var out []string
	for _, c := range s.Columns {
		out = append(out, c.Name)
	}
	return out
}

func TestEncodeErrors(t *testing.T) {
	s, _ := fitted(t, mixed, Hints{ID: "id", Label: "label"})
	tests := []struct {
		name, data, want string
	}{
		{"text", "id,height,income,smoker,color\na,1,1,no,red\nb,abc,1,no,red\n", `data.csv:3: column "height": "abc" is not a number`},
		{"Inf", "id,height,income,smoker,color\na,1,1,no,red\nb,+Inf,1,no,red\n", `data.csv:3: column "height": "+Inf" is not a finite number`},
		{"unknown binary", "height,income,smoker,color\n1,1,maybe,red\n",
			`data.csv:2: column "smoker": "maybe" is an unknown category (the training rows had "no", "yes"; or set the schema's unknown: missing)`},
		{"unknown category", "height,income,smoker,color\n1,1,no,red\n1,1,no,purple\n",
			`data.csv:3: column "color": "purple" is an unknown category (the training rows had "blue", "green", "red"; or set the schema's unknown: missing)`},
		{"missing column", "height,smoker,color\n1,no,red\n", `data.csv: missing columns "income" (of the schema's 4 inputs)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := read(tt.data, "data.csv", Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Encode(rows)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n%v, want\n%s", err, tt.want)
			}
		})
	}
	b, _ := s.Bind(s.columnNames())
	if err := b.Encode(make([]float32, 5), make([]string, 6)); err == nil {
		t.Error("no error for a short dst")
	}
	if err := b.Encode(make([]float32, 6), make([]string, 2)); err == nil {
		t.Error("no error for a short record")
	}
}

func TestUnknownMissing(t *testing.T) {
	s, _ := fitted(t, mixed, Hints{ID: "id", Label: "label", Unknown: UnknownMissing})
	rows, err := read("height,income,smoker,color\n1.5,1,maybe,purple\n", "new.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := s.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	if !equalNaN(x[2:], []float32{nan, nan, nan, nan}) {
		t.Errorf("encoded %v, want NaN for the unknown categories", x)
	}
	s.Unknown = "drop"
	if _, err := s.Encode(rows); err == nil {
		t.Error("no error for an unknown policy")
	}
}

// The missing cells of the rows are those of their Options.
func TestEncodeMissing(t *testing.T) {
	s := &Schema{Columns: []Column{{Name: "a", Type: Continuous, Mean: 0, Std: 1}}}
	rows := &Rows{Name: "m.csv", Columns: []string{"a"}, Records: [][]string{{"-"}, {"NA"}}, Missing: []string{"-"}}
	if _, err := s.Encode(rows); err == nil || err.Error() != `m.csv:3: column "a": "NA" is not a number` {
		t.Errorf("error %v", err)
	}
	b, err := s.Bind([]string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	dst := []float32{7}
	if err := b.Encode(dst, []string{"NA"}); err != nil || !math.IsNaN(float64(dst[0])) {
		t.Errorf("default missing: %v, %v", dst, err)
	}
}

// A saved schema encodes as the one it was saved from.
func TestSchemaJSON(t *testing.T) {
	s, rows := fitted(t, mixed, Hints{ID: "id", Label: "label", Types: map[string]Type{"income": Positive}})
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Schema
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	x1, err1 := s.Encode(rows)
	x2, err2 := back.Encode(rows)
	if err1 != nil || err2 != nil || !equalNaN(x1, x2) {
		t.Errorf("encodings differ: %v %v", err1, err2)
	}
}

func TestBudget(t *testing.T) {
	defer budget.SetLimit(0)
	budget.SetLimit(1 << 20)
	var b strings.Builder
	b.WriteString("a,b\n")
	for range 70000 {
		b.WriteString("1.5,x\n")
	}
	_, err := read(b.String(), "big.csv", Options{})
	if err == nil || !strings.Contains(err.Error(), "reading big.csv (65536 records so far) needs") {
		t.Errorf("ReadAll: %v", err)
	}

	s := &Schema{Columns: []Column{{Name: "a", Type: Categorical, Categories: seq(1000, func(i int) string { return ftoa(float64(i)) })}}}
	rows := &Rows{Name: "wide.csv", Columns: []string{"a"}, Records: make([][]string, 1000)}
	for i := range rows.Records {
		rows.Records[i] = []string{"1"}
	}
	_, err = s.Encode(rows)
	if err == nil || !strings.Contains(err.Error(), "encoding 1000 rows of wide.csv into 1000 values each needs 3.8 MiB") {
		t.Errorf("Encode: %v", err)
	}
}

// ftoa formats x as the shortest cell that reads back as x.
func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
