package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutDestinations checks that --out writes through what is not a plain
// file instead of replacing it, and that - is stdout.
func TestOutDestinations(t *testing.T) {
	data, model := tinyData(t), modelFile(t)
	dir := t.TempDir()
	t.Run("stdout", func(t *testing.T) {
		for _, args := range [][]string{
			{"sample", "-n", "4", "--out", "-", model},
			{"reconstruct", "--data-dir", data, "-n", "4", "--out", "-", model},
		} {
			code, stdout, stderr := runVAE(context.Background(), args...)
			if code != 0 || !strings.HasPrefix(stdout, "\x89PNG") {
				t.Errorf("vae %v: exit %d, stdout starts %q; want a PNG\n%s", args, code, stdout[:min(len(stdout), 8)], stderr)
			}
		}
	})
	t.Run("symlink", func(t *testing.T) {
		target, link := filepath.Join(dir, "latent.csv"), filepath.Join(dir, "link.csv")
		os.Symlink("latent.csv", link)
		if code, _, stderr := runVAE(context.Background(), "encode", "--data-dir", data, "--out", link, model); code != 0 {
			t.Fatalf("encode: exit %d: %s", code, stderr)
		}
		fi, err := os.Lstat(link)
		b, _ := os.ReadFile(target)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 || !bytes.HasPrefix(b, []byte("index,label,z_mean_0")) {
			t.Errorf("link %v (%v), target starts %q; want the link kept and the CSV in its target", fi.Mode(), err, b[:min(len(b), 20)])
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Skip(err)
		}
		got := make(chan []byte)
		go func() {
			b, _ := os.ReadFile(fifo)
			got <- b
		}()
		if code, _, stderr := runVAE(context.Background(), "score", "--data-dir", data, "--out", fifo, model); code != 0 {
			t.Fatalf("score: exit %d: %s", code, stderr)
		}
		if b := <-got; !bytes.HasPrefix(b, []byte("index,label,loss")) {
			t.Errorf("the FIFO's reader got %q", b[:min(len(b), 20)])
		}
		if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO became a %v", fi.Mode())
		}
	})
	t.Run("device", func(t *testing.T) {
		if code, _, stderr := runVAE(context.Background(), "encode", "--data-dir", data, "--out", os.DevNull, model); code != 0 {
			t.Fatalf("encode: exit %d: %s", code, stderr)
		}
		if fi, err := os.Lstat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s became a %v (%v)", os.DevNull, fi.Mode(), err)
		}
	})
	t.Run("folder", func(t *testing.T) {
		code, _, stderr := runVAE(context.Background(), "encode", "--data-dir", data, "--out", dir, model)
		if code != 1 || !strings.Contains(stderr, "is a folder") {
			t.Errorf("encode --out FOLDER: exit %d, %q; want 1 and a line saying it is a folder", code, stderr)
		}
	})
}

// TestSizeLimits gives sizes the machine cannot afford and checks that each
// is refused at once with a line naming the cost and the limit.
func TestSizeLimits(t *testing.T) {
	data, model := tinyData(t), modelFile(t)
	dir := t.TempDir()
	yaml := filepath.Join(dir, "huge-batch.yaml")
	os.WriteFile(yaml, []byte("train:\n  batch_size: 1000000000000\n"), 0o644)
	out := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--data-dir", data, "--hidden", "1000000000", "--limit", "100", "--out", out("a")}, 1, "over the limit"},
		{[]string{"train", "--data-dir", data, "--hidden", "100000,100000", "--out", out("b")}, 1, "over the limit"},
		{[]string{"train", "--data-dir", data, "--config", yaml, "--out", out("c")}, 1, "batches of 1000000000000"},
		{[]string{"train", "--data-dir", data, "--objective", "iwae", "--samples", "1000000", "--out", out("d")}, 1, "1000000 samples each"},
		{[]string{"train", "--data-dir", data, "--max-memory", "1MiB", "--hidden", "2000", "--out", out("e")}, 1, "over the limit of 1.0 MiB"},
		{[]string{"sample", "-n", "100000000", model}, 1, "-n 100000000 samples"},
		{[]string{"score", "--data-dir", data, "--k", "100000000", "--out", out("s.csv"), model}, 2, "--k 100000000, want 0 to 1000000"},
		{[]string{"eval", "--max-memory", "lots", model}, 2, "--max-memory"},
	} {
		code, _, stderr := runVAE(context.Background(), tc.args...)
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			if _, err := os.Stat(out(name)); err == nil {
				t.Errorf("vae %v left the run folder %s behind", tc.args, name)
			}
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if last := lines[len(lines)-1]; code != tc.code || !strings.HasPrefix(last, "vae: ") || !strings.Contains(last, tc.want) {
			t.Errorf("vae %v: exit %d, last line %q; want %d and a line with %q", tc.args, code, last, tc.code, tc.want)
		}
	}
}
