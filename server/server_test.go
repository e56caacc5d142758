package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/plot"
	"github.com/govae/vae/server"
	"github.com/govae/vae/vae"
)

// tinyModel returns a model of 8×8 inputs with random weights.
func tinyModel(t testing.TB, latent int) *vae.Model {
	t.Helper()
	m, err := vae.New(vae.Config{Input: 64, Hidden: []int{16}, Latent: latent}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tinySet returns n random examples of dim pixels, labelled i mod 10.
func tinySet(n, dim int) *dataset.Set {
	rng := rand.New(rand.NewPCG(3, 4))
	s := &dataset.Set{Name: "tiny/test", X: make([]float32, n*dim), Labels: make([]uint8, n), N: n, Dim: dim}
	for i := range s.X {
		s.X[i] = rng.Float32()
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(i % 10)
	}
	return s
}

// newServer starts a test server; opts.Model defaults to tinyModel(2).
func newServer(t testing.TB, opts server.Options) (*httptest.Server, *vae.Model) {
	t.Helper()
	if opts.Model == nil {
		opts.Model = tinyModel(t, 2)
	}
	h, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, opts.Model
}

// row formats cols copies of v as a JSON array.
func row(cols int, v string) string {
	return "[" + strings.Repeat(v+",", cols-1) + v + "]"
}

// rows formats n rows of cols copies of v as a JSON matrix.
func rows(n, cols int, v string) string {
	return "[" + strings.Repeat(row(cols, v)+",", n-1) + row(cols, v) + "]"
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, ts *httptest.Server, method, path, contentType string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// errorField checks that r is a JSON error and returns the field it names.
func errorField(t *testing.T, r response) string {
	t.Helper()
	var e struct{ Error, Field string }
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d, body %q is not a JSON error", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error with Content-Type %q", ct)
	}
	return e.Field
}

func TestAPIRefusals(t *testing.T) {
	ts, _ := newServer(t, server.Options{MaxBatch: 4, MaxBodyBytes: 2 << 10, MaxK: 50, MaxNLLSamples: 100, MaxLatentValue: 10})
	for _, c := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"NaN literal", "/v1/encode", `{"inputs": [[0.5, NaN]]}`, 400, "inputs[0][1]"},
		{"Infinity literal", "/v1/decode", `{"latents": [[0, -Infinity]]}`, 400, "latents[0][1]"},
		{"NaN as a string", "/v1/encode", `{"inputs": [["NaN"]]}`, 400, "inputs[0][0]"},
		{"string", "/v1/reconstruct", `{"inputs": [` + row(64, "0") + `,[0,"x"]]}`, 400, "inputs[1][1]"},
		{"null element", "/v1/score", `{"inputs": [[null]]}`, 400, "inputs[0][0]"},
		{"above 1", "/v1/encode", `{"inputs": ` + rows(1, 64, "1.5") + `}`, 400, "inputs[0][0]"},
		{"below 0", "/v1/encode", `{"inputs": ` + rows(1, 64, "-0.1") + `}`, 400, "inputs[0][0]"},
		{"overflow", "/v1/encode", `{"inputs": ` + rows(1, 64, "1e999") + `}`, 400, "inputs[0][0]"},
		{"short row", "/v1/encode", `{"inputs": [` + row(64, "0") + `,[0.5]]}`, 400, "inputs[1]"},
		{"long row", "/v1/encode", `{"inputs": ` + rows(1, 65, "0") + `}`, 400, "inputs[0]"},
		{"empty row", "/v1/encode", `{"inputs": [[]]}`, 400, "inputs[0]"},
		{"row not an array", "/v1/encode", `{"inputs": [0.5]}`, 400, "inputs[0]"},
		{"flat inputs", "/v1/encode", `{"inputs": 3}`, 400, "inputs"},
		{"no inputs", "/v1/encode", `{}`, 400, "inputs"},
		{"null inputs", "/v1/encode", `{"inputs": null}`, 400, "inputs"},
		{"no rows", "/v1/encode", `{"inputs": []}`, 400, "inputs"},
		{"too many rows", "/v1/encode", `{"inputs": ` + rows(5, 64, "0") + `}`, 413, "inputs"},
		{"body too large", "/v1/encode", `{"inputs": ` + rows(4, 64, "0.123456789") + `}`, 413, "body"},
		{"unknown field", "/v1/encode", `{"input": []}`, 400, "input"},
		{"not JSON", "/v1/encode", `inputs=1`, 400, "body"},
		{"truncated JSON", "/v1/encode", `{"inputs": [[0.5,`, 400, "body"},
		{"two values", "/v1/sample", `{"n": 1} {"n": 2}`, 400, "body"},
		{"array body", "/v1/sample", `[1]`, 400, "body"},
		{"empty body", "/v1/sample", ``, 400, "body"},
		{"n string", "/v1/sample", `{"n": "3"}`, 400, "n"},
		{"n fraction", "/v1/sample", `{"n": 1.5}`, 400, "n"},
		{"n zero", "/v1/sample", `{"n": 0}`, 400, "n"},
		{"n too large", "/v1/sample", `{"n": 5}`, 413, "n"},
		{"seed negative", "/v1/sample", `{"seed": -1}`, 400, "seed"},
		{"latent out of range", "/v1/decode", `{"latents": [[11, 0]]}`, 400, "latents[0][0]"},
		{"latent row length", "/v1/decode", `{"latents": [[1, 0, 0]]}`, 400, "latents[0]"},
		{"k negative", "/v1/score", `{"inputs": ` + rows(1, 64, "0") + `, "k": -1}`, 400, "k"},
		{"k too large", "/v1/score", `{"inputs": ` + rows(1, 64, "0") + `, "k": 51}`, 413, "k"},
		{"k times rows too large", "/v1/score", `{"inputs": ` + rows(3, 64, "0") + `, "k": 40}`, 413, "k"},
		{"nested object", "/v1/score", `{"inputs": [{"a": 1}]}`, 400, "inputs[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, ts, "POST", c.path, "application/json", strings.NewReader(c.body))
			if r.status != c.status {
				t.Errorf("status %d, want %d (%s)", r.status, c.status, r.body)
			}
			if f := errorField(t, r); f != c.field {
				t.Errorf("field %q, want %q (%s)", f, c.field, r.body)
			}
		})
	}
}

