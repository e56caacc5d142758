package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govae/vae/run"
	"github.com/govae/vae/vae"
)

// serveVAE starts vae serve with args in-process on a free port and returns
// its base URL, and a function that stops it (as SIGINT would) and returns
// its exit status and stderr.
func serveVAE(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), outW, &stderr)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	go io.Copy(io.Discard, outR)
	stop = func() (int, string) {
		cancel()
		select {
		case c := <-code:
			return c, stderr.String()
		case <-time.After(20 * time.Second):
			t.Fatal("vae serve did not stop within 20 s of its context")
			return 0, ""
		}
	}
	_, url, ok := strings.Cut(strings.TrimSpace(line), " on ")
	if err != nil || !ok {
		c, e := stop()
		t.Fatalf("vae serve printed %q (%v), exit %d: %s", line, err, c, e)
	}
	return strings.TrimSuffix(url, "/"), stop
}

func TestServe(t *testing.T) {
	data := tinyData(t)
	dir := filepath.Join(t.TempDir(), "run")
	if code, stdout, stderr := runVAE(context.Background(), "train", "--out", dir, "--data-dir", data, "--hidden", "8", "--epochs", "1"); code != 0 {
		t.Fatalf("train: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range []struct {
		name   string
		args   []string
		points int
	}{
		{"run folder: the spec's test set", []string{dir}, 100},
		{"model file with --no-data", []string{"--no-data", filepath.Join(dir, run.ModelFile)}, 0},
		{"model file with --data", []string{"--data", "mnist", "--data-dir", data, "--token", "s3cret", filepath.Join(dir, run.ModelFile)}, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, stop := serveVAE(t, c.args...)
			get := func(path, token string) (int, []byte) {
				req, _ := http.NewRequest("GET", url+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, b
			}
			if code, body := get("/healthz", ""); code != 200 || string(body) != "ok\n" {
				t.Errorf("/healthz: %d %q", code, body)
			}
			token := ""
			if strings.Contains(strings.Join(c.args, " "), "--token") {
				if code, _ := get("/v1/model", ""); code != 401 {
					t.Errorf("/v1/model without the token: %d, want 401", code)
				}
				token = "s3cret"
			}
			code, body := get("/v1/model", token)
			var info struct {
				Architecture string `json:"architecture"`
				TestPoints   int    `json:"test_points"`
			}
			if err := json.Unmarshal(body, &info); err != nil || code != 200 || info.Architecture != "64-8-2" || info.TestPoints != c.points {
				t.Errorf("/v1/model: %d %s, want 64-8-2 with %d test points", code, body, c.points)
			}
			if code, stderr := stop(); code != 0 {
				t.Errorf("exit %d after the context ended, want 0: %s", code, stderr)
			}
		})
	}
}

func TestServeErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve"}, 2, "accepts 1 arg"},
		{[]string{"serve", "--max-batch", "0", "x"}, 2, "--max-batch"},
		{[]string{"serve", "--max-pixels", "0", "x"}, 2, "--max-pixels 0"},
		{[]string{"serve", "--max-samples", "-1", "x"}, 2, "--max-samples -1"},
		{[]string{"serve", filepath.Join(t.TempDir(), "none.safetensors")}, 1, "none.safetensors"},
	} {
		code, _, stderr := runVAE(context.Background(), c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// modelFile saves a 64-8-2 model with random weights and returns its path.
func modelFile(t *testing.T) string {
	t.Helper()
	m, err := vae.New(vae.Config{Input: 64, Hidden: []int{8}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := vae.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// blockingHandler makes vae serve's handler hold requests to /test/block
// until release is called or the test ends; entered receives one value per
// request held.
func blockingHandler(t *testing.T) (entered chan struct{}, release func()) {
	entered, released := make(chan struct{}, 4), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	saved := serveHandler
	serveHandler = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/test/block" {
				entered <- struct{}{}
				<-released
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	t.Cleanup(func() {
		release()
		serveHandler = saved
	})
	return entered, release
}

// hold sends a request that blocks (see blockingHandler) and waits until
// the server holds it.
func hold(t *testing.T, url string, entered chan struct{}) {
	go func() {
		resp, err := http.Get(url + "/test/block")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
}

// TestServeDrainOverrun stops vae serve while a request outlasts --drain:
// it is cut off and vae serve exits 0, as stopping was asked for, and says
// so on stderr.
func TestServeDrainOverrun(t *testing.T) {
	entered, _ := blockingHandler(t)
	url, stop := serveVAE(t, "--no-data", "--drain", "1ms", modelFile(t))
	hold(t, url, entered)
	code, stderr := stop()
	if code != 0 || !strings.Contains(stderr, "cut off after --drain") {
		t.Errorf("exit %d after --drain ran out, want 0 and a word on it: %s", code, stderr)
	}
}

// TestServeSecondSignal sends vae serve a second signal while it drains a
// request: it exits at once with status 1.
func TestServeSecondSignal(t *testing.T) {
	entered, release := blockingHandler(t)
	sigs := make(chan chan<- os.Signal, 1)
	exited := make(chan int, 1)
	savedNotify, savedExit := notifyStop, exitNow
	notifyStop = func(c chan<- os.Signal) func() {
		sigs <- c
		return func() {}
	}
	exitNow = func(code int) {
		exited <- code
		runtime.Goexit() // as os.Exit would, go no further
	}
	t.Cleanup(func() { notifyStop, exitNow = savedNotify, savedExit })

	url, stop := serveVAE(t, "--no-data", "--drain", "1h", modelFile(t))
	signals := <-sigs
	hold(t, url, entered)
	stopped := make(chan int, 1)
	go func() {
		code, _ := stop() // the first signal's cancel: drains for up to an hour
		stopped <- code
	}()
	signals <- os.Interrupt
	signals <- os.Interrupt
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit status %d on the second signal, want 1", code)
		}
	case code := <-stopped:
		t.Fatalf("vae serve returned %d before the second signal made it exit", code)
	case <-time.After(20 * time.Second):
		t.Fatal("vae serve did not exit within 20 s of a second signal")
	}
	release() // the request under way finishes; the drain ends
	if code := <-stopped; code != 0 {
		t.Errorf("exit %d once drained", code)
	}
}

// TestServeFlags checks --allow-host and the limits' flags.
func TestServeFlags(t *testing.T) {
	url, stop := serveVAE(t, "--no-data", "--allow-host", "vae.example", "--max-samples", "10", modelFile(t))
	defer stop()
	for _, c := range []struct {
		host   string
		status int
	}{{"vae.example:8080", 200}, {"localhost", 200}, {"evil.example", 403}} {
		req, _ := http.NewRequest("GET", url+"/v1/model", nil)
		req.Host = c.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("Host %s: %d, want %d", c.host, resp.StatusCode, c.status)
		}
	}
	body := `{"inputs": [[` + strings.TrimSuffix(strings.Repeat("0,", 64), ",") + `]], "k": 11}`
	resp, err := http.Post(url+"/v1/score", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(b), "more than the limit of 10 per request (raise it with --max-samples)") {
		t.Errorf("k = 11 with --max-samples 10: %d %s", resp.StatusCode, b)
	}
}

// TestServeTable serves a run trained on a table: the map's test set is
// the table's, coloured by its label, and the API takes rows as CSV and as
// JSON objects.
func TestServeTable(t *testing.T) {
	dir := t.TempDir()
	data := writeMixedCSV(t, dir, 300)
	runDir := filepath.Join(dir, "run")
	if code, _, errs := runVAE(context.Background(), "train", "--data", data, "--id", "id", "--label", "colour", "--hidden", "8", "--epochs", "1", "--out", runDir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	url, stop := serveVAE(t, runDir)
	send := func(method, path, contentType, body string, v any) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	var info struct {
		TestPoints int `json:"test_points"`
		Table      *struct {
			Columns []struct{ Name string } `json:"columns"`
			Label   string                  `json:"label"`
			Classes []string                `json:"classes"`
		} `json:"table"`
	}
	send("GET", "/v1/model", "", "", &info)
	if info.Table == nil || len(info.Table.Columns) != 3 || info.Table.Label != "colour" || len(info.Table.Classes) == 0 || info.TestPoints == 0 {
		t.Errorf("/v1/model: %+v", info)
	}
	var scores struct {
		Scores []struct {
			ID    string             `json:"id"`
			Parts map[string]float64 `json:"parts"`
		} `json:"scores"`
	}
	send("POST", "/v1/score", "text/csv", "id,height,price,member\np1,171.2,60,yes\np2,,80,no\n", &scores)
	if len(scores.Scores) != 2 || scores.Scores[1].ID != "p2" || len(scores.Scores[0].Parts) != 3 {
		t.Errorf("/v1/score of a CSV: %+v", scores)
	}
	var rec struct {
		Rows []map[string]any `json:"rows"`
	}
	send("POST", "/v1/reconstruct", "application/json", `{"rows": [{"height": 180, "member": "yes"}]}`, &rec)
	if len(rec.Rows) != 1 || rec.Rows[0]["member"] == nil || rec.Rows[0]["price"] == nil {
		t.Errorf("/v1/reconstruct of a JSON row: %+v", rec)
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
