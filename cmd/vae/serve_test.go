package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govae/vae/run"
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
		{[]string{"serve", filepath.Join(t.TempDir(), "none.safetensors")}, 1, "none.safetensors"},
	} {
		code, _, stderr := runVAE(context.Background(), c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