func TestRoutesRefusals(t *testing.T) {
	ts, _ := newServer(t, server.Options{})
	for _, c := range []struct {
		method, path, contentType string
		status                    int
		field                     string
	}{
		{"GET", "/v1/encode", "", 405, "method"},
		{"POST", "/v1/model", "", 405, "method"},
		{"GET", "/v1/nothing", "", 404, "path"},
		{"GET", "/v1/points/0", "", 404, "i"}, // no test set
		{"POST", "/v1/decode", "multipart/form-data; boundary=x", 415, "Content-Type"},
		{"POST", "/v1/encode", "multipart/mixed; boundary=x", 415, "Content-Type"},
		{"POST", "/v1/encode", "multipart/form-data", 400, "Content-Type"},
	} {
		r := do(t, ts, c.method, c.path, c.contentType, strings.NewReader("{}"))
		if r.status != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, r.status, c.status, r.body)
		}
		if f := errorField(t, r); f != c.field {
			t.Errorf("%s %s: field %q, want %q", c.method, c.path, f, c.field)
		}
	}
}

// matrix is a JSON matrix of float32.
type matrix [][]float32

func postJSON[T any](t *testing.T, ts *httptest.Server, path string, body any) T {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON[T](t, "POST "+path, do(t, ts, "POST", path, "application/json", bytes.NewReader(b)))
}

// decodeJSON decodes r, the 200 JSON response to the request what, into a T.
func decodeJSON[T any](t *testing.T, what string, r response) T {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("%s: status %d: %s", what, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, r.body)
	}
	return v
}

