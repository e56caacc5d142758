package server

import (
	"context"
	"io"
	"log/slog"

	"github.com/govae/vae/run"
)

// LoadOptions say where Load finds the test set of the explorer's map.
type LoadOptions struct {
	// Data names the data set ("mnist", "fashion-mnist"); empty means the
	// one in the run's spec.json beside the model, if there is one.
	Data string
	// DataDir is the folder of its IDX files; empty means the spec's, else
	// $VAE_DATA, the cache or a download (see dataset.Open).
	DataDir string
	// NoData serves the model without a test set: an API with no map.
	NoData   bool
	Logger   *slog.Logger // nil: slog.Default()
	Download io.Writer    // download progress, if the data must be fetched
}

// Load reads the model at path, a model file or a run folder, with
// run.Open, and returns Options for New with the model, its description for
// GET /v1/model (from the run's spec.json and metrics.jsonl when they lie
// beside it) and the test set of the map, in the run's protocol.
//
// The test set is the one o.Data names, else the spec's. If it was not
// named but taken from the spec and cannot be had, Load logs why and goes on
// without it: the API does not need it.
func Load(ctx context.Context, path string, o LoadOptions) (Options, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	op, err := run.Open(ctx, path, run.OpenOptions{
		Data: o.Data, DataDir: o.DataDir, NoData: o.NoData, DataOptional: true, Logger: log, Download: o.Download,
	})
	if err != nil {
		return Options{}, err
	}
	opts := Options{Model: op.Model, Test: op.Test, Logger: log,
		Info: Info{Path: op.Path, Spec: op.Spec, Metrics: op.Metrics, Data: op.Data}}
	if op.Test != nil {
		log.Info("test set for the map", "data", op.Test.Name, "n", op.Test.N, "from", op.Source)
	} else if op.Spec != nil {
		opts.Info.Data = op.Spec.Data
	}
	return opts, nil
}
