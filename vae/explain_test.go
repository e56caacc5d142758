package vae

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/nn"
)

// ExplainImages returns the highest scores of Scores with the same draws,
// over several blocks, highest first, with terms adding up to Recon; n is
// clamped to the rows; ties go in row order.
func TestExplainImages(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 5))
	// 4096 inputs: explainBlock holds 256 rows, so 300 rows are two blocks.
	for _, cfg := range []Config{
		{Input: 4096, Hidden: []int{8}, Latent: 2},
		{Input: 10, Hidden: []int{8}, Latent: 2, Likelihood: Gaussian},
	} {
		m, err := New(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		D := cfg.Input
		x := randomInput(rng, 300, D)
		want, _ := m.Scores(x, rand.New(rand.NewPCG(9, 0)))
		for _, n := range []int{1, 7, 300, 1000} {
			top, err := m.ExplainImages(ctx, x, n, 9)
			if err != nil {
				t.Fatal(err)
			}
			if len(top) != min(n, 300) {
				t.Fatalf("%d inputs, n %d: %d explained, want %d", D, n, len(top), min(n, 300))
			}
			totals := make([]float64, len(want))
			for i, s := range want {
				totals[i] = s.Total
			}
			slices.Sort(totals)
			slices.Reverse(totals)
			for k, e := range top {
				var sum float64
				for _, v := range e.Terms {
					sum += float64(v)
				}
				switch {
				case e.Loss != want[e.Index] || e.Score != e.Loss.Total:
					t.Fatalf("%d inputs, n %d, rank %d: row %d loss %+v score %v, Scores %+v", D, n, k, e.Index, e.Loss, e.Score, want[e.Index])
				case e.Score != totals[k]:
					t.Fatalf("%d inputs, n %d, rank %d: score %v, want %v", D, n, k, e.Score, totals[k])
				case math.Abs(sum-e.Loss.Recon) > 1e-4*max(1, math.Abs(e.Loss.Recon)):
					t.Fatalf("%d inputs, rank %d: terms add up to %v, recon %v", D, k, sum, e.Loss.Recon)
				case !slices.Equal(e.Input, x[e.Index*D:(e.Index+1)*D]) || len(e.Reconstruction) != D:
					t.Fatalf("%d inputs, rank %d: input or reconstruction not row %d's", D, k, e.Index)
				}
			}
		}
	}

	// With a decoder blind to z, equal rows score the same: row order.
	m, _ := New(Config{Input: 10, Hidden: []int{8}, Latent: 2}, rng)
	clear(m.Decoder[0].(*nn.Dense).W.Value)
	x := slices.Repeat(randomInput(rng, 1, 10), 6)
	top, err := m.ExplainImages(ctx, x, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range top {
		if e.Index != k || e.Score != top[0].Score {
			t.Errorf("equal rows: rank %d is row %d with score %v, want row %d with %v", k, e.Index, e.Score, k, top[0].Score)
		}
	}
}

// With a detector, ExplainImages ranks by its score.
func TestExplainImagesDetector(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(6, 6))
	m, _ := New(Config{Input: 10, Hidden: []int{8}, Latent: 2}, rng)
	m.Detector = &Detector{Score: ScoreRecon, Seed: 4}
	x := randomInput(rng, 50, 10)
	scores, err := m.AnomalyScores(ctx, x, *m.Detector)
	if err != nil {
		t.Fatal(err)
	}
	top, err := m.ExplainImages(ctx, x, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range top {
		if e.Score != scores[e.Index] || k > 0 && e.Score > top[k-1].Score {
			t.Errorf("rank %d: row %d score %v, detector's %v", k, e.Index, e.Score, scores[e.Index])
		}
	}
	slices.Sort(scores)
	if top[0].Score != scores[len(scores)-1] {
		t.Errorf("first score %v, want the highest %v", top[0].Score, scores[len(scores)-1])
	}
}

func TestExplainImagesErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := New(Config{Input: 10, Hidden: []int{8}, Latent: 2}, rand.New(rand.NewPCG(7, 7)))
	x := make([]float32, 20)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	parts, _ := New(partsConfig(5), rand.New(rand.NewPCG(4, 4)))
	for _, tc := range []struct {
		name string
		m    *Model
		ctx  context.Context
		x    []float32
		n    int
		want string
	}{
		{"n 0", m, ctx, x, 0, "0 images, want ≥ 1"},
		{"n -1", m, ctx, x, -1, "-1 images"},
		{"ragged x", m, ctx, x[:15], 1, "length 15"},
		{"empty x", m, ctx, nil, 1, "length 0"},
		{"out of range", m, ctx, append([]float32{2}, x[1:]...), 1, "outside the [0, 1]"},
		{"cancelled", m, cancelled, x, 1, context.Canceled.Error()},
		{"parts", parts, ctx, make([]float32, 12), 1, "ExplainTable"},
	} {
		top, err := tc.m.ExplainImages(tc.ctx, tc.x, tc.n, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %d explained, error %v; want one with %q", tc.name, len(top), err, tc.want)
		}
	}
}
