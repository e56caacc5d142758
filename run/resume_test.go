package run

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govae/vae/optim"
	"github.com/govae/vae/vae"
)

// tinySpec is the spec of a small run on data in dataDir.
func tinySpec(dataDir string) Spec {
	s := DefaultSpec()
	s.DataDir = dataDir
	s.Model.Input, s.Model.Hidden = 64, []int{16}
	s.Train.Epochs, s.Train.BatchSize = 2, 32
	return s
}

// writeRun writes spec.json for spec into a new folder and, if c is not
// nil, a checkpoint of a fresh model of shape c, saved with opts, taken
// before the first step. It returns the folder.
func writeRun(t *testing.T, spec Spec, c *vae.Config, opts vae.TrainOptions) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SpecFile), indentJSON(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if c == nil {
		return dir
	}
	m, err := vae.New(*c, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.New(opts.Optimizer, m.Params(), opts.Optim)
	if err != nil {
		t.Fatal(err)
	}
	noise, _ := rand.NewPCG(1, 1).MarshalBinary()
	p := &vae.Progress{NoiseState: noise, Optim: opt.State()}
	if err := vae.SaveCheckpoint(filepath.Join(dir, CheckpointFile), m, p, opts); err != nil {
		t.Fatal(err)
	}
	return dir
}

// oneLine fails t unless err is a single line containing every one of want.
func oneLine(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one containing %q", what, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want one line containing %q", what, err, w)
		}
	}
}

// A checkpoint of another model or other training options than spec.json
// is refused, naming the file and the field, before any training.
func TestResumeChecksCheckpointAgainstSpec(t *testing.T) {
	noData := t.TempDir()
	spec := tinySpec(noData)
	other := spec.Model
	other.Hidden, other.Latent = []int{8}, 3
	dir := writeRun(t, spec, &other, spec.Train)
	ckpt := filepath.Join(dir, CheckpointFile)
	_, err := Resume(context.Background(), dir, 0, Hooks{})
	oneLine(t, "checkpoint of another model", err, ckpt+": model 64-8-3 is not the 64-16-2 of "+filepath.Join(dir, SpecFile),
		"model.hidden is [16] there, [8] here", "vae train --resume "+dir)

	opts := spec.Train
	opts.BatchSize = 64
	dir = writeRun(t, spec, &spec.Model, opts)
	_, err = Resume(context.Background(), dir, 0, Hooks{})
	oneLine(t, "checkpoint of other options", err, filepath.Join(dir, CheckpointFile), "train.batch_size is 32 there, 64 here")

	// Other epochs are the one difference allowed (Resume changes them):
	// it goes on to open the data, which the folder lacks.
	opts = spec.Train
	opts.Epochs = 7
	dir = writeRun(t, spec, &spec.Model, opts)
	_, err = Resume(context.Background(), dir, 0, Hooks{})
	oneLine(t, "checkpoint with other epochs", err, "train-images-idx3-ubyte")
}

// A folder without spec.json holds no run: Resume says how to start one; a
// folder with one makes Train say how to resume it.
func TestRunFolderErrors(t *testing.T) {
	empty := t.TempDir()
	_, err := Resume(context.Background(), empty, 0, Hooks{})
	oneLine(t, "resume of an empty folder", err, empty+" holds no run to resume (no spec.json): start one with vae train --out "+empty)

	spec := tinySpec(t.TempDir())
	dir := writeRun(t, spec, nil, spec.Train)
	_, err = Train(context.Background(), dir, spec, Hooks{})
	if !errors.Is(err, ErrExists) {
		t.Errorf("train in a run folder: %v, want ErrExists", err)
	}
	oneLine(t, "train in an unfinished run's folder", err, "unfinished", "vae train --resume "+dir)
	os.WriteFile(filepath.Join(dir, ModelFile), nil, 0o644)
	_, err = Train(context.Background(), dir, spec, Hooks{})
	oneLine(t, "train in a finished run's folder", err, "finished", "vae train --resume "+dir+" --epochs N")

	os.WriteFile(filepath.Join(dir, SpecFile), []byte(`{"model": 3}`), 0o644)
	_, err = Resume(context.Background(), dir, 0, Hooks{})
	oneLine(t, "resume with a damaged spec.json", err, filepath.Join(dir, SpecFile), "vae train --out")
}

// Opening a run removes the temporary files that interrupted writes of its
// files left, and nothing else.
func TestResumeRemovesStaleTemporaryFiles(t *testing.T) {
	spec := tinySpec(t.TempDir())
	dir := writeRun(t, spec, nil, spec.Train)
	stale := []string{".checkpoint.safetensors.tmp-123", ".model.safetensors.tmp-9", ".latent.png.tmp-77", ".metrics.jsonl.tmp-1"}
	kept := []string{".notes.txt.tmp-1", "checkpoint.safetensors.tmp-5", "notes.txt"}
	for _, name := range append(stale, kept...) {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
	}
	Resume(context.Background(), dir, 0, Hooks{}) // fails on the missing data, after opening the run
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s left in the run folder", name)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed: %v", name, err)
		}
	}
}

// spec.json and YAML specs that start with a UTF-8 byte order mark read
// as without it.
func TestSpecByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	spec := tinySpec("")
	os.WriteFile(filepath.Join(dir, SpecFile), append([]byte("\xef\xbb\xbf"), indentJSON(spec)...), 0o644)
	got, err := LoadSpec(dir)
	if err != nil || got.Model.String() != "64-16-2" {
		t.Errorf("LoadSpec of spec.json with a BOM: %v, %v", got.Model, err)
	}
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("\xef\xbb\xbfmodel:\n  latent: 5\n"), 0o644)
	if s, err := ReadSpec(path); err != nil || s.Model.Latent != 5 {
		t.Errorf("ReadSpec of YAML with a BOM: latent %d, %v", s.Model.Latent, err)
	}
}

// The default ε (Adam's, 1e-7) applies to the optimizers that have one; an
// ε the file gives an SGD run is an error still.
func TestReadSpecEps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	for _, tc := range []struct {
		yaml string
		eps  float64
		err  string
	}{
		{"train:\n  optimizer: sgd\n", 0, ""},
		{"train:\n  optimizer: sgd\n  optim:\n    lr: 0.1\n    momentum: 0.9\n", 0, ""},
		{"train:\n  optimizer: rmsprop\n", 1e-7, ""},
		{"train:\n  optimizer: adam\n", 1e-7, ""},
		{"train:\n  optimizer: adam\n  optim:\n    eps: 1.0e-8\n", 1e-8, ""},
		{"train:\n  optimizer: sgd\n  optim:\n    eps: 1.0e-7\n", 1e-7, "sgd does not use Eps"},
	} {
		os.WriteFile(path, []byte(tc.yaml), 0o644)
		s, err := ReadSpec(path)
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if s.Train.Optim.Eps != tc.eps {
			t.Errorf("%q: eps %v, want %v", tc.yaml, s.Train.Optim.Eps, tc.eps)
		}
		if err := s.Validate(); tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: Validate: %v, want %q", tc.yaml, err, tc.err)
		}
	}
}
