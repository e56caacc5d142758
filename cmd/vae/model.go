package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/dataset"
	"github.com/govae/vae/internal/atomicfile"
	"github.com/govae/vae/plot"
	"github.com/govae/vae/run"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// dataFlags are the flags that choose the data a model command reads.
type dataFlags struct {
	data, dir string
	binarize  bool
}

func (d *dataFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.data, "data", "mnist", "data set: mnist or fashion-mnist")
	cmd.Flags().StringVar(&d.dir, "data-dir", "", "folder with the four IDX files (default $VAE_DATA, else the cache, else download)")
	cmd.Flags().BoolVar(&d.binarize, "binarize", false, "use the fixed binarisation of the test set that runs trained with --binarize dynamic test on")
}

// load reads the model at path, a model file or a run folder, and the test
// set the flags name, by default that of the run beside the model and its
// protocol (see run.Open).
func (d *dataFlags) load(cmd *cobra.Command, logger *slog.Logger, path string) (*vae.Model, *dataset.Set, error) {
	f := cmd.Flags()
	o := run.OpenOptions{DefaultData: d.data, DataDir: d.dir, Logger: logger, Download: cmd.ErrOrStderr()}
	if f.Changed("data") {
		o.Data = d.data
	}
	if f.Changed("binarize") {
		o.Binarize = &d.binarize
	}
	op, err := run.Open(cmd.Context(), path, o)
	if err != nil {
		return nil, nil, err
	}
	return op.Model, op.Test, nil
}

