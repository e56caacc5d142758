package server_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/govae/vae/server"
	"github.com/govae/vae/vae"
)

// get GETs path and decodes its 200 JSON response into a T.
func get[T any](t *testing.T, ts *httptest.Server, path string) T {
	t.Helper()
	return decodeJSON[T](t, "GET "+path, do(t, ts, "GET", path, "", nil))
}

type pointScores struct {
	Scores    []float64
	ScoreKind string `json:"score_kind"`
	Threshold *float64
}

// TestAnomalies checks the scores of GET /v1/points, with a detector and
// without, the order and bounds of GET /v1/anomalies, and the heat maps of
// an image model.
func TestAnomalies(t *testing.T) {
	test := tinySet(50, 64)
	m := tinyModel(t, 2)
	ts, _ := newServer(t, server.Options{Model: m, Test: test})
	pts := get[pointScores](t, ts, "/v1/points")
	losses, err := m.Scores(test.X, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pts.Scores) != 50 || pts.ScoreKind != "elbo" || pts.Threshold != nil || pts.Scores[7] != losses[7].Total {
		t.Errorf("without a detector: %d scores (score 7 %v, want %v), kind %q, threshold %v", len(pts.Scores), pts.Scores[7], losses[7].Total, pts.ScoreKind, pts.Threshold)
	}

	d, err := m.FitDetector(t.Context(), test.X, test.Name, vae.Detector{Score: vae.ScoreRecon, Seed: 3, Contamination: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ = newServer(t, server.Options{Model: m, Test: test})
	pts = get[pointScores](t, ts, "/v1/points")
	want, err := m.AnomalyScores(t.Context(), test.X, *d)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pts.Scores, want) || pts.ScoreKind != "recon" || pts.Threshold == nil || *pts.Threshold != d.Threshold {
		t.Errorf("with a detector: kind %q, threshold %v (want %v), scores equal %v", pts.ScoreKind, pts.Threshold, d.Threshold, slices.Equal(pts.Scores, want))
	}

	type list struct{ Anomalies []server.Anomaly }
	top := get[list](t, ts, "/v1/anomalies?n=5").Anomalies
	sorted := slices.Sorted(slices.Values(want))
	slices.Reverse(sorted)
	if len(top) != 5 {
		t.Fatalf("%d anomalies, want 5", len(top))
	}
	for k, a := range top {
		if a.Score != sorted[k] || a.Score != want[a.Index] || *a.Label != a.Index%10 || !slices.Equal(a.Input, test.Row(a.Index)) || a.Blame != nil {
			t.Errorf("anomaly %d: index %d, score %v, want %v; label %v", k, a.Index, a.Score, sorted[k], *a.Label)
		}
		r := do(t, ts, "GET", a.Heat, "", nil)
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %s", a.Heat, r.status, r.header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("GET %s: %v", a.Heat, err)
		}
		if b := img.Bounds(); b.Dx() != 8 || b.Dy() != 8 {
			t.Errorf("GET %s: a PNG of %v, want 8×8", a.Heat, b)
		}
		// from black at the lowest term to white at the highest
		levels := map[uint32]bool{}
		for y := range 8 {
			for x := range 8 {
				r, g, b, _ := img.At(x, y).RGBA()
				levels[r+g+b] = true
			}
		}
		if !levels[0] || !levels[3*0xffff] {
			t.Errorf("GET %s: no black or no white pixel", a.Heat)
		}
		if again := do(t, ts, "GET", a.Heat, "", nil); !bytes.Equal(again.body, r.body) {
			t.Errorf("GET %s twice: two heat maps", a.Heat)
		}
	}
	if all := get[list](t, ts, "/v1/anomalies?n=100").Anomalies; len(all) != 50 || all[4].Index != top[4].Index {
		t.Errorf("n=100 of 50 examples: %d anomalies", len(all))
	}
	if def := get[list](t, ts, "/v1/anomalies").Anomalies; len(def) != 20 {
		t.Errorf("%d anomalies by default, want 20", len(def))
	}

	for _, c := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/anomalies?n=0", 400, "n"},
		{"/v1/anomalies?n=-3", 400, "n"},
		{"/v1/anomalies?n=101", 413, "n"},
		{"/v1/anomalies?n=x", 400, "n"},
		{"/v1/anomalies?n=1.5", 400, "n"},
		{"/v1/anomalies?n=", 400, "n"},
		{"/v1/anomalies?n=1&n=2", 400, "n"},
		{"/v1/anomalies?k=1", 400, "k"},
		{"/v1/points/50/heat.png", 404, "i"},
		{"/v1/points/x/heat.png", 404, "i"},
	} {
		r := do(t, ts, "GET", c.path, "", nil)
		if r.status != c.status {
			t.Errorf("GET %s: status %d, want %d (%s)", c.path, r.status, c.status, r.body)
		}
		if f := errorField(t, r); f != c.field {
			t.Errorf("GET %s: field %q, want %q", c.path, f, c.field)
		}
	}

	// Without a test set: no scores, and no anomalies.
	ts, _ = newServer(t, server.Options{Model: m})
	if pts := get[pointScores](t, ts, "/v1/points"); pts.Scores == nil || len(pts.Scores) != 0 || *pts.Threshold != d.Threshold {
		t.Errorf("no test set: scores %v, threshold %v", pts.Scores, pts.Threshold)
	}
	for _, path := range []string{"/v1/anomalies", "/v1/points/0/heat.png"} {
		if r := do(t, ts, "GET", path, "", nil); r.status != 404 {
			t.Errorf("GET %s without a test set: %d %s", path, r.status, r.body)
		}
	}
}