func equalRows(t *testing.T, what string, got matrix, want []float32, cols int) {
	t.Helper()
	if len(got)*cols != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want)/cols)
	}
	for i, row := range got {
		if !slices.Equal(row, want[i*cols:(i+1)*cols]) {
			t.Fatalf("%s: row %d differs from the model's", what, i)
		}
	}
}

// TestAPIMatchesModel checks that every endpoint returns what the model
// computes, bit for bit.
func TestAPIMatchesModel(t *testing.T) {
	ts, m := newServer(t, server.Options{})
	test := tinySet(3, 64)
	x := matrix(make([][]float32, 3))
	for i := range x {
		x[i] = test.Row(i)
	}
	wantMean, wantLogVar, _ := m.Encode(test.X)

	enc := postJSON[struct{ Mean, LogVar matrix }](t, ts, "/v1/encode", map[string]any{"inputs": x})
	equalRows(t, "encode mean", enc.Mean, wantMean, 2)
	raw := postJSON[struct {
		LogVar matrix `json:"log_var"`
	}](t, ts, "/v1/encode", map[string]any{"inputs": x})
	equalRows(t, "encode log_var", raw.LogVar, wantLogVar, 2)

	dec := postJSON[struct{ Outputs matrix }](t, ts, "/v1/decode", map[string]any{"latents": enc.Mean})
	want, _ := m.Decode(wantMean)
	equalRows(t, "decode", dec.Outputs, want, 64)

	rec := postJSON[struct{ Outputs matrix }](t, ts, "/v1/reconstruct", map[string]any{"inputs": x})
	want, _ = m.Reconstruct(test.X)
	equalRows(t, "reconstruct", rec.Outputs, want, 64)

	smp := postJSON[struct{ Outputs matrix }](t, ts, "/v1/sample", map[string]any{"n": 5, "seed": 7})
	equalRows(t, "sample", smp.Outputs, m.Sample(5, rand.New(rand.NewPCG(7, 0))), 64)
	one := postJSON[struct{ Outputs matrix }](t, ts, "/v1/sample", map[string]any{})
	equalRows(t, "sample with defaults", one.Outputs, m.Sample(1, rand.New(rand.NewPCG(1, 0))), 64)

	sc := postJSON[struct{ Scores []server.Score }](t, ts, "/v1/score", map[string]any{"inputs": x, "seed": 3, "k": 20})
	wantScores, _ := m.Scores(test.X, rand.New(rand.NewPCG(3, 0)))
	wantNLL, _ := m.NLL(context.Background(), test.X, vae.NLLOptions{K: 20, Seed: 3})
	for i, s := range sc.Scores {
		if s.Loss != wantScores[i] || s.NLL == nil || *s.NLL != wantNLL[i] {
			t.Errorf("score %d: %+v nll %v, want %+v nll %v", i, s.Loss, s.NLL, wantScores[i], wantNLL[i])
		}
	}
	noK := do(t, ts, "POST", "/v1/score", "application/json", strings.NewReader(`{"inputs": `+rows(1, 64, "0.5")+`}`))
	if noK.status != 200 || bytes.Contains(noK.body, []byte("nll")) {
		t.Errorf("score without k: %d %s", noK.status, noK.body)
	}
}