func newEval(stdout, stderr io.Writer, logger *slog.Logger) *cobra.Command {
	var d dataFlags
	var normal, plots string
	var seed uint64
	var nll bool
	var k, first int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval MODEL|RUN",
		Short: "Print a model's test loss, active units and, with --nll, its test log-likelihood",
		Long: `Print a model's loss on the test set per sample (the negative ELBO, its
reconstruction and KL terms), the number of active latent units (variance of
the posterior mean over the test set above 0.01) and, with --nll, the
importance-weighted estimate of the negative log-likelihood −log p(x) in nats
with K samples per image (Burda et al. 2016), with its standard error. An
estimate that was interrupted continues where it stopped when the same
command runs again (its journal is kept in the user cache folder, vae/nll).`,
		Example: "  vae eval runs/mnist-512-2/model.safetensors\n  vae eval --nll --k 5000 --json runs/pytorch/model.safetensors",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if nll && k < 1 {
				return usageError{fmt.Errorf("--k %d, want ≥ 1", k)}
			}
			m, test, err := d.load(cmd, logger, a[0])
			if err != nil {
				return err
			}
			if first > 0 {
				test = test.Subset(first)
			}
			if m, err = givenTest(m, test); err != nil {
				return err
			}
			opts := vae.NLLOptions{Seed: seed}
			if nll {
				opts.K = k
				opts.Progress = progress(stderr, test.N, "images")
				opts.JournalDir = journalDir()
			}
			e, err := m.Evaluate(cmd.Context(), test.X, opts)
			if err != nil {
				return err
			}
			var det *detection
			if normal != "" {
				if det, err = detect(cmd, m, test, normal, plots); err != nil {
					return err
				}
			}
			if asJSON {
				return json.NewEncoder(stdout).Encode(struct {
					Model string `json:"model"`
					Data  string `json:"data"`
					*vae.Evaluation
					Detection *detection `json:"detection,omitempty"`
				}{a[0], test.Name, e, det})
			}
			fmt.Fprintf(stdout, "%s on %s (%d examples), per sample:\n", a[0], test.Name, test.N)
			if nll {
				fmt.Fprintf(stdout, "NLL   %.2f ± %.2f nats (K = %d)\n", e.NLL, e.NLLStdErr, e.K)
			}
			fmt.Fprintf(stdout, "loss  %.2f (negative ELBO)\nrecon %.2f\nKL    %.2f\nactive units %d of %d\n",
				e.Loss.Total, e.Loss.Recon, e.Loss.KL, e.Active, m.Config.Latent)
			if e.Parts != nil {
				fmt.Fprintln(stdout, "recon by column:")
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				for i, p := range m.Config.Parts {
					fmt.Fprintf(tw, "  %s\t%s\t%.3f\n", p.Name, p.Likelihood, e.Parts[i])
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if det != nil {
				printDetection(stdout, det)
			}
			return nil
		},
	}
	d.add(cmd)
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the noise ε")
	cmd.Flags().BoolVar(&nll, "nll", false, "estimate the negative log-likelihood by importance sampling")
	cmd.Flags().IntVar(&k, "k", 5000, "importance samples per image for --nll")
	cmd.Flags().IntVar(&first, "n", 0, "evaluate the first n test images only (0: all)")
	cmd.Flags().StringVar(&normal, "normal-class", "", "measure anomaly detection: the examples of other classes are the anomalies (AUROC, AP; precision, recall, F1 at the model's threshold)")
	cmd.Flags().StringVar(&plots, "plots", "", "with --normal-class: write roc.png and scores.png into this folder")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newScore(stdout, stderr io.Writer, logger *slog.Logger) *cobra.Command {
	var d dataFlags
	var in inputFlags
	var seed uint64
	var k, explain int
	var out, explainOut string
	cmd := &cobra.Command{
		Use:   "score MODEL|RUN",
		Short: "Write each example's negative ELBO (and NLL with --k) to a CSV, for anomaly detection",
		Long: `Write one CSV row per example of the test set, or of the file --input names:
its index (id, label), negative ELBO with its reconstruction and KL terms
(one draw of ε) and, with --k K, the importance-weighted −log p(x) with K
samples. High scores are the examples the model finds unlikely. For a model
of a table, each row of --input is read with the model's preprocessing and
scored with the reconstruction term of each column (recon_COLUMN), in a
stream: the file may be larger than memory.

With --explain N, also the N highest-scoring examples (by the model's
detector score if it has one, else the negative ELBO): for a table, a CSV of
each row's columns ranked by their share of its reconstruction term; for
images, a PNG with a row per image of the input, its reconstruction and a
heat map of the reconstruction term of each pixel.`,
		Example: "  vae score --out scores.csv runs/mnist-512-2/model.safetensors\n  vae score --k 1000 --out - runs/mnist-512-2/model.safetensors | sort -t, -k4 -g | tail\n  vae score --input new.csv --out scores.csv runs/mixed-512-2\n  vae score --explain 8 --explain-out top.png runs/mnist-512-2",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if k < 0 || k > vae.MaxK {
				return usageError{fmt.Errorf("--k %d, want 0 to %d", k, vae.MaxK)}
			}
			m, test, err := in.load(cmd, logger, &d, a[0])
			if err != nil {
				return err
			}
			if m, err = givenTest(m, test); err != nil {
				return err
			}
			if explain < 0 {
				return usageError{fmt.Errorf("--explain %d, want ≥ 0", explain)}
			}
			if explain > 0 && m.Table != nil && in.path == "" {
				return usageError{fmt.Errorf("--explain of a table model explains its --input rows")}
			}
			if explain > 0 && m.Table == nil && test.Rows*test.Cols*max(1, test.Channels) != m.Config.Input {
				return fmt.Errorf("--explain draws images, but %s holds no images of the model's %d inputs", test.Name, m.Config.Input)
			}
			if m.Table != nil && in.path != "" {
				if explainOut == "" {
					explainOut = "explain.csv"
				}
				err := in.writeTable(stdout, out, func(r *table.Reader, w io.Writer) error {
					return m.ScoreTable(cmd.Context(), r, w, vae.ScoreOptions{Seed: seed, K: k})
				})
				if err != nil || explain == 0 {
					return err
				}
				return in.writeTable(stdout, explainOut, func(r *table.Reader, w io.Writer) error {
					top, err := m.ExplainTable(cmd.Context(), r, explain, seed)
					if err != nil {
						return err
					}
					return vae.WriteExplained(w, top)
				})
			}
			scores, err := m.Scores(test.X, rand.New(rand.NewPCG(seed, 0)))
			if err != nil {
				return err
			}
			var nll []float64
			if k > 0 {
				nll, err = m.NLL(cmd.Context(), test.X, vae.NLLOptions{K: k, Seed: seed, Progress: progress(stderr, test.N, "images"), JournalDir: journalDir()})
				if err != nil {
					return err
				}
			}
			var flags []bool
			if m.Detector != nil {
				if flags, _, err = m.IsAnomaly(cmd.Context(), test.X); err != nil {
					return err
				}
			}
			write := func(w io.Writer) error {
				cw := csv.NewWriter(w)
				head := append(exampleHead(test), "loss", "recon", "kl")
				if nll != nil {
					head = append(head, "nll")
				}
				if flags != nil {
					head = append(head, "anomaly")
				}
				cw.Write(head)
				f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
				for i, s := range scores {
					row := append(exampleCells(test, i), f(s.Total), f(s.Recon), f(s.KL))
					if nll != nil {
						row = append(row, f(nll[i]))
					}
					if flags != nil {
						row = append(row, b01(flags[i]))
					}
					cw.Write(row)
				}
				cw.Flush()
				return cw.Error()
			}
			if err := writeTo(stdout, out, write); err != nil || explain == 0 {
				return err
			}
			top, err := m.ExplainImages(cmd.Context(), test.X, explain, seed)
			if err != nil {
				return err
			}
			var inputs, recons, terms [][]float32
			var labels []string
			for _, e := range top {
				inputs, recons, terms = append(inputs, e.Input), append(recons, e.Reconstruction), append(terms, e.Terms)
				labels = append(labels, fmt.Sprintf("#%d score %.1f", e.Index, e.Score))
			}
			img, err := plot.ExplanationGrid(inputs, recons, terms, labels, test.Rows, test.Cols, plot.GridOptions{Channels: test.Channels})
			if err != nil {
				return err
			}
			if explainOut == "" {
				explainOut = "explain.png"
			}
			return writeTo(stdout, explainOut, func(w io.Writer) error { return png.Encode(w, img) })
		},
	}
	d.add(cmd)
	in.add(cmd, "the examples to score")
	cmd.Flags().IntVar(&explain, "explain", 0, "also write the N highest-scoring examples: a table's rows with their columns ranked by their share of the score, observed and reconstructed; images with their reconstructions and heat maps of the reconstruction term per pixel")
	cmd.Flags().StringVar(&explainOut, "explain-out", "", "the CSV of --explain for a table (default explain.csv), its PNG for images (default explain.png), - for stdout")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the noise ε")
	cmd.Flags().IntVar(&k, "k", 0, "also estimate −log p(x) with this many importance samples")
	cmd.Flags().StringVarP(&out, "out", "o", "scores.csv", "CSV file to write, - for stdout")
	return cmd
}

