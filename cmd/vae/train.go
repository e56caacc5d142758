package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/run"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// trainOptions are the flags of vae train.
type trainOptions struct {
	config, out, resume string
	spec                run.Spec
}

func newTrain(stdout, stderr io.Writer, logger *slog.Logger) *cobra.Command {
	o := &trainOptions{spec: run.DefaultSpec()}
	s := &o.spec
	var det detectorFlags
	var hidden []int
	var activation, init, likelihood string
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a VAE and write its run folder: model, checkpoint, metrics and pictures",
		Long: `Train a VAE. The defaults are the seed's network as the Keras example trains it:
MNIST, 784-512-2 with ReLU, Adam, batch 128. The run folder receives spec.json,
checkpoint.safetensors (after every epoch), metrics.jsonl, model.safetensors
(best.safetensors with --validation) and the pictures latent.png, manifold.png,
reconstructions.png, samples.png, loss.png and kl.png.

Ctrl-C stops at the next batch and saves a checkpoint; --resume continues it.
A folder that a crash left resumes too, to the same model: from its last
checkpoint, from the start when it has none, or by writing only the final
files when the training was done. --resume continues to the epochs last asked
for; --epochs with it asks for more.
A YAML file given with --config sets any field of the run's spec.json; flags
given on the command line win over it.`,
		Example: `  vae train
  vae train --hidden 400 --latent 20 --init pytorch --eps 1e-8 --out runs/pytorch-example
  vae train --config examples/pytorch.yaml --out runs/pytorch
  vae train --config examples/burda-vae.yaml --out runs/burda-vae
  vae train --arch conv --epochs 30 --out runs/keras-conv
  vae train --data photos/ --encoder conv32s2,conv64s2,dense64 --decoder dense4096,reshape64x8x8,convT64s2,convT32s2,convT3 --latent 8
  vae train --hidden 200,200 --latent 50 --activation tanh --batch 20 --binarize dynamic --objective iwae --samples 5
  vae train --resume runs/mnist-512-2`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			s.Model.Hidden, s.Model.Init = hidden, nn.Init(init)
			if (f.Changed("arch") || f.Changed("encoder") || f.Changed("decoder")) && !f.Changed("hidden") {
				s.Model.Hidden = nil // the default hidden layers are not for another network
			}
			s.Model.Activation, s.Model.Activations = nn.Activation(activation), nil
			if names := strings.Split(activation, ","); len(names) > 1 { // one per hidden layer
				s.Model.Activation = ""
				for _, a := range names {
					s.Model.Activations = append(s.Model.Activations, nn.Activation(a))
				}
			}
			s.Model.Likelihood = vae.Likelihood(likelihood)
			if o.resume != "" {
				for _, name := range []string{"config", "data", "data-dir", "test", "test-fraction", "header", "delimiter", "schema", "id", "label", "ignore", "unknown", "image-size", "channels", "skip-bad", "contamination", "quantile", "score", "k", "limit", "classes", "condition", "arch", "encoder", "decoder", "hidden", "latent", "activation", "init", "likelihood", "sigma",
					"batch", "optimizer", "lr", "eps", "momentum", "seed", "binarize", "beta", "warmup-epochs", "schedule", "validation", "patience", "objective", "samples", "out"} {
					if f.Changed(name) {
						return usageError{fmt.Errorf("--%s cannot change a run being resumed (only --epochs can)", name)}
					}
				}
				epochs := 0
				if f.Changed("epochs") {
					epochs = s.Train.Epochs
				}
				_, err := run.Resume(cmd.Context(), o.resume, epochs, hooks(stderr, logger))
				return explain(err, o.resume)
			}
			spec, base := *s, run.DefaultSpec().Train.Optimizer
			if o.config != "" {
				var err error
				if spec, err = run.ReadSpec(o.config); err != nil {
					return err
				}
				base = spec.Train.Optimizer
				overlay(&spec, s, f.Changed)
			}
			// The ε of the defaults or the file is for their optimizer; when
			// --optimizer picks one without ε it does not carry over, and
			// one with ε gets the default ε if there was none.
			if uses := optim.Uses(spec.Train.Optimizer, "Eps"); !f.Changed("eps") && uses != optim.Uses(base, "Eps") {
				switch {
				case !uses:
					spec.Train.Optim.Eps = 0
				case spec.Train.Optim.Eps == 0:
					spec.Train.Optim.Eps = run.DefaultSpec().Train.Optim.Eps
				}
			}
			if d, err := det.detector(f); err != nil {
				return err
			} else if d != nil {
				spec.Detector = d
			}
			out := o.out
			if out == "" {
				out = defaultOut(spec)
			}
			h := hooks(stderr, logger)
			h.OnSchema = func(s *table.Schema) {
				fmt.Fprintf(stdout, "schema of %s (edit %s and pass it back with --schema to change it):\n", spec.Data, filepath.Join(out, run.SchemaFile))
				s.Format(stdout)
			}
			_, err := run.Train(cmd.Context(), out, spec, h)
			if errors.Is(err, run.ErrExists) {
				return err // it says what to run
			}
			if err == nil {
				fmt.Fprintf(stdout, "run folder: %s\n", out)
			}
			if errors.Is(err, run.ErrUnknownData) {
				return usageError{err}
			}
			return explain(err, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "YAML file with the run's spec (flags override it)")
	f.StringVar(&o.out, "out", "", "run folder (default runs/DATA-HIDDEN-LATENT, e.g. runs/mnist-512-2)")
	f.StringVar(&o.resume, "resume", "", "continue the run in this folder from its checkpoint")
	f.StringVar(&s.Data, "data", s.Data, "data set: mnist, fashion-mnist, or a table (.csv, .tsv), an array (.npy, .npz) or an image folder")
	dataOptionFlags(f, &s.DataOptions)
	f.StringVar(&s.DataDir, "data-dir", "", "folder with the four IDX files (default $VAE_DATA, else the cache, else download)")
	f.IntVar(&s.Limit, "limit", 0, "train on the first N training examples only (0: all)")
	f.StringSliceVar(&s.Classes, "classes", nil, "train on the examples of these classes only (label numbers or names), e.g. a model of normal data for anomaly detection; the test set keeps every class")
	f.IntSliceVar(&hidden, "hidden", s.Model.Hidden, "hidden layer sizes, encoder order")
	f.StringVar(&s.Condition, "condition", "", "label: a conditional VAE, given each example's label (vae sample --class then draws one class)")
	f.StringVar(&s.Arch, "arch", "", "conv: the Keras example's convolutional network, for images (instead of --hidden)")
	f.StringSliceVar(&s.Model.Encoder, "encoder", nil, "the encoder as layers, e.g. conv32s2,conv64s2,dense16 (instead of --hidden; see the README)")
	f.StringSliceVar(&s.Model.Decoder, "decoder", nil, "the decoder as layers, e.g. dense3136,reshape64x7x7,convT64s2,convT32s2,convT1")
	f.IntVar(&s.Model.Latent, "latent", s.Model.Latent, "latent dimensions")
	f.StringVar(&activation, "activation", string(s.Model.Activation), "hidden activation: relu, tanh or softplus; or one per hidden layer, e.g. tanh,relu")
	f.StringVar(&init, "init", string(s.Model.Init), "weight initialisation: glorot (Keras) or pytorch")
	f.StringVar(&likelihood, "likelihood", "", "p(x|z): bernoulli (default), or gaussian for continuous data")
	f.Float64Var(&s.Model.Sigma, "sigma", 0, "gaussian: standard deviation of p(x|z) (0: learned per input dimension)")
	f.IntVar(&s.Train.Epochs, "epochs", s.Train.Epochs, "epochs")
	f.IntVar(&s.Train.BatchSize, "batch", s.Train.BatchSize, "batch size")
	f.StringVar(&s.Train.Optimizer, "optimizer", s.Train.Optimizer, "optimizer: adam, rmsprop or sgd")
	f.Float64Var(&s.Train.Optim.LR, "lr", s.Train.Optim.LR, "learning rate")
	f.Float64Var(&s.Train.Optim.Eps, "eps", s.Train.Optim.Eps, "epsilon of Adam or RMSprop; sgd has none (0: the optimizer's own default, 1e-8)")
	f.Float64Var(&s.Train.Optim.Momentum, "momentum", 0, "momentum of SGD or RMSprop")
	f.Uint64Var(&s.Train.Seed, "seed", s.Train.Seed, "seed of the weights, shuffling and noise")
	f.StringVar(&s.Train.Binarize, "binarize", "", "dynamic: train on images binarised anew for every batch, test on a fixed binarisation")
	f.Float64Var(&s.Train.Beta, "beta", 1, "weight β of the KL term (β-VAE)")
	f.StringVar(&s.Train.Objective, "objective", "", "elbo (default), or iwae: the importance-weighted bound of --samples draws")
	f.IntVar(&s.Train.Samples, "samples", 1, "draws of z per image and step")
	f.StringVar((*string)(&s.Train.Schedule), "schedule", "", "learning-rate schedule: constant (default), burda (3^i epochs at lr·10^(−i/7), i = 0…7) or cosine (lr·(1+cos(π·epoch/epochs))/2)")
	f.IntVar(&s.Train.Validation, "validation", 0, "hold out this many training examples; the best epoch's model goes to best.safetensors")
	f.IntVar(&s.Train.Patience, "patience", 0, "stop when the validation loss has not improved for this many epochs")
	f.IntVar(&s.Train.WarmupEpochs, "warmup-epochs", 0, "ramp β from 0 over this many epochs (KL annealing)")
	det.add(f) // after --seed, which the detector's scores share
	return cmd
}