func TestModelAndPoints(t *testing.T) {
	test := tinySet(50, 64)
	for _, latent := range []int{2, 5} {
		t.Run(fmt.Sprint(latent), func(t *testing.T) {
			m := tinyModel(t, latent)
			ts, _ := newServer(t, server.Options{Model: m, Test: test, Info: server.Info{Data: "tiny"}})
			r := do(t, ts, "GET", "/v1/model", "", nil)
			var info server.ModelResponse
			if err := json.Unmarshal(r.body, &info); err != nil || r.status != 200 {
				t.Fatalf("GET /v1/model: %d %s", r.status, r.body)
			}
			if info.Config.Latent != latent || info.Image == nil || info.Image.Rows != 8 || info.TestPoints != 50 || info.Data != "tiny" {
				t.Errorf("GET /v1/model: %+v", info)
			}
			var pts struct {
				N, Latent int
				Labels    []int
				Mean      matrix
				PCA       *server.PCA
			}
			r = do(t, ts, "GET", "/v1/points", "", nil)
			if err := json.Unmarshal(r.body, &pts); err != nil {
				t.Fatalf("GET /v1/points: %v in %s", err, r.body)
			}
			mean, _, _ := m.Encode(test.X)
			equalRows(t, "points", pts.Mean, mean, latent)
			if pts.N != 50 || len(pts.Labels) != 50 || pts.Labels[13] != 3 {
				t.Errorf("points: n %d, labels %v", pts.N, pts.Labels)
			}
			if (pts.PCA != nil) != (latent > 2) {
				t.Errorf("latent %d: PCA %v", latent, pts.PCA)
			}
			if pts.PCA != nil {
				var norm float64
				for _, v := range pts.PCA.Components[0] {
					norm += v * v
				}
				if math.Abs(norm-1) > 1e-9 || pts.PCA.Explained[0] < pts.PCA.Explained[1] {
					t.Errorf("PCA: |PC1|² = %v, explained %v", norm, pts.PCA.Explained)
				}
			}
			var p server.Point
			r = do(t, ts, "GET", "/v1/points/7", "", nil)
			if err := json.Unmarshal(r.body, &p); err != nil || p.Index != 7 || *p.Label != 7 || !slices.Equal(p.Input, test.Row(7)) || !slices.Equal(p.Mean, mean[7*latent:8*latent]) {
				t.Errorf("GET /v1/points/7: %s", r.body)
			}
			for _, bad := range []string{"50", "-1", "x"} {
				if r := do(t, ts, "GET", "/v1/points/"+bad, "", nil); r.status != 404 {
					t.Errorf("GET /v1/points/%s: %d", bad, r.status)
				}
			}
		})
	}
}

func TestPagesHealthMetrics(t *testing.T) {
	ts, _ := newServer(t, server.Options{})
	for _, c := range []struct{ path, want string }{
		{"/", "<title>vae explorer</title>"},
		{"/app.js", "/v1/decode"},
		{"/style.css", "#map"},
		{"/healthz", "ok"},
	} {
		r := do(t, ts, "GET", c.path, "", nil)
		if r.status != 200 || !bytes.Contains(r.body, []byte(c.want)) {
			t.Errorf("GET %s: %d, want a body with %q", c.path, r.status, c.want)
		}
	}
	do(t, ts, "POST", "/v1/sample", "application/json", strings.NewReader(`{"n": 3}`))
	do(t, ts, "POST", "/v1/sample", "application/json", strings.NewReader(`{"n": 0}`))
	r := do(t, ts, "GET", "/metrics", "", nil)
	for _, want := range []string{
		`vae_http_requests_total{code="200",handler="/v1/sample",method="post"} 1`,
		`vae_http_requests_total{code="400",handler="/v1/sample",method="post"} 1`,
		`vae_batch_size_sum{handler="/v1/sample"} 3`,
		`vae_http_request_duration_seconds_count{handler="/v1/sample"} 2`,
		"go_goroutines",
	} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

func TestToken(t *testing.T) {
	ts, _ := newServer(t, server.Options{Token: "s3cret"})
	body := `{"n": 1}`
	for _, c := range []struct {
		path   string
		header []string
		status int
	}{
		{"/v1/sample", nil, 401},
		{"/v1/sample", []string{"Authorization", "Bearer wrong"}, 401},
		{"/v1/sample", []string{"Authorization", "s3cret"}, 401},
		{"/v1/sample", []string{"Authorization", "Bearer s3cret"}, 200},
		{"/healthz", nil, 200},
		{"/", nil, 200},
	} {
		method := "POST"
		if !strings.HasPrefix(c.path, "/v1") {
			method = "GET"
		}
		r := do(t, ts, method, c.path, "application/json", strings.NewReader(body), c.header...)
		if r.status != c.status {
			t.Errorf("%s %v: status %d, want %d", c.path, c.header, r.status, c.status)
		}
		if r.status == 401 && (errorField(t, r) != "Authorization" || r.header.Get("WWW-Authenticate") == "") {
			t.Errorf("%s %v: %s %v", c.path, c.header, r.body, r.header)
		}
	}
}

// pngOf encodes img.
func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// form makes a multipart body of the parts, each a name and content.
func form(t testing.TB, parts ...any) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(parts); i += 2 {
		name := parts[i].(string)
		switch v := parts[i+1].(type) {
		case []byte:
			f, _ := w.CreateFormFile(name, "x.png")
			f.Write(v)
		case string:
			w.WriteField(name, v)
		}
	}
	w.Close()
	return w.FormDataContentType(), &b
}

