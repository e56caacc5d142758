package vae

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/govae/vae/internal/atomicfile"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/safetensors"
	"github.com/govae/vae/table"
)

// FormatVersion is the newest format of the model files, written to their
// metadata as "format_version"; Load refuses files from a newer version.
// Version 2 added Gaussian likelihoods and activations per layer, version 3
// models of parts (tables) and their preprocessing, version 4 networks as
// stacks of layers (Config.Encoder, Decoder and Image) and conditional
// models (Config.Classes): a file is written in
// the oldest version that holds its model, so that older readers still read
// what they understand.
const FormatVersion = 4

// Metadata keys of a model file.
const (
	metaFormat   = "format"         // always "govae"
	metaVersion  = "format_version" // FormatVersion
	metaConfig   = "config"         // Config as JSON
	metaProgress = "progress"       // Progress as JSON, checkpoints only
	metaOptions  = "train_options"  // TrainOptions as JSON, checkpoints only
	metaTable    = "table"          // Model.Table as JSON, models of tables only
	metaDetector = "detector"       // Model.Detector as JSON, when set
	optimPrefix  = "optim/"         // tensor name prefix of the optimizer state
)

// Save writes m to path as a safetensors file, atomically. Tensor names are
// the parameter names ("encoder.0.weight", "z_mean.bias", …) with PyTorch's
// layouts (nn.Linear, nn.Conv2d, nn.ConvTranspose2d); the configuration is
// in the header metadata.
func Save(path string, m *Model) error {
	return save(path, m, nil, nil)
}

// SaveCheckpoint writes m with the training progress and options, so that
// LoadCheckpoint and Train can resume it. Load reads a checkpoint as a
// plain model.
func SaveCheckpoint(path string, m *Model, p *Progress, opts TrainOptions) error {
	return save(path, m, p, &opts)
}

func save(path string, m *Model, p *Progress, opts *TrainOptions) error {
	meta := map[string]string{
		metaFormat:  "govae",
		metaVersion: strconv.Itoa(formatVersion(m.Config)),
		metaConfig:  mustJSON(m.Config),
	}
	if m.Table != nil {
		meta[metaTable] = mustJSON(m.Table)
	}
	if m.Detector != nil {
		meta[metaDetector] = mustJSON(m.Detector)
	}
	var ts []safetensors.Tensor
	for _, prm := range m.Params() {
		ts = append(ts, safetensors.Tensor{Name: prm.Name, Shape: prm.Shape, Data: prm.Value})
	}
	if p != nil {
		meta[metaProgress] = mustJSON(p)
		meta[metaOptions] = mustJSON(opts)
		meta["optim_steps"] = strconv.FormatInt(p.Optim.Steps, 10)
		for name, v := range p.Optim.Tensors {
			ts = append(ts, safetensors.Tensor{Name: optimPrefix + name, Shape: []int{len(v)}, Data: v})
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return safetensors.Write(w, ts, meta)
	})
}

// formatVersion returns the oldest format that can hold a model of shape c.
func formatVersion(c Config) int {
	if c.Encoder != nil || c.Image != nil || c.Classes > 0 {
		return 4
	}
	if c.Parts != nil {
		return 3
	}
	if c.likelihood() == Gaussian || c.Activations != nil {
		return 2
	}
	return 1
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return string(b)
}

