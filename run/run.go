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
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/internal/atomicfile"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// The files of a run folder besides the pictures.
const (
	SpecFile       = "spec.json"              // the Spec the run was started with
	SchemaFile     = "schema.yaml"            // a table's inferred column types, to edit and pass back with --schema
	CheckpointFile = "checkpoint.safetensors" // model, optimizer state and progress
	ModelFile      = "model.safetensors"      // the trained model, written at the end
	BestFile       = "best.safetensors"       // the model of the epoch with the lowest validation loss, with validation
	MetricsFile    = "metrics.jsonl"          // one vae.EpochStats per line
	LockFile       = ".lock"                  // held (flock) by the process training the run
)

// Spec is everything a run is made from.
type Spec struct {
	// Data is a data set's name, "mnist" or "fashion-mnist", or the path
	// of a table, an array or an image folder (see DataOptions), absolute
	// in a run's spec.json so that the run can be read from any folder.
	Data        string      `json:"data" yaml:"data"`
	DataDir     string      `json:"data_dir,omitempty" yaml:"data_dir,omitempty"` // folder with a named set's IDX files; empty: $VAE_DATA, the cache, a download
	DataOptions DataOptions `json:"data_options,omitzero" yaml:"data_options,omitempty"`
	Limit       int         `json:"limit,omitempty" yaml:"limit,omitempty"` // train on the first Limit examples only; 0: all
	// Classes, if set, keeps only the training examples of these classes,
	// each a label number or a class name (a table's label cell): a model
	// of normal data for one-class anomaly detection. The test set keeps
	// every class.
	Classes []string `json:"classes,omitempty" yaml:"classes,omitempty"`
	// Condition, if "label", makes the model conditional on the data's
	// labels (vae.Config.Classes, from the data): a conditional VAE.
	Condition string `json:"condition,omitempty" yaml:"condition,omitempty"`
	// Arch, if set, names a network that Train fills into Model for the
	// data's shape: "conv", the Keras example's convolutional VAE (see
	// vae.ConvNetwork), for images. Otherwise Model gives the network.
	Arch  string           `json:"arch,omitempty" yaml:"arch,omitempty"`
	Model vae.Config       `json:"model" yaml:"model"`
	Train vae.TrainOptions `json:"train" yaml:"train"`
	// Detector, if set, is the anomaly detector the final model gets: its
	// score and how its threshold is chosen (a contamination or a
	// quantile) from the normal set, the validation set if the run has
	// one, else the training set (see NormalSet).
	Detector *vae.Detector `json:"detector,omitempty" yaml:"detector,omitempty"`
}

// DefaultSpec is the seed's VAE as the Keras example trains it: MNIST,
// 784-512-2 with ReLU, Glorot-uniform weights, Adam (ε 1e-7), batch 128.
// Its input size is 0, which Train takes from the data. Its ε is Keras's,
// for the optimizers that have one: a spec of another optimizer must set it
// to 0 (ReadSpec does, unless the file sets it).
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
// does not have is an error. The default ε applies only to an optimizer
// that uses one, and a UTF-8 byte order mark at the start is skipped.
func ReadSpec(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return DefaultSpec(), err
	}
	return parseSpec(path, data)
}

// bom is the UTF-8 byte order mark, which some editors put at the start of
// a text file.
const bom = "\uFEFF"

// parseSpec decodes the YAML content of the spec file at path.
func parseSpec(path string, data []byte) (Spec, error) {
	s := DefaultSpec()
	data = bytes.TrimPrefix(data, []byte(bom))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		// yaml lists its errors on several lines; keep one line.
		msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "), "\n  ", "; ")
		msg = strings.ReplaceAll(msg, "\n", `\n`)
		return s, fmt.Errorf("%s: %s", path, msg)
	}
	if s.Arch != "" || s.Model.Encoder != nil || s.Model.Decoder != nil {
		// The default hidden layers are not for another network.
		var given struct {
			Model struct {
				Hidden *[]int `yaml:"hidden"`
			} `yaml:"model"`
		}
		yaml.Unmarshal(data, &given) // it decoded above
		if given.Model.Hidden == nil {
			s.Model.Hidden = nil
		}
	}
	if !optim.Uses(s.Train.Optimizer, "Eps") {
		// The default ε is not for this optimizer; an ε the file sets is.
		var given struct {
			Train struct {
				Optim struct {
					Eps *float64 `yaml:"eps"`
				} `yaml:"optim"`
			} `yaml:"train"`
		}
		yaml.Unmarshal(data, &given) // it decoded above
		if given.Train.Optim.Eps == nil {
			s.Train.Optim.Eps = 0
		}
	}
	return s, nil
}

