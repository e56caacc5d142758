package main

import (
	"encoding/json"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/govae/vae/bench"
)

func newBench(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o bench.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training and inference speed on MNIST, beside PyTorch when it is installed",
		Long: `Train the PyTorch example's network (784-400-20) and the Keras example's
(784-512-2) for a fixed number of steps of batch 128 and time encoding and
decoding the test set in batches of 1000, at each thread count. When
/usr/bin/python3 can import torch, run scripts/torch_reference.py on the same
work and print the ratio.`,
		Example: "  vae bench\n  vae bench --threads 2 --steps 400 --json",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = logger
			r, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			return report(stdout, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.Threads, "threads", nil, "thread counts (default 1 and the number of CPUs)")
	f.IntVar(&o.Steps, "steps", 200, "timed training steps")
	f.IntVar(&o.Warmup, "warmup", 20, "untimed training steps first")
	f.StringVar(&o.DataDir, "data-dir", "", "folder with the MNIST files (default $VAE_DATA, else the cache, else download)")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "Python with torch for the comparison; - to skip it")
	f.StringVar(&o.Script, "script", "scripts/torch_reference.py", "PyTorch reference script")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(newBenchScore(stdout, logger), newBenchImpute(stdout, logger), newBenchIngest(stdout), newBenchAnomaly(stdout, logger), newBenchONNX(stdout, logger))
	return cmd
}

func newBenchScore(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o bench.ScoreOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "score",
		Short: "Measure scoring throughput (negative ELBO, NLL with K samples) on MNIST, beside PyTorch when it is installed",
		Long: `Time scoring the MNIST test images with the PyTorch example's network
(784-400-20) and the Keras example's (784-512-2), at each thread count: the
negative ELBO of --images images with one ε each, as vae score does, and the
importance-weighted −log p(x) of the first --nll-images with --k samples
each, as vae score --k does. The models are trained for 50 steps of batch
128 first, so that the scores compared are those of a model that has learned
something (how fast scoring is does not depend on how long a model trained).
When /usr/bin/python3 can import torch, scripts/torch_reference.py score runs
the same models (the weights handed over in a file) on the same images in the
same batches, and the table prints its images/s, the ratio, and whether its
scores agree with ours: image by image for the ELBO (the same ε on both
sides), the mean for the NLL (within float32 rounding and 4 standard errors).`,
		Example: "  vae bench score\n  vae bench score --threads 2 --k 1000 --nll-images 100 --json",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = logger
			r, err := bench.Score(cmd.Context(), o)
			if err != nil {
				return err
			}
			return report(stdout, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.Threads, "threads", nil, "thread counts (default 1 and the number of CPUs)")
	f.IntVar(&o.Images, "images", 10000, "test images the negative ELBO scores")
	f.IntVar(&o.NLLImages, "nll-images", 1000, "test images the NLL scores (the first ones)")
	f.IntVar(&o.K, "k", 100, "importance samples per image of the NLL")
	f.IntVar(&o.Repeats, "repeats", 3, "timed passes of each score; the best counts")
	f.StringVar(&o.DataDir, "data-dir", "", "folder with the MNIST files (default $VAE_DATA, else the cache, else download)")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "Python with torch for the comparison; - to skip it")
	f.StringVar(&o.Script, "script", "scripts/torch_reference.py", "PyTorch reference script")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBenchImpute(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o bench.ImputeOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "impute",
		Short: "Measure imputation on a generated mixed-type table against column mean and mode",
		Long: `Generate a table of continuous, positive, binary and categorical columns that
depend on each other (8% of cells missing), train a model on four fifths of
its rows, hide a share of the known cells of the other rows, impute them with
the model and with each column's training mean or mode, and print the RMSE (in
the column's standard units) or accuracy of both. The tables, the run and the
imputed table stay in --dir.`,
		Example: "  vae bench impute --dir /tmp/impute",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = logger
			r, err := bench.Impute(cmd.Context(), o)
			if err != nil {
				return err
			}
			return report(stdout, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "bench-impute", "folder for the tables and the run (its run must not exist)")
	f.IntVar(&o.Rows, "rows", 30000, "rows of the generated table")
	f.IntVar(&o.Epochs, "epochs", 40, "training epochs")
	f.Float64Var(&o.Hide, "hide", 0.1, "share of the test rows' known cells hidden")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the table, the hidden cells and the training")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBenchIngest(stdout io.Writer) *cobra.Command {
	var o bench.IngestOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ingest FILE.csv",
		Short: "Time reading and preprocessing a CSV, beside pandas and scikit-learn",
		Long: `Time reading and preprocessing a CSV as vae train does (all rows in memory,
schema inferred and fitted, rows encoded) and as vae score does (a stream of
rows encoded with the fitted schema), and, when /usr/bin/python3 has pandas
and scikit-learn, pandas.read_csv with StandardScaler and OneHotEncoder on the
same file (scripts/ingest_pandas.py). Best of --repeat runs each.`,
		Example: "  vae bench ingest data.csv",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.Path = a[0]
			r, err := bench.Ingest(cmd.Context(), o)
			if err != nil {
				return err
			}
			return report(stdout, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Repeat, "repeat", 3, "best of this many runs")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "Python with pandas and scikit-learn; - to skip it")
	f.StringVar(&o.Script, "script", "scripts/ingest_pandas.py", "the pandas script")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBenchONNX(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o bench.ONNXOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "onnx",
		Short: "Time inference beside ONNX Runtime on the exported graphs",
		Long: `Export each of vae bench's networks (vae export) and time encoding the MNIST
test set and decoding its means in batches of 1000, with ONNX Runtime's CPU
execution provider (Node.js, scripts/onnx/run.js) beside vae's, at each thread
count; the best of --repeats passes counts. Needs node and onnxruntime-node:
cd scripts/onnx && ONNXRUNTIME_NODE_INSTALL=skip npm install.`,
		Example: "  vae bench onnx\n  vae bench onnx --threads 2 --json",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = logger
			r, err := bench.ONNX(cmd.Context(), o)
			if err != nil {
				return err
			}
			return report(stdout, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.Threads, "threads", nil, "thread counts (default 1 and the number of CPUs)")
	f.IntVar(&o.Repeats, "repeats", 3, "timed passes; the best counts")
	f.StringVar(&o.DataDir, "data-dir", "", "folder with the MNIST files (default $VAE_DATA, else the cache, else download)")
	f.StringVar(&o.Script, "script", "scripts/onnx/run.js", "the ONNX Runtime runner")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// report prints what a bench command measured: JSON with --json, else its
// table.
func report(stdout io.Writer, asJSON bool, r interface{ WriteTable(io.Writer) error }) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	return r.WriteTable(stdout)
}

