package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
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
			err := download(context.Background(), srv.Client(), url, dst, sha256Hex(content), &progress)
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
	err := download(ctx, srv.Client(), srv.URL+"/x.gz", filepath.Join(dir, "x.gz"), sha256Hex(content), nil)
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
	err := copyVerified(src, dst, sha256Hex([]byte("something else")))
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), src) {
		t.Fatalf("copyVerified error = %v, want a checksum mismatch naming %s", err, src)
	}
	if names := entries(t, out); len(names) != 0 {
		t.Fatalf("failed copy left %v", names)
	}
	if err := copyVerified(src, dst, sha256Hex(content)); err != nil {
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