// progress returns a callback that shows a progress bar over total items
// on stderr when it is a terminal, and nil otherwise.
func progress(stderr io.Writer, total int, unit string) func(done, total int) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit), progressbar.OptionClearOnFinish())
	return func(done, _ int) { bar.Set(done) }
}

func newSample(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var n, class int
	var seed uint64
	var out string
	cmd := &cobra.Command{
		Use:     "sample MODEL|RUN",
		Short:   "Decode draws from the prior into a PNG grid, or a table model's into CSV rows",
		Example: "  vae sample -n 100 --out samples.png runs/mnist-512-2\n  vae sample -n 1000 --out samples.csv runs/mixed-512-2\n  vae sample --class 7 --out sevens.png runs/mnist-cvae",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if n < 1 {
				return usageError{fmt.Errorf("-n %d, want ≥ 1", n)}
			}
			op, err := run.Open(cmd.Context(), a[0], run.OpenOptions{NoData: true, Logger: logger})
			if err != nil {
				return err
			}
			m := op.Model
			if err := budget.Check(fmt.Sprintf("-n %d samples of %d values", n, m.Config.Input), budget.Mul(int64(n), int64(m.Config.Input), 5)); err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(seed, 0))
			if cmd.Flags().Changed("class") {
				if class < 0 || class > 255 {
					return usageError{fmt.Errorf("--class %d, want a class of the model", class)}
				}
				if m, err = m.Given(uint8(class)); err != nil {
					return usageError{fmt.Errorf("--class: %w", err)}
				}
			}
			if m.Table != nil {
				if !cmd.Flags().Changed("out") {
					out = "samples.csv"
				}
				return writeTo(stdout, out, func(w io.Writer) error { return m.SampleTable(w, n, rng) })
			}
			h, w := run.ImageShape(m.Config.Input)
			var opt plot.GridOptions
			if im := m.Config.Image; im != nil {
				opt.Channels, h, w = im[0], im[1], im[2]
			}
			x := m.Sample(n, rng)
			img, err := plot.Grid(plot.Split(x, m.Config.Input), h, w, min(n, 10), opt)
			if err != nil {
				return err
			}
			return writeTo(stdout, out, func(w io.Writer) error { return png.Encode(w, img) })
		},
	}
	cmd.Flags().IntVarP(&n, "n", "n", 64, "number of samples")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed")
	cmd.Flags().IntVar(&class, "class", 0, "a conditional model's class to sample (default: each sample's drawn uniformly)")
	cmd.Flags().StringVarP(&out, "out", "o", "samples.png", "PNG file to write (CSV for a table model: default samples.csv), - for stdout")
	return cmd
}