func newBenchAnomaly(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o bench.AnomalyOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "anomaly",
		Short: "Measure anomaly detection (AUROC) on the one-class benchmarks, beside kNN, Isolation Forest, PCA and OC-SVM",
		Long: `For each class c of MNIST and Fashion-MNIST, train a VAE on the training images of
class c only, score the whole test set and print the AUROC of "not c" against
c (the one-class protocol of Ruff et al. 2018); with --table, the same on the
Wisconsin breast-cancer table (benign normal; a seeded 70% of the benign rows
train). When /usr/bin/python3 has scikit-learn, scripts/anomaly_baselines.py
runs kNN (5), Isolation Forest, PCA reconstruction and OC-SVM on the same
splits in the same run, and their AUROCs are printed beside.`,
		Example: "  vae bench anomaly --table\n  vae bench anomaly --classes 8 --fashion - --detectors knn5",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = logger
			r, err := bench.Anomaly(cmd.Context(), o)
			if err != nil {
				return err
			}
			return report(stdout, asJSON, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "bench-anomaly", "folder for the table, its split and the baselines' results")
	f.StringVar(&o.MNIST, "mnist", "", "MNIST's IDX folder (default ~/.cache/vae/mnist); - skips it")
	f.StringVar(&o.Fashion, "fashion", "", "Fashion-MNIST's IDX folder (default /usr/share/datasets/fashion-mnist); - skips it")
	f.BoolVar(&o.Table, "table", false, "the breast-cancer table too")
	f.IntSliceVar(&o.Classes, "classes", nil, "classes (default 0 to 9)")
	f.IntSliceVar(&o.Hidden, "hidden", nil, "the VAE's hidden layers (default 512)")
	f.IntVar(&o.Latent, "latent", 20, "latent dimensions")
	f.StringVar(&o.Likelihood, "likelihood", "gaussian", "the images' p(x|z): gaussian (variance learned) or bernoulli")
	f.IntSliceVar(&o.TableShape, "table-shape", nil, "the table model's hidden layers and latent size (default 64,2)")
	f.IntVar(&o.TableEpoch, "table-epochs", 200, "the table model's epochs")
	f.IntVar(&o.Epochs, "epochs", 30, "epochs per class")
	f.StringVar(&o.Score, "score", "elbo", "elbo or nll")
	f.IntVar(&o.K, "k", 100, "importance samples of --score nll")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "Python with scikit-learn for the baselines; - to skip them")
	f.StringVar(&o.Script, "script", "scripts/anomaly_baselines.py", "the baselines' script")
	f.StringSliceVar(&o.Detectors, "detectors", nil, "the baselines (default knn5,iforest,pca95,ocsvm)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
