package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	for _, want := range []string{"first", "second"} {
		if err := WriteFile(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("content = %q, want %q", got, want)
		}
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Fatalf("content = %q after failed write, want %q", got, "old")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries after failed write, want 1 (no temp file left)", len(entries))
	}
}

// TestWriteDestinations covers what a user can give as --out besides a plain
// file name: each case checks the content written and what stands at the
// path afterwards.
func TestWriteDestinations(t *testing.T) {
	const content = "new content"
	readBack := func(t *testing.T, path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	t.Run("keeps permissions", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f")
		os.WriteFile(path, []byte("old"), 0o600)
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 || readBack(t, path) != content {
			t.Errorf("mode %v, content %q; want 0600 and %q", fi.Mode(), readBack(t, path), content)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		dir := t.TempDir()
		target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
		os.WriteFile(target, []byte("old"), 0o644)
		os.Symlink("target", link) // relative, as ln -s makes them
		if err := WriteFile(link, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced by a %v", fi.Mode())
		}
		if got := readBack(t, target); got != content {
			t.Errorf("target holds %q, want %q", got, content)
		}
	})
	t.Run("dangling symlink", func(t *testing.T) {
		dir := t.TempDir()
		target, link := filepath.Join(dir, "sub", "new"), filepath.Join(dir, "link")
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		os.Symlink(target, link)
		if err := WriteFile(link, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, target); got != content {
			t.Errorf("target holds %q, want %q", got, content)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Skip("mkfifo:", err)
		}
		got := make(chan string)
		go func() {
			b, _ := os.ReadFile(path)
			got <- string(b)
		}()
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != content {
			t.Errorf("reader got %q, want %q", s, content)
		}
		if fi, _ := os.Lstat(path); fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO was replaced by a %v", fi.Mode())
		}
	})
	t.Run("pipe through /proc/self/fd", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/proc/self/fd/%d", w.Fd())
		if _, err := os.Lstat(path); err != nil {
			t.Skip("no /proc:", err)
		}
		got := make(chan string)
		go func() {
			b, _ := io.ReadAll(r)
			got <- string(b)
		}()
		err = WriteFile(path, []byte(content))
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != content {
			t.Errorf("pipe carried %q, want %q", s, content)
		}
	})
	t.Run("/dev/null", func(t *testing.T) {
		if err := WriteFile(os.DevNull, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s is now %v (%v); it was replaced", os.DevNull, fi.Mode(), err)
		}
	})
	t.Run("folder", func(t *testing.T) {
		dir := t.TempDir()
		err := WriteFile(dir, []byte(content))
		if err == nil || !strings.Contains(err.Error(), "is a folder") {
			t.Errorf("err = %v, want one saying the path is a folder", err)
		}
		if fi, _ := os.Stat(dir); !fi.IsDir() {
			t.Error("the folder was replaced")
		}
	})
}
