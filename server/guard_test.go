package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/govae/vae/internal/memtest"
	"github.com/govae/vae/server"
)

// TestHosts checks the Host names a server on loopback answers: only
// loopback ones by default, so that a page whose name was made to resolve to
// 127.0.0.1 (DNS rebinding) cannot read the API; those of AllowedHosts too.
func TestHosts(t *testing.T) {
	plain, _ := newServer(t, server.Options{})
	named, _ := newServer(t, server.Options{AllowedHosts: []string{"vae.example", "[fd00::1]"}})
	open, _ := newServer(t, server.Options{AllowedHosts: []string{"*"}})
	for _, c := range []struct {
		ts     *httptest.Server
		host   string
		path   string
		status int
	}{
		{plain, "evil.example", "/v1/model", 403},
		{plain, "evil.example:8080", "/v1/points", 403},
		{plain, "evil.example", "/", 403},
		{plain, "evil.example", "/metrics", 403},
		{plain, "localhost", "/v1/model", 200},
		{plain, "LOCALHOST:1234", "/v1/model", 200},
		{plain, "app.localhost:8080", "/v1/model", 200},
		{plain, "127.0.0.1", "/v1/model", 200},
		{plain, "127.0.0.1:8080", "/", 200},
		{plain, "[::1]:8080", "/v1/model", 200},
		{plain, "192.168.1.5:8080", "/v1/model", 403},
		{named, "vae.example:8080", "/v1/model", 200},
		{named, "VAE.example.", "/v1/model", 200},
		{named, "[fd00::1]:80", "/v1/model", 200},
		{named, "localhost", "/v1/model", 200},
		{named, "evil.example", "/v1/model", 403},
		{open, "evil.example", "/v1/model", 200},
	} {
		req, _ := http.NewRequest("GET", c.ts.URL+c.path, nil)
		req.Host = c.host
		resp, err := c.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s with Host %s: %d, want %d (%.120s)", c.path, c.host, resp.StatusCode, c.status, b)
		}
		if c.status == 403 && !bytes.Contains(b, []byte("--allow-host")) {
			t.Errorf("GET %s with Host %s: %.120s, want a word on --allow-host", c.path, c.host, b)
		}
	}
	// Off loopback, with no allowed hosts, any name goes: the server cannot
	// know the names it is reached by.
	h, err := server.New(server.Options{Model: tinyModel(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v1/model", nil)
	req.Host = "vae.example"
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 8080}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("GET /v1/model on 192.168.1.5 with Host vae.example: %d %s", rec.Code, rec.Body)
	}
	if _, err := server.New(server.Options{Model: tinyModel(t, 2), AllowedHosts: []string{"http://vae.example/"}}); err == nil {
		t.Error("New accepts the allowed host http://vae.example/")
	}
}