// Validate reports the first field of s that is out of range. An input size
// of 0 is valid: it means the data's.
func (s Spec) Validate() error {
	cfg := s.Model
	switch {
	case s.Arch != "" || (cfg.Input == 0 && cfg.Encoder != nil):
		// The network depends on the data; Train checks it once it has read them.
	case cfg.Input == 0:
		cfg.Input = 1
		fallthrough
	default:
		if err := cfg.Validate(); err != nil {
			return err
		}
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
	// OnSchema, if set, is called with a table's schema, inferred and
	// fitted on the training rows, before a new run trains.
	OnSchema func(s *table.Schema)
}

// ErrExists is returned by Train for a folder that already holds a run.
var ErrExists = errors.New("folder already holds a run")

// ErrBusy is returned by Train and Resume for a run folder that another
// process is training.
var ErrBusy = errors.New("another process is training this run")

// Train starts a new run of spec in dir, which must not hold one already.
// If ctx is cancelled it saves a checkpoint and returns an error wrapping
// ctx.Err(); Resume continues from there, as it does from a folder that a
// crash left at any point after spec.json was written.
func Train(ctx context.Context, dir string, spec Spec, h Hooks) (*vae.Model, error) {
	if _, err := os.Stat(filepath.Join(dir, SpecFile)); err == nil {
		if _, err := os.Stat(filepath.Join(dir, ModelFile)); err == nil {
			return nil, fmt.Errorf("%s: %w, finished: train it further with vae train --resume %s --epochs N, or choose another folder with --out", dir, ErrExists, dir)
		}
		return nil, fmt.Errorf("%s: %w, unfinished: continue it with vae train --resume %s, or choose another folder with --out", dir, ErrExists, dir)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := spec.absolute(); err != nil {
		return nil, err
	}
	d, err := loadData(ctx, spec, nil, h)
	if err != nil {
		return nil, err
	}
	trainSet, testSet := d.train, d.test
	if spec.Model.Input == 0 {
		spec.Model.Input = trainSet.Dim
	}
	if err := spec.network(trainSet); err != nil {
		return nil, err
	}
	if d.schema != nil {
		if spec.Model.Likelihood != "" || spec.Model.Sigma != 0 {
			return nil, fmt.Errorf("a table's model has a likelihood per column (see %s), not likelihood %q", SchemaFile, spec.Model.Likelihood)
		}
		spec.Model.Parts = vae.TableParts(d.schema)
		if h.OnSchema != nil {
			h.OnSchema(d.schema)
		}
	}
	if err := spec.Model.CheckTraining(trainSet.N, spec.Train); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m, err := newModel(spec, d.schema)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	release, err := claim(dir, h)
	if err != nil {
		return nil, err
	}
	defer release()
	if d.schema != nil {
		if err := atomicfile.Write(filepath.Join(dir, SchemaFile), d.schema.WriteYAML); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SpecFile), append(indentJSON(spec), '\n')); err != nil {
		return nil, err
	}
	return train(ctx, dir, spec, m, nil, trainSet, testSet, h)
}

// network fills in the model's network for the data: the one Arch names,
// and for stacks of layers the shape of the images.
func (s *Spec) network(data *dataset.Set) error {
	c := &s.Model
	isImage := data.Rows > 0
	if s.Arch != "" {
		if s.Arch != "conv" {
			return fmt.Errorf("arch %q: want conv (or no arch, and the model's hidden or encoder and decoder)", s.Arch)
		}
		if !isImage {
			return fmt.Errorf("arch conv: %s is not images (a convolutional network needs images)", s.Data)
		}
		enc, dec, err := vae.ConvNetwork(max(1, data.Channels), data.Rows, data.Cols)
		if err != nil {
			return fmt.Errorf("arch conv: %s: %w", s.Data, err)
		}
		c.Hidden, c.Encoder, c.Decoder = nil, enc, dec
	}
	if c.Encoder != nil && c.Image == nil && isImage {
		c.Image = []int{max(1, data.Channels), data.Rows, data.Cols}
	}
	switch s.Condition {
	case "":
	case "label":
		if data.Labels == nil {
			return fmt.Errorf("condition label: %s has no labels", s.Data)
		}
		if c.Classes == 0 {
			c.Classes = len(data.ClassNames)
			if c.Classes == 0 {
				c.Classes = int(slices.Max(data.Labels)) + 1
			}
		}
	default:
		return fmt.Errorf("condition %q: want label (or none)", s.Condition)
	}
	return nil
}

// newModel returns the model a run of spec starts from, its weights drawn
// from the spec's seed: a run resumed without a checkpoint starts where it
// first started.
func newModel(spec Spec, schema *table.Schema) (*vae.Model, error) {
	m, err := vae.New(spec.Model, rand.New(rand.NewPCG(spec.Train.Seed, 0)))
	if err != nil {
		return nil, err
	}
	m.Table = schema
	return m, nil
}

// absolute makes the paths of s absolute.
func (s *Spec) absolute() error {
	for _, p := range []*string{&s.Data, &s.DataOptions.Test, &s.DataOptions.Schema, &s.DataDir} {
		if *p == "" || (p == &s.Data && dataset.Known(*p)) {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	return nil
}

// runFiles are the files of a run folder, all written atomically by way of
// a temporary file beside them (atomicfile.TempPattern).
var runFiles = []string{SpecFile, SchemaFile, CheckpointFile, ModelFile, BestFile, MetricsFile,
	LatentPNG, ManifoldPNG, ReconstructionsPNG, SamplesPNG, ClassesPNG, LossPNG, KLPNG}

// claim takes the run folder dir for this process (see lock) and then
// removes the temporary files of the writes a crash cut short there, which
// no other process can be writing now.
func claim(dir string, h Hooks) (release func(), err error) {
	release, err = lock(dir)
	if err != nil {
		return nil, err
	}
	if err := removeStale(dir, h); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// removeStale removes the temporary files that writes of the run files
// cut short by a crash left in dir.
func removeStale(dir string, h Hooks) error {
	for _, name := range runFiles {
		tmps, err := filepath.Glob(filepath.Join(dir, atomicfile.TempPattern(name)))
		if err != nil {
			return err
		}
		for _, tmp := range tmps {
			if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove the temporary file of an interrupted write: %w", err)
			}
			logger(h).Info("removed the temporary file of an interrupted write", "file", tmp)
		}
	}
	return nil
}

func logger(h Hooks) *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

// Resume continues the run in dir from its checkpoint, or from its start
// when it has none yet (a crash before the first one: the spec and its seed
// determine the start), and writes its final model and pictures; a run
// whose training is done but whose final files a crash cut short gets only
// those. It first removes the temporary files of interrupted writes. The
// checkpoint must be the run's: of the model and training options in
// spec.json. epochs, when not 0, replaces the number of epochs the run was
// last asked for (spec.json's, or those of the Resume that wrote the
// checkpoint), so a finished run can be trained further.
func Resume(ctx context.Context, dir string, epochs int, h Hooks) (*vae.Model, error) {
	spec, err := LoadSpec(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no run to resume (no %s): start one with vae train --out %s", dir, SpecFile, dir)
	}
	anew := "the run cannot be resumed; start it anew with vae train --out ANOTHER-FOLDER"
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, anew)
	}
	specPath := filepath.Join(dir, SpecFile)
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", specPath, err, anew)
	}
	if spec.Model.Input <= 0 {
		return nil, fmt.Errorf("%s: model input %d, want > 0: %s", specPath, spec.Model.Input, anew)
	}
	release, err := claim(dir, h)
	if err != nil {
		return nil, err
	}
	defer release()
	ckpt := filepath.Join(dir, CheckpointFile)
	again := fmt.Sprintf("remove %s and run vae train --resume %s to train the run again from its start", ckpt, dir)
	m, p, opts, err := vae.LoadCheckpoint(ckpt)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		m, p = nil, nil // stopped before its first checkpoint
		logger(h).Info("no checkpoint: training the run from its start", "dir", dir)
	case err != nil:
		return nil, fmt.Errorf("%w; %s", err, again)
	default:
		if err := checkSpec(ckpt, specPath, m.Config, opts, spec); err != nil {
			return nil, fmt.Errorf("%w: not this run's checkpoint; %s", err, again)
		}
		if opts.Epochs > 0 {
			spec.Train.Epochs = opts.Epochs
		}
	}
	if epochs != 0 {
		spec.Train.Epochs = epochs
	}
	done := p != nil && (p.Epoch >= spec.Train.Epochs || p.Stopped)
	if done && isFinal(filepath.Join(dir, ModelFile), m) {
		if p.Stopped {
			return nil, fmt.Errorf("%s: run stopped early after %d epochs (no better validation loss for %d epochs), nothing to train: start another with vae train --out ANOTHER-FOLDER", dir, p.Epoch, spec.Train.Patience)
		}
		return nil, fmt.Errorf("%s: run has already done %d of %d epochs: train it further with vae train --resume %s --epochs N (N > %d)", dir, p.Epoch, spec.Train.Epochs, dir, p.Epoch)
	}
	var schema *table.Schema // the checkpoint's, else inferred anew as the run first did
	if m != nil {
		schema = m.Table
	}
	d, err := loadData(ctx, spec, schema, h)
	if err != nil {
		return nil, err
	}
	trainSet, testSet := d.train, d.test
	if done { // training is over; a crash cut the final files short
		logger(h).Info("training done: writing the final pictures and model", "dir", dir, "epochs", p.Epoch)
		if err := finish(ctx, dir, spec, m, p.History, trainSet, testSet); err != nil {
			return nil, err
		}
		logger(h).Info("done", "model", filepath.Join(dir, ModelFile))
		return m, nil
	}
	if m == nil {
		if err := spec.Model.CheckTraining(trainSet.N, spec.Train); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if m, err = newModel(spec, d.schema); err != nil {
			return nil, fmt.Errorf("%s: %w", specPath, err)
		}
	}
	return train(ctx, dir, spec, m, p, trainSet, testSet, h)
}

