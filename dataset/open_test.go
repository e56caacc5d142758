package dataset

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/internal/memtest"
)

// checkTiny checks that train and test hold tinySet.
func checkTiny(t *testing.T, train, test *Set) {
	t.Helper()
	if train.Name != "tiny/train" || train.N != 5 || train.Dim != 6 || train.Rows != 2 || train.Cols != 3 {
		t.Errorf("train: %s N=%d Dim=%d %dx%d, want tiny/train N=5 Dim=6 2x3", train.Name, train.N, train.Dim, train.Rows, train.Cols)
	}
	if test.Name != "tiny/test" || test.N != 3 || test.Dim != 6 {
		t.Errorf("test: %s N=%d Dim=%d, want tiny/test N=3 Dim=6", test.Name, test.N, test.Dim)
	}
	if !slices.Equal(train.Labels, []uint8{0, 1, 2, 3, 9}) || !slices.Equal(test.Labels, []uint8{7, 8, 9}) {
		t.Errorf("labels %v and %v", train.Labels, test.Labels)
	}
	if train.Classes != 10 || test.Classes != 10 {
		t.Errorf("Classes = %d and %d, want 10", train.Classes, test.Classes)
	}
}

func TestOpenDir(t *testing.T) {
	registerTiny(t)
	for _, gzipped := range []bool{false, true} {
		dir := writeTinyDir(t, gzipped)
		t.Run("Dir/gzip="+map[bool]string{false: "no", true: "yes"}[gzipped], func(t *testing.T) {
			t.Setenv("VAE_DATA", "")
			train, test, src, err := Open(context.Background(), "tiny", Options{Dir: dir, CacheDir: t.TempDir(), Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			checkTiny(t, train, test)
			if src != "folder "+dir {
				t.Errorf("src = %q, want %q", src, "folder "+dir)
			}
		})
		t.Run("VAE_DATA/gzip="+map[bool]string{false: "no", true: "yes"}[gzipped], func(t *testing.T) {
			t.Setenv("VAE_DATA", dir)
			train, test, src, err := Open(context.Background(), "tiny", Options{CacheDir: t.TempDir(), Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			checkTiny(t, train, test)
			if src != "folder "+dir {
				t.Errorf("src = %q, want %q", src, "folder "+dir)
			}
		})
	}
}

// TestOpenDirMissingFile checks that a folder the user names must hold the
// files: Open does not go on to the cache or the network.
func TestOpenDirMissingFile(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	cache := writeTinyDir(t, true) // a complete cache that must not be used
	for _, missing := range fileNames {
		t.Run(missing, func(t *testing.T) {
			dir := writeTinyDir(t, true)
			if err := os.Remove(filepath.Join(dir, missing+".gz")); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := Open(context.Background(), "tiny", Options{Dir: dir, CacheDir: cache, Logger: testLogger(t)})
			if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open error = %v, want one naming %s and %s", err, dir, missing)
			}
		})
	}
}

func TestOpenDirBadFile(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	dir := writeTinyDir(t, false)
	bad := filepath.Join(dir, fileNames[1])
	if err := os.WriteFile(bad, idxBytes(t, []int{4}, []byte{1, 2, 3, 4}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := Open(context.Background(), "tiny", Options{Dir: dir, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "4 labels") {
		t.Fatalf("Open error = %v, want one naming %s and its 4 labels", err, bad)
	}
}

// tinyServer serves tinySet, gzipped, under /good/ and answers 404 elsewhere.
// It counts the requests for each path.
func tinyServer(t *testing.T) (*httptest.Server, map[string]*atomic.Int32) {
	files := map[string][]byte{}
	hits := map[string]*atomic.Int32{}
	for i, content := range tinySet(t) {
		files["/good/"+fileNames[i]+".gz"] = gzipBytes(t, content)
		hits["/good/"+fileNames[i]+".gz"] = new(atomic.Int32)
		hits["/bad/"+fileNames[i]+".gz"] = new(atomic.Int32)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := hits[r.URL.Path]; n != nil {
			n.Add(1)
		}
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func TestOpenDownload(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	srv, hits := tinyServer(t)
	cache := filepath.Join(t.TempDir(), "vae", "tiny") // Open creates it
	opt := Options{
		CacheDir:   cache,
		Mirrors:    []string{srv.URL + "/bad/", srv.URL + "/good"},
		HTTPClient: srv.Client(),
		Logger:     testLogger(t),
		NoGoModule: true,
	}
	train, test, src, err := Open(context.Background(), "tiny", opt)
	if err != nil {
		t.Fatal(err)
	}
	checkTiny(t, train, test)
	if src != srv.URL+"/good" {
		t.Errorf("src = %q, want the second mirror %q", src, srv.URL+"/good")
	}
	for path, n := range hits {
		if n.Load() != 1 {
			t.Errorf("%s requested %d times, want once", path, n.Load())
		}
	}
	want := []string{fileNames[2] + ".gz", fileNames[3] + ".gz", fileNames[0] + ".gz", fileNames[1] + ".gz"}
	if names := entries(t, cache); !slices.Equal(names, want) {
		t.Errorf("cache holds %v, want %v", names, want)
	}

	// The next call finds everything in the cache.
	opt.Mirrors = []string{closedURL(t)}
	train, test, src, err = Open(context.Background(), "tiny", opt)
	if err != nil {
		t.Fatal(err)
	}
	checkTiny(t, train, test)
	if src != "cache "+cache {
		t.Errorf("src = %q, want %q", src, "cache "+cache)
	}
}

// TestOpenRepairsCache checks that a cached file that fails its checksum is
// fetched again, and only that one.
func TestOpenRepairsCache(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	srv, hits := tinyServer(t)
	cache := writeTinyDir(t, true)
	bad := filepath.Join(cache, fileNames[3]+".gz")
	if err := os.WriteFile(bad, gzipBytes(t, idxBytes(t, []int{3}, []byte{1, 1, 1})), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := Options{CacheDir: cache, Mirrors: []string{srv.URL + "/good/"}, HTTPClient: srv.Client(), Logger: testLogger(t), NoGoModule: true}
	train, test, src, err := Open(context.Background(), "tiny", opt)
	if err != nil {
		t.Fatal(err)
	}
	checkTiny(t, train, test)
	if want := "cache " + cache + ", " + srv.URL + "/good/"; src != want {
		t.Errorf("src = %q, want %q", src, want)
	}
	var fetched []string
	for path, n := range hits {
		if n.Load() > 0 {
			fetched = append(fetched, path)
		}
	}
	if want := []string{"/good/" + fileNames[3] + ".gz"}; !slices.Equal(fetched, want) {
		t.Errorf("fetched %v, want %v", fetched, want)
	}
}

func TestOpenNoRoute(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	srv, _ := tinyServer(t)
	cache := t.TempDir()
	opt := Options{
		CacheDir:   cache,
		Mirrors:    []string{closedURL(t), srv.URL + "/bad/"},
		HTTPClient: srv.Client(),
		Logger:     testLogger(t),
		NoGoModule: true,
	}
	_, _, _, err := Open(context.Background(), "tiny", opt)
	for _, want := range []string{fileNames[0], "connection refused", "404", "--data-dir DIR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open error = %v, want one containing %q", err, want)
		}
	}
	if names := entries(t, cache); len(names) != 0 {
		t.Errorf("cache holds %v after failing, want nothing", names)
	}
}

func TestOpenCanceled(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	srv, _ := tinyServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, _, err := Open(ctx, "tiny", Options{CacheDir: t.TempDir(), Mirrors: []string{srv.URL + "/good/"}, HTTPClient: srv.Client(), Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Open error = %v, want context canceled", err)
	}
}

func TestOpenUnknown(t *testing.T) {
	_, _, _, err := Open(context.Background(), "cifar", Options{})
	if err == nil || !strings.Contains(err.Error(), `"cifar"`) || !strings.Contains(err.Error(), "fashion-mnist, mnist") {
		t.Fatalf("Open error = %v, want one naming cifar and the known sets", err)
	}
}

// TestOpenFashionNoDebian checks the advice given when Fashion-MNIST can be
// neither downloaded nor found in its Debian package.
func TestOpenFashionNoDebian(t *testing.T) {
	t.Setenv("VAE_DATA", "")
	old := debianDir
	debianDir = filepath.Join(t.TempDir(), "absent")
	t.Cleanup(func() { debianDir = old })
	_, _, _, err := Open(context.Background(), "fashion-mnist", Options{CacheDir: t.TempDir(), Mirrors: []string{closedURL(t)}, Logger: testLogger(t)})
	for _, want := range []string{"apt-get install dataset-fashion-mnist", "--data-dir DIR", debianDir} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open error = %v, want one containing %q", err, want)
		}
	}
}

// TestOpenDirOverBudget checks that the headers of a folder's files are
// weighed against the memory budget before any data is read: two gzipped
// files of 64 KB that truly hold 64 MiB of images each, which would take
// 640 MiB as bytes and float32, are refused at once, over a budget of
// 256 MiB.
func TestOpenDirOverBudget(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	dir := writeTinyDir(t, true)
	var images []string
	for i, dims := range [][]int{{1024, 256, 256}, {1024}, {1024, 256, 256}, {1024}} {
		p := filepath.Join(dir, fileNames[i]+".gz")
		writeZeroIDXGz(t, p, dims...)
		if len(dims) == 3 {
			images = append(images, p)
		}
	}
	memtest.SetLimit(t, 256<<20)
	var err error
	n := memtest.Allocated(func() {
		_, _, _, err = Open(context.Background(), "tiny", Options{Dir: dir, Logger: testLogger(t)})
	})
	var be *budget.Error
	if !errors.As(err, &be) {
		t.Fatalf("Open error = %v, want a *budget.Error", err)
	}
	t.Log(err)
	for _, want := range []string{"dataset tiny", images[0], images[1], "1024×256×256 images", "1024 labels",
		"128.0 MiB of bytes and 512.0 MiB of float32 needs 640.0 MiB of memory, over the limit of 256.0 MiB"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q", want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans more than one line")
	}
	if n > 8<<20 {
		t.Errorf("Open allocated %d bytes before refusing the set, want only what reading the headers takes", n)
	}
}

// TestOpenDirLabelOutOfRange checks that a label outside the classes of the
// data set is refused when its file is read, naming the file, the label's
// index and its value.
func TestOpenDirLabelOutOfRange(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	tests := []struct {
		file   int
		labels []byte
		want   string
	}{
		{1, []byte{0, 1, 12, 3, 200}, "label 2 is 12, outside the 10 classes 0..9 of tiny/train"},
		{3, []byte{7, 8, 10}, "label 2 is 10, outside the 10 classes 0..9 of tiny/test"},
		{3, []byte{255, 8, 9}, "label 0 is 255"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			dir := writeTinyDir(t, false)
			bad := filepath.Join(dir, fileNames[tc.file])
			if err := os.WriteFile(bad, idxBytes(t, []int{len(tc.labels)}, tc.labels), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := Open(context.Background(), "tiny", Options{Dir: dir, Logger: testLogger(t)})
			if err == nil || !strings.Contains(err.Error(), bad+": "+tc.want) {
				t.Fatalf("Open error = %v, want one containing %q", err, bad+": "+tc.want)
			}
			t.Log(err)
		})
	}
}

// TestOpenCacheWrongHeader checks that a cached file whose header declares
// other dimensions than the published file is fetched again.
func TestOpenCacheWrongHeader(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	srv, hits := tinyServer(t)
	cache := writeTinyDir(t, true)
	writeZeroIDXGz(t, filepath.Join(cache, fileNames[0]+".gz"), 50, 2, 3)
	opt := Options{CacheDir: cache, Mirrors: []string{srv.URL + "/good/"}, HTTPClient: srv.Client(), Logger: testLogger(t), NoGoModule: true}
	train, test, _, err := Open(context.Background(), "tiny", opt)
	if err != nil {
		t.Fatal(err)
	}
	checkTiny(t, train, test)
	if n := hits["/good/"+fileNames[0]+".gz"].Load(); n != 1 {
		t.Errorf("%s fetched %d times, want once", fileNames[0], n)
	}
}

// TestOpenStalledMirror checks that a mirror that stops sending is given
// up after the stall timeout, for the next one.
func TestOpenStalledMirror(t *testing.T) {
	registerTiny(t)
	t.Setenv("VAE_DATA", "")
	old := stallTimeout
	stallTimeout = 250 * time.Millisecond // long enough for the good mirror on a loaded machine
	t.Cleanup(func() { stallTimeout = old })
	good, _ := tinyServer(t)
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte{0x1f, 0x8b})
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(stalled.Close)
	t.Cleanup(func() { close(release) }) // runs first
	cache := t.TempDir()
	opt := Options{
		CacheDir:   cache,
		Mirrors:    []string{stalled.URL + "/", good.URL + "/good/"},
		HTTPClient: good.Client(),
		Logger:     testLogger(t),
		NoGoModule: true,
	}
	type result struct {
		train, test *Set
		src         string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		train, test, src, err := Open(context.Background(), "tiny", opt)
		done <- result{train, test, src, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		checkTiny(t, r.train, r.test)
		if r.src != good.URL+"/good/" {
			t.Errorf("src = %q, want %q", r.src, good.URL+"/good/")
		}
		want := []string{fileNames[2] + ".gz", fileNames[3] + ".gz", fileNames[0] + ".gz", fileNames[1] + ".gz"}
		if names := entries(t, cache); !slices.Equal(names, want) {
			t.Errorf("cache holds %v, want only %v", names, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Open still waits on the stalled mirror after 30 s")
	}
}