// defaultOut names a run folder after its data and layer sizes, e.g.
// runs/mnist-512-2.
func defaultOut(spec run.Spec) string {
	name := "runs/" + run.DataName(spec.Data) // runs/my-… for my.csv
	switch {
	case spec.Arch != "":
		name += "-" + spec.Arch
	case spec.Model.Encoder != nil:
		name += "-layers"
	}
	for _, h := range spec.Model.Hidden {
		name += fmt.Sprintf("-%d", h)
	}
	return name + fmt.Sprintf("-%d", spec.Model.Latent)
}

// overlay copies into spec the fields of flags whose flag was set.
func overlay(spec, flags *run.Spec, changed func(string) bool) {
	set := func(name string, apply func()) {
		if changed(name) {
			apply()
		}
	}
	set("data", func() { spec.Data = flags.Data })
	set("data-dir", func() { spec.DataDir = flags.DataDir })
	o, fo := &spec.DataOptions, &flags.DataOptions
	set("test", func() { o.Test = fo.Test })
	set("test-fraction", func() { o.TestFraction = fo.TestFraction })
	set("header", func() { o.Header = fo.Header })
	set("delimiter", func() { o.Delimiter = fo.Delimiter })
	set("schema", func() { o.Schema = fo.Schema })
	set("id", func() { o.ID = fo.ID })
	set("label", func() { o.Label = fo.Label })
	set("ignore", func() { o.Ignore = fo.Ignore })
	set("unknown", func() { o.Unknown = fo.Unknown })
	set("image-size", func() { o.ImageSize = fo.ImageSize })
	set("channels", func() { o.Channels = fo.Channels })
	set("skip-bad", func() { o.SkipBad = fo.SkipBad })
	set("limit", func() { spec.Limit = flags.Limit })
	set("classes", func() { spec.Classes = flags.Classes })
	set("hidden", func() { spec.Model.Hidden = flags.Model.Hidden })
	set("condition", func() { spec.Condition = flags.Condition })
	for _, name := range []string{"arch", "encoder", "decoder"} {
		set(name, func() {
			spec.Arch, spec.Model.Encoder, spec.Model.Decoder = flags.Arch, flags.Model.Encoder, flags.Model.Decoder
			if !changed("hidden") {
				spec.Model.Hidden = nil
			}
		})
	}
	set("latent", func() { spec.Model.Latent = flags.Model.Latent })
	set("activation", func() {
		spec.Model.Activation, spec.Model.Activations = flags.Model.Activation, flags.Model.Activations
	})
	set("init", func() { spec.Model.Init = flags.Model.Init })
	set("likelihood", func() { spec.Model.Likelihood = flags.Model.Likelihood })
	set("sigma", func() { spec.Model.Sigma = flags.Model.Sigma })
	set("epochs", func() { spec.Train.Epochs = flags.Train.Epochs })
	set("batch", func() { spec.Train.BatchSize = flags.Train.BatchSize })
	set("optimizer", func() { spec.Train.Optimizer = flags.Train.Optimizer })
	set("lr", func() { spec.Train.Optim.LR = flags.Train.Optim.LR })
	set("eps", func() { spec.Train.Optim.Eps = flags.Train.Optim.Eps })
	set("momentum", func() { spec.Train.Optim.Momentum = flags.Train.Optim.Momentum })
	set("seed", func() { spec.Train.Seed = flags.Train.Seed })
	set("binarize", func() { spec.Train.Binarize = flags.Train.Binarize })
	set("beta", func() { spec.Train.Beta = flags.Train.Beta })
	set("warmup-epochs", func() { spec.Train.WarmupEpochs = flags.Train.WarmupEpochs })
	set("schedule", func() { spec.Train.Schedule = flags.Train.Schedule })
	set("objective", func() { spec.Train.Objective = flags.Train.Objective })
	set("samples", func() { spec.Train.Samples = flags.Train.Samples })
	set("validation", func() { spec.Train.Validation = flags.Train.Validation })
	set("patience", func() { spec.Train.Patience = flags.Train.Patience })
}

