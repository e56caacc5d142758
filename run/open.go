package run

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
	"github.com/govae/vae/vae"
)

// OpenOptions say which test set Open reads beside the model.
type OpenOptions struct {
	// Data names the data set ("mnist", "fashion-mnist"); empty means the
	// one of the run's spec.json beside the model, else DefaultData.
	Data string
	// DefaultData is the data set when neither Data nor a spec names one;
	// empty means none: Open returns no test set.
	DefaultData string
	// DataDir is the folder of its IDX files; empty means the spec's, else
	// $VAE_DATA, the cache or a download (see dataset.Open).
	DataDir string
	// Binarize, if not nil, says whether the test set is the fixed
	// binarisation (BinarizeSeed); nil means the run's protocol: binarised
	// for a run trained with dynamic binarisation.
	Binarize *bool
	// NoData opens the model alone.
	NoData bool
	// DataOptional makes a test set that was not named (taken from the
	// spec) and cannot be had a logged warning instead of an error.
	DataOptional bool
	Logger       *slog.Logger // nil: slog.Default()
	Download     io.Writer    // download progress, if the data must be fetched
}

// Opened is a model with what lies beside it in its run folder.
type Opened struct {
	Model    *vae.Model
	Path     string // the model file read
	Finished bool   // false: Path is the checkpoint of an unfinished run
	Spec     *Spec  // the run's spec.json beside the model; nil if none
	Metrics  []vae.EpochStats
	Test     *dataset.Set // the test set, nil without one
	Train    *dataset.Set // the training set beside it, limited as the run was
	Data     string       // the data set's name, "" without one
	Source   string       // where the test set came from (see dataset.Open)
}

// Open reads the model at path, a model file or a run folder (its final
// model, or its checkpoint while it has none), the spec and metrics of the
// run beside it, and the test set of the run's protocol, or the one o
// names, checked against the model's input size. It is what `vae eval`,
// `vae encode` and `vae serve` open.
func Open(ctx context.Context, path string, o OpenOptions) (*Opened, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	op := &Opened{Path: path, Finished: true}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if op.Path, op.Finished, err = ModelPath(path); err != nil {
			return nil, err
		}
		if !op.Finished {
			log.Info("run not finished: reading its checkpoint", "file", op.Path)
		}
	}
	m, err := vae.Load(op.Path)
	if err != nil {
		return nil, err
	}
	op.Model = m
	dir := filepath.Dir(op.Path)
	if spec, err := LoadSpec(dir); err == nil {
		op.Spec = &spec
	} else if !errors.Is(err, fs.ErrNotExist) {
		log.Warn("the run's spec beside the model is unreadable", "err", err)
	}
	if h, err := ReadMetrics(filepath.Join(dir, MetricsFile)); err == nil {
		op.Metrics = h
	} else if !errors.Is(err, fs.ErrNotExist) {
		log.Warn("the run's metrics beside the model are unreadable", "err", err)
	}
	if o.NoData {
		return op, nil
	}

	spec := Spec{Data: o.Data, DataDir: o.DataDir}
	if op.Spec != nil {
		if spec.Data == "" {
			spec.Data = op.Spec.Data
		}
		if spec.DataDir == "" {
			spec.DataDir = op.Spec.DataDir
		}
		spec.DataOptions = op.Spec.DataOptions
		spec.Train.Binarize, spec.Train.Seed = op.Spec.Train.Binarize, op.Spec.Train.Seed
		spec.Limit, spec.Train.Validation = op.Spec.Limit, op.Spec.Train.Validation
	}
	if o.Data != "" && !dataset.Known(o.Data) {
		spec.DataOptions.Test = o.Data // all of a file named here is test data
	}
	if spec.Data == "" {
		spec.Data = o.DefaultData
	}
	if spec.Data == "" {
		log.Info("no data set named and no spec.json beside the model: no test set")
		return op, nil
	}
	if o.Binarize != nil {
		spec.Train.Binarize = ""
		if *o.Binarize {
			spec.Train.Binarize = "dynamic"
		}
	}
	var test *dataset.Set
	var src string
	d, err := loadData(ctx, spec, m.Table, Hooks{Logger: log, Download: o.Download})
	if err == nil {
		test, src = d.test, d.src
		op.Train = d.train
	}
	if err == nil && test.Dim != m.Config.Input {
		err = fmt.Errorf("%s has %d features per example, the model's input is %d", test.Name, test.Dim, m.Config.Input)
	}
	if err != nil {
		if o.DataOptional && o.Data == "" {
			log.Warn("going on without a test set: the run's data set is not available", "data", spec.Data, "err", err)
			return op, nil
		}
		return nil, err
	}
	op.Test, op.Data, op.Source = test, spec.Data, src
	return op, nil
}
