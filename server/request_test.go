package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/govae/vae/vae"
)

func TestSplitObject(t *testing.T) {
	for _, c := range []struct {
		body  string
		want  map[string]string // nil: an error naming field
		field string
	}{
		{`{}`, map[string]string{}, ""},
		{` {"a": [1, [2, "]"]], "b\u0063": "x,}", "d":-1e3 } `, map[string]string{"a": `[1, [2, "]"]]`, "bc": `"x,}"`, "d": "-1e3"}, ""},
		{`{"a": NaN}`, map[string]string{"a": "NaN"}, ""}, // the value is checked later
		{``, nil, "body"},
		{`[1]`, nil, "body"},
		{`{"a": 1`, nil, "body"},
		{`{"a" 1}`, nil, "body"},
		{`{a: 1}`, nil, "body"},
		{`{"a": }`, nil, "a"},
		{`{"a": 1, "a": 2}`, nil, "a"},
		{`{"a": 1} {}`, nil, "body"},
		{`{"a": 1,}`, nil, "body"},
		{`{"a": [1}`, nil, "body"},
	} {
		o, err := splitObject([]byte(c.body))
		if c.want == nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Field != c.field || ae.Status != 400 {
				t.Errorf("%q: error %v, want a 400 naming %q", c.body, err, c.field)
			}
			continue
		}
		if err != nil || len(o) != len(c.want) {
			t.Errorf("%q: %q, %v; want %q", c.body, o, err, c.want)
		}
		for k, v := range c.want {
			if string(o[k]) != v {
				t.Errorf("%q: field %q = %q, want %q", c.body, k, o[k], v)
			}
		}
	}
}

// FuzzParseMatrix checks the matrix reader against encoding/json: what it
// accepts, encoding/json reads as the same numbers, and what encoding/json
// reads as a valid matrix, it accepts; it refuses anything else with a 4xx
// naming an element.
func FuzzParseMatrix(f *testing.F) {
	for _, s := range []string{
		`[[0, 0.5, 1]]`, `[[0,0,0],[1,1,1]]`, `[[1e-3, 5E-1, 0.0]]`, `[]`, `[[]]`, `[[0, 0]]`,
		`[[0, 0, 0, 0]]`, `[[2, 0, 0]]`, `[[-0, 0, 0]]`, `[["0", 0, 0]]`, `[[null]]`, `{"a": 1}`,
		`[[0,0,0],[0,0,0],[0,0,0],[0,0,0],[0,0,0]]`, ` [ [ 0 , 1 , 0 ] ] `, `[[1e999, 0, 0]]`, `null`, `"x"`,
		`[[0, NaN, 0]]`, `[[-Infinity, 0, 0]]`, `[[01, 0, 0]]`, `[[.5, 0, 0]]`, `[[1., 0, 0]]`, `[[+1, 0, 0]]`,
		`[[0, 0, 0]] x`, `[[0, 0, 0] [0, 0, 0]]`, `[[0 0, 0]]`, `[[0, 0, 0]`, `[[1e, 0, 0]]`, `[[0x1, 0, 0]]`,
	} {
		f.Add([]byte(s))
	}
	spec := matrixSpec{field: "inputs", cols: 3, maxRows: 4, lo: 0, hi: 1, what: "test"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		x, n, err := parseMatrix(raw, spec)
		var ref [][]float64
		refErr := json.Unmarshal(raw, &ref)
		refOK := refErr == nil && len(ref) >= 1 && len(ref) <= spec.maxRows
		for _, row := range ref {
			refOK = refOK && len(row) == spec.cols
			for _, v := range row {
				refOK = refOK && float32(v) >= 0 && float32(v) <= 1 && v <= 1 && v >= 0
			}
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status/100 != 4 || !strings.HasPrefix(ae.Field, "inputs") {
				t.Fatalf("%q: error %#v is not a 4xx naming an element of inputs", raw, err)
			}
			if refOK {
				t.Fatalf("%q: refused (%v), but encoding/json reads %v", raw, err, ref)
			}
			return
		}
		if !refOK || n != len(ref) || len(x) != n*spec.cols {
			t.Fatalf("%q: read %d rows %v, encoding/json: %v %v", raw, n, x, ref, refErr)
		}
		for i, row := range ref {
			for j, v := range row {
				if x[i*spec.cols+j] != float32(v) {
					t.Fatalf("%q: [%d][%d] = %v, encoding/json: %v", raw, i, j, x[i*spec.cols+j], v)
				}
			}
		}
	})
}