// dataOptionFlags adds the flags of how data given by path is read.
func dataOptionFlags(f *pflag.FlagSet, o *run.DataOptions) {
	f.StringVar(&o.Test, "test", "", "test data, read as --data is (default: --test-fraction of --data)")
	f.Float64Var(&o.TestFraction, "test-fraction", 0.1, "share of the rows of --data held out for testing, drawn from the seed")
	f.Var(boolPtr{&o.Header}, "header", "tables: whether the first line names the columns (default: detected)")
	f.Lookup("header").NoOptDefVal = "true"
	f.StringVar(&o.Delimiter, "delimiter", "", `tables: the field delimiter, e.g. ";" or "\t" (default: detected)`)
	f.StringVar(&o.Schema, "schema", "", "tables: YAML file of column types, e.g. a run's schema.yaml edited")
	f.StringVar(&o.ID, "id", "", "tables: id column, carried to every output row")
	f.StringVar(&o.Label, "label", "", "tables: label column, kept out of the model; colours the map")
	f.StringSliceVar(&o.Ignore, "ignore", nil, "tables: columns to leave out, e.g. name,notes")
	f.StringVar(&o.Unknown, "unknown", "", "tables: a category unseen in training when scoring: error (default) or missing")
	f.StringVar(&o.ImageSize, "image-size", "", "image folders: resize every image to HxW, e.g. 28x28 (default: all must share one size)")
	f.IntVar(&o.Channels, "channels", 0, "image folders: 1 (gray) or 3 (RGB) (default: 3 if any image is in colour)")
	f.BoolVar(&o.SkipBad, "skip-bad", false, "image folders: skip images that do not decode, with a count")
}

