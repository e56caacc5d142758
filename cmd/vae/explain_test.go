package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// score --explain N draws the N highest-scoring test images in a PNG of N
// rows, at --explain-out or by default explain.png.
func TestScoreExplainImages(t *testing.T) {
	ctx := context.Background()
	data, model := tinyData(t), modelFile(t)
	t.Chdir(t.TempDir())
	code, out, errs := runVAE(ctx, "score", "--data-dir", data, "--explain", "3", "--out", "-", model)
	if code != 0 {
		t.Fatalf("score --explain: exit %d: %s", code, errs)
	}
	if last := lastLine(out); last != "explain.png" {
		t.Errorf("score --explain printed %q last, want the PNG's name", last)
	}
	top := filepath.Join(t.TempDir(), "top.png")
	if code, _, errs := runVAE(ctx, "score", "--data-dir", data, "--explain", "3", "--explain-out", top, model); code != 0 {
		t.Fatalf("score --explain-out: exit %d: %s", code, errs)
	}
	for _, path := range []string{"explain.png", top} {
		img := readPNG(t, path)
		// three rows of 8×8 images enlarged by some scale, with borders of 2
		h := img.Bounds().Dy()
		if (h-2)%3 != 0 || (h-2)/3 <= 2 || ((h-2)/3-2)%8 != 0 {
			t.Errorf("%s is %d pixels high, not 3 rows of 8×8 images", path, h)
		}
	}
	if code, _, errs := runVAE(ctx, "score", "--data-dir", data, "--explain", "-1", model); code != 2 || !strings.Contains(errs, "--explain -1") {
		t.Errorf("score --explain -1: exit %d, %q; want 2", code, errs)
	}
}