// checkSpec reports the first field in which the model and training options
// of the checkpoint at ckpt differ from those of spec, read from specPath;
// the epochs may differ, as Resume can change them.
func checkSpec(ckpt, specPath string, c vae.Config, opts vae.TrainOptions, spec Spec) error {
	if field, got, want := firstDiff("model", mustJSON(c), mustJSON(spec.Model)); field != "" {
		return fmt.Errorf("%s: model %s is not the %s of %s (%s is %s there, %s here)", ckpt, c, spec.Model, specPath, field, want, got)
	}
	opts.Epochs, spec.Train.Epochs = 0, 0
	if field, got, want := firstDiff("train", mustJSON(opts), mustJSON(spec.Train)); field != "" {
		return fmt.Errorf("%s: training options are not those of %s (%s is %s there, %s here)", ckpt, specPath, field, want, got)
	}
	return nil
}

// firstDiff returns the first field, by its path of JSON keys after prefix
// in their sorted order, whose values in the JSON values a and b differ,
// and the two values ("unset" for an absent one); "" when none does.
func firstDiff(prefix string, a, b json.RawMessage) (field, va, vb string) {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil || ma == nil || mb == nil {
		if bytes.Equal(a, b) {
			return "", "", ""
		}
		show := func(v json.RawMessage) string {
			if v == nil {
				return "unset"
			}
			return string(v)
		}
		return prefix, show(a), show(b)
	}
	keys := slices.Collect(maps.Keys(ma))
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if f, x, y := firstDiff(prefix+"."+k, ma[k], mb[k]); f != "" {
			return f, x, y
		}
	}
	return "", "", ""
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return b
}