// boolPtr is a flag that sets a *bool, leaving it nil when not given.
type boolPtr struct{ p **bool }

func (b boolPtr) String() string {
	if b.p == nil || *b.p == nil {
		return ""
	}
	return strconv.FormatBool(**b.p)
}

func (b boolPtr) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = &v
	return nil
}

func (boolPtr) Type() string { return "bool" }

// explain adds to an interruption how to go on.
func explain(err error, dir string) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w; continue with: vae train --resume %s", err, dir)
	}
	return err
}

// hooks shows a progress bar per epoch on a terminal, and one log line per
// epoch in any case.
func hooks(stderr io.Writer, logger *slog.Logger) run.Hooks {
	h := run.Hooks{Logger: logger, Download: stderr}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		h.OnBatch = func(epoch, batch, batches int, l vae.Loss) {
			if bar == nil {
				bar = progressbar.NewOptions(batches, progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription(fmt.Sprintf("epoch %d", epoch)),
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("steps"),
					progressbar.OptionClearOnFinish())
			}
			bar.Describe(fmt.Sprintf("epoch %d loss %.2f", epoch, l.Total))
			bar.Add(1)
		}
	}
	h.OnEpoch = func(s vae.EpochStats) {
		if bar != nil {
			bar.Finish()
			bar = nil
		}
		args := []any{"epoch", s.Epoch, "train_loss", round(s.Train.Total), "recon", round(s.Train.Recon), "kl", round(s.Train.KL)}
		if s.Valid != nil {
			args = append(args, "valid_loss", round(s.Valid.Total))
		}
		if s.Test != nil {
			args = append(args, "test_loss", round(s.Test.Total))
		}
		if s.KLPerDim != nil {
			args = append(args, "active_units", s.ActiveUnits)
		}
		args = append(args, "seconds", round(s.Seconds), "samples_per_sec", int(s.SamplesPerSec))
		logger.Info("epoch", args...)
	}
	return h
}

func round(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
