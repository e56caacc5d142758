package vae

import (
	"slices"
	"testing"
)

// Each epoch's batches hold every training row once, the validation rows
// never; a batch is the same whenever it is drawn (as a resumed run draws
// it), and binarised rows hold 0s and 1s.
func TestBatches(t *testing.T) {
	const n, dim, bs, held = 103, 6, 10, 13
	set := blobs(n, dim, 1)
	for i := range n { // make each row recognisable by its first value
		set.X[i*dim] = float32(i) / n
	}
	b, valid, err := splitBatches(set, TrainOptions{BatchSize: bs, Seed: 7, Validation: held})
	if err != nil {
		t.Fatal(err)
	}
	if valid.N != held || b.count() != (n-held+bs-1)/bs {
		t.Fatalf("validation %d rows, %d batches; want %d and %d", valid.N, b.count(), held, (n-held+bs-1)/bs)
	}
	epoch := func(e int) (firsts []float32) {
		b.shuffle(e)
		for i := range b.count() {
			x, _, rows := b.batch(e, i)
			for r := range rows {
				firsts = append(firsts, x[r*dim])
			}
		}
		return firsts
	}
	e0, e1 := epoch(0), epoch(1)
	if slices.Equal(e0, e1) {
		t.Error("epochs 0 and 1 meet the rows in the same order")
	}
	if !slices.Equal(epoch(0), e0) {
		t.Error("epoch 0 drawn twice gives other batches")
	}
	slices.Sort(e0)
	for i, v := range e0 {
		if v != float32(i)/n {
			t.Fatalf("epoch 0 row %d is %v, want every training row once (rows 0..%d)", i, v*n, n-held-1)
		}
	}

	bin, _, _ := splitBatches(set, TrainOptions{BatchSize: bs, Seed: 7, Binarize: "dynamic"})
	bin.shuffle(3)
	x, _, _ := bin.batch(3, 2)
	for _, v := range x {
		if v != 0 && v != 1 {
			t.Fatalf("binarised batch holds %v", v)
		}
	}
	if _, _, err := splitBatches(set, TrainOptions{BatchSize: bs, Validation: n}); err == nil {
		t.Error("a validation set of the whole training set was accepted")
	}
}
