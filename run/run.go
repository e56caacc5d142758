// Package run keeps a training run in a folder: the specification it was
// started with, a checkpoint after every epoch (and on interruption) from
// which it resumes bit-identically, the per-epoch metrics, the trained model
// and the pictures of what it learned. It is what `vae train` does, as a
// library.
package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/internal/atomicfile"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/vae"
)

// The files of a run folder besides the pictures.
const (
	SpecFile       = "spec.json"              // the Spec the run was started with
	CheckpointFile = "checkpoint.safetensors" // model, optimizer state and progress
	ModelFile      = "model.safetensors"      // the trained model, written at the end
	BestFile       = "best.safetensors"       // the model of the epoch with the lowest validation loss, with validation
	MetricsFile    = "metrics.jsonl"          // one vae.EpochStats per line
)

// Spec is everything a run is made from.
type Spec struct {
	Data    string           `json:"data" yaml:"data"`                             // "mnist" or "fashion-mnist"
	DataDir string           `json:"data_dir,omitempty" yaml:"data_dir,omitempty"` // folder with the IDX files; empty: $VAE_DATA, the cache, a download
	Limit   int              `json:"limit,omitempty" yaml:"limit,omitempty"`       // train on the first Limit examples only; 0: all
	Model   vae.Config       `json:"model" yaml:"model"`
	Train   vae.TrainOptions `json:"train" yaml:"train"`
}

// DefaultSpec is the seed's VAE as the Keras example trains it: MNIST,
// 784-512-2 with ReLU, Glorot-uniform weights, Adam (ε 1e-7), batch 128.
// Its input size is 0, which Train takes from the data.
func DefaultSpec() Spec {
	s := Spec{
		Data:  "mnist",
		Model: vae.Config{Hidden: []int{512}, Latent: 2, Activation: nn.ReLU, Init: nn.InitGlorot},
		Train: vae.TrainOptions{Epochs: 10, BatchSize: 128, Optimizer: "adam", Seed: 1},
	}
	s.Train.Optim.LR = 1e-3
	s.Train.Optim.Eps = 1e-7
	return s
}

// ReadSpec reads a YAML specification over the defaults; a key that Spec
// does not have is an error.
func ReadSpec(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return DefaultSpec(), err
	}
	return parseSpec(path, data)
}

// parseSpec decodes the YAML content of the spec file at path.
func parseSpec(path string, data []byte) (Spec, error) {
	s := DefaultSpec()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		// yaml lists its errors on several lines; keep one line.
		msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "), "\n  ", "; ")
		msg = strings.ReplaceAll(msg, "\n", `\n`)
		return s, fmt.Errorf("%s: %s", path, msg)
	}
	return s, nil
}

// Validate reports the first field of s that is out of range. An input size
// of 0 is valid: it means the data's.
func (s Spec) Validate() error {
	cfg := s.Model
	if cfg.Input == 0 {
		cfg.Input = 1
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if s.Train.Epochs < 1 {
		return fmt.Errorf("train: epochs %d, want ≥ 1", s.Train.Epochs)
	}
	if s.Train.BatchSize < 1 {
		return fmt.Errorf("train: batch size %d, want ≥ 1", s.Train.BatchSize)
	}
	if err := s.Train.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := optim.New(s.Train.Optimizer, nil, s.Train.Optim); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// Hooks are the optional callbacks and outputs of Train and Resume.
type Hooks struct {
	Logger   *slog.Logger // nil: slog.Default()
	Download io.Writer    // download progress, when the data must be fetched
	OnBatch  func(epoch, batch, batches int, l vae.Loss)
	OnEpoch  func(s vae.EpochStats)
}

// ErrExists is returned by Train for a folder that already holds a run.
var ErrExists = errors.New("folder already holds a run")

// Train starts a new run of spec in dir, which must not hold one already.
// If ctx is cancelled it saves a checkpoint and returns an error wrapping
// ctx.Err(); Resume continues from there.
func Train(ctx context.Context, dir string, spec Spec, h Hooks) (*vae.Model, error) {
	if _, err := os.Stat(filepath.Join(dir, SpecFile)); err == nil {
		return nil, fmt.Errorf("%s: %w (resume it, or choose another folder)", dir, ErrExists)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	trainSet, testSet, err := LoadData(ctx, spec, h)
	if err != nil {
		return nil, err
	}
	if spec.Model.Input == 0 {
		spec.Model.Input = trainSet.Dim
	}
	if err := spec.Model.CheckTraining(trainSet.N, spec.Train); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m, err := vae.New(spec.Model, rand.New(rand.NewPCG(spec.Train.Seed, 0)))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SpecFile), append(indentJSON(spec), '\n')); err != nil {
		return nil, err
	}
	return train(ctx, dir, spec, m, nil, trainSet, testSet, h)
}

// Resume continues the run in dir from its checkpoint. epochs, when not 0,
// replaces the number of epochs the run was started with, so a finished run
// can be trained further.
func Resume(ctx context.Context, dir string, epochs int, h Hooks) (*vae.Model, error) {
	spec, err := LoadSpec(dir)
	if err != nil {
		return nil, err
	}
	m, p, _, err := vae.LoadCheckpoint(filepath.Join(dir, CheckpointFile))
	if err != nil {
		return nil, err
	}
	if epochs != 0 {
		spec.Train.Epochs = epochs
	}
	if p.Epoch >= spec.Train.Epochs {
		return nil, fmt.Errorf("%s: run has already done %d of %d epochs (ask for more epochs to go on)", dir, p.Epoch, spec.Train.Epochs)
	}
	trainSet, testSet, err := LoadData(ctx, spec, h)
	if err != nil {
		return nil, err
	}
	return train(ctx, dir, spec, m, p, trainSet, testSet, h)
}

// LoadSpec reads the spec of the run in dir.
func LoadSpec(dir string) (Spec, error) {
	var spec Spec
	data, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return spec, fmt.Errorf("%s: %w", filepath.Join(dir, SpecFile), err)
	}
	return spec, nil
}

