package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/safetensors"
	"github.com/govae/vae/vae"
	"gonum.org/v1/gonum/stat"
)

// ScoreOptions say what Score measures. Zero fields take the defaults in
// their comments.
type ScoreOptions struct {
	Threads   []int  // thread counts to measure; default 1 and runtime.NumCPU()
	Images    int    // test images the negative ELBO scores; default 10000 (all)
	NLLImages int    // the first test images the NLL scores; default 1000, at most Images
	K         int    // importance samples per image of the NLL; default 100
	Repeats   int    // timed passes of each; the best counts; default 3
	DataDir   string // folder with the MNIST files; default as dataset.Open
	Python    string // Python with torch; default /usr/bin/python3; "-" skips PyTorch
	Script    string // the reference script; default scripts/torch_reference.py
	Logger    *slog.Logger
}

// ScoreRow is one measurement of scoring, ours beside PyTorch's, with the
// check that both computed the same scores.
type ScoreRow struct {
	Task         string  `json:"task"` // "score elbo" or "score nll k=K"
	Arch         string  `json:"arch"`
	Threads      int     `json:"threads"`
	ImagesPerSec float64 `json:"images_per_sec"`
	Torch        float64 `json:"torch_images_per_sec,omitempty"` // PyTorch's images/s for the same work
	Ratio        float64 `json:"ratio,omitempty"`                // ImagesPerSec / Torch
	Mean         float64 `json:"mean_nats"`                      // our mean score of the images
	TorchMean    float64 `json:"torch_mean_nats,omitempty"`      // PyTorch's

	// Diff is, for the ELBO, the largest |ours − PyTorch's| of one image,
	// both with the same ε; for the NLL (each side with its own samples),
	// |Mean − TorchMean|. The scores agree when Diff ≤ Tol: 1e-4 of the
	// largest score (float32 rounding), plus for the NLL 4 standard errors
	// of the mean of the images' differences.
	Diff float64 `json:"diff_nats,omitempty"`
	Tol  float64 `json:"tolerance_nats,omitempty"`
}

// ScoreReport is what Score measured.
type ScoreReport struct {
	CPU          string     `json:"cpu"`
	Engine       string     `json:"engine"`
	Go           string     `json:"go"`
	TorchVersion string     `json:"torch_version,omitempty"`
	TorchBLAS    string     `json:"torch_blas,omitempty"`
	TorchSkipped string     `json:"torch_skipped,omitempty"` // why there are no PyTorch figures
	Images       int        `json:"images"`
	NLLImages    int        `json:"nll_images"`
	K            int        `json:"k"`
	Rows         []ScoreRow `json:"rows"`
}

// torchScore is what the reference script's score prints.
type torchScore struct {
	Torch string  `json:"torch"`
	BLAS  string  `json:"blas"`
	ELBO  float64 `json:"elbo_images_per_sec"`
	NLL   float64 `json:"nll_images_per_sec"`
}

