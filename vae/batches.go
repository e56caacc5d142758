package vae

import (
	"fmt"
	"math/rand/v2"

	"github.com/govae/vae/dataset"
)

// batches is the training data as Train meets it: the validation examples
// held out from the end of the set, then, epoch after epoch, the rest in an
// order shuffled anew from the seed, gathered into batches of up to bs rows
// and, with dynamic binarisation, binarised anew, each row from its own
// stream by its place in the run. A batch depends only on the seed, the
// epoch and its number, so a resumed run meets the batches it would have.
type batches struct {
	set      *dataset.Set
	bs       int
	seed     uint64
	binarize bool
	order    []int     // [set.N] the epoch's order
	x        []float32 // [bs, Dim] the batch
	labels   []uint8   // [bs] the batch's labels, for a conditional model
	bin      rand.PCG
}

// splitBatches holds out opts.Validation examples of train as the
// validation set (binarised once, from the seed, with dynamic binarisation)
// and returns the batches of the rest.
func splitBatches(train *dataset.Set, opts TrainOptions) (*batches, *dataset.Set, error) {
	var valid *dataset.Set
	if opts.Validation > 0 {
		if opts.Validation >= train.N {
			return nil, nil, fmt.Errorf("validation %d leaves nothing of the %d training examples", opts.Validation, train.N)
		}
		valid = train.Tail(opts.Validation)
		train = train.Subset(train.N - opts.Validation)
		if opts.Binarize == "dynamic" {
			valid = valid.Binarized(opts.Seed)
		}
	}
	b := &batches{set: train, bs: opts.BatchSize, seed: opts.Seed, binarize: opts.Binarize == "dynamic",
		order: make([]int, train.N), x: make([]float32, opts.BatchSize*train.Dim)}
	return b, valid, nil
}

// count returns the number of batches in an epoch.
func (b *batches) count() int { return (b.set.N + b.bs - 1) / b.bs }

// shuffle draws the order of epoch e (0-based).
func (b *batches) shuffle(e int) {
	for i := range b.order {
		b.order[i] = i
	}
	dataset.Shuffle(b.order, rand.New(rand.NewPCG(b.seed, streamShuffle+uint64(e))))
}

// batch returns batch i of epoch e, [n, Dim], and with labels set its
// labels, valid until the next call; shuffle(e) must have been called.
func (b *batches) batch(e, i int) (x []float32, labels []uint8, n int) {
	D, N := b.set.Dim, b.set.N
	lo, hi := i*b.bs, min((i+1)*b.bs, N)
	n = hi - lo
	b.set.Gather(b.x, b.order[lo:hi])
	if b.labels != nil {
		for r, j := range b.order[lo:hi] {
			b.labels[r] = b.set.Labels[j]
		}
		labels = b.labels[:n]
	}
	if b.binarize {
		for r := range n {
			b.bin.Seed(b.seed, streamBinarize+uint64(e*N+lo+r))
			dataset.Binarize(b.x[r*D:(r+1)*D], b.x[r*D:(r+1)*D], &b.bin)
		}
	}
	return b.x[:n*D], labels, n
}