// TestCrossSite checks that the /v1 endpoints refuse what a browser sends
// from another site's page, including the "simple" requests it sends
// without asking (text/plain, form-encoded), and take what the explorer and
// other clients send.
func TestCrossSite(t *testing.T) {
	ts, _ := newServer(t, server.Options{})
	self := ts.URL // http://127.0.0.1:PORT
	sample := `{"n": 1}`
	for _, c := range []struct {
		name, path, contentType string
		header                  []string
		status                  int
		field                   string
	}{
		{"simple POST from another site", "/v1/sample", "text/plain", []string{"Origin", "http://evil.example"}, 403, "Origin"},
		{"JSON from another site", "/v1/sample", "application/json", []string{"Origin", "http://evil.example"}, 403, "Origin"},
		{"another port of the same host", "/v1/sample", "application/json", []string{"Origin", "http://127.0.0.1:1"}, 403, "Origin"},
		{"sandboxed page", "/v1/sample", "application/json", []string{"Origin", "null"}, 403, "Origin"},
		{"marked cross-site", "/v1/sample", "application/json", []string{"Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site"},
		{"marked same-site", "/v1/sample", "application/json", []string{"Sec-Fetch-Site", "same-site"}, 403, "Sec-Fetch-Site"},
		{"GET from another site", "/v1/model", "", []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site"},
		{"text/plain", "/v1/sample", "text/plain", nil, 415, "Content-Type"},
		{"form-encoded (curl -d)", "/v1/sample", "application/x-www-form-urlencoded", nil, 415, "Content-Type"},
		{"no Content-Type", "/v1/sample", "", nil, 415, "Content-Type"},
		{"JSON in another charset", "/v1/sample", "application/json; charset=utf-16", nil, 415, "Content-Type"},
		{"images to decode", "/v1/decode", "multipart/form-data; boundary=x", nil, 415, "Content-Type"},
		{"the explorer", "/v1/sample", "application/json", []string{"Origin", self, "Sec-Fetch-Site", "same-origin"}, 200, ""},
		{"the explorer's GET", "/v1/model", "", []string{"Sec-Fetch-Site", "same-origin"}, 200, ""},
		{"typed in the address bar", "/v1/model", "", []string{"Sec-Fetch-Site", "none"}, 200, ""},
		{"curl --json", "/v1/sample", "application/json", nil, 200, ""},
		{"JSON in UTF-8", "/v1/sample", "application/json; charset=UTF-8", nil, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			method, body := "POST", io.Reader(strings.NewReader(sample))
			if c.path == "/v1/model" {
				method, body = "GET", nil
			}
			r := do(t, ts, method, c.path, c.contentType, body, c.header...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d (%s)", r.status, c.status, r.body)
			}
			if c.field != "" {
				if f := errorField(t, r); f != c.field {
					t.Errorf("field %q, want %q (%s)", f, c.field, r.body)
				}
			}
		})
	}
	// Go's client sets no Content-Type of its own; a request without one
	// is told what to send.
	r := do(t, ts, "POST", "/v1/sample", "", strings.NewReader(sample))
	if !bytes.Contains(r.body, []byte("want application/json")) || !bytes.Contains(r.body, []byte("--json")) {
		t.Errorf("no Content-Type: %s", r.body)
	}
}

// TestSecurityHeaders checks the headers of the page, the API and errors.
func TestSecurityHeaders(t *testing.T) {
	ts, _ := newServer(t, server.Options{})
	for _, c := range []struct{ method, path, contentType, body string }{
		{"GET", "/", "", ""},
		{"GET", "/app.js", "", ""},
		{"GET", "/v1/model", "", ""},
		{"POST", "/v1/sample", "application/json", "{}"},
		{"POST", "/v1/sample", "application/json", "[]"},
		{"GET", "/healthz", "", ""},
	} {
		r := do(t, ts, c.method, c.path, c.contentType, strings.NewReader(c.body))
		for name, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := r.header.Get(name); !strings.Contains(got, want) {
				t.Errorf("%s %s (%d): %s %q, want %q", c.method, c.path, r.status, name, got, want)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s %s: Content-Security-Policy %q", c.method, c.path, csp)
		}
	}
}

// TestBearerScheme checks that the scheme of the Authorization header is
// case-insensitive (RFC 7235 §2.1).
func TestBearerScheme(t *testing.T) {
	ts, _ := newServer(t, server.Options{Token: "s3cret"})
	for _, c := range []struct {
		auth   string
		status int
	}{
		{"Bearer s3cret", 200},
		{"bearer s3cret", 200},
		{"BEARER s3cret", 200},
		{"Bearer  s3cret", 200},
		{"bearer S3CRET", 401},
		{"Basic s3cret", 401},
		{"Bearers3cret", 401},
	} {
		r := do(t, ts, "GET", "/v1/model", "", nil, "Authorization", c.auth)
		if r.status != c.status {
			t.Errorf("Authorization %q: %d, want %d", c.auth, r.status, c.status)
		}
	}
}

// TestSlowBodyHoldsNoSlot has a client send half a body and stop: with one
// slot, the other requests, the explorer's GETs and a decode, are answered
// while it waits, and it is answered once its body is in.
func TestSlowBodyHoldsNoSlot(t *testing.T) {
	s, err := server.New(server.Options{Model: tinyModel(t, 2), MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			r.Body = &onFirstRead{ReadCloser: r.Body, first: reading}
		}
		s.ServeHTTP(w, r)
	}))
	defer ts.Close()
	pr, pw := io.Pipe()
	defer pw.Close() // before ts.Close, which waits for the request
	slow := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/sample", pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Slow", "1")
		resp, err := ts.Client().Do(req)
		if err != nil {
			slow <- response{status: -1, body: []byte(err.Error())}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- response{status: resp.StatusCode, body: b}
	}()
	pw.Write([]byte(`{"n":`))
	<-reading

	// Before the fix these wait for the slot the slow request holds; the
	// deadline only turns that wait into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/model", ""},
		{"GET", "/v1/points", ""},
		{"POST", "/v1/decode", `{"latents": [[0, 0]]}`},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, ts.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s while a body trickles in: %v", c.method, c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s %s while a body trickles in: %d", c.method, c.path, resp.StatusCode)
		}
	}
	pw.Write([]byte(` 1}`))
	pw.Close()
	if r := <-slow; r.status != 200 {
		t.Errorf("the slow request: %d %s", r.status, r.body)
	}
}

