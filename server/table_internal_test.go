package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// TableCSV is the table of NewTableModelForTest: an id, two numbers, a
// category, a binary column, a label, a free-text column the model ignores,
// and some missing cells.
func TableCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,height,weight,colour,member,kind,note\n")
	rng := rand.New(rand.NewPCG(5, 6))
	colours := []string{"red", "green", "blue"}
	for i := range n {
		u := rng.NormFloat64()
		cells := []string{fmt.Sprintf("p%d", i), fmt.Sprintf("%.1f", 170+10*u), fmt.Sprintf("%.1f", 70+8*u+rng.NormFloat64()),
			colours[rng.IntN(3)], fmt.Sprint(u > 0), []string{"a", "b"}[i%2], fmt.Sprintf("note %d", i)}
		if i%7 == 3 {
			cells[2] = ""
		}
		b.WriteString(strings.Join(cells, ",") + "\n")
	}
	return b.String()
}

// NewTableModelForTest returns a model of TableCSV(60) with random weights,
// and its rows as the test set: encoded, labelled by kind ("a", "b"), with
// their ids.
func NewTableModelForTest(t testing.TB) (*vae.Model, *dataset.Set) {
	t.Helper()
	r, err := table.NewReader(strings.NewReader(TableCSV(60)), "people.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := table.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := table.Infer(rows, table.Hints{ID: "id", Label: "kind"})
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Fit(rows); err != nil {
		t.Fatal(err)
	}
	x, err := schema.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vae.New(vae.Config{Input: schema.Width(), Hidden: []int{8}, Latent: 2, Parts: vae.TableParts(schema)}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	m.Table = schema
	n := len(rows.Records)
	set := &dataset.Set{Name: "people/test", X: x, N: n, Dim: schema.Width(), Labels: make([]uint8, n),
		Classes: 2, ClassNames: []string{"a", "b"}, IDs: make([]string, n)}
	for i, rec := range rows.Records {
		set.IDs[i] = rec[0]
		if rec[5] == "b" {
			set.Labels[i] = 1
		}
	}
	return m, set
}

// fuzzTableServer serves NewTableModelForTest's model with small limits.
func fuzzTableServer(t testing.TB) *Server {
	m, _ := NewTableModelForTest(t)
	s, err := New(Options{Model: m, MaxBatch: 4, MaxBodyBytes: 4 << 10, MaxK: 10, MaxNLLSamples: 40})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var rowsSeeds = []string{
	`[{"height": 170, "weight": 70.5, "colour": "red", "member": true}]`,
	`[{"id": "x", "height": "181.5", "colour": "blue", "member": "false", "kind": "a", "note": "n"}, {}]`,
	`[{"height": null, "weight": -1e2}]`, `[{"colour": "mauve"}]`, `[{"height": "tall"}]`, `[{"height": [1]}]`,
	`[{"height": {}}]`, `[{"height": true}]`, `[{"bogus": 1}]`, `[{"height": 1, "height": 2}]`, `[]`, `[1]`, `{}`,
	`null`, `[{}, {}, {}, {}, {}]`, `[{"height": 01}]`, `[{"height": 1.}]`, `[{"height": 1e999}]`, `[{"colour": "red"`,
	`[{"colour" "red"}]`, `[{"colour": "red",}]`, `[{"height": tru}]`, `[{"member": 1}]`, `[{"colour": "\u0072ed"}]`,
	`[{"colour": "red"}] x`, `[{"colour": "red"} {}]`, `[{"member": truex}]`, `[{"height": -}]`,
}

// FuzzParseRows checks parseRows, the reader of the field "rows", against
// encoding/json: what it accepts encoding/json reads as an array of as many
// objects; what it refuses is a 4xx naming rows or an element of it; and a
// valid array of objects of known columns and cells that encode, without a
// key given twice, it accepts.
func FuzzParseRows(f *testing.F) {
	for _, s := range rowsSeeds {
		f.Add([]byte(s))
	}
	m, _ := NewTableModelForTest(f)
	tab, err := newTableCodec(m)
	if err != nil {
		f.Fatal(err)
	}
	const maxRows = 4
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := tab.parseRows(raw, maxRows)
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var ref []map[string]any
		refErr := d.Decode(&ref)
		if refErr == nil && d.More() {
			refErr = errors.New("more after the value")
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status/100 != 4 || !strings.HasPrefix(ae.Field, "rows") {
				t.Fatalf("%q: error %#v is not a 4xx naming rows", raw, err)
			}
			if refErr == nil && len(ref) >= 1 && len(ref) <= maxRows && !strings.Contains(ae.Message, "given twice") && encodable(tab, ref) {
				t.Fatalf("%q: refused (%v), but encoding/json reads %v, whose cells encode", raw, err, ref)
			}
			return
		}
		if refErr != nil || len(ref) != in.n || len(in.x) != in.n*tab.width {
			t.Fatalf("%q: read %d rows (%d values), encoding/json: %v %v", raw, in.n, len(in.x), ref, refErr)
		}
		if in.ids != nil && len(in.ids) != in.n {
			t.Fatalf("%q: %d ids for %d rows", raw, len(in.ids), in.n)
		}
		for i, row := range ref {
			for k, v := range row {
				if _, ok := tab.index[k]; !ok {
					t.Fatalf("%q: row %d: unknown column %q accepted", raw, i, k)
				}
				switch v.(type) {
				case map[string]any, []any:
					t.Fatalf("%q: row %d: %q is %T, accepted", raw, i, k, v)
				}
			}
			want := make([]float32, tab.width)
			if err := tab.bind.Encode(want, refRecord(tab, row)); err != nil {
				t.Fatalf("%q: row %d accepted, but its cells do not encode: %v", raw, i, err)
			}
			got := in.x[i*tab.width : (i+1)*tab.width]
			for j := range want {
				if got[j] != want[j] && !(math.IsNaN(float64(got[j])) && math.IsNaN(float64(want[j]))) {
					t.Fatalf("%q: row %d value %d = %v, want %v", raw, i, j, got[j], want[j])
				}
			}
		}
	})
}

// refRecord returns the record of the cells of a row as encoding/json reads
// it, as parseRows makes it.
func refRecord(tab *tableCodec, row map[string]any) []string {
	rec := make([]string, len(tab.columns))
	for k, v := range row {
		j := tab.index[k]
		switch v := v.(type) {
		case string:
			rec[j] = v
		case json.Number:
			rec[j] = v.String()
			if c := &tab.schema.Columns[j]; (c.Type == table.Binary || c.Type == table.Categorical) && !isCategory(c, rec[j]) {
				if f, err := strconv.ParseFloat(rec[j], 64); err == nil {
					if s := strconv.FormatFloat(f, 'f', -1, 64); isCategory(c, s) {
						rec[j] = s
					}
				}
			}
		case bool:
			rec[j] = tab.boolCell[j][0]
			if v {
				rec[j] = tab.boolCell[j][1]
			}
		}
	}
	return rec
}

// encodable reports whether every row of ref holds known columns only,
// with cells that are no arrays or objects, and encodes.
func encodable(tab *tableCodec, ref []map[string]any) bool {
	dst := make([]float32, tab.width)
	for _, row := range ref {
		if row == nil {
			return false
		}
		for k, v := range row {
			if _, ok := tab.index[k]; !ok {
				return false
			}
			switch v.(type) {
			case map[string]any, []any:
				return false
			}
		}
		if tab.bind.Encode(dst, refRecord(tab, row)) != nil {
			return false
		}
	}
	return true
}

// FuzzTableRequest sends any JSON or CSV body to each endpoint of a table
// model that takes rows: the answer is a 200 or a 4xx JSON error, never a
// 5xx or a panic.
func FuzzTableRequest(f *testing.F) {
	paths := []string{"/v1/encode", "/v1/reconstruct", "/v1/score", "/v1/score?k=2&seed=3"}
	for i, s := range rowsSeeds {
		f.Add(uint8(i), false, []byte(`{"rows": `+s+`}`))
	}
	for i, s := range []string{
		TableCSV(3), "height,weight,colour,member\n170,70,red,true\n", "colour,member,weight,height,extra\nred,false,,180,x\n",
		"height,weight,colour,member\n170,70,mauve,true\n", "height,weight,colour,member\ntall,70,red,true\n",
		"height,weight,colour,member\n170,70\n", "height,colour\n1,red\n", "", "height,weight,colour,member\n",
		"height,weight,colour,member\n\"170,70,red,true\n", TableCSV(6), "\xef\xbb\xbfheight,weight,colour,member\n1,2,red,true\n",
	} {
		f.Add(uint8(i), true, []byte(s))
	}
	s := fuzzTableServer(f)
	f.Fuzz(func(t *testing.T, endpoint uint8, csv bool, body []byte) {
		req := httptest.NewRequest("POST", paths[int(endpoint)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if csv {
			req.Header.Set("Content-Type", "text/csv")
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkAnswer(t, rec, body)
	})
}
