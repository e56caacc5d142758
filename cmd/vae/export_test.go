package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govae/vae/onnx"
	"github.com/govae/vae/run"
)

// vae export writes both graphs of a run's model, a conditional one's too,
// and refuses another format.
func TestExport(t *testing.T) {
	data := tinyData(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r")
	if code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", out); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	graphs := filepath.Join(dir, "onnx")
	code, stdout, stderr := runVAE(context.Background(), "export", "--out", graphs, out)
	if code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	for _, name := range []string{onnx.EncoderFile, onnx.DecoderFile} {
		if fi, err := os.Stat(filepath.Join(graphs, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(stdout, name) {
			t.Errorf("stdout %q does not name %s", stdout, name)
		}
	}
	if code, _, stderr := runVAE(context.Background(), "export", "--format", "tflite", "--out", graphs, out); code != 2 || !strings.Contains(stderr, "tflite") {
		t.Errorf("--format tflite: code %d, %s", code, stderr)
	}
	cond := filepath.Join(dir, "c")
	if code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--condition", "label", "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", cond); code != 0 {
		t.Fatalf("train --condition label: %s", stderr)
	}
	if code, _, stderr := runVAE(context.Background(), "export", "--out", filepath.Join(dir, "c-onnx"), filepath.Join(cond, run.ModelFile)); code != 0 {
		t.Errorf("export of a conditional model: code %d, %s", code, stderr)
	}
}
