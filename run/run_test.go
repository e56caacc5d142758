package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecValidate(t *testing.T) {
	if err := DefaultSpec().Validate(); err != nil {
		t.Fatalf("default spec: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Model.Latent = 0 }, "latent size 0"},
		{func(s *Spec) { s.Model.Hidden = []int{0} }, "hidden[0] = 0"},
		{func(s *Spec) { s.Train.Epochs = 0 }, "epochs 0"},
		{func(s *Spec) { s.Train.BatchSize = -2 }, "batch size -2"},
		{func(s *Spec) { s.Train.Optimizer = "adagrad" }, `"adagrad"`},
		{func(s *Spec) { s.Train.Optim.LR = -1 }, "LR"},
	} {
		s := DefaultSpec()
		tc.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want one containing %q", err, tc.want)
		}
	}
}

func TestReadSpec(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		yaml, want string // want: error substring, or "" for success
	}{
		{"model:\n  latent: 5\ntrain:\n  optim:\n    lr: 0.01\n", ""},
		{"", ""},
		{"model:\n  latnet: 5\n", "line 2: field latnet not found"},
		{"train: [1, 2]\n", "line 1"},
	} {
		path := filepath.Join(dir, "s.yaml")
		os.WriteFile(path, []byte(tc.yaml), 0o644)
		s, err := ReadSpec(path)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: err = %v, want one line containing %q", tc.yaml, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
		}
		if tc.yaml != "" && (s.Model.Latent != 5 || s.Train.Optim.LR != 0.01 || s.Model.Hidden[0] != 512) {
			t.Errorf("%q: got %+v; want latent 5 and lr 0.01 over the defaults", tc.yaml, s)
		}
	}
}

func TestImageShape(t *testing.T) {
	for _, tc := range []struct{ n, h, w int }{{784, 28, 28}, {64, 8, 8}, {1, 1, 1}, {10, 1, 10}} {
		if h, w := ImageShape(tc.n); h != tc.h || w != tc.w {
			t.Errorf("ImageShape(%d) = %d×%d, want %d×%d", tc.n, h, w, tc.h, tc.w)
		}
	}
}

// project2 keeps the direction of largest spread on the first axis.
func TestProject2(t *testing.T) {
	// Points spread along (1, 1, 0) much more than along (0, 0, 1).
	var x []float32
	for i := range 50 {
		a, b := float32(i-25), float32(i%3-1)
		x = append(x, a, a, 0.1*b)
	}
	p := project2(x, 50, 3)
	var spread0, spread1 float64
	for i := range 50 {
		spread0 += float64(p[2*i] * p[2*i])
		spread1 += float64(p[2*i+1] * p[2*i+1])
	}
	if spread0 < 100*spread1 {
		t.Errorf("first component spread %v, second %v: want the first far larger", spread0, spread1)
	}
}

// The recipes in examples/ parse and are valid.
func TestExampleSpecs(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples/*.yaml")
	}
	for _, f := range files {
		s, err := ReadSpec(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// FuzzParseSpec: any bytes give a spec or a one-line error naming the file,
// never a panic.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte("model:\n  latent: 5\n"))
	f.Add([]byte("train:\n  optim:\n    lr: 0.01\n  epochs: 3\n"))
	f.Add([]byte("model: [1\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseSpec("spec.yaml", data)
		if err != nil && (!strings.HasPrefix(err.Error(), "spec.yaml: ") || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error %q: want one line starting with the file name", err)
		}
	})
}

// TestModelPath checks that a run folder's model is its final model when
// there is one, else its checkpoint, and that a folder with neither is an
// error naming the folder.
func TestModelPath(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ModelPath(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("empty folder: error %v, want one naming %s", err, dir)
	}
	for _, c := range []struct {
		write    string
		want     string
		finished bool
	}{
		{CheckpointFile, CheckpointFile, false},
		{ModelFile, ModelFile, true},
	} {
		if err := os.WriteFile(filepath.Join(dir, c.write), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		path, finished, err := ModelPath(dir)
		if err != nil || path != filepath.Join(dir, c.want) || finished != c.finished {
			t.Errorf("after writing %s: %q, %v, %v; want %s, %v", c.write, path, finished, err, c.want, c.finished)
		}
	}
}