// TestTableAnomalies checks that the anomalies of a table model blame its
// columns, the highest term first, with the row's cells, and that it has
// no heat maps.
func TestTableAnomalies(t *testing.T) {
	m, test := server.NewTableModelForTest(t)
	ts, _ := newServer(t, server.Options{Model: m, Test: test})
	top := get[struct{ Anomalies []server.Anomaly }](t, ts, "/v1/anomalies?n=3").Anomalies
	if len(top) != 3 {
		t.Fatalf("%d anomalies, want 3", len(top))
	}
	for k, a := range top {
		if a.ID == "" || a.Class == "" || a.Input != nil || a.Heat != "" || len(a.Blame) != len(m.Config.Parts) {
			t.Fatalf("anomaly %d: %+v", k, a)
		}
		p := get[struct{ Row map[string]json.RawMessage }](t, ts, "/v1/points/"+strconv.Itoa(a.Index))
		share := 0.0
		for j, b := range a.Blame {
			if !slices.ContainsFunc(m.Config.Parts, func(p vae.Part) bool { return p.Name == b.Column }) {
				t.Errorf("anomaly %d blames %q, not a column of the model", k, b.Column)
			}
			if j > 0 && b.Term > a.Blame[j-1].Term {
				t.Errorf("anomaly %d: column %s (%v) after %s (%v)", k, b.Column, b.Term, a.Blame[j-1].Column, a.Blame[j-1].Term)
			}
			if string(b.Observed) != string(p.Row[b.Column]) || b.Expected == nil {
				t.Errorf("anomaly %d, column %s: observed %s, expected %s; the row has %s", k, b.Column, b.Observed, b.Expected, p.Row[b.Column])
			}
			share += b.Share
		}
		if math.Abs(share-1) > 1e-4 {
			t.Errorf("anomaly %d: the shares add up to %v", k, share)
		}
	}
	if r := do(t, ts, "GET", "/v1/points/0/heat.png", "", nil); r.status != 404 || errorField(t, r) != "path" {
		t.Errorf("heat map of a table row: %d %s", r.status, r.body)
	}
}