// TestBodyTimeout has a client send part of its body and nothing more: it
// gets a 408 once Options.BodyTimeout has passed.
func TestBodyTimeout(t *testing.T) {
	ts, _ := newServer(t, server.Options{BodyTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/sample HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"n\":")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !bytes.Contains(b, []byte("5 bytes of it arrived in 50ms")) {
		t.Errorf("a body that stops: %d %s", resp.StatusCode, b)
	}
}

// TestPixelLimit checks that the pixels of a request's images are counted
// from their headers and refused before any is decoded.
func TestPixelLimit(t *testing.T) {
	small := pngOf(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	ts, _ := newServer(t, server.Options{MaxPixels: 100})
	ct, body := form(t, "image", small)
	if r := do(t, ts, "POST", "/v1/encode", ct, body); r.status != 200 {
		t.Errorf("one image of 64 pixels, limit 100: %d %s", r.status, r.body)
	}
	ct, body = form(t, "image", small, "image", small)
	r := do(t, ts, "POST", "/v1/encode", ct, body)
	want := "image: 2 images of 128 pixels in all, more than the limit of 100 pixels per request (raise it with --max-pixels)"
	if r.status != 413 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("two images of 64 pixels, limit 100: %d %s, want 413 %q", r.status, r.body, want)
	}

	// The review's case: 1024 PNGs of 2048×2048 pixels in a body of a few
	// MB cost 97 s of decoding; by default they are refused at once.
	ts, _ = newServer(t, server.Options{})
	big := pngOf(t, image.NewGray(image.Rect(0, 0, 2048, 2048)))
	parts := make([]any, 0, 2048)
	for range 1024 {
		parts = append(parts, "image", big)
	}
	ct, body = form(t, parts...)
	r = do(t, ts, "POST", "/v1/score", ct, body)
	want = fmt.Sprintf("image: 1024 images of 4294967296 pixels in all, more than the limit of %d pixels per request", server.DefaultMaxPixels)
	if r.status != 413 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("1024 images of 2048×2048: %d %s, want 413 %q", r.status, r.body, want)
	}
}

// TestByteOrderMark checks that a JSON body may start with a UTF-8
// byte-order mark, and that what is not JSON is named as the text it is.
func TestByteOrderMark(t *testing.T) {
	ts, _ := newServer(t, server.Options{})
	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{"\ufeff{\"n\": 2}", 200, ""},
		{"\ufeff \n{\"n\": 2}", 200, ""},
		{"\ufeff\ufeff{\"n\": 2}", 400, "body: got a UTF-8 byte-order mark (not JSON), want a JSON object"},
		{`{"n": 2, "seed": ` + "\ufeff1}", 400, "is not a whole number"},
		{"é", 400, "body: got 'é' (not JSON), want a JSON object"},
		{"\xff{}", 400, "body: got byte 0xff (not UTF-8), want a JSON object"},
		{"\ufeff", 400, "body: empty; want a JSON object"},
	} {
		r := do(t, ts, "POST", "/v1/sample", "application/json", strings.NewReader(c.body))
		if r.status != c.status || !bytes.Contains(r.body, []byte(c.want)) {
			t.Errorf("body %q: %d %s, want %d %q", c.body, r.status, r.body, c.status, c.want)
		}
	}
}

// TestMemoryBudget checks that what a request would allocate is compared
// with the memory budget before it is allocated.
func TestMemoryBudget(t *testing.T) {
	memtest.SetLimit(t, 1<<20)
	ts, _ := newServer(t, server.Options{})
	if r := do(t, ts, "POST", "/v1/sample", "application/json", strings.NewReader(`{"n": 10}`)); r.status != 200 {
		t.Errorf("10 samples with a budget of 1 MiB: %d %s", r.status, r.body)
	}
	r := do(t, ts, "POST", "/v1/sample", "application/json", strings.NewReader(`{"n": 1024}`))
	want := "request: sampling 1024 images with 64-16-2 needs 1.2 MiB of memory, over the limit of 1.0 MiB (raise it with --max-memory"
	if r.status != 413 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("1024 samples with a budget of 1 MiB: %d %s, want 413 %q", r.status, r.body, want)
	}
	ct, body := form(t, "image", pngOf(t, image.NewGray(image.Rect(0, 0, 8, 8))), "image", pngOf(t, image.NewGray(image.Rect(0, 0, 1024, 1024))))
	r = do(t, ts, "POST", "/v1/encode", ct, body)
	want = "image[1]: decoding image[1], a PNG of 1024×1024 pixels, needs 2.0 MiB of memory, over the limit of 1.0 MiB"
	if r.status != 413 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("a PNG of 1024×1024 with a budget of 1 MiB: %d %s, want 413 %q", r.status, r.body, want)
	}
}
