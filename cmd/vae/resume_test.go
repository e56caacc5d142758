package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govae/vae/run"
)

// copyFiles copies the named files of folder from into folder to, which it
// creates.
func copyFiles(t *testing.T, from, to string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lastLine returns the last line of a command's stderr.
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	return lines[len(lines)-1]
}

// sameFiles fails t unless the named files of folders a and b are
// byte-identical.
func sameFiles(t *testing.T, what, a, b string, names ...string) {
	t.Helper()
	for _, name := range names {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if y, err := os.ReadFile(filepath.Join(b, name)); err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s: %s differs from the uninterrupted run's (%v)", what, name, err)
		}
	}
}

// noTemporaryFiles fails t if dir holds a temporary file of an atomic write.
func noTemporaryFiles(t *testing.T, what, dir string) {
	t.Helper()
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(tmps) > 0 {
		t.Errorf("%s: temporary files left: %v", what, tmps)
	}
}

var finalFiles = []string{run.ModelFile, run.LatentPNG, run.ManifoldPNG, run.ReconstructionsPNG, run.SamplesPNG, run.LossPNG, run.KLPNG}

// The folders a crash leaves (made here from the files in them) resume to
// the uninterrupted run's model, or are refused with one line that says
// what to run.
func TestResumeCrashFolders(t *testing.T) {
	data := tinyData(t)
	dir := t.TempDir()
	common := []string{"--data-dir", data, "--hidden", "16", "--latent", "2", "--batch", "32", "--epochs", "2"}
	ref := filepath.Join(dir, "ref")
	if code, _, stderr := runVAE(context.Background(), append([]string{"train", "--out", ref}, common...)...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}

	// Killed before the first checkpoint, the metrics of epoch 1 written and
	// the checkpoint's temporary file left: a new train refuses the folder
	// and says to resume it, which trains it from its start.
	t.Run("no checkpoint", func(t *testing.T) {
		nock := filepath.Join(dir, "nock")
		copyFiles(t, ref, nock, run.SpecFile)
		metrics, _ := os.ReadFile(filepath.Join(ref, run.MetricsFile))
		os.WriteFile(filepath.Join(nock, run.MetricsFile), metrics[:bytes.IndexByte(metrics, '\n')+1], 0o644)
		os.WriteFile(filepath.Join(nock, ".checkpoint.safetensors.tmp-4242"), make([]byte, 1000), 0o644)
		code, _, stderr := runVAE(context.Background(), append([]string{"train", "--out", nock}, common...)...)
		if last := lastLine(stderr); code != 1 || !strings.Contains(last, "unfinished: continue it with vae train --resume "+nock) {
			t.Errorf("train --out on an unfinished run: exit %d, %q; want 1 and a line saying to resume it", code, last)
		}
		if code, _, stderr := runVAE(context.Background(), "train", "--resume", nock); code != 0 {
			t.Fatalf("resume without a checkpoint: exit %d: %s", code, lastLine(stderr))
		}
		sameFiles(t, "resumed without a checkpoint", ref, nock, finalFiles...)
		noTemporaryFiles(t, "resumed without a checkpoint", nock)
	})

	// Killed while the final files were written: the training is done, the
	// model and a picture are missing. Resume writes them; then the run is
	// finished, and resuming it says how to go on.
	t.Run("final files missing", func(t *testing.T) {
		fin := filepath.Join(dir, "fin")
		copyFiles(t, ref, fin, run.SpecFile, run.CheckpointFile, run.MetricsFile, run.LatentPNG, run.LossPNG)
		if code, _, stderr := runVAE(context.Background(), "train", "--resume", fin); code != 0 {
			t.Fatalf("resume of a run whose final files are missing: exit %d: %s", code, lastLine(stderr))
		}
		sameFiles(t, "final files written on resume", ref, fin, finalFiles...)
		code, _, stderr := runVAE(context.Background(), "train", "--resume", fin)
		if last := lastLine(stderr); code != 1 || !strings.Contains(last, "already done 2 of 2 epochs: train it further with vae train --resume "+fin+" --epochs N") {
			t.Errorf("resume of a finished run: exit %d, %q", code, last)
		}
	})

	// Another run's checkpoint (784-64-3 in a 784-512-2 run, here 64-8-3
	// in a 64-16-2 one) is refused, naming the file and the field.
	t.Run("another run's checkpoint", func(t *testing.T) {
		other := filepath.Join(dir, "other")
		if code, _, stderr := runVAE(context.Background(), "train", "--out", other, "--data-dir", data, "--hidden", "8", "--latent", "3", "--epochs", "1"); code != 0 {
			t.Fatalf("train: exit %d: %s", code, stderr)
		}
		wrong := filepath.Join(dir, "wrong")
		copyFiles(t, ref, wrong, run.SpecFile)
		copyFiles(t, other, wrong, run.CheckpointFile)
		code, _, stderr := runVAE(context.Background(), "train", "--resume", wrong)
		if last := lastLine(stderr); code != 1 || !strings.Contains(last, filepath.Join(wrong, run.CheckpointFile)+": model 64-8-3 is not the 64-16-2 of") ||
			!strings.Contains(last, "model.hidden") || !strings.Contains(last, "vae train --resume "+wrong) {
			t.Errorf("resume with another run's checkpoint: exit %d, %q", code, last)
		}
		if _, err := os.Stat(filepath.Join(wrong, run.ModelFile)); err == nil {
			t.Error("resume with another run's checkpoint trained")
		}
	})
}

// The default ε is Adam's: --optimizer sgd runs without --eps 0, and an
// --eps given to SGD is an error still; the same with a YAML config.
func TestTrainSGDEps(t *testing.T) {
	data := tinyData(t)
	dir := t.TempDir()
	cfg := func(name, yaml string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(yaml), 0o644)
		return p
	}
	adamYAML := cfg("adam.yaml", "train:\n  optimizer: adam\n  optim:\n    eps: 1.0e-4\n")
	sgdYAML := cfg("sgd.yaml", "train:\n  optimizer: sgd\n")
	for i, tc := range []struct {
		args []string
		eps  float64 // in spec.json; -1: the command fails
	}{
		{[]string{"--optimizer", "sgd"}, 0},
		{[]string{"--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.01"}, 0},
		{[]string{"--optimizer", "sgd", "--eps", "1e-7"}, -1},
		{[]string{"--optimizer", "rmsprop"}, 1e-7},
		{[]string{"--config", sgdYAML}, 0},
		{[]string{"--config", adamYAML, "--optimizer", "sgd"}, 0},
		{[]string{"--config", sgdYAML, "--optimizer", "adam"}, 1e-7},
		{[]string{"--config", adamYAML}, 1e-4},
	} {
		out := filepath.Join(dir, "r", string(rune('a'+i)))
		args := append([]string{"train", "--out", out, "--data-dir", data, "--hidden", "8", "--epochs", "1", "--limit", "64"}, tc.args...)
		code, _, stderr := runVAE(context.Background(), args...)
		if tc.eps < 0 {
			if last := lastLine(stderr); code != 1 || !strings.Contains(last, "sgd does not use Eps") {
				t.Errorf("%v: exit %d, %q; want 1 and an error about Eps", tc.args, code, last)
			}
			continue
		}
		if code != 0 {
			t.Errorf("%v: exit %d: %s", tc.args, code, lastLine(stderr))
			continue
		}
		if spec, err := run.LoadSpec(out); err != nil || spec.Train.Optim.Eps != tc.eps {
			t.Errorf("%v: eps %v in spec.json (%v), want %v", tc.args, spec.Train.Optim.Eps, err, tc.eps)
		}
	}
}
