package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDownload(t *testing.T) {
	content := idxBytes(t, []int{3, 2, 2}, bytes.Repeat([]byte{7}, 12))
	gz := gzipBytes(t, content)
	other := gzipBytes(t, idxBytes(t, []int{3, 2, 2}, bytes.Repeat([]byte{8}, 12)))
	corrupt := bytes.Clone(gz)
	corrupt[len(corrupt)-8] ^= 0xff

	serve := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []byte // the file's content; nil when the download must fail
		wantErr string
	}{
		{name: "gzip", handler: serve(gz), want: gz},
		{name: "uncompressed", handler: serve(content), want: content},
		{name: "wrong checksum", handler: serve(other), wantErr: "checksum mismatch"},
		{name: "corrupt gzip", handler: serve(corrupt), wantErr: "invalid checksum"},
		{name: "not found", handler: http.NotFound, wantErr: "404 Not Found"},
		{
			name: "connection cut",
			handler: func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(gz))
				buf.Write(gz[:len(gz)/2])
				buf.Flush()
			},
			wantErr: "transfer cut off",
		},
		{
			name: "body shorter than Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(gz)+100))
				w.Write(gz)
			},
			wantErr: "transfer cut off",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			dir := t.TempDir()
			dst := filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
			url := srv.URL + "/mnist/t10k-images-idx3-ubyte.gz"
			var progress bytes.Buffer
			err := download(context.Background(), srv.Client(), url, dst, wantFile{sha256: sha256Hex(content)}, 0, &progress)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), url) {
					t.Fatalf("download error = %v, want one naming %s and containing %q", err, url, tc.wantErr)
				}
				t.Log(err)
				if names := entries(t, dir); len(names) != 0 {
					t.Fatalf("failed download left %v in the folder", names)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Error("downloaded file differs from what was served")
			}
			if names := entries(t, dir); len(names) != 1 {
				t.Errorf("folder holds %v after the download, want only the file", names)
			}
			if !strings.Contains(progress.String(), "t10k-images-idx3-ubyte.gz: done") {
				t.Errorf("progress output %q does not report the end of the download", progress.String())
			}
		})
	}
}

func TestDownloadCanceled(t *testing.T) {
	content := idxBytes(t, []int{4}, []byte{1, 2, 3, 4})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write(content[:6])
		w.(http.Flusher).Flush()
		cancel() // the client gives up in the middle of the body
		<-r.Context().Done()
	}))
	defer srv.Close()
	dir := t.TempDir()
	err := download(ctx, srv.Client(), srv.URL+"/x.gz", filepath.Join(dir, "x.gz"), wantFile{sha256: sha256Hex(content)}, time.Minute, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("download error = %v, want context.Canceled", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("canceled download left %v in the folder", names)
	}
}

func TestCopyVerified(t *testing.T) {
	content := idxBytes(t, []int{2}, []byte{4, 5})
	dir := t.TempDir()
	src := filepath.Join(dir, "src.gz")
	if err := os.WriteFile(src, gzipBytes(t, content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	dst := filepath.Join(out, "dst.gz")
	err := copyVerified(src, dst, wantFile{sha256: sha256Hex([]byte("something else"))})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), src) {
		t.Fatalf("copyVerified error = %v, want a checksum mismatch naming %s", err, src)
	}
	if names := entries(t, out); len(names) != 0 {
		t.Fatalf("failed copy left %v", names)
	}
	if err := copyVerified(src, dst, wantFile{sha256: sha256Hex(content)}); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, out); !slices.Equal(names, []string{"dst.gz"}) {
		t.Fatalf("folder holds %v after the copy, want [dst.gz]", names)
	}
}

func TestMeterPlainLines(t *testing.T) {
	var out bytes.Buffer
	m := newMeter(&out, "f.gz", 1000)
	for range 10 {
		m.Write(make([]byte, 100))
	}
	m.done(nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// A first line, one at 25, 50 and 75%, and a last one.
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "downloading f.gz") || !strings.Contains(lines[2], "(50%)") || !strings.Contains(lines[4], "done") {
		t.Errorf("progress lines:\n%s", out.String())
	}
}