// Score measures the throughput of scoring MNIST test images with each of
// Archs at each thread count: the negative ELBO with one ε per image, as
// `vae score` does (Model.Scores), and the importance-weighted −log p(x)
// with K samples, as `vae score --k K` does (Model.NLL). The models are
// trained briefly first (scoreTrainSteps), so that the check below compares
// the scores of a model that has learned something. When PyTorch is there, scripts/torch_reference.py score runs the same models (the weights
// written to a file) on the same images in the same batches, and its scores
// are checked against ours.
func Score(ctx context.Context, o ScoreOptions) (*ScoreReport, error) {
	o.Threads = threadCounts(o.Threads)
	if o.Images == 0 {
		o.Images = 10000
	}
	if o.NLLImages == 0 {
		o.NLLImages = 1000
	}
	if o.K == 0 {
		o.K = 100
	}
	if o.Repeats == 0 {
		o.Repeats = 3
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	train, test, _, err := dataset.Open(ctx, "mnist", dataset.Options{Dir: o.DataDir, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	if o.Images < 1 || o.Images > test.N || o.NLLImages < 1 || o.K < 1 || o.K > vae.MaxK {
		return nil, fmt.Errorf("score bench: %d images, %d for the NLL, K = %d: want 1 to %d images and K 1 to %d", o.Images, o.NLLImages, o.K, test.N, vae.MaxK)
	}
	o.NLLImages = min(o.NLLImages, o.Images)
	r := &ScoreReport{CPU: cpuName(), Engine: engineName(), Go: runtime.Version(), Images: o.Images, NLLImages: o.NLLImages, K: o.K}
	if o.Python == "-" {
		r.TorchSkipped = "PyTorch not asked for"
	}
	dir, err := os.MkdirTemp("", "vae-bench-score-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	x := test.X[:o.Images*test.Dim]
	for _, a := range Archs {
		m, err := vae.New(a.Config, rand.New(rand.NewPCG(1, 0)))
		if err != nil {
			return nil, err
		}
		arch := cmp.Or(a.Name, a.Config.String())
		if _, err := m.Train(ctx, train.Subset(scoreTrainSteps*128), nil, vae.TrainOptions{Epochs: 1, BatchSize: 128, Optim: a.Optim, Seed: 1}); err != nil {
			return nil, fmt.Errorf("score bench %s: training: %w", arch, err)
		}
		var files scoreFiles
		if r.TorchSkipped == "" {
			if files, err = writeScoreInputs(filepath.Join(dir, arch), m, x, o.Images); err != nil {
				return nil, fmt.Errorf("score bench %s: %w", arch, err)
			}
		}
		for _, threads := range o.Threads {
			runtime.GOMAXPROCS(threads)
			rows, err := r.measureScore(ctx, m, x, arch, threads, files, o)
			if err != nil {
				return nil, fmt.Errorf("score bench %s, %d threads: %w", arch, threads, err)
			}
			r.Rows = append(r.Rows, rows...)
		}
	}
	return r, nil
}

// scoreTrainSteps is how many training steps of batch 128 the models of
// Score take before they are timed.
const scoreTrainSteps = 50

// scoreFiles are the paths the reference script reads and writes.
type scoreFiles struct{ model, inputs, out string }

// writeScoreInputs writes what the reference script reads, under names
// that begin with prefix: the model, and the images with the ε Scores
// draws for them from rand.NewPCG(1, 0) (Latent normals per image, in row
// order), so that both sides' negative ELBOs can be compared image by image.
func writeScoreInputs(prefix string, m *vae.Model, x []float32, n int) (scoreFiles, error) {
	f := scoreFiles{prefix + ".model.safetensors", prefix + ".inputs.safetensors", prefix + ".out.safetensors"}
	if err := vae.Save(f.model, m); err != nil {
		return f, err
	}
	rng := scoreRNG()
	eps := make([]float32, n*m.Config.Latent)
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
	w, err := os.Create(f.inputs)
	if err != nil {
		return f, err
	}
	err = safetensors.Write(w, []safetensors.Tensor{
		{Name: "x", Shape: []int{n, m.Config.Input}, Data: x},
		{Name: "eps", Shape: []int{n, m.Config.Latent}, Data: eps},
	}, nil)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return f, err
}

// scoreRNG is the source of the ε of the timed negative ELBOs.
func scoreRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 0)) }

// measureScore times both scores of m on x at the current thread count,
// and PyTorch's unless r.TorchSkipped says why not.
func (r *ScoreReport) measureScore(ctx context.Context, m *vae.Model, x []float32, arch string, threads int, f scoreFiles, o ScoreOptions) ([]ScoreRow, error) {
	var (
		scores []vae.Loss
		nll    []float64
		err    = ctx.Err()
	)
	elbo := bestOf(o.Repeats, func() {
		if err == nil {
			scores, err = m.Scores(x, scoreRNG())
		}
	})
	if err != nil {
		return nil, err
	}
	nllX := x[:o.NLLImages*m.Config.Input]
	nllSecs := bestOf(o.Repeats, func() {
		if err == nil {
			nll, err = m.NLL(ctx, nllX, vae.NLLOptions{K: o.K, Seed: 1})
		}
	})
	if err != nil {
		return nil, err
	}
	totals := make([]float64, len(scores))
	for i, s := range scores {
		totals[i] = s.Total
	}
	rows := []ScoreRow{
		{Task: "score elbo", Arch: arch, Threads: threads, ImagesPerSec: float64(o.Images) / elbo, Mean: stat.Mean(totals, nil)},
		{Task: fmt.Sprintf("score nll k=%d", o.K), Arch: arch, Threads: threads, ImagesPerSec: float64(o.NLLImages) / nllSecs, Mean: stat.Mean(nll, nil)},
	}
	o.Logger.Info("bench score", "arch", arch, "threads", threads, "elbo_images_per_sec", int(rows[0].ImagesPerSec), "nll_images_per_sec", int(rows[1].ImagesPerSec))
	if r.TorchSkipped != "" {
		return rows, nil
	}
	if err := r.addTorchScore(ctx, rows, totals, nll, threads, f, o); err != nil {
		r.TorchSkipped = err.Error()
	}
	return rows, nil
}

// addTorchScore runs the reference script on the same models and images
// and fills in the PyTorch columns of rows (elbo, then nll), comparing its
// scores with ours, elbo and nll.
func (r *ScoreReport) addTorchScore(ctx context.Context, rows []ScoreRow, elbo, nll []float64, threads int, f scoreFiles, o ScoreOptions) error {
	var t torchScore
	err := runTorch(ctx, o.Python, o.Script, threads, &t, "score", f.model, f.inputs, f.out,
		"--k", fmt.Sprint(o.K), "--nll-n", fmt.Sprint(o.NLLImages), "--batch", fmt.Sprint(inferBatch),
		"--repeats", fmt.Sprint(o.Repeats), "--threads", fmt.Sprint(threads))
	if err != nil {
		return err
	}
	out, err := os.Open(f.out)
	if err != nil {
		return err
	}
	defer out.Close()
	st, err := safetensors.Read(out)
	if err != nil {
		return fmt.Errorf("%s: %w", f.out, err)
	}
	torchELBO, err := st.Get("elbo", len(elbo))
	if err != nil {
		return fmt.Errorf("%s: %w", f.out, err)
	}
	torchNLL, err := st.Get("nll", len(nll))
	if err != nil {
		return fmt.Errorf("%s: %w", f.out, err)
	}
	r.TorchVersion, r.TorchBLAS = t.Torch, t.BLAS
	for i, speed := range []float64{t.ELBO, t.NLL} {
		ours, theirs := [][]float64{elbo, nll}[i], [][]float32{torchELBO, torchNLL}[i]
		row := &rows[i]
		row.Torch = speed
		if speed > 0 {
			row.Ratio = row.ImagesPerSec / speed
		}
		d := make([]float64, len(ours))
		var largest float64
		for j, v := range ours {
			d[j] = v - float64(theirs[j])
			row.Diff = max(row.Diff, math.Abs(d[j]))
			largest = max(largest, math.Abs(v), 1)
		}
		mu, sd := stat.MeanStdDev(d, nil)
		row.TorchMean = row.Mean - mu
		row.Tol = 1e-4 * largest
		if i == 1 && len(d) > 1 { // own samples each: compare the means
			row.Diff = math.Abs(mu)
			row.Tol += 4 * stat.StdErr(sd, float64(len(d)))
		}
	}
	return nil
}

// WriteTable prints the report as a table for people.
func (r *ScoreReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "cpu: %s\nengine: %s, %s\n", r.CPU, r.Engine, r.Go)
	if r.TorchVersion != "" {
		fmt.Fprintf(w, "pytorch: %s, BLAS %s\n", r.TorchVersion, r.TorchBLAS)
	}
	if r.TorchSkipped != "" {
		fmt.Fprintf(w, "pytorch: skipped: %s\n", r.TorchSkipped)
	}
	fmt.Fprintf(w, "MNIST test images, models trained %d steps of batch 128 (the same weights in both):\n"+
		"negative ELBO of %d, one ε each, batches of %d; NLL of the first %d, K = %d samples each, blocks of %d samples\n",
		scoreTrainSteps, r.Images, inferBatch, r.NLLImages, r.K, inferBatch)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tarch\tthreads\timages/s\tpytorch images/s\tours/pytorch\tmean nats\tpytorch\tagree\t")
	for _, row := range r.Rows {
		torch, ratio, torchMean, agree := "-", "-", "-", "-"
		if row.Torch > 0 {
			torch, ratio, torchMean = fmt.Sprintf("%.0f", row.Torch), fmt.Sprintf("%.2f×", row.Ratio), fmt.Sprintf("%.3f", row.TorchMean)
			agree = fmt.Sprintf("within %.2g (Δ %.2g)", row.Tol, row.Diff)
			if !(row.Diff <= row.Tol) {
				agree = fmt.Sprintf("NO: Δ %.2g > %.2g", row.Diff, row.Tol)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t%.3f\t%s\t%s\t\n", row.Task, row.Arch, row.Threads, row.ImagesPerSec, torch, ratio, row.Mean, torchMean, agree)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Rows) > 0 && r.Rows[0].Torch > 0 {
		fmt.Fprintln(w, "agree: the ELBO's largest difference of one image (the same ε on both sides), the NLL's difference of the means (each side its own samples), in nats")
	}
	return nil
}
