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
		w := int64(1)
		for _, d := range l.Weight {
			w = budget.Mul(w, int64(d))
		}
		n = budget.Add(n, budget.Add(w, int64(l.Bias)))
	}
	if c.learnsVariance() {
		n = budget.Add(n, int64(c.Input))
	}
	if enc, _, dec, err := c.plan(); err == nil && c.Classes > 0 && classLayer(enc) >= 0 { // the class embeddings
		n = budget.Add(n, budget.Mul(int64(c.Classes), int64(enc[classLayer(enc)].Out)+int64(dec[0].Out)))
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
	enc, heads, dec, _ := c.plan()
	var encOut, decOut int64 // Σ widths of the layers' outputs
	for _, l := range enc {
		encOut = budget.Add(encOut, int64(l.Out))
	}
	for _, l := range dec {
		decOut = budget.Add(decOut, int64(l.Out))
	}
	floats := budget.Add(
		budget.Mul(5, rows, L), budget.Mul(2, rows), // mean … z, recon, kl
		budget.Mul(N, encOut), budget.Mul(rows, decOut), // enc, dec (logits last)
	)
	if P := int64(len(c.Parts)); P > 0 {
		floats = budget.Add(floats, budget.Mul(N, D+P), budget.Mul(rows, P)) // in, partLoss
	}
	if grad {
		floats = budget.Add(floats,
			budget.Mul(3, rows, L),                          // dZ, dMean, dLogVar
			budget.Mul(N, encOut), budget.Mul(rows, decOut), // dEnc, dDec
			budget.Mul(N, int64(heads[0].In)), rows, // dEncFromLogVar, zWeight
		)
	}
	return budget.Mul(floats, 4)
}

// chunkRows is the number of rows an inference pass of a model of shape c
// takes at once: 1000, or fewer when its layers are wide (convolutions), so
// that a pass's buffers stay within 16 MiB.
func (c Config) chunkRows() int {
	enc, _, dec, _ := c.plan()
	var width int64
	for _, l := range append(enc, dec...) {
		width = budget.Add(width, int64(l.Out))
	}
	return int(max(1, min(1000, (4<<20)/max(width, 1))))
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