// endless writes prefix, then chunk again and again until the client goes
// away, or up to 64 MiB so that a client that never stops shows as a test
// failure rather than a hang.
func endless(prefix, chunk []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Write(prefix)
		for sent := 0; sent < 64<<20 && r.Context().Err() == nil; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// TestDownloadTooLong checks that a download stops at the length of the
// file it fetches, whatever the mirror sends, and leaves nothing behind.
func TestDownloadTooLong(t *testing.T) {
	content := idxBytes(t, []int{3, 2, 2}, bytes.Repeat([]byte{7}, 12))
	want := wantFile{sha256: sha256Hex(content), size: int64(len(content))}
	// A gzip header and empty stored blocks, which never end and never
	// yield a byte of content.
	gzipHeader, emptyBlocks := gzipBytes(t, nil)[:10], bytes.Repeat([]byte{0, 0, 0, 0xff, 0xff}, 1<<12)
	var bomb bytes.Buffer // the content, then 8 MiB of zeros, in 8 KB
	zw := gzip.NewWriter(&bomb)
	zw.Write(content)
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{
			name:    "endless gzip body",
			handler: endless(gzipHeader, emptyBlocks),
			wantErr: fmt.Sprintf("body ran past %d bytes", want.bodyMax()),
		},
		{
			name:    "endless plain body",
			handler: endless(nil, content),
			wantErr: fmt.Sprintf("content ran past %d bytes", len(content)),
		},
		{
			name:    "gzip bomb",
			handler: func(w http.ResponseWriter, r *http.Request) { w.Write(bomb.Bytes()) },
			wantErr: fmt.Sprintf("content ran past %d bytes", len(content)),
		},
		{
			name: "Content-Length too long",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.FormatInt(1<<40, 10))
				w.Write(gzipBytes(t, content))
			},
			wantErr: fmt.Sprintf("Content-Length 1099511627776 is more than the %d bytes", want.bodyMax()),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			dir := t.TempDir()
			url := srv.URL + "/t10k-images-idx3-ubyte.gz"
			err := download(context.Background(), srv.Client(), url, filepath.Join(dir, "x.gz"), want, time.Minute, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), url) {
				t.Fatalf("download error = %v, want one naming %s and containing %q", err, url, tc.wantErr)
			}
			t.Log(err)
			if names := entries(t, dir); len(names) != 0 {
				t.Fatalf("failed download left %v in the folder", names)
			}
		})
	}
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// TestVerifiedCopyStops checks that an endless input (64 MiB) writes no
// more than the file may take.
func TestVerifiedCopyStops(t *testing.T) {
	want := wantFile{sha256: sha256Hex(nil), size: 100 << 10}
	// A gzip header, then empty stored blocks for ever.
	r := io.MultiReader(bytes.NewReader(gzipBytes(t, nil)[:10]), &repeatReader{b: bytes.Repeat([]byte{0, 0, 0, 0xff, 0xff}, 1<<10), left: 64 << 20})
	var w countWriter
	_, err := verifiedCopy(&w, r, want)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("body ran past %d bytes", want.bodyMax())) {
		t.Fatalf("verifiedCopy error = %v, want the body to run past %d bytes", err, want.bodyMax())
	}
	if w.n > want.bodyMax() {
		t.Errorf("verifiedCopy wrote %d bytes, more than the %d the file may take", w.n, want.bodyMax())
	}
	// Plain content: it stops at the content's length.
	w = countWriter{}
	_, err = verifiedCopy(&w, &repeatReader{b: make([]byte, 1<<10), left: 64 << 20}, want)
	if err == nil || !strings.Contains(err.Error(), "content ran past 102400 bytes") {
		t.Fatalf("verifiedCopy error = %v, want the content to run past 102400 bytes", err)
	}
	if w.n > want.bodyMax() {
		t.Errorf("verifiedCopy wrote %d bytes, more than the %d the file may take", w.n, want.bodyMax())
	}
}

// repeatReader repeats b, up to left bytes so that a reader that never
// stops shows as a test failure rather than a hang.
type repeatReader struct {
	b    []byte
	i    int
	left int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.left)], r.b[r.i:])
	r.i = (r.i + n) % len(r.b)
	r.left -= n
	return n, nil
}

// TestDownloadStalled checks that a download is given up when no byte has
// arrived for the stall timeout, before or after the response headers, and
// leaves nothing behind.
func TestDownloadStalled(t *testing.T) {
	content := idxBytes(t, []int{3, 2, 2}, bytes.Repeat([]byte{7}, 12))
	gz := gzipBytes(t, content)
	const stall = 50 * time.Millisecond
	tests := []struct {
		name string
		sent int // bytes of the body sent before the stall; -1: no headers
	}{
		{"before the headers", -1},
		{"in the body", len(gz) / 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.sent >= 0 {
					w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
					w.Write(gz[:tc.sent])
					w.(http.Flusher).Flush()
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer srv.Close()
			defer close(release) // runs first
			dir := t.TempDir()
			url := srv.URL + "/x.gz"
			done := make(chan error, 1)
			go func() {
				done <- download(context.Background(), srv.Client(), url, filepath.Join(dir, "x.gz"), wantFile{sha256: sha256Hex(content)}, stall, nil)
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("download still waits after 30 s on a server that stopped sending")
			}
			// The bytes that came before the stall, on a loaded machine,
			// may be fewer than were sent.
			wantErr := fmt.Sprintf("GET %s: transfer stalled: no data for 50ms after ", url)
			if err == nil || !strings.HasPrefix(err.Error(), wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("download error = %v, want one line starting %q", err, wantErr)
			}
			t.Log(err)
			if names := entries(t, dir); len(names) != 0 {
				t.Fatalf("stalled download left %v in the folder", names)
			}
		})
	}
}