// fuzzServer is a server of a model with 2×2 inputs, so that the fuzzer
// finds valid requests, and small limits.
func fuzzServer(t testing.TB) *Server {
	m, err := vae.New(vae.Config{Input: 4, Hidden: []int{3}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Model: m, MaxBatch: 8, MaxBodyBytes: 4 << 10, MaxK: 10, MaxNLLSamples: 40})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAnswer fails unless rec is a 200 with a JSON body, or a 4xx with a
// JSON error naming a field.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, request []byte) {
	t.Helper()
	body := rec.Body.Bytes()
	switch {
	case rec.Code == 200:
		if !json.Valid(body) {
			t.Fatalf("request %q: 200 with a body that is not JSON: %q", request, body)
		}
	case rec.Code/100 == 4:
		var e struct{ Error, Field string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.Field == "" {
			t.Fatalf("request %q: %d with body %q, want a JSON error naming a field", request, rec.Code, body)
		}
	default:
		t.Fatalf("request %q: status %d: %s", request, rec.Code, body)
	}
}

// FuzzJSONRequest sends any body to each JSON endpoint: the answer is a 200
// or a 4xx JSON error, never a 5xx or a panic.
func FuzzJSONRequest(f *testing.F) {
	paths := []string{"/v1/encode", "/v1/decode", "/v1/reconstruct", "/v1/sample", "/v1/score"}
	for i, s := range []string{
		`{"inputs": [[0, 0.5, 1, 0]]}`, `{"latents": [[0.1, -2]]}`, `{"inputs": [[1, 1, 1, 1], [0, 0, 0, 0]]}`,
		`{"n": 3, "seed": 9}`, `{"inputs": [[0, 0, 0, 1]], "k": 5, "seed": 2}`, `{"inputs": [[0, NaN, 0, 0]]}`,
		`{"latents": [[Infinity, 0]]}`, `{"n": -1}`, `{"inputs": [[0, 0, 0, 0]], "k": 11}`, `{"x": 1}`, `[`, ``,
		`{"latents": [[1e300, 0]]}`, `{"inputs": [[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0]]}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		req := httptest.NewRequest("POST", paths[int(endpoint)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkAnswer(t, rec, body)
	})
}

// FuzzPNGUpload sends any file as a PNG image to /v1/encode and /v1/score.
func FuzzPNGUpload(f *testing.F) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2)))
	f.Add(b.Bytes(), "false")
	b.Reset()
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 5, 3)))
	f.Add(b.Bytes(), "true")
	f.Add(b.Bytes()[:30], "")
	f.Add([]byte("GIF89a"), "1")
	f.Add([]byte{}, "x")
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, file []byte, invert string) {
		for _, path := range []string{"/v1/encode", "/v1/score"} {
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			part, _ := w.CreateFormFile("image", "x.png")
			part.Write(file)
			w.WriteField("invert", invert)
			w.Close()
			req := httptest.NewRequest("POST", path, bytes.NewReader(body.Bytes()))
			req.Header.Set("Content-Type", w.FormDataContentType())
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			checkAnswer(t, rec, file)
		}
	})
}

// FuzzMultipartBody sends any multipart/form-data body to /v1/reconstruct.
func FuzzMultipartBody(f *testing.F) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2)))
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n" + b.String() + "\r\n--B--\r\n"))
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"invert\"\r\n\r\ntrue\r\n--B--\r\n"))
	f.Add([]byte("--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n"))
	f.Add([]byte("--B\r\n\r\n"))
	f.Add([]byte(""))
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/reconstruct", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkAnswer(t, rec, body)
		if rec.Code == http.StatusInternalServerError {
			t.Fatal("500")
		}
	})
}

func TestParseMatrixMessages(t *testing.T) {
	spec := matrixSpec{field: "inputs", cols: 2, maxRows: 2, lo: 0, hi: 1, what: "the input size"}
	for _, c := range []struct{ raw, want string }{
		{`[[0, NaN]]`, "inputs[0][1]: got NaN (not JSON), want a number in [0, 1]"},
		{`[[0, -Infinity]]`, "inputs[0][1]: got -Infinity (not a JSON number), want a number in [0, 1]"},
		{`[[0, 01]]`, "inputs[0][1]: invalid JSON after the number: want , or ]"},
		{`[0.5]`, "inputs[0]: got a number, want an array of 2 numbers"},
		{`[[0, 2]]`, "inputs[0][1]: 2 is out of range; want a number in [0, 1]"},
		{`[[0]]`, "inputs[0]: length 1, want 2 (the input size)"},
		{`[[0, 0], [0, 0], [0, 0]]`, "inputs: more than 2 rows; send at most 2 per request"},
		{``, "inputs: missing; want an array of rows of 2 numbers in [0, 1]"},
	} {
		_, _, err := parseMatrix([]byte(c.raw), spec)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %s", c.raw, err, c.want)
		}
	}
}