func newReconstruct(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var d dataFlags
	var in inputFlags
	var n int
	var out string
	cmd := &cobra.Command{
		Use:     "reconstruct MODEL|RUN",
		Short:   "Draw test images above their reconstructions into a PNG",
		Example: "  vae reconstruct -n 30 --out recon.png runs/mnist-512-2/model.safetensors\n  vae reconstruct --input rows.csv --out recon.csv runs/mixed-512-2",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			m, test, err := in.load(cmd, logger, &d, a[0])
			if err != nil {
				return err
			}
			if m.Table != nil {
				if !cmd.Flags().Changed("out") {
					out = "reconstructions.csv"
				}
				if in.path == "" {
					return usageError{fmt.Errorf("a table model reconstructs the rows of --input TABLE")}
				}
				return in.writeTable(stdout, out, func(r *table.Reader, w io.Writer) error { return m.ReconstructTable(cmd.Context(), r, w) })
			}
			n = max(1, min(n, test.N))
			test = test.Subset(n)
			x := test.X
			if m, err = givenTest(m, test); err != nil {
				return err
			}
			r, err := m.Reconstruct(x)
			if err != nil {
				return err
			}
			img, err := plot.ReconstructionGrid(plot.Split(x, test.Dim), plot.Split(r, test.Dim), test.Rows, test.Cols, 10, plot.GridOptions{Channels: test.Channels})
			if err != nil {
				return err
			}
			return writeTo(stdout, out, func(w io.Writer) error { return png.Encode(w, img) })
		},
	}
	d.add(cmd)
	in.add(cmd, "the examples to reconstruct")
	cmd.Flags().IntVarP(&n, "n", "n", 20, "number of test images")
	cmd.Flags().StringVarP(&out, "out", "o", "reconstructions.png", "PNG file to write, - for stdout")
	return cmd
}

func newEncode(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var d dataFlags
	var in inputFlags
	var out string
	cmd := &cobra.Command{
		Use:   "encode MODEL|RUN",
		Short: "Write the latent means and log-variances of the test set as CSV",
		Long: `Write one CSV row per test example: its index, its label, the latent means
z_mean_0… and the log-variances z_log_var_0… of q(z|x).`,
		Example: "  vae encode --out latent.csv runs/mnist-512-2/model.safetensors\n  vae encode --input new.csv --out latent.csv runs/mixed-512-2",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			m, test, err := in.load(cmd, logger, &d, a[0])
			if err != nil {
				return err
			}
			if m, err = givenTest(m, test); err != nil {
				return err
			}
			if m.Table != nil && in.path != "" {
				return in.writeTable(stdout, out, func(r *table.Reader, w io.Writer) error {
					return m.EncodeTable(cmd.Context(), r, w, vae.EncodeOptions{})
				})
			}
			mean, logVar, err := m.Encode(test.X)
			if err != nil {
				return err
			}
			write := func(w io.Writer) error { return writeLatentCSV(w, test.Labels, mean, logVar, m.Config.Latent) }
			return writeTo(stdout, out, write)
		},
	}
	d.add(cmd)
	in.add(cmd, "the examples to encode")
	cmd.Flags().StringVarP(&out, "out", "o", "latent.csv", "CSV file to write, - for stdout")
	return cmd
}

