package vae

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/govae/vae/anomaly"
)

// The scores a Detector can rank inputs by; high is unlikely.
const (
	ScoreELBO  = "elbo"  // the negative ELBO, one draw of ε
	ScoreNLL   = "nll"   // the importance-weighted −log p(x) with K samples
	ScoreRecon = "recon" // the reconstruction term alone, −log p(x|z) for one z
	// ScoreComplexity is the negative ELBO in bits less the bits PNG needs
	// for the input (anomaly.PNGBits, the input complexity correction of
	// Serrà et al. 2020), for models of square gray images.
	ScoreComplexity = "complexity"
)

// Detector is the anomaly decision a model keeps in its file: the score it
// ranks inputs by and the threshold above which an input is an anomaly,
// chosen from the scores of normal examples (Model.FitDetector).
type Detector struct {
	Score     string  `json:"score"`       // ScoreELBO, ScoreNLL or ScoreRecon
	K         int     `json:"k,omitempty"` // importance samples of ScoreNLL
	Seed      uint64  `json:"seed"`        // of the scores' draws
	Threshold float64 `json:"threshold"`   // a score above it is an anomaly

	// How the threshold was chosen: the share of the fitting scores above
	// it (Contamination), or their quantile (Quantile), of Fitted examples.
	Contamination float64 `json:"contamination,omitempty"`
	Quantile      float64 `json:"quantile,omitempty"`
	Fitted        int     `json:"fitted"`
	FittedOn      string  `json:"fitted_on,omitempty"` // e.g. "mnist/train (validation)"
}

// check reports a detector whose fields are out of range.
func (d *Detector) check() error {
	switch {
	case d.Score != ScoreELBO && d.Score != ScoreNLL && d.Score != ScoreRecon && d.Score != ScoreComplexity:
		return fmt.Errorf("detector: score %q, want %s, %s, %s or %s", d.Score, ScoreELBO, ScoreNLL, ScoreRecon, ScoreComplexity)
	case d.Score == ScoreNLL && (d.K < 1 || d.K > MaxK):
		return fmt.Errorf("detector: k %d, want 1 to %d", d.K, MaxK)
	case math.IsNaN(d.Threshold) || math.IsInf(d.Threshold, 0):
		return fmt.Errorf("detector: threshold %v, want a finite number", d.Threshold)
	}
	return nil
}

// AnomalyScores returns the score of each row of x [n, Input] that the
// detector d ranks by (d.Threshold is not used): with the same d and rows,
// the same scores.
func (m *Model) AnomalyScores(ctx context.Context, x []float32, d Detector) ([]float64, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.Score == ScoreNLL {
		return m.NLL(ctx, x, NLLOptions{K: d.K, Seed: d.Seed})
	}
	losses, err := m.Scores(x, rand.New(rand.NewPCG(d.Seed, 0)))
	if err != nil {
		return nil, err
	}
	side := int(math.Sqrt(float64(m.Config.Input)))
	if d.Score == ScoreComplexity && (side*side != m.Config.Input || m.Config.Parts != nil) {
		return nil, fmt.Errorf("detector: the complexity score is for square gray images, not %d inputs", m.Config.Input)
	}
	out := make([]float64, len(losses))
	for i, l := range losses {
		switch d.Score {
		case ScoreRecon:
			out[i] = l.Recon
		case ScoreComplexity:
			D := m.Config.Input
			out[i] = l.Total/math.Ln2 - float64(anomaly.PNGBits(x[i*D:(i+1)*D], side, side))
		default:
			out[i] = l.Total
		}
	}
	return out, nil
}

// FitDetector chooses d's threshold from the scores of normal, the rows
// [n, Input] of examples taken as normal (a validation or training set):
// the (1 − d.Contamination) quantile of their scores, or their d.Quantile
// quantile, as PyOD's threshold_. It returns d with its threshold and
// stores it as m.Detector.
func (m *Model) FitDetector(ctx context.Context, normal []float32, name string, d Detector) (*Detector, error) {
	if (d.Contamination == 0) == (d.Quantile == 0) {
		return nil, fmt.Errorf("detector: give a contamination or a quantile, one of them")
	}
	scores, err := m.AnomalyScores(ctx, normal, d)
	if err != nil {
		return nil, err
	}
	if d.Contamination != 0 {
		d.Threshold, err = anomaly.Threshold(scores, d.Contamination)
	} else {
		d.Threshold, err = anomaly.Quantile(scores, d.Quantile)
	}
	if err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	d.Fitted, d.FittedOn = len(scores), name
	m.Detector = &d
	return &d, nil
}

// IsAnomaly returns the detector's score of each row of x [n, Input] and
// whether it is above the threshold of m.Detector.
func (m *Model) IsAnomaly(ctx context.Context, x []float32) (flags []bool, scores []float64, err error) {
	if m.Detector == nil {
		return nil, nil, fmt.Errorf("the model has no detector: choose its threshold with vae threshold (Model.FitDetector)")
	}
	if scores, err = m.AnomalyScores(ctx, x, *m.Detector); err != nil {
		return nil, nil, err
	}
	flags = make([]bool, len(scores))
	for i, s := range scores {
		flags[i] = s > m.Detector.Threshold
	}
	return flags, scores, nil
}
