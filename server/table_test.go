package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/govae/vae/server"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// tableRows is a CSV of three rows for the model of
// server.NewTableModelForTest: the second lacks its weight, the third its id.
const tableRows = `id,height,weight,colour,member,kind,note
x1,182.5,81.2,red,true,a,first
x2,160,,blue,false,b,second
,171.4,70,green,false,,third
`

// tableRowsJSON is tableRows as the field "rows": numbers, booleans, a
// null, a column left out, and the columns the model ignores.
const tableRowsJSON = `[
	{"id": "x1", "height": 182.5, "weight": "81.2", "colour": "red", "member": true, "kind": "a", "note": "first"},
	{"id": "x2", "height": 160, "weight": null, "colour": "blue", "member": false, "kind": "b"},
	{"height": 171.4, "weight": 70, "colour": "green", "member": "false"}
]`

// encodeCSV returns the model's inputs for the records of a CSV text.
func encodeCSV(t *testing.T, m *vae.Model, text string) []float32 {
	t.Helper()
	r, err := table.NewReader(strings.NewReader(text), "rows.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var x []float32
	err = m.ReadTable(t.Context(), r, func(b *vae.TableBatch) error {
		x = append(x, b.X...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

type tableScores struct {
	Scores []struct {
		ID    *string            `json:"id"`
		Loss  float64            `json:"loss"`
		Recon float64            `json:"recon"`
		KL    float64            `json:"kl"`
		NLL   *float64           `json:"nll"`
		Parts map[string]float32 `json:"parts"`
	} `json:"scores"`
}

type tableOutputs struct {
	Outputs matrix           `json:"outputs"`
	Rows    []map[string]any `json:"rows"`
}

// TestTableAPI checks that each endpoint of a table model takes rows as
// JSON objects and as CSV, and answers what the model computes for them.
func TestTableAPI(t *testing.T) {
	m, test := server.NewTableModelForTest(t)
	ts, _ := newServer(t, server.Options{Model: m, Test: test})
	D, L := m.Config.Input, m.Config.Latent
	x := encodeCSV(t, m, tableRows)
	cols := []string{"height", "weight", "colour", "member"}

	send := func(path, contentType, body string, v any) {
		t.Helper()
		r := do(t, ts, "POST", path, contentType, strings.NewReader(body))
		if r.status != 200 {
			t.Fatalf("POST %s (%s): status %d: %s", path, contentType, r.status, r.body)
		}
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("POST %s: %v in %s", path, err, r.body)
		}
	}
	bodies := []struct{ name, contentType, body string }{
		{"JSON rows", "application/json", `{"rows": ` + tableRowsJSON + `}`},
		{"CSV", "text/csv", tableRows},
		{"CSV, columns in another order", "text/csv; charset=utf-8", "note,member,colour,weight,height,id\nfirst,true,red,81.2,182.5,x1\nsecond,false,blue,,160,x2\nthird,false,green,70,171.4,\n"},
		{"TSV", "text/tab-separated-values", strings.ReplaceAll(tableRows, ",", "\t")},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			var enc struct{ Mean, LogVar matrix }
			send("/v1/encode", b.contentType, b.body, &enc)
			mean, _, err := m.Encode(x)
			if err != nil {
				t.Fatal(err)
			}
			equalRows(t, "encode", enc.Mean, mean, L)

			var sc tableScores
			send("/v1/score", b.contentType, b.body, &sc)
			want, parts, err := m.PartScores(x, rand.New(rand.NewPCG(1, 0)))
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Scores) != 3 {
				t.Fatalf("%d scores, want 3", len(sc.Scores))
			}
			for i, s := range sc.Scores {
				if s.Loss != want[i].Total || s.Recon != want[i].Recon || s.KL != want[i].KL {
					t.Errorf("score %d: %+v, want %+v", i, s, want[i])
				}
				if len(s.Parts) != len(cols) {
					t.Errorf("score %d: parts %v, want one per column %v", i, s.Parts, cols)
				}
				for j, c := range cols {
					if got := s.Parts[c]; got != parts[i*len(cols)+j] {
						t.Errorf("score %d: part %s = %v, want %v", i, c, got, parts[i*len(cols)+j])
					}
				}
			}
			for i, id := range []string{"x1", "x2", ""} {
				switch got := sc.Scores[i].ID; {
				case id == "" && got != nil:
					t.Errorf("score %d: id %q, want none", i, *got)
				case id != "" && (got == nil || *got != id):
					t.Errorf("score %d: id %v, want %q", i, got, id)
				}
			}
			if sc.Scores[1].Parts["weight"] != 0 {
				t.Errorf("the missing weight's term is %v, want 0", sc.Scores[1].Parts["weight"])
			}

			var rec tableOutputs
			send("/v1/reconstruct", b.contentType, b.body, &rec)
			out, err := m.Reconstruct(x)
			if err != nil {
				t.Fatal(err)
			}
			equalRows(t, "reconstruct", rec.Outputs, out, D)
			checkRows(t, m, rec.Rows, out)
		})
	}

	t.Run("score with k from the query of a CSV body", func(t *testing.T) {
		var sc tableScores
		send("/v1/score?k=3&seed=2", "text/csv", tableRows, &sc)
		nll, err := m.NLL(t.Context(), x, vae.NLLOptions{K: 3, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sc.Scores {
			if s.NLL == nil || *s.NLL != nll[i] {
				t.Errorf("score %d: nll %v, want %v", i, s.NLL, nll[i])
			}
		}
	})

	t.Run("encoded inputs", func(t *testing.T) {
		// The first row encoded (the others have a missing cell, NaN, which
		// JSON cannot hold).
		in := slices.Clone(x[:D])
		var rec tableOutputs
		b, _ := json.Marshal(map[string]any{"inputs": [][]float32{in}})
		send("/v1/reconstruct", "application/json", string(b), &rec)
		out, err := m.Reconstruct(in)
		if err != nil {
			t.Fatal(err)
		}
		equalRows(t, "reconstruct", rec.Outputs, out, D)
		checkRows(t, m, rec.Rows, out)
		var sc tableScores
		send("/v1/score", "application/json", string(b), &sc)
		if len(sc.Scores) != 1 || len(sc.Scores[0].Parts) != len(cols) || sc.Scores[0].ID != nil {
			t.Errorf("score of an encoded input: %+v", sc.Scores)
		}
	})

	t.Run("decode and sample", func(t *testing.T) {
		var dec tableOutputs
		send("/v1/decode", "application/json", `{"latents": [[0, 0], [1, -1]]}`, &dec)
		out, err := m.Decode([]float32{0, 0, 1, -1})
		if err != nil {
			t.Fatal(err)
		}
		equalRows(t, "decode", dec.Outputs, out, D)
		checkRows(t, m, dec.Rows, out)
		var smp tableOutputs
		send("/v1/sample", "application/json", `{"n": 3, "seed": 4}`, &smp)
		out = m.Sample(3, rand.New(rand.NewPCG(4, 0)))
		equalRows(t, "sample", smp.Outputs, out, D)
		checkRows(t, m, smp.Rows, out)
	})
}

// checkRows checks that rows are out [n, Input] decoded: a number per
// numeric column, the category per other column, in the schema's order.
func checkRows(t *testing.T, m *vae.Model, rows []map[string]any, out []float32) {
	t.Helper()
	D := m.Config.Input
	if len(rows)*D != len(out) {
		t.Fatalf("%d rows for %d outputs", len(rows), len(out)/D)
	}
	feats := m.Table.Features()
	for i, row := range rows {
		cells, err := m.Table.Decode(nil, out[i*D:(i+1)*D])
		if err != nil {
			t.Fatal(err)
		}
		if len(row) != len(feats) {
			t.Errorf("row %d: %v, want the %d model columns", i, row, len(feats))
		}
		for j, f := range feats {
			switch v := row[f.Name].(type) {
			case float64:
				want, err := strconv.ParseFloat(cells[j], 64)
				if f.Type != table.Continuous && f.Type != table.Positive || err != nil || v != want {
					t.Errorf("row %d: %s = %v (a number), want %q", i, f.Name, v, cells[j])
				}
			case string:
				if f.Type != table.Binary && f.Type != table.Categorical || v != cells[j] {
					t.Errorf("row %d: %s = %q, want %q", i, f.Name, v, cells[j])
				}
			default:
				t.Errorf("row %d: %s = %v (%T), want %q", i, f.Name, v, v, cells[j])
			}
		}
	}
}

// TestTableRowsOrder checks that the decoded rows keep the schema's order
// of columns.
func TestTableRowsOrder(t *testing.T) {
	m, _ := server.NewTableModelForTest(t)
	ts, _ := newServer(t, server.Options{Model: m})
	r := do(t, ts, "POST", "/v1/decode", "application/json", strings.NewReader(`{"latents": [[0, 0]]}`))
	i := bytes.Index(r.body, []byte(`"rows":[{`))
	if i < 0 {
		t.Fatalf("no rows in %s", r.body)
	}
	last := 0
	for _, name := range []string{`"height":`, `"weight":`, `"colour":`, `"member":`} {
		k := bytes.Index(r.body[i:], []byte(name))
		if k < last {
			t.Fatalf("column %s out of order in %s", name, r.body[i:])
		}
		last = k
	}
}

// TestTableAPIRefusals checks what a table model refuses, with the status
// and the field named.
func TestTableAPIRefusals(t *testing.T) {
	m, _ := server.NewTableModelForTest(t)
	ts, _ := newServer(t, server.Options{Model: m, MaxBatch: 4, MaxBodyBytes: 4 << 10})
	head := "height,weight,colour,member\n"
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(tableRows))
	w.Close()
	for _, c := range []struct {
		name, path, contentType, body string
		status                        int
		field, message                string
	}{
		{"unknown category", "/v1/score", "", `{"rows": [{}, {}, {}, {"colour": "mauve"}]}`, 400, "rows[3].colour", `"mauve" is an unknown category`},
		{"text in a numeric column", "/v1/encode", "", `{"rows": [{"height": "tall"}]}`, 400, "rows[0].height", `"tall" is not a number`},
		{"boolean in a numeric column", "/v1/encode", "", `{"rows": [{"weight": true}]}`, 400, "rows[0].weight", `"true" is not a number`},
		{"array cell", "/v1/reconstruct", "", `{"rows": [{"height": [170]}]}`, 400, "rows[0].height", "got an array, want a string, number, boolean or null"},
		{"object cell", "/v1/reconstruct", "", `{"rows": [{"colour": {"name": "red"}}]}`, 400, "rows[0].colour", "got an object"},
		{"number for a category", "/v1/encode", "", `{"rows": [{"colour": 3}]}`, 400, "rows[0].colour", "unknown category"},
		{"unknown column", "/v1/encode", "", `{"rows": [{"hieght": 170}]}`, 400, "rows[0].hieght", "unknown column"},
		{"column given twice", "/v1/encode", "", `{"rows": [{"height": 170, "height": 171}]}`, 400, "rows[0].height", "given twice"},
		{"row not an object", "/v1/encode", "", `{"rows": [{}, [170, 70]]}`, 400, "rows[1]", "got an array, want an object"},
		{"rows not an array", "/v1/encode", "", `{"rows": {"height": 170}}`, 400, "rows", "got an object"},
		{"no rows", "/v1/encode", "", `{"rows": []}`, 400, "rows", "empty"},
		{"null rows", "/v1/encode", "", `{"rows": null}`, 400, "rows", "missing"},
		{"bad JSON in a row", "/v1/encode", "", `{"rows": [{"height" 170}]}`, 400, "rows[0]", "colon"},
		{"too many rows", "/v1/score", "", `{"rows": [{}, {}, {}, {}, {}]}`, 413, "rows", "more than 4 rows"},
		{"rows and inputs", "/v1/encode", "", `{"rows": [{}], "inputs": [[0]]}`, 400, "rows", "given with inputs"},
		{"unknown field", "/v1/encode", "", `{"rows": [{}], "k": 1}`, 400, "k", "unknown field"},
		{"binary input outside [0, 1]", "/v1/encode", "", `{"inputs": [[0, 0, 1, 0, 0, 2]]}`, 400, "inputs[0][5]", "outside [0, 1]"},
		{"categorical input not one-hot", "/v1/encode", "", `{"inputs": [[0, 0, 1, 1, 0, 0]]}`, 400, "inputs[0][2]", "one-hot"},
		{"CSV unknown category", "/v1/score", "text/csv", head + "170,70,red,true\n170,70,mauve,true\n", 400, `line 3, column colour`, `"mauve" is an unknown category`},
		{"CSV text in a numeric column", "/v1/encode", "text/csv", head + "tall,70,red,true\n", 400, `line 2, column height`, `"tall" is not a number`},
		{"CSV short record", "/v1/encode", "text/csv", head + "170,70,red,true\n170,70\n", 400, "line 3", "2 fields, the header has 4"},
		{"CSV lacks a column", "/v1/encode", "text/csv", "height,weight,member\n170,70,true\n", 400, "line 1", `lacks the model's columns "colour"`},
		{"CSV unterminated quote", "/v1/encode", "text/csv", head + "170,70,\"red,true\n", 400, "line 2", "quote"},
		{"CSV too many rows", "/v1/score", "text/csv", head + strings.Repeat("170,70,red,true\n", 5), 413, "body", "more than 4 rows"},
		{"CSV header only", "/v1/encode", "text/csv", head, 400, "body", "no rows"},
		{"CSV empty", "/v1/encode", "text/csv", "", 400, "body", "empty"},
		{"CSV too large", "/v1/encode", "text/csv", head + strings.Repeat("170,70,red,true\n", 300), 413, "body", "more than the limit"},
		{"CSV gzip", "/v1/encode", "text/csv", gz.String(), 415, "body", "gzip"},
		{"CSV unknown query parameter", "/v1/score?x=1", "text/csv", head + "170,70,red,true\n", 400, "x", "unknown field"},
		{"CSV bad k", "/v1/score?k=many", "text/csv", head + "170,70,red,true\n", 400, "k", "not a whole number"},
		{"CSV to decode", "/v1/decode", "text/csv", head + "170,70,red,true\n", 415, "Content-Type", "want application/json"},
		{"CSV in Latin-1", "/v1/encode", "text/csv; charset=iso-8859-1", head + "170,70,red,true\n", 415, "Content-Type", "charset"},
		{"PNG images", "/v1/encode", "multipart/form-data; boundary=x", "--x--\r\n", 415, "image", "trained on a table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct := c.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := do(t, ts, "POST", c.path, ct, strings.NewReader(c.body))
			if r.status != c.status {
				t.Errorf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if f := errorField(t, r); f != c.field {
				t.Errorf("field %q, want %q: %s", f, c.field, r.body)
			}
			var e struct{ Error string }
			if json.Unmarshal(r.body, &e); !strings.Contains(e.Error, c.message) {
				t.Errorf("error %q does not say %s", e.Error, c.message)
			}
		})
	}
}

// TestTableRefusedByImageModels checks that a model not trained on a table
// refuses rows, as JSON or CSV.
func TestTableRefusedByImageModels(t *testing.T) {
	ts, _ := newServer(t, server.Options{})
	r := do(t, ts, "POST", "/v1/encode", "application/json", strings.NewReader(`{"rows": [{"a": 1}]}`))
	if f := errorField(t, r); r.status != 400 || f != "rows" {
		t.Errorf("rows to an image model: status %d, field %q: %s", r.status, f, r.body)
	}
	r = do(t, ts, "POST", "/v1/encode", "text/csv", strings.NewReader("a\n1\n"))
	if f := errorField(t, r); r.status != 415 || f != "Content-Type" || !strings.Contains(string(r.body), "not trained on a table") {
		t.Errorf("CSV to an image model: status %d, field %q: %s", r.status, f, r.body)
	}
}

// TestTableModelInfo checks what GET /v1/model and /v1/points say of a
// table model: its columns and label, the class names, a test row decoded.
func TestTableModelInfo(t *testing.T) {
	m, test := server.NewTableModelForTest(t)
	ts, _ := newServer(t, server.Options{Model: m, Test: test})
	var info server.ModelResponse
	r := do(t, ts, "GET", "/v1/model", "", nil)
	if err := json.Unmarshal(r.body, &info); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if info.Image != nil {
		t.Errorf("a table model described as an image %+v", info.Image)
	}
	tab := info.Table
	if tab == nil || tab.Label != "kind" || tab.ID != "id" || !slices.Equal(tab.Classes, []string{"a", "b"}) {
		t.Fatalf("table %+v", tab)
	}
	var names []string
	for _, c := range tab.Columns {
		names = append(names, c.Name+":"+string(c.Type)+":"+strings.Join(c.Categories, "|"))
	}
	if want := []string{"height:continuous:", "weight:continuous:", "colour:categorical:blue|green|red", "member:binary:false|true"}; !slices.Equal(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}

	var pts struct {
		N       int      `json:"n"`
		Classes []string `json:"classes"`
		Labels  []int    `json:"labels"`
	}
	r = do(t, ts, "GET", "/v1/points", "", nil)
	if err := json.Unmarshal(r.body, &pts); err != nil || pts.N != test.N || !slices.Equal(pts.Classes, []string{"a", "b"}) {
		t.Errorf("points: %v %+v", err, pts)
	}
	// Example 3 lacks its weight: null in its input and its row.
	var p struct {
		ID, Class string
		Input     []*float32
		Row       map[string]any
	}
	r = do(t, ts, "GET", "/v1/points/3", "", nil)
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if p.ID != "p3" || p.Class != "b" || len(p.Input) != m.Config.Input || p.Input[1] != nil {
		t.Errorf("point 3: %s", r.body)
	}
	if w, ok := p.Row["weight"]; !ok || w != nil || p.Row["colour"] == nil || len(p.Row) != 4 {
		t.Errorf("point 3's row %v, want its 4 columns, weight null", p.Row)
	}
}
