package run

import (
	"context"
	"fmt"

	"github.com/govae/vae/vae"
)

// FitDetector chooses the threshold of detector d for the model at path, a
// model file or a finished run, from the run's normal set (NormalSet: its
// validation set, else its training set), and writes the model back with
// it, atomically. It is what `vae threshold` does.
func FitDetector(ctx context.Context, path string, d vae.Detector, o OpenOptions) (*Opened, error) {
	o.NoData, o.Data, o.Binarize = false, "", nil
	op, err := Open(ctx, path, o)
	if err != nil {
		return nil, err
	}
	if !op.Finished {
		return nil, fmt.Errorf("%s: the run has not finished (only its checkpoint): finish it with vae train --resume first", path)
	}
	if op.Train == nil {
		return nil, fmt.Errorf("%s: no training data beside the model to choose a threshold from", path)
	}
	spec := Spec{}
	if op.Spec != nil {
		spec = *op.Spec
	}
	normal := NormalSet(spec, op.Train)
	if _, err := op.Model.FitDetector(ctx, normal.X, normal.Name, d); err != nil {
		return nil, err
	}
	if err := vae.Save(op.Path, op.Model); err != nil {
		return nil, err
	}
	return op, nil
}
