package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/govae/vae/run"
	"github.com/govae/vae/server"
)

// A run folder and its model file open to the same test set, in the run's
// protocol (binarised here), for the commands and the server alike.
func TestOpenAgrees(t *testing.T) {
	data := tinyData(t)
	dir := filepath.Join(t.TempDir(), "r")
	if code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--hidden", "8", "--epochs", "1",
		"--binarize", "dynamic", "--out", dir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	var outs []string
	for _, path := range []string{dir, filepath.Join(dir, run.ModelFile)} {
		code, stdout, stderr := runVAE(context.Background(), "encode", "--out", "-", path)
		if code != 0 {
			t.Fatalf("encode %s: exit %d: %s", path, code, stderr)
		}
		outs = append(outs, stdout)
	}
	if outs[0] != outs[1] {
		t.Error("vae encode RUN and vae encode RUN/model.safetensors encode different test sets")
	}
	_, gray, _ := runVAE(context.Background(), "encode", "--binarize=false", "--out", "-", dir)
	if gray == outs[0] {
		t.Error("--binarize=false gave the binarised test set")
	}

	opts, err := server.Load(context.Background(), dir, server.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := run.Open(context.Background(), dir, run.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Test == nil || op.Test == nil || !slices.Equal(opts.Test.X, op.Test.X) {
		t.Fatal("the server's map and run.Open have different test sets")
	}
	for _, v := range op.Test.X {
		if v != 0 && v != 1 {
			t.Fatalf("test set of a run trained with --binarize dynamic holds %v, want 0 or 1", v)
		}
	}
}
