package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govae/vae/vae"
)

// hookServer is a server of an 8×8 model whose requests call hook once
// they hold the slot they compute in.
func hookServer(t *testing.T, opts Options, hook func(*call)) *Server {
	t.Helper()
	m, err := vae.New(vae.Config{Input: 64, Hidden: []int{16}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	opts.Model = m
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.testHookWork = hook
	return s
}

func inputsJSON(n int, extra string) string {
	row := "[" + strings.Repeat("0.5,", 63) + "0.5]"
	return `{"inputs": [` + strings.Repeat(row+",", n-1) + row + `]` + extra + `}`
}

// post sends a JSON body and returns the status and body of the answer.
func post(ctx context.Context, ts *httptest.Server, path, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestExpensiveRequestsDoNotStarveCheapOnes holds three scores of many
// importance samples in their computation, more than the slots of cheap
// requests: a one-row decode and a score without k are still answered at
// once, and the expensive ones after.
func TestExpensiveRequestsDoNotStarveCheapOnes(t *testing.T) {
	heavyIn, released := make(chan struct{}, 8), make(chan struct{})
	s := hookServer(t, Options{MaxInFlight: 2, MaxHeavyInFlight: 1}, func(c *call) {
		if c.r.URL.Path == "/v1/score" && c.slot == c.s.heavy {
			heavyIn <- struct{}{}
			<-released
		}
	})
	ts := httptest.NewServer(s)
	defer ts.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(released) }) }
	defer release() // before ts.Close, which waits for the requests
	heavy := make(chan error, 3)
	for range 3 {
		go func() {
			code, body, err := post(context.Background(), ts, "/v1/score", inputsJSON(1, `, "k": 2000`))
			if err == nil && code != 200 {
				err = fmt.Errorf("%d %s", code, body)
			}
			heavy <- err
		}()
	}
	<-heavyIn // one computes; the others wait for the heavy pool
	// Before the fix, the expensive requests hold both slots and these wait
	// for them; the deadline turns that wait into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range []struct{ path, body string }{
		{"/v1/decode", `{"latents": [[0, 0]]}`},
		{"/v1/score", inputsJSON(4, `, "k": 10`)},
		{"/v1/decode", `{"latents": [[1, 0]]}`},
	} {
		if code, body, err := post(ctx, ts, c.path, c.body); err != nil || code != 200 {
			t.Fatalf("%s while expensive requests compute: %d %s %v", c.path, code, body, err)
		}
	}
	release()
	for range 3 {
		if err := <-heavy; err != nil {
			t.Errorf("expensive score: %v", err)
		}
	}
}