// isFinal reports whether the model file at path holds m, as the end of a
// run writes it.
func isFinal(path string, m *vae.Model) bool {
	f, err := vae.Load(path)
	if err != nil || !bytes.Equal(mustJSON(f.Config), mustJSON(m.Config)) {
		return false
	}
	mp, fp := m.Params(), f.Params()
	if len(mp) != len(fp) {
		return false
	}
	for i := range mp {
		if mp[i].Name != fp[i].Name || !slices.Equal(mp[i].Value, fp[i].Value) {
			return false
		}
	}
	return true
}

// LoadSpec reads the spec of the run in dir; a UTF-8 byte order mark at its
// start is skipped.
func LoadSpec(dir string) (Spec, error) {
	var spec Spec
	data, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte(bom)), &spec); err != nil {
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
	d, err := loadData(ctx, spec, nil, h)
	if err != nil {
		return nil, nil, err
	}
	return d.train, d.test, nil
}

// loadData is LoadData that also says where the data came from and, for a
// table, returns the schema it was encoded with: schema, or when that is
// nil the one inferred and fitted on the training rows.
func loadData(ctx context.Context, spec Spec, schema *table.Schema, h Hooks) (*data, error) {
	var d *data
	if dataset.Known(spec.Data) {
		train, test, src, err := dataset.Open(ctx, spec.Data, dataset.Options{Dir: spec.DataDir, Progress: h.Download, Logger: h.Logger})
		if err != nil {
			return nil, err
		}
		d = &data{train: train, test: test, src: src}
	} else {
		var err error
		if d, err = loadPath(ctx, spec, schema, h); err != nil {
			return nil, err
		}
	}
	if d.schema == nil { // a table's rows were chosen before its schema was fitted
		var err error
		if spec.Classes != nil {
			if d.train, err = classSet(d.train, spec.Classes); err != nil {
				return nil, err
			}
		}
		if spec.Limit > 0 && spec.Limit < d.train.N {
			d.train = d.train.Subset(spec.Limit)
		}
	}
	if spec.Train.Binarize == "dynamic" {
		if d.schema != nil {
			return nil, fmt.Errorf("binarize dynamic is for images, not the table %s", spec.Data)
		}
		d.test = d.test.Binarized(BinarizeSeed)
	}
	return d, nil
}

