package vae

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/govae/vae/table"
)

// TableParts returns the parts of a model of the features of the fitted
// schema s, one per model column: Gaussian for continuous and positive
// columns (standardised, positive ones on a log scale), Bernoulli for
// binary ones, Categorical for categorical ones.
func TableParts(s *table.Schema) []Part {
	var ps []Part
	for _, f := range s.Features() {
		p := Part{Name: f.Name, Likelihood: Gaussian, Width: f.Width}
		switch f.Type {
		case table.Binary:
			p.Likelihood = Bernoulli
		case table.Categorical:
			p.Likelihood = Categorical
		}
		ps = append(ps, p)
	}
	return ps
}

// checkTable reports a schema that does not describe the model's parts.
func (m *Model) checkTable() error {
	if m.Table == nil {
		return nil
	}
	want := TableParts(m.Table)
	if len(want) != len(m.Config.Parts) {
		return fmt.Errorf("the table's schema has %d model columns, the model %d parts", len(want), len(m.Config.Parts))
	}
	for i, p := range want {
		if p != m.Config.Parts[i] {
			return fmt.Errorf("the table's column %s is a %s of width %d, the model's part %d a %s of width %d",
				p.Name, p.Likelihood, p.Width, i, m.Config.Parts[i].Likelihood, m.Config.Parts[i].Width)
		}
	}
	return nil
}

// Impute returns a copy of x [n, Input] whose missing parts (NaN) hold the
// model's estimate given the observed ones: the mean of p(x|z) averaged
// over draws of z from q(z|x): for a Gaussian part its mean, for a
// Bernoulli part the probability of 1, for a Categorical part the
// probability of each category (Schema.Decode takes the likeliest). The
// observed values are left as they are. draws 0 decodes the posterior mean
// alone.
func (m *Model) Impute(x []float32, draws int, rng *rand.Rand) ([]float32, error) {
	if m.parts == nil {
		return nil, errors.New("impute: the model has no parts (no missing values to fill)")
	}
	if draws < 0 || draws > MaxK {
		return nil, fmt.Errorf("impute: %d draws, want 0 to %d", draws, MaxK)
	}
	D, L := m.Config.Input, m.Config.Latent
	mean, logVar, err := m.Encode(x)
	if err != nil {
		return nil, fmt.Errorf("impute: %w", err)
	}
	n := len(x) / D
	est := make([]float32, n*D)
	if draws == 0 {
		if err := m.DecodeTo(est, mean); err != nil {
			return nil, err
		}
	} else {
		z, dec := make([]float32, n*L), make([]float32, n*D)
		for range draws {
			for i := range z {
				z[i] = mean[i] + float32(math.Exp(float64(logVar[i])/2)*rng.NormFloat64())
			}
			if err := m.DecodeTo(dec, z); err != nil {
				return nil, err
			}
			for i, v := range dec {
				est[i] += v / float32(draws)
			}
		}
	}
	out := make([]float32, len(x))
	copy(out, x)
	for r := range n {
		xr, o, e := x[r*D:(r+1)*D], out[r*D:(r+1)*D], est[r*D:(r+1)*D]
		for i, p := range m.parts.list {
			if lo := m.parts.offset[i]; m.parts.missing(xr, i) {
				copy(o[lo:lo+p.Width], e[lo:lo+p.Width])
			}
		}
	}
	return out, nil
}
