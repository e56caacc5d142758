package vae

import (
	"fmt"

	"github.com/govae/vae/budget"
)

// The memory a model and its passes take, estimated from the configuration
// before anything is allocated, so that a size from a flag, a config or a
// file header that the machine cannot hold is an error (budget.Check)
// instead of the runtime's fatal out-of-memory.

// ParamCount returns the number of parameters of a model of shape c, or a
// saturated count (see budget.Mul) for a shape too large to count.
func (c Config) ParamCount() int64 {
	var n int64
	for _, l := range c.Layers() {
		n = budget.Add(n, budget.Mul(int64(l.In)+1, int64(l.Out)))
	}
	if c.learnsVariance() {
		n = budget.Add(n, int64(c.Input))
	}
	return n
}

// modelBytes is what newZero allocates: a value and a gradient per parameter.
func (c Config) modelBytes() int64 { return budget.Mul(c.ParamCount(), 8) }

// checkModel refuses a shape whose parameters do not fit the budget.
func (c Config) checkModel() error {
	return budget.Check(fmt.Sprintf("a %s model (%d parameters)", c, c.ParamCount()), c.modelBytes())
}

// passBytes is what newPass(n, k, grad) allocates.
func (c Config) passBytes(n, k int, grad bool) int64 {
	N, rows := int64(n), budget.Mul(int64(n), int64(k))
	L, D := int64(c.Latent), int64(c.Input)
	var hidden int64 // Σ widths of the hidden layers, encoder and decoder alike
	for _, h := range c.Hidden {
		hidden = budget.Add(hidden, int64(h))
	}
	floats := budget.Add(
		budget.Mul(5, rows, L), budget.Mul(rows, D), budget.Mul(2, rows), // mean … z, logits, recon, kl
		budget.Mul(2, N, hidden), budget.Mul(2, rows, hidden), // encPre, encH, decPre, decH
	)
	if P := int64(len(c.Parts)); P > 0 {
		floats = budget.Add(floats, budget.Mul(N, D+P), budget.Mul(rows, P)) // in, partLoss
	}
	if grad {
		first := D // the encoder's last width, ZMean's input
		if len(c.Hidden) > 0 {
			first = int64(c.Hidden[len(c.Hidden)-1])
		}
		floats = budget.Add(floats,
			budget.Mul(rows, D), budget.Mul(3, rows, L), // dLogits, dZ, dMean, dLogVar
			budget.Mul(N, hidden), budget.Mul(rows, hidden), // dEncH, dDecH
			budget.Mul(N, first), rows, // dEncFromLogVar, zWeight
		)
	}
	return budget.Mul(floats, 4)
}

// trainBytes estimates what Train allocates for batches of bs inputs with k
// samples each over a training set of n examples: the shards' passes and
// gradients, the optimizer's state (two slots per parameter at most), the
// batch and its noise, and the shuffled order.
func (c Config) trainBytes(n, bs, k int) int64 {
	threads := int64(shards(bs, k))
	perShard := (int64(bs) + threads - 1) / threads
	return budget.Add(
		budget.Mul(threads, c.passBytes(int(min(perShard, 1<<40)), k, true)),
		budget.Mul(threads-1, c.modelBytes()),
		budget.Mul(c.ParamCount(), 8),
		budget.Mul(4, int64(bs), int64(c.Input)),
		budget.Mul(4, int64(bs), int64(k), int64(c.Latent)),
		budget.Mul(8, int64(n)),
	)
}

// CheckTraining returns the error Train gives before it starts when
// training a model of shape c on n examples with opts would take more
// memory than the budget allows (see package budget), so that a caller can
// refuse the run before it writes anything.
func (c Config) CheckTraining(n int, opts TrainOptions) error {
	opts = opts.withDefaults()
	bs, k := opts.BatchSize, opts.Samples
	what := fmt.Sprintf("training %s in batches of %d", c, bs)
	if k > 1 {
		what += fmt.Sprintf(" with %d samples each", k)
	}
	return budget.Check(what, c.trainBytes(n, bs, k))
}