func TestPNGUpload(t *testing.T) {
	ts, m := newServer(t, server.Options{MaxBatch: 2})
	// An 8×8 grey image is the model's input as it is; a 32×16 one is
	// scaled; an RGBA one with a transparent half is black there.
	gray := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(4 * i)
	}
	big := image.NewGray(image.Rect(0, 0, 32, 16))
	for i := range big.Pix {
		big.Pix[i] = 255
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			rgba.Set(x, y, color.NRGBA{255, 255, 255, uint8(255 * (x / 4))})
		}
	}
	want := make([]float32, 3*64)
	for i := range 64 {
		want[i] = float32(4*i) / 255
		want[64+i] = 1
		want[128+i] = float32(i % 8 / 4)
	}
	wantRec, _ := m.Reconstruct(want[:128])
	ct, body := form(t, "image", pngOf(t, gray), "image", pngOf(t, big))
	r := do(t, ts, "POST", "/v1/reconstruct", ct, body)
	var rec struct{ Outputs matrix }
	if err := json.Unmarshal(r.body, &rec); err != nil || r.status != 200 {
		t.Fatalf("reconstruct PNG: %d %s", r.status, r.body)
	}
	equalRows(t, "reconstruct PNG", rec.Outputs, wantRec, 64)

	wantScores, _ := m.Scores(want[128:], rand.New(rand.NewPCG(5, 0)))
	ct, body = form(t, "image", pngOf(t, rgba), "seed", "5", "k", "3")
	r = do(t, ts, "POST", "/v1/score", ct, body)
	var sc struct{ Scores []server.Score }
	if err := json.Unmarshal(r.body, &sc); err != nil || r.status != 200 || len(sc.Scores) != 1 || sc.Scores[0].Loss != wantScores[0] || sc.Scores[0].NLL == nil {
		t.Fatalf("score PNG: %d %s, want %+v", r.status, r.body, wantScores[0])
	}

	inv := make([]float32, 64)
	for i := range inv {
		inv[i] = 1 - want[i]
	}
	wantMean, _, _ := m.Encode(inv)
	ct, body = form(t, "image", pngOf(t, gray), "invert", "true")
	var enc struct{ Mean matrix }
	r = do(t, ts, "POST", "/v1/encode", ct, body)
	if err := json.Unmarshal(r.body, &enc); err != nil {
		t.Fatal(err)
	}
	equalRows(t, "encode inverted PNG", enc.Mean, wantMean, 2)
}

