package vae

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// A detector fitted on normal examples flags about its contamination of
// them and the inputs unlike them, and its file keeps it.
func TestDetector(t *testing.T) {
	ctx := context.Background()
	m, err := New(Config{Input: 16, Hidden: []int{16}, Latent: 2}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	train := blobs(400, 16, 1)
	if _, err := m.Train(ctx, train, nil, TrainOptions{Epochs: 20, BatchSize: 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	normal := blobs(200, 16, 2)
	for _, score := range []string{ScoreELBO, ScoreRecon, ScoreNLL, ScoreComplexity} {
		d, err := m.FitDetector(ctx, normal.X, normal.Name, Detector{Score: score, K: 50, Contamination: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		flags, _, err := m.IsAnomaly(ctx, normal.X)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range flags {
			if f {
				n++
			}
		}
		if n != 20 && n != 19 { // 10% of 200, the quantile between two order statistics
			t.Errorf("%s: %d of 200 normal examples flagged, want 20", score, n)
		}
		odd := make([]float32, 16) // a blob turned negative: unlike any blob
		for j, v := range normal.X[:16] {
			odd[j] = 1 - v
		}
		flags, scores, err := m.IsAnomaly(ctx, odd)
		if err != nil || !flags[0] {
			t.Errorf("%s: an all-black input scores %v (threshold %v), not flagged: %v", score, scores, d.Threshold, err)
		}
	}

	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Detector == nil || *back.Detector != *m.Detector {
		t.Errorf("loaded detector %+v, want %+v", back.Detector, m.Detector)
	}
}

func TestDetectorErrors(t *testing.T) {
	m, _ := New(Config{Input: 4, Latent: 2}, rand.New(rand.NewPCG(1, 1)))
	x := randomInput(rand.New(rand.NewPCG(2, 2)), 10, 4)
	for _, tc := range []struct {
		d    Detector
		want string
	}{
		{Detector{Score: "z", Contamination: 0.1}, `score "z"`},
		{Detector{Score: ScoreNLL, Contamination: 0.1}, "k 0"},
		{Detector{Score: ScoreELBO}, "a contamination or a quantile"},
		{Detector{Score: ScoreELBO, Contamination: 0.1, Quantile: 0.9}, "a contamination or a quantile"},
		{Detector{Score: ScoreELBO, Contamination: 1.5}, "contamination 1.5"},
	} {
		if _, err := m.FitDetector(context.Background(), x, "x", tc.d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.d, err, tc.want)
		}
	}
	if _, _, err := m.IsAnomaly(context.Background(), x); err == nil || !strings.Contains(err.Error(), "vae threshold") {
		t.Errorf("IsAnomaly without a detector: %v", err)
	}
}