func newImpute(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var in inputFlags
	var out string
	var draws int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "impute MODEL|RUN --input TABLE --out TABLE",
		Short: "Fill the missing cells of a table with a model's estimates",
		Long: `Write the table --input names to --out with every missing cell of a model
column filled with the model's estimate given the row's observed cells: the
mean of p(x|z) averaged over --draws draws of z from q(z|x), in the column's
units (continuous: the mean; binary and categorical: the likeliest value).
Observed cells, and columns the model does not use, are written as read.`,
		Example: "  vae impute --input holes.csv --out filled.csv runs/mixed-512-2",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if in.path == "" {
				return usageError{fmt.Errorf("--input TABLE is required")}
			}
			if draws < 0 || draws > vae.MaxK {
				return usageError{fmt.Errorf("--draws %d, want 0 to %d", draws, vae.MaxK)}
			}
			op, err := run.Open(cmd.Context(), a[0], run.OpenOptions{NoData: true, Logger: logger})
			if err != nil {
				return err
			}
			if op.Model.Table == nil {
				return fmt.Errorf("%s was not trained on a table: impute fills the cells of tables", a[0])
			}
			return in.writeTable(stdout, out, func(r *table.Reader, w io.Writer) error {
				return op.Model.ImputeTable(cmd.Context(), r, w, draws, seed)
			})
		},
	}
	in.add(cmd, "the table with missing cells")
	cmd.Flags().StringVarP(&out, "out", "o", "imputed.csv", "CSV file to write, - for stdout")
	cmd.Flags().IntVar(&draws, "draws", 20, "posterior draws of z averaged per row (0: the posterior mean alone)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the draws")
	return cmd
}

// journalDir is where NLL keeps the journals of estimates under way: the
// user cache folder's vae/nll, or none where there is no cache folder.
func journalDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "vae", "nll")
}

// writeTo runs write on stdout when out is "-", else on the file out
// (atomically, see atomicfile), and then prints the file's name.
func writeTo(stdout io.Writer, out string, write func(io.Writer) error) error {
	if out == "-" {
		return write(stdout)
	}
	if err := atomicfile.Write(out, write); err != nil {
		return err
	}
	fmt.Fprintln(stdout, out)
	return nil
}

func writeLatentCSV(w io.Writer, labels []uint8, mean, logVar []float32, L int) error {
	cw := csv.NewWriter(w)
	head := []string{"index", "label"}
	for j := range L {
		head = append(head, "z_mean_"+strconv.Itoa(j))
	}
	for j := range L {
		head = append(head, "z_log_var_"+strconv.Itoa(j))
	}
	cw.Write(head)
	row := make([]string, len(head))
	for i := range len(mean) / L {
		row[0] = strconv.Itoa(i)
		row[1] = ""
		if labels != nil {
			row[1] = strconv.Itoa(int(labels[i]))
		}
		for j := range L {
			row[2+j] = strconv.FormatFloat(float64(mean[i*L+j]), 'g', -1, 32)
			row[2+L+j] = strconv.FormatFloat(float64(logVar[i*L+j]), 'g', -1, 32)
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func newPlot(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var d dataFlags
	var out string
	var seed uint64
	var class int
	cmd := &cobra.Command{
		Use:   "plot MODEL|RUN",
		Short: "Redraw the pictures of a model or run folder",
		Long: `Draw latent.png, manifold.png, reconstructions.png and samples.png for a model,
and loss.png when given a run folder (from its metrics.jsonl).`,
		Example: "  vae plot runs/mnist-512-2\n  vae plot --out pictures/ runs/mnist-512-2/model.safetensors",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			path, dir := a[0], ""
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				dir = path
			}
			if out == "" {
				out = dir
				if out == "" {
					out = "."
				}
			}
			m, test, err := d.load(cmd, logger, path)
			if err != nil {
				return err
			}
			var history []vae.EpochStats
			if dir != "" {
				if history, err = run.ReadMetrics(filepath.Join(dir, run.MetricsFile)); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := run.Pictures(out, m, test, history, run.PictureOptions{Seed: seed, Class: class}); err != nil {
				return err
			}
			fmt.Fprintln(stdout, out)
			return nil
		},
	}
	d.add(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder for the PNGs (default: the run folder, or .)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the samples")
	cmd.Flags().IntVar(&class, "class", 0, "the class a conditional model's manifold is decoded given")
	return cmd
}

// b01 writes a decision as 1 or 0.
func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// givenTest returns m given the labels of the test set's rows when m is a
// conditional model (see vae.Model.Given), else m.
func givenTest(m *vae.Model, test *dataset.Set) (*vae.Model, error) {
	if test == nil || m.Config.Classes == 0 {
		return m, nil
	}
	g, err := m.GivenLabels(test.Labels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", test.Name, err)
	}
	return g, nil
}