func TestPNGRefusals(t *testing.T) {
	ts, _ := newServer(t, server.Options{MaxBatch: 2})
	good := pngOf(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	huge := append([]byte(nil), good...) // IHDR says 100000×100000
	huge[16], huge[17], huge[18], huge[19] = 0, 1, 0x86, 0xa0
	huge[20], huge[21], huge[22], huge[23] = 0, 1, 0x86, 0xa0
	for _, c := range []struct {
		name   string
		parts  []any
		status int
		field  string
	}{
		{"not a PNG", []any{"image", []byte("GIF89a...")}, 400, "image[0]"},
		{"second not a PNG", []any{"image", good, "image", []byte{0xff, 0xd8, 0xff}}, 400, "image[1]"},
		{"truncated PNG", []any{"image", good[:40]}, 400, "image[0]"},
		{"huge PNG", []any{"image", huge}, 400, "image[0]"},
		{"no image", []any{"invert", "true"}, 400, "image"},
		{"too many images", []any{"image", good, "image", good, "image", good}, 413, "image"},
		{"unknown field", []any{"image", good, "colour", "red"}, 400, "colour"},
		{"bad invert", []any{"image", good, "invert", "maybe"}, 400, "invert"},
		{"bad k", []any{"image", good, "k", "ten"}, 400, "k"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct, body := form(t, c.parts...)
			path := "/v1/encode"
			if slices.Contains(c.parts, any("k")) {
				path = "/v1/score"
			}
			r := do(t, ts, "POST", path, ct, body)
			if r.status != c.status {
				t.Errorf("status %d, want %d (%s)", r.status, c.status, r.body)
			}
			if f := errorField(t, r); f != c.field {
				t.Errorf("field %q, want %q (%s)", f, c.field, r.body)
			}
		})
	}
	r := do(t, ts, "POST", "/v1/encode", "multipart/form-data; boundary=zzz", strings.NewReader("--zzz\r\nbroken"))
	if r.status != 400 || errorField(t, r) != "body" {
		t.Errorf("malformed multipart: %d %s", r.status, r.body)
	}
}