// Load reads a model file written by Save or SaveCheckpoint. A file that is
// truncated, corrupt, of another format version, or whose tensors do not
// match its configuration gives an error naming the file and the fault.
func Load(path string) (*Model, error) {
	m, _, err := load(path)
	return m, err
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint. Besides what
// Load checks, it checks every field of the training progress and options
// that Train could not have written (a negative step, a history that does
// not match the epochs done, a malformed noise state, optimizer buffers of
// other names or sizes than the options' optimizer keeps for the model) and
// names the file and the field in its error. What depends on the data set
// (a step past the epoch's end) Train checks when it resumes.
func LoadCheckpoint(path string) (*Model, *Progress, TrainOptions, error) {
	var opts TrainOptions
	m, f, err := load(path)
	if err != nil {
		return nil, nil, opts, err
	}
	ps, ok := f.Metadata[metaProgress]
	if !ok {
		return nil, nil, opts, fmt.Errorf("%s: not a checkpoint (no training progress in the metadata)", path)
	}
	p := new(Progress)
	if err := json.Unmarshal([]byte(ps), p); err != nil {
		return nil, nil, opts, fmt.Errorf("%s: metadata %q: %w", path, metaProgress, err)
	}
	if err := json.Unmarshal([]byte(f.Metadata[metaOptions]), &opts); err != nil {
		return nil, nil, opts, fmt.Errorf("%s: metadata %q: %w", path, metaOptions, err)
	}
	o := opts.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, nil, opts, fmt.Errorf("%s: metadata %q: %w", path, metaOptions, err)
	}
	steps, err := strconv.ParseInt(f.Metadata["optim_steps"], 10, 64)
	if err != nil {
		return nil, nil, opts, fmt.Errorf("%s: metadata \"optim_steps\": %w", path, err)
	}
	if steps < 0 {
		return nil, nil, opts, fmt.Errorf("%s: metadata \"optim_steps\": %d, want ≥ 0", path, steps)
	}
	p.Optim = optim.State{Steps: steps, Tensors: map[string][]float32{}}
	for _, t := range f.Tensors {
		if name, ok := strings.CutPrefix(t.Name, optimPrefix); ok {
			if len(t.Shape) != 1 {
				return nil, nil, opts, fmt.Errorf("%s: optimizer state: tensor %s has shape %v, want one dimension", path, t.Name, t.Shape)
			}
			if i := nonFinite(t.Data); i >= 0 {
				return nil, nil, opts, fmt.Errorf("%s: optimizer state: tensor %s holds %v at index %d", path, t.Name, t.Data[i], i)
			}
			p.Optim.Tensors[name] = t.Data
		}
	}
	if err := p.check(0, 0, opts.Validation > 0); err != nil {
		return nil, nil, opts, fmt.Errorf("%s: metadata %q: %w", path, metaProgress, err)
	}
	// The optimizer the options name, over the model, must take the state.
	opt, err := optim.New(o.Optimizer, m.Params(), o.Optim)
	if err != nil {
		return nil, nil, opts, fmt.Errorf("%s: metadata %q: %w", path, metaOptions, err)
	}
	if err := opt.SetState(p.Optim); err != nil {
		return nil, nil, opts, fmt.Errorf("%s: optimizer state: %w", path, err)
	}
	return m, p, opts, nil
}

// Parse reads the content of a model file, as Load does with a path; name
// designates the file in errors. It is for models that come from elsewhere
// than a local file (an object store, a pipeline's staged files).
func Parse(name string, data []byte) (*Model, error) {
	m, _, err := decode(name, data)
	return m, err
}

func load(path string) (*Model, *safetensors.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return decode(path, data)
}

// decode parses the content of the model file at path.
func decode(path string, data []byte) (*Model, *safetensors.File, error) {
	f, err := safetensors.Read(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Metadata[metaFormat] != "govae" {
		return nil, nil, fmt.Errorf("%s: not a govae model file (metadata format = %q)", path, f.Metadata[metaFormat])
	}
	v, err := strconv.Atoi(f.Metadata[metaVersion])
	if err != nil || v < 1 || v > FormatVersion {
		return nil, nil, fmt.Errorf("%s: format version %q, this program reads 1 to %d", path, f.Metadata[metaVersion], FormatVersion)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(f.Metadata[metaConfig]), &cfg); err != nil {
		return nil, nil, fmt.Errorf("%s: metadata %q: %w", path, metaConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	// Check the tensors against the configuration before allocating a model
	// of the size the configuration claims.
	for _, l := range cfg.Layers() {
		if _, err := f.Get(l.Name+".weight", l.Weight...); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	m, err := newZero(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, prm := range m.Params() {
		v, err := f.Get(prm.Name, prm.Shape...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if i := nonFinite(v); i >= 0 {
			return nil, nil, fmt.Errorf("%s: tensor %q holds %v at index %d: the file is damaged or was saved from a run that diverged", path, prm.Name, v[i], i)
		}
		copy(prm.Value, v)
	}
	if t, ok := f.Metadata[metaTable]; ok {
		m.Table = new(table.Schema)
		if err := json.Unmarshal([]byte(t), m.Table); err != nil {
			return nil, nil, fmt.Errorf("%s: metadata %q: %w", path, metaTable, err)
		}
		if err := m.checkTable(); err != nil {
			return nil, nil, fmt.Errorf("%s: metadata %q: %w", path, metaTable, err)
		}
	}
	if d, ok := f.Metadata[metaDetector]; ok {
		m.Detector = new(Detector)
		if err := json.Unmarshal([]byte(d), m.Detector); err != nil {
			return nil, nil, fmt.Errorf("%s: metadata %q: %w", path, metaDetector, err)
		}
		if err := m.Detector.check(); err != nil {
			return nil, nil, fmt.Errorf("%s: metadata %q: %w", path, metaDetector, err)
		}
	}
	return m, f, nil
}

// nonFinite returns the index of the first NaN or infinity in v, or −1.
func nonFinite(v []float32) int {
	for i, x := range v {
		if x-x != 0 { // NaN or ±Inf
			return i
		}
	}
	return -1
}
