package vae

import (
	"fmt"
	"math"
	"slices"

	"github.com/govae/vae/kernel"
	"github.com/govae/vae/nn"
)

// likelihood is the distribution p(x|z) whose parameters the decoder
// outputs, one value per input: a new one is a type with these two methods.
type likelihood interface {
	// nll returns −log p(x|z) summed over the rows of the targets
	// x [rows, Input], given the decoder's outputs [rows, Input], with the
	// per-row sums in rowLoss and, for a model of parts, the per-part ones
	// in partLoss [rows, parts] when it is not nil. When grad is not nil it
	// receives gradScale·d/doutputs, and learned parameters of the
	// likelihood get gradScale times their gradient added.
	nll(grad, rowLoss, partLoss, outputs, x []float32, gradScale float32) float64
	// mean writes the mean of p(x|z) of each output into dst.
	mean(dst, outputs []float32)
}

// termwise is a likelihood with one term per input, which it writes, as
// −log p(x_j|z) of each output and target, into dst.
type termwise interface {
	terms(dst, outputs, x []float32)
}

// bernoulli: the outputs are logits.
type bernoulli struct{}

func (bernoulli) nll(grad, rowLoss, _, outputs, x []float32, gradScale float32) float64 {
	return nn.BCEWithLogits(grad, rowLoss, outputs, x, gradScale)
}

func (bernoulli) mean(dst, outputs []float32) { nn.Sigmoid(dst, outputs) }

func (bernoulli) terms(dst, outputs, x []float32) { nn.BCEWithLogits(nil, dst, outputs, x, 1) }

// gaussian: the outputs are means, the log-variances [Input] are logVar
// (fixed) or the value of the parameter learned.
type gaussian struct {
	logVar  []float32
	learned *nn.Param
}

func (g gaussian) nll(grad, rowLoss, _, outputs, x []float32, gradScale float32) float64 {
	logVar, dLogVar := g.logVar, []float32(nil)
	if g.learned != nil {
		logVar = g.learned.Value
		if grad != nil {
			dLogVar = g.learned.Grad
		}
	}
	return nn.GaussianNLL(grad, dLogVar, rowLoss, outputs, logVar, x, gradScale)
}

func (gaussian) mean(dst, outputs []float32) { copy(dst, outputs) }

func (g gaussian) terms(dst, outputs, x []float32) {
	logVar := g.logVar
	if g.learned != nil {
		logVar = g.learned.Value
	}
	const log2Pi = 1.8378770664093453
	for i, mu := range outputs {
		lv := float64(logVar[i%len(logVar)])
		d := float64(x[i]) - float64(mu)
		dst[i] = float32((d*d*math.Exp(-lv) + lv + log2Pi) / 2)
	}
}

// newLikelihood returns the likelihood of a model of shape c whose learned
// output log-variance, if it has one, is logVar.
func newLikelihood(c Config, logVar *nn.Param) likelihood {
	switch {
	case c.Parts != nil:
		return newParts(c.Parts, logVar)
	case c.likelihood() == Gaussian && c.Sigma == 0:
		return gaussian{learned: logVar}
	case c.likelihood() == Gaussian:
		lv := make([]float32, c.Input)
		for i := range lv {
			lv[i] = float32(2 * math.Log(c.Sigma))
		}
		return gaussian{logVar: lv}
	}
	return bernoulli{}
}

// checkInput reports the first value of x [n, Input] that the model cannot
// take, by its row and column: NaN or an infinity (a missing value, NaN, is
// allowed in a model of parts), or a Bernoulli target outside [0, 1].
func (m *Model) checkInput(what string, x []float32) error {
	if ps, ok := m.lik.(*parts); ok {
		return ps.check(what, x)
	}
	// This runs before every pass: a vector check first, the search for
	// the culprit only when there is one.
	lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
	if m.Config.likelihood() == Bernoulli {
		lo, hi = 0, 1
	}
	if kernel.AllIn(x, lo, hi) {
		return nil
	}
	i := slices.IndexFunc(x, func(v float32) bool { return !(v >= lo && v <= hi) }) // NaN is in no range
	D, v := m.Config.Input, x[i]
	if v-v != 0 {
		return fmt.Errorf("%s: row %d, column %d is %v: this model takes no missing or infinite values", what, i/D, i%D, v)
	}
	return fmt.Errorf("%s: row %d, column %d is %v, outside the [0, 1] of a Bernoulli likelihood (scale the data, or use likelihood gaussian)", what, i/D, i%D, v)
}