// TestExpensiveQueueIsBounded fills the places of the expensive requests:
// the next is refused at once with a 503, a cheap one is served.
func TestExpensiveQueueIsBounded(t *testing.T) {
	s := hookServer(t, Options{MaxHeavyInFlight: 1}, nil)
	for range cap(s.heavyAdmit) {
		s.heavyAdmit <- struct{}{}
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	code, body, err := post(context.Background(), ts, "/v1/score", inputsJSON(2, `, "k": 1000`))
	want := "request: scoring 2 inputs with 1000 samples each is expensive and 8 expensive requests are running or waiting, the most this server queues; retry later"
	if err != nil || code != 503 || !strings.Contains(body, want) {
		t.Errorf("an expensive score with the queue full: %d %s %v, want 503 %q", code, body, err, want)
	}
	if code, body, err := post(context.Background(), ts, "/v1/score", inputsJSON(2, `, "k": 100`)); err != nil || code != 200 {
		t.Errorf("a cheap score with the queue full: %d %s %v", code, body, err)
	}
}

// pngForm is a multipart body of n 8×8 PNG images.
func pngForm(t *testing.T, n int) (string, []byte) {
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for range n {
		f, _ := w.CreateFormFile("image", "x.png")
		f.Write(img.Bytes())
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// TestWorkStopsWhenClientLeaves has the client of each endpoint go away
// once its request holds a slot: the server computes nothing more and
// answers no one (499 in its log and metrics) instead of a 200.
func TestWorkStopsWhenClientLeaves(t *testing.T) {
	ct, images := pngForm(t, 3)
	for _, c := range []struct{ path, contentType, body string }{
		{"/v1/encode", "application/json", inputsJSON(600, "")},
		{"/v1/encode", ct, string(images)},
		{"/v1/decode", "application/json", `{"latents": [[0, 0], [1, 1]]}`},
		{"/v1/reconstruct", "application/json", inputsJSON(3, "")},
		{"/v1/sample", "application/json", `{"n": 1000}`},
		{"/v1/score", "application/json", inputsJSON(3, `, "k": 5`)},
		{"/v1/score", ct, string(images)},
	} {
		t.Run(c.path, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := hookServer(t, Options{}, func(*call) { cancel() })
			req := httptest.NewRequestWithContext(ctx, "POST", c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != 499 || strings.Contains(rec.Body.String(), "outputs") {
				t.Errorf("client gone before the work: %d %.100s, want 499", rec.Code, rec.Body)
			}
		})
	}
}

// TestClientLeavingCancels checks over a connection that a client that
// goes away while its request waits to compute cancels it.
func TestClientLeavingCancels(t *testing.T) {
	in, out := make(chan struct{}), make(chan error, 1)
	s := hookServer(t, Options{}, func(c *call) {
		close(in)
		<-c.ctx.Done()
		out <- c.ctx.Err()
	})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, _, err := post(ctx, ts, "/v1/decode", `{"latents": [[0, 0]]}`)
		gone <- err
	}()
	<-in
	cancel()
	if err := <-gone; err == nil {
		t.Error("the client got an answer")
	}
	if err := <-out; !errors.Is(err, context.Canceled) {
		t.Errorf("the request's context: %v", err)
	}
}

func TestEachChunkStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var got [][2]int
	err := eachChunk(ctx, 10, 4, func(lo, hi int) error {
		got = append(got, [2]int{lo, hi})
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(got) != 1 || got[0] != [2]int{0, 4} {
		t.Errorf("cancelled in the first chunk: chunks %v, %v", got, err)
	}
	got = nil
	if err := eachChunk(context.Background(), 10, 4, func(lo, hi int) error {
		got = append(got, [2]int{lo, hi})
		return nil
	}); err != nil || fmt.Sprint(got) != "[[0 4] [4 8] [8 10]]" {
		t.Errorf("chunks %v, %v", got, err)
	}
}

// TestChunkedResultsMatchTheModel checks that a batch of rowsPerChunk rows
// gives what one call of the model gives, bit for bit, and a larger one
// what a call per chunk gives.
func TestChunkedResultsMatchTheModel(t *testing.T) {
	s := hookServer(t, Options{MaxBatch: 2 * rowsPerChunk}, nil)
	m := s.model
	ts := httptest.NewServer(s)
	defer ts.Close()
	rowsOf := func(v []float32, cols int) [][]float32 {
		var r [][]float32
		for i := 0; i < len(v); i += cols {
			r = append(r, v[i:i+cols])
		}
		return r
	}
	ask := func(path string, req, resp any) {
		t.Helper()
		b, _ := json.Marshal(req)
		code, body, err := post(context.Background(), ts, path, string(b))
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %.200s %v", path, code, body, err)
		}
		if err := json.Unmarshal([]byte(body), resp); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{rowsPerChunk, rowsPerChunk + 7} {
		same := func(what string, got [][]float32, f func(lo, hi int) []float32, cols int) {
			t.Helper()
			want := f(0, min(n, rowsPerChunk))
			if n > rowsPerChunk {
				want = append(want, f(rowsPerChunk, n)...)
			}
			if fmt.Sprint(got) != fmt.Sprint(rowsOf(want, cols)) {
				t.Errorf("%s of %d rows differs from the model's in chunks of %d", what, n, rowsPerChunk)
			}
		}
		x := make([]float32, n*64)
		rng := rand.New(rand.NewPCG(9, 9))
		for i := range x {
			x[i] = rng.Float32()
		}

		var smp struct{ Outputs [][]float32 }
		ask("/v1/sample", map[string]any{"n": n, "seed": 4}, &smp)
		srng := rand.New(rand.NewPCG(4, 0))
		same("sample", smp.Outputs, func(lo, hi int) []float32 { return m.Sample(hi-lo, srng) }, 64)

		var enc struct{ Mean [][]float32 }
		ask("/v1/encode", map[string]any{"inputs": rowsOf(x, 64)}, &enc)
		var mean []float32
		same("encode", enc.Mean, func(lo, hi int) []float32 {
			v, _, _ := m.Encode(x[lo*64 : hi*64])
			mean = append(mean, v...)
			return v
		}, 2)

		var dec struct{ Outputs [][]float32 }
		ask("/v1/decode", map[string]any{"latents": rowsOf(mean, 2)}, &dec)
		same("decode", dec.Outputs, func(lo, hi int) []float32 { v, _ := m.Decode(mean[lo*2 : hi*2]); return v }, 64)

		var rec struct{ Outputs [][]float32 }
		ask("/v1/reconstruct", map[string]any{"inputs": rowsOf(x, 64)}, &rec)
		same("reconstruct", rec.Outputs, func(lo, hi int) []float32 { v, _ := m.Reconstruct(x[lo*64 : hi*64]); return v }, 64)

		var sc struct{ Scores []vae.Loss }
		ask("/v1/score", map[string]any{"inputs": rowsOf(x, 64), "seed": 5}, &sc)
		crng := rand.New(rand.NewPCG(5, 0))
		want, _ := m.Scores(x[:min(n, rowsPerChunk)*64], crng)
		if n > rowsPerChunk {
			more, _ := m.Scores(x[rowsPerChunk*64:], crng)
			want = append(want, more...)
		}
		if fmt.Sprint(sc.Scores) != fmt.Sprint(want) {
			t.Errorf("scores of %d rows differ from the model's in chunks of %d", n, rowsPerChunk)
		}
	}
}

// TestLongRequestKeepsItsAnswer has a request compute past Serve's read and
// write timeouts (shortened here): it is not cancelled and its answer
// arrives, the write timeout counting from when the answer is written.
func TestLongRequestKeepsItsAnswer(t *testing.T) {
	saved := serveTimeouts
	defer func() { serveTimeouts = saved }()
	serveTimeouts.read, serveTimeouts.write = 100*time.Millisecond, 100*time.Millisecond
	s := hookServer(t, Options{}, func(c *call) {
		// Time must pass for a timeout to pass; the test proves nothing
		// by it, the answer below does.
		<-time.After(3 * serveTimeouts.write)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, s, 10*time.Second) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	resp, err := http.Post("http://"+l.Addr().String()+"/v1/decode", "application/json", strings.NewReader(`{"latents": [[0, 0]]}`))
	if err != nil {
		t.Fatalf("a request computing past the timeouts: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Contains(b, []byte("outputs")) {
		t.Errorf("a request computing past the timeouts: %d %.100s %v", resp.StatusCode, b, err)
	}
}

// failingWriter is a ResponseWriter whose client went away: every write
// fails. It counts the calls of WriteHeader, explicit or not.
type failingWriter struct {
	header  http.Header
	headers int
}

func (w *failingWriter) Header() http.Header { return w.header }
func (w *failingWriter) WriteHeader(int)     { w.headers++ }
func (w *failingWriter) Write([]byte) (int, error) {
	if w.headers == 0 {
		w.WriteHeader(200)
	}
	return 0, errors.New("write: broken pipe")
}

// TestLostAnswerIsNotAnsweredTwice checks that a response that could not
// be written is not followed by an error response (net/http's
// "superfluous response.WriteHeader call").
func TestLostAnswerIsNotAnsweredTwice(t *testing.T) {
	s := hookServer(t, Options{}, nil)
	for _, path := range []string{"/v1/sample", "/v1/model"} {
		w := &failingWriter{header: http.Header{}}
		req := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		if path == "/v1/model" {
			req = httptest.NewRequest("GET", path, nil)
		}
		req.Header.Set("Content-Type", "application/json")
		s.ServeHTTP(w, req)
		if w.headers != 1 {
			t.Errorf("%s: WriteHeader called %d times, want 1", path, w.headers)
		}
	}
}

func TestBytePool(t *testing.T) {
	p := newBytePool(10)
	ctx := context.Background()
	if err := p.acquire(ctx, 6); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.acquire(short, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("5 of the 4 bytes free, cancelled: %v", err)
	}
	got := make(chan error)
	go func() { got <- p.acquire(ctx, 5) }()
	p.release(6) // wakes the waiter
	if err := <-got; err != nil {
		t.Error(err)
	}
	if err := p.acquire(ctx, 5); err != nil {
		t.Errorf("the last 5 bytes: %v", err)
	}
}

// TestBodyMemoryIsBounded has a body that waits for memory held by
// another's: it is refused with a 503 after the body timeout, and the
// server is served again once the memory is given back.
func TestBodyMemoryIsBounded(t *testing.T) {
	s := hookServer(t, Options{MaxBodyBytes: 8 << 10, MaxBodyMemory: 8<<10 + 1, BodyTimeout: 50 * time.Millisecond}, nil)
	if err := s.bodies.acquire(context.Background(), 8<<10); err != nil { // as a body being read
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	code, body, err := post(context.Background(), ts, "/v1/sample", `{"n": 1}`)
	if err != nil || code != 503 || !strings.Contains(body, "of request bodies, its limit") {
		t.Errorf("a body with the memory of bodies taken: %d %s %v", code, body, err)
	}
	s.bodies.release(8 << 10)
	if code, body, err := post(context.Background(), ts, "/v1/sample", `{"n": 1}`); err != nil || code != 200 {
		t.Errorf("a body once the memory is back: %d %s %v", code, body, err)
	}
	if s.bodies.free != s.bodies.size {
		t.Errorf("%d bytes of %d free after the requests", s.bodies.free, s.bodies.size)
	}
}