// TestConcurrent has many clients call every endpoint at once and checks
// each answer; run with -race.
func TestConcurrent(t *testing.T) {
	ts, m := newServer(t, server.Options{MaxInFlight: 3})
	test := tinySet(8, 64)
	wantMean, _, _ := m.Encode(test.X)
	wantDec, _ := m.Decode(wantMean)
	wantScores, _ := m.Scores(test.X, rand.New(rand.NewPCG(1, 0)))
	x := make(matrix, 8)
	for i := range x {
		x[i] = test.Row(i)
	}
	z := make(matrix, 8)
	for i := range z {
		z[i] = wantMean[2*i : 2*i+2]
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for range 5 {
				switch g % 3 {
				case 0:
					enc := postJSON[struct{ Mean matrix }](t, ts, "/v1/encode", map[string]any{"inputs": x})
					equalRows(t, "encode", enc.Mean, wantMean, 2)
				case 1:
					dec := postJSON[struct{ Outputs matrix }](t, ts, "/v1/decode", map[string]any{"latents": z})
					equalRows(t, "decode", dec.Outputs, wantDec, 64)
				case 2:
					sc := postJSON[struct{ Scores []server.Score }](t, ts, "/v1/score", map[string]any{"inputs": x})
					for i, s := range sc.Scores {
						if s.Loss != wantScores[i] {
							t.Errorf("score %d: %+v, want %+v", i, s.Loss, wantScores[i])
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

// closeSignal is a listener that says when it is closed.
type closeSignal struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeSignal) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// TestServeDrains cancels the server's context while a request is sending
// its body: the request still succeeds, and Serve returns nil after it
// finished. The order is proved by channels: the handler closes entered
// once it reads the body, Shutdown closes the listener, the handler closes
// finished when it returns, which must be before Serve returns.
func TestServeDrains(t *testing.T) {
	s, err := server.New(server.Options{Model: tinyModel(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	entered, finished := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/sample" {
			defer close(finished)
			r.Body = &onFirstRead{ReadCloser: r.Body, first: entered}
		}
		s.ServeHTTP(w, r)
	})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &closeSignal{Listener: inner, closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, l, h, 10*time.Second) }()

	pr, pw := io.Pipe()
	got := make(chan response, 1)
	go func() {
		resp, err := http.Post("http://"+l.Addr().String()+"/v1/sample", "application/json", pr)
		if err != nil {
			got <- response{status: -1, body: []byte(err.Error())}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- response{status: resp.StatusCode, body: b}
	}()
	pw.Write([]byte(`{"n": `))
	<-entered // the request is in the handler, reading its body
	cancel()
	<-l.closed // Shutdown has begun
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v before the request under way finished", err)
	case <-finished:
		t.Fatal("the request under way finished before its body did")
	default:
	}
	pw.Write([]byte(`2}`))
	pw.Close()
	if r := <-got; r.status != 200 {
		t.Errorf("request under way at shutdown: %d %s", r.status, r.body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	select {
	case <-finished:
	default:
		t.Error("Serve returned before the request under way finished")
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/healthz"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// onFirstRead is a request body that closes first when it is first read.
type onFirstRead struct {
	io.ReadCloser
	once  sync.Once
	first chan struct{}
}

func (b *onFirstRead) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.first) })
	return b.ReadCloser.Read(p)
}

// TestServeCutsOff has Serve stop while a request is still computing
// after the drain time: it closes the connection and says so.
func TestServeCutsOff(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	defer close(release)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, l, h, time.Millisecond) }()
	failed := make(chan error, 1)
	go func() {
		_, err := http.Get("http://" + l.Addr().String() + "/")
		failed <- err
	}()
	<-entered
	cancel()
	if err := <-served; !errors.Is(err, server.ErrCutOff) {
		t.Errorf("Serve: %v, want an error wrapping ErrCutOff", err)
	}
	if err := <-failed; err == nil {
		t.Error("the request cut off got an answer")
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := server.New(server.Options{}); err == nil {
		t.Error("New without a model: no error")
	}
	if _, err := server.New(server.Options{Model: tinyModel(t, 2), Test: tinySet(3, 10)}); err == nil {
		t.Error("New with a test set of the wrong width: no error")
	}
}

func TestGaussianInputs(t *testing.T) {
	m, err := vae.New(vae.Config{Input: 64, Hidden: []int{16}, Latent: 2, Likelihood: vae.Gaussian, Sigma: 1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := newServer(t, server.Options{Model: m})
	for _, c := range []struct {
		value  string
		status int
	}{{"1.5", 200}, {"-20", 200}, {"1e7", 400}} {
		r := do(t, ts, "POST", "/v1/score", "application/json", strings.NewReader(`{"inputs": `+rows(2, 64, c.value)+`}`))
		if r.status != c.status {
			t.Errorf("inputs of %s: status %d, want %d (%s)", c.value, r.status, c.status, r.body)
		}
	}
}

// /v1/score returns the detector's decision when the model has one, as
// Model.IsAnomaly makes it.
func TestScoreAnomaly(t *testing.T) {
	m := tinyModel(t, 2)
	set := tinySet(50, 64)
	if _, err := m.FitDetector(t.Context(), set.X, set.Name, vae.Detector{Score: vae.ScoreELBO, Seed: 1, Contamination: 0.2}); err != nil {
		t.Fatal(err)
	}
	ts, _ := newServer(t, server.Options{Model: m})
	got := postJSON[struct{ Scores []server.Score }](t, ts, "/v1/score", map[string]any{"inputs": plot.Split(set.X[:10*64], 64)})
	want, _, err := m.IsAnomaly(t.Context(), set.X[:10*64])
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got.Scores {
		if s.Anomaly == nil || *s.Anomaly != want[i] {
			t.Errorf("input %d: anomaly %v, want %v", i, s.Anomaly, want[i])
		}
	}
}

// A conditional model decodes and samples the class a request gives, and
// says which field is at fault when it is missing or out of range.
func TestConditionalDecode(t *testing.T) {
	m, err := vae.New(vae.Config{Input: 64, Hidden: []int{16}, Latent: 2, Classes: 3}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := newServer(t, server.Options{Model: m})
	z := matrix{{0.5, -1}, {1, 0}}
	given, _ := m.Given(2)
	dec := postJSON[struct{ Outputs matrix }](t, ts, "/v1/decode", map[string]any{"latents": z, "class": 2})
	want, _ := given.Decode([]float32{0.5, -1, 1, 0})
	equalRows(t, "decode given class 2", dec.Outputs, want, 64)
	smp := postJSON[struct{ Outputs matrix }](t, ts, "/v1/sample", map[string]any{"n": 3, "seed": 7, "class": 2})
	equalRows(t, "sample of class 2", smp.Outputs, given.Sample(3, rand.New(rand.NewPCG(7, 0))), 64)
	for _, body := range []string{`{"latents": [[0, 0]]}`, `{"latents": [[0, 0]], "class": 3}`, `{"latents": [[0, 0]], "class": "two"}`} {
		r := do(t, ts, "POST", "/v1/decode", "application/json", strings.NewReader(body))
		if r.status != http.StatusBadRequest || errorField(t, r) != "class" {
			t.Errorf("decode %s: status %d, %s; want 400 naming class", body, r.status, r.body)
		}
	}
	x := tinySet(2, 64)
	in := matrix{x.Row(0), x.Row(1)}
	enc := postJSON[struct{ Mean matrix }](t, ts, "/v1/encode", map[string]any{"inputs": in, "class": 2})
	wantMean, _, _ := given.Encode(x.X)
	equalRows(t, "encode given class 2", enc.Mean, wantMean, 2)
	rec := postJSON[struct{ Outputs matrix }](t, ts, "/v1/reconstruct", map[string]any{"inputs": in, "class": 2})
	wantRec, _ := given.Reconstruct(x.X)
	equalRows(t, "reconstruct given class 2", rec.Outputs, wantRec, 64)
	sc := postJSON[struct{ Scores []server.Score }](t, ts, "/v1/score", map[string]any{"inputs": in, "class": 2, "seed": 3})
	wantScores, _ := given.Scores(x.X, rand.New(rand.NewPCG(3, 0)))
	for i, s := range sc.Scores {
		if s.Loss != wantScores[i] {
			t.Errorf("score %d given class 2: %+v, want %+v", i, s.Loss, wantScores[i])
		}
	}
	for _, path := range []string{"/v1/encode", "/v1/reconstruct", "/v1/score"} {
		r := do(t, ts, "POST", path, "application/json", strings.NewReader(`{"inputs": `+rows(1, 64, "0.5")+`}`))
		if r.status != http.StatusBadRequest || errorField(t, r) != "class" {
			t.Errorf("%s without a class: status %d, %s; want 400 naming class", path, r.status, r.body)
		}
	}
}

// A colour model (Config.Image of 3 channels) says its shape, reads an
// uploaded PNG as its red, green and blue planes, and draws a test
// example's heat map at its height and width.
func TestColourModel(t *testing.T) {
	m, err := vae.New(vae.Config{Input: 3 * 8 * 8, Image: []int{3, 8, 8}, Encoder: []string{"conv4s2", "dense8"}, Decoder: []string{"dense8"}, Latent: 2},
		rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := newServer(t, server.Options{Model: m, Test: tinySet(4, 3*64)})
	info := get[server.ModelResponse](t, ts, "/v1/model")
	if info.Image == nil || *info.Image != (server.ImageSize{Rows: 8, Cols: 8, Channels: 3}) {
		t.Errorf("GET /v1/model: image %+v, want 8×8 of 3 channels", info.Image)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	want := make([]float32, 3*64)
	for i := range 64 {
		r, g, b := uint8(4*i), uint8(255-4*i), uint8(17*(i%8))
		img.Set(i%8, i/8, color.NRGBA{r, g, b, 255})
		want[i], want[64+i], want[128+i] = float32(r)/255, float32(g)/255, float32(b)/255
	}
	wantMean, _, _ := m.Encode(want)
	ct, body := form(t, "image", pngOf(t, img))
	r := do(t, ts, "POST", "/v1/encode", ct, body)
	var enc struct{ Mean matrix }
	if err := json.Unmarshal(r.body, &enc); err != nil || r.status != 200 {
		t.Fatalf("encode colour PNG: %d %s", r.status, r.body)
	}
	equalRows(t, "encode colour PNG", enc.Mean, wantMean, 2)
	r = do(t, ts, "GET", "/v1/points/0/heat.png", "", nil)
	heat, err := png.Decode(bytes.NewReader(r.body))
	if err != nil || r.status != 200 || heat.Bounds().Dx() != 8 || heat.Bounds().Dy() != 8 {
		t.Errorf("heat map of a colour model: %d, %v, %v", r.status, err, heat)
	}
}