// ModelPath returns the model file of the run in dir: its final model, or
// its checkpoint while the run has not finished (finished is then false).
func ModelPath(dir string) (path string, finished bool, err error) {
	path = filepath.Join(dir, ModelFile)
	_, err = os.Stat(path)
	if err == nil {
		return path, true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	path = filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); err != nil {
		return "", false, fmt.Errorf("run %s has no %s and no %s: %w", dir, ModelFile, CheckpointFile, err)
	}
	return path, false, nil
}

// LoadData opens the data set a spec names, limited as it says, with the
// test set binarised (from BinarizeSeed) when the spec trains on
// dynamically binarised data.
func LoadData(ctx context.Context, spec Spec, h Hooks) (train, test *dataset.Set, err error) {
	train, test, _, err = dataset.Open(ctx, spec.Data, dataset.Options{Dir: spec.DataDir, Progress: h.Download, Logger: h.Logger})
	if err != nil {
		return nil, nil, err
	}
	if spec.Limit > 0 && spec.Limit < train.N {
		train = train.Subset(spec.Limit)
	}
	if spec.Train.Binarize == "dynamic" {
		test = test.Binarized(BinarizeSeed)
	}
	return train, test, nil
}

// targets says what the model is trained to reconstruct.
func targets(binarize string) string {
	if binarize == "dynamic" {
		return "binary, drawn anew for every batch"
	}
	return "grayscale values"
}

// BinarizeSeed draws the fixed binarisation of the test set on which runs
// trained on dynamically binarised data are evaluated, so that all such
// runs (and `vae eval --binarize`) meet the same test images.
const BinarizeSeed = 1

func train(ctx context.Context, dir string, spec Spec, m *vae.Model, resume *vae.Progress, trainSet, testSet *dataset.Set, h Hooks) (*vae.Model, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Info("training", "dir", dir, "model", spec.Model.String(), "data", spec.Data,
		"train", trainSet.N, "test", testSet.N, "epochs", spec.Train.Epochs, "batch", spec.Train.BatchSize, "optimizer", spec.Train.Optimizer,
		"targets", targets(spec.Train.Binarize), "test_set", testSet.Name)

	opts := spec.Train
	opts.OnBatch = h.OnBatch
	opts.OnEpoch = func(p *vae.Progress) error {
		s := p.History[len(p.History)-1]
		if h.OnEpoch != nil {
			h.OnEpoch(s)
		}
		if err := writeMetrics(filepath.Join(dir, MetricsFile), p.History); err != nil {
			return err
		}
		if p.Best == s.Epoch {
			if err := vae.Save(filepath.Join(dir, BestFile), m); err != nil {
				return err
			}
		}
		return vae.SaveCheckpoint(filepath.Join(dir, CheckpointFile), m, p, spec.Train)
	}
	opts.Resume = resume
	p, err := m.Train(ctx, trainSet, testSet, opts)
	if err != nil {
		if p != nil && ctx.Err() != nil {
			if serr := vae.SaveCheckpoint(filepath.Join(dir, CheckpointFile), m, p, spec.Train); serr != nil {
				return nil, errors.Join(err, serr)
			}
			log.Info("checkpoint saved", "file", filepath.Join(dir, CheckpointFile), "epoch", p.Epoch, "step", p.Batch)
		}
		return nil, err
	}
	if err := vae.Save(filepath.Join(dir, ModelFile), m); err != nil {
		return nil, err
	}
	if err := Pictures(dir, m, testSet, p.History, spec.Train.Seed); err != nil {
		return nil, err
	}
	log.Info("done", "model", filepath.Join(dir, ModelFile))
	return m, nil
}

// writeMetrics rewrites the metrics file with one line per epoch.
func writeMetrics(path string, history []vae.EpochStats) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, s := range history {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadMetrics reads a metrics file written by a run.
func ReadMetrics(path string) ([]vae.EpochStats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []vae.EpochStats
	dec := json.NewDecoder(bytes.NewReader(data))
	for line := 1; dec.More(); line++ {
		var s vae.EpochStats
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func indentJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}
