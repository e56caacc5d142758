package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/run"
	"github.com/govae/vae/vae"
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

// Load reads the model at path, a model file or a run folder, and returns
// Options for New with the model, its description for GET /v1/model (from
// the run's spec.json and metrics.jsonl when they lie beside it) and the test
// set of the map.
//
// The test set is the one o.Data names, else the spec's. If it was not
// named but taken from the spec and cannot be had, Load logs why and goes on
// without it: the API does not need it.
func Load(ctx context.Context, path string, o LoadOptions) (Options, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		var finished bool
		if path, finished, err = run.ModelPath(path); err != nil {
			return Options{}, err
		}
		if !finished {
			log.Info("run not finished: serving its checkpoint", "file", path)
		}
	}
	m, err := vae.Load(path)
	if err != nil {
		return Options{}, err
	}
	opts := Options{Model: m, Info: Info{Path: path}, Logger: log}
	dir := filepath.Dir(path)
	if spec, err := run.LoadSpec(dir); err == nil {
		opts.Info.Spec = &spec
		opts.Info.Data = spec.Data
	} else if !errors.Is(err, fs.ErrNotExist) {
		log.Warn("the run's spec beside the model is unreadable", "err", err)
	}
	if h, err := run.ReadMetrics(filepath.Join(dir, run.MetricsFile)); err == nil {
		opts.Info.Metrics = h
	} else if !errors.Is(err, fs.ErrNotExist) {
		log.Warn("the run's metrics beside the model are unreadable", "err", err)
	}
	if o.NoData {
		return opts, nil
	}
	name, dataDir, named := o.Data, o.DataDir, o.Data != ""
	if !named && opts.Info.Spec != nil {
		name = opts.Info.Spec.Data
		if dataDir == "" {
			dataDir = opts.Info.Spec.DataDir
		}
	}
	if name == "" {
		log.Info("no data set named and no spec.json beside the model: serving the API without the explorer's map")
		return opts, nil
	}
	_, test, src, err := dataset.Open(ctx, name, dataset.Options{Dir: dataDir, Logger: log, Progress: o.Download})
	if err == nil && test.Dim != m.Config.Input {
		err = fmt.Errorf("%s has %d features per example, the model's input is %d", test.Name, test.Dim, m.Config.Input)
	}
	if err != nil {
		if named {
			return Options{}, err
		}
		log.Warn("serving without the explorer's map: the run's data set is not available", "data", name, "err", err)
		return opts, nil
	}
	log.Info("test set for the map", "data", test.Name, "n", test.N, "from", src)
	opts.Info.Data = name
	opts.Test = test
	return opts, nil
}