// targets says what the model is trained to reconstruct.
func targets(m *vae.Model, binarize string) string {
	if m.Config.Parts != nil {
		return "table columns, a likelihood each"
	}
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
	log := logger(h)
	log.Info("training", "dir", dir, "model", spec.Model.String(), "data", spec.Data,
		"train", trainSet.N, "test", testSet.N, "epochs", spec.Train.Epochs, "batch", spec.Train.BatchSize, "optimizer", spec.Train.Optimizer,
		"targets", targets(m, spec.Train.Binarize), "test_set", testSet.Name)

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
	if err := finish(ctx, dir, spec, m, p.History, trainSet, testSet); err != nil {
		return nil, err
	}
	log.Info("done", "model", filepath.Join(dir, ModelFile))
	return m, nil
}

// finish writes the final files of a run whose training is done: the
// pictures, then the model, with its detector fitted if the spec asks for
// one, last, so that a folder with its model file is complete, and one
// without it gets them all from Resume.
func finish(ctx context.Context, dir string, spec Spec, m *vae.Model, history []vae.EpochStats, trainSet, testSet *dataset.Set) error {
	if err := Pictures(dir, m, testSet, history, PictureOptions{Seed: spec.Train.Seed}); err != nil {
		return err
	}
	if spec.Detector != nil {
		normal := NormalSet(spec, trainSet)
		if _, err := m.FitDetector(ctx, normal.X, normal.Name, *spec.Detector); err != nil {
			return err
		}
	}
	return vae.Save(filepath.Join(dir, ModelFile), m)
}

// NormalSet returns the examples a run's detector is fitted on: its
// validation set, the last spec.Train.Validation training examples, binarised
// as the test set is for a run trained with dynamic binarisation, or its
// whole training set without validation. As in PyOD, the training data
// may hold anomalies: the contamination says what share.
func NormalSet(spec Spec, train *dataset.Set) *dataset.Set {
	if spec.Train.Validation <= 0 || spec.Train.Validation >= train.N {
		return train
	}
	v := train.Tail(spec.Train.Validation)
	v.Name += " (validation)"
	if spec.Train.Binarize == "dynamic" {
		v = v.Binarized(BinarizeSeed)
	}
	return v
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
