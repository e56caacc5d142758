// Package bench measures how fast VAEs train and infer on this machine, and
// how that compares with PyTorch running the same work, when PyTorch is
// installed: the figures behind `vae bench`.
package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/kernel"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/vae"
)

// Options says what to measure. Zero fields take the defaults in their
// comments.
type Options struct {
	Threads []int  // thread counts to measure; default 1 and runtime.NumCPU()
	Steps   int    // timed training steps per measurement; default 200
	Warmup  int    // untimed training steps first; default 20
	DataDir string // folder with the MNIST files; default as dataset.Open
	Python  string // Python with torch; default /usr/bin/python3; "-" skips PyTorch
	Script  string // the reference script; default scripts/torch_reference.py
	Logger  *slog.Logger
}

// Arch is an architecture with the recipe its example trains it with.
type Arch struct {
	Name   string // as the rows and the reference script name it; empty: Config.String()
	Config vae.Config
	Optim  optim.Config
}

// Archs are the architectures measured: the PyTorch example's, the Keras
// example's dense one of the seed and its convolutional one of today.
var Archs = []Arch{
	{"", vae.Config{Input: 784, Hidden: []int{400}, Latent: 20, Init: nn.InitPyTorch}, optim.Config{LR: 1e-3}},
	{"", vae.Config{Input: 784, Hidden: []int{512}, Latent: 2, Init: nn.InitGlorot}, optim.Config{LR: 1e-3, Eps: 1e-7}},
	{"keras-conv", vae.Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Init: nn.InitGlorot,
		Encoder: []string{"conv32s2", "conv64s2", "dense16"},
		Decoder: []string{"dense3136", "reshape64x7x7", "convT64s2", "convT32s2", "convT1"}}, optim.Config{LR: 1e-3, Eps: 1e-7}},
}

// Row is one measurement.
type Row struct {
	Task          string  `json:"task"` // "train" (batch 128), "encode" or "decode" (batch 1000)
	Arch          string  `json:"arch"`
	Threads       int     `json:"threads"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	GFLOPS        float64 `json:"gflops"`
	PeakPct       float64 `json:"peak_pct,omitempty"`              // GFLOPS as a percentage of kernel.PeakGFLOPS(Threads)
	Torch         float64 `json:"torch_samples_per_sec,omitempty"` // PyTorch's samples/s for the same work
	Ratio         float64 `json:"ratio,omitempty"`                 // SamplesPerSec / Torch
}

// Report is the outcome of Run.
type Report struct {
	CPU          string          `json:"cpu"`
	Engine       string          `json:"engine"`
	Go           string          `json:"go"`
	TorchVersion string          `json:"torch_version,omitempty"`
	TorchBLAS    string          `json:"torch_blas,omitempty"`
	TorchSkipped string          `json:"torch_skipped,omitempty"` // why there are no PyTorch figures
	Peak         map[int]float64 `json:"peak_gflops"`             // kernel.PeakGFLOPS by thread count
	Rows         []Row           `json:"rows"`

	// Peak resident memory of this process and of the largest PyTorch run,
	// each having loaded MNIST and trained and run both architectures, in
	// MiB; 0 where unknown.
	PeakRSSMiB      float64 `json:"peak_rss_mib,omitempty"`
	TorchPeakRSSMiB float64 `json:"torch_peak_rss_mib,omitempty"`
}

// FLOPs returns the floating-point operations per sample of a training
// step, an encoding and a decoding for a model of shape c: two per
// multiply-add of the matrix products, whose cost dominates.
func FLOPs(c vae.Config) (train, encode, decode float64) {
	ls := c.Layers()
	var enc, dec float64 // multiply-adds per sample
	for _, l := range ls {
		if l.Decoder {
			dec += float64(l.MACs)
		} else {
			enc += float64(l.MACs)
		}
	}
	// The layers fed by the input (the first encoder layer, or both heads
	// without one) need no input gradient.
	first := float64(ls[0].MACs)
	if ls[0].Name == "z_mean" {
		first *= 2
	}
	// forward, weight gradients, input gradients
	train = 2*(enc+dec) + 2*(enc+dec) + 2*(enc+dec-first)
	return train, 2 * enc, 2 * dec
}

// Run measures training and inference speed of each of Archs at each
// thread count, and PyTorch's for the same work when it can.
func Run(ctx context.Context, opt Options) (*Report, error) {
	opt.Threads = threadCounts(opt.Threads)
	if opt.Steps == 0 {
		opt.Steps = 200
	}
	if opt.Warmup == 0 {
		opt.Warmup = 20
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	train, test, _, err := dataset.Open(ctx, "mnist", dataset.Options{Dir: opt.DataDir, Logger: opt.Logger})
	if err != nil {
		return nil, err
	}
	r := &Report{CPU: cpuName(), Engine: engineName(), Go: runtime.Version(), Peak: map[int]float64{}}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, threads := range opt.Threads {
		runtime.GOMAXPROCS(threads)
		peak := kernel.PeakGFLOPS(threads)
		r.Peak[threads] = peak
		for _, a := range Archs {
			rows, err := measure(ctx, a, train, test, threads, opt)
			if err != nil {
				return nil, err
			}
			for i := range rows {
				if peak > 0 {
					rows[i].PeakPct = 100 * rows[i].GFLOPS / peak
				}
			}
			r.Rows = append(r.Rows, rows...)
		}
		if err := r.addTorch(ctx, threads, opt); err != nil {
			r.TorchSkipped = err.Error()
		}
	}
	r.PeakRSSMiB = peakRSSMiB()
	return r, nil
}

// threadCounts returns t, or when it is empty the default thread counts:
// 1 and runtime.NumCPU().
func threadCounts(t []int) []int {
	if len(t) > 0 {
		return t
	}
	if runtime.NumCPU() == 1 {
		return []int{1}
	}
	return []int{1, runtime.NumCPU()}
}

// inferBatch is the batch of the inference measurements, as the PyTorch
// script's default --infer-batch.
const inferBatch = 1000

// measure times training steps and inference of one architecture.
func measure(ctx context.Context, a Arch, train, test *dataset.Set, threads int, opt Options) ([]Row, error) {
	const batch = 128
	m, err := vae.New(a.Config, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		return nil, err
	}
	trainFLOPs, encFLOPs, decFLOPs := FLOPs(a.Config)
	opts := vae.TrainOptions{Epochs: 1, BatchSize: batch, Optim: a.Optim, Seed: 1}
	if _, err := m.Train(ctx, train.Subset(opt.Warmup*batch), nil, opts); err != nil {
		return nil, err
	}
	p, err := m.Train(ctx, train.Subset(opt.Steps*batch), nil, opts)
	if err != nil {
		return nil, err
	}
	sps := p.History[0].SamplesPerSec
	arch := cmp.Or(a.Name, a.Config.String())
	rows := []Row{{Task: "train", Arch: arch, Threads: threads, SamplesPerSec: sps, GFLOPS: sps * trainFLOPs / 1e9}}

	// As the PyTorch script does: encode the test set, keeping the means,
	// and decode them batch by batch, each batch's images dropped (here:
	// overwritten) before the next.
	var mean []float32
	encode := bestOf(3, func() { mean, _, _ = m.Encode(test.X) })
	L, D := a.Config.Latent, a.Config.Input
	images := make([]float32, inferBatch*D)
	decode := bestOf(3, func() {
		for lo := 0; lo < test.N; lo += inferBatch {
			hi := min(lo+inferBatch, test.N)
			m.DecodeTo(images[:(hi-lo)*D], mean[lo*L:hi*L])
		}
	})
	n := float64(test.N)
	rows = append(rows,
		Row{Task: "encode", Arch: arch, Threads: threads, SamplesPerSec: n / encode, GFLOPS: n / encode * encFLOPs / 1e9},
		Row{Task: "decode", Arch: arch, Threads: threads, SamplesPerSec: n / decode, GFLOPS: n / decode * decFLOPs / 1e9})
	opt.Logger.Info("bench", "arch", arch, "threads", threads, "train_samples_per_sec", int(sps))
	return rows, nil
}

// bestOf returns the shortest of n timings of f, in seconds.
func bestOf(n int, f func()) float64 {
	best := 0.0
	for i := range n {
		start := time.Now()
		f()
		if s := time.Since(start).Seconds(); i == 0 || s < best {
			best = s
		}
	}
	return best
}

// torchResult is what the reference script's bench prints.
type torchResult struct {
	Torch string  `json:"torch"`
	BLAS  string  `json:"blas"`
	RSS   float64 `json:"peak_rss_mib"`
	Arch  map[string]struct {
		Train  float64 `json:"train_samples_per_sec"`
		Encode float64 `json:"encode_samples_per_sec"`
		Decode float64 `json:"decode_samples_per_sec"`
	} `json:"arch"`
}

// addTorch runs the reference script at the given thread count and fills
// in the PyTorch column of the rows with that count.
func (r *Report) addTorch(ctx context.Context, threads int, opt Options) error {
	args := []string{"bench", "--threads", fmt.Sprint(threads), "--steps", fmt.Sprint(opt.Steps), "--warmup", fmt.Sprint(opt.Warmup)}
	if opt.DataDir != "" {
		args = append(args, "--data", opt.DataDir)
	}
	var t torchResult
	if err := runTorch(ctx, opt.Python, opt.Script, threads, &t, args...); err != nil {
		return err
	}
	r.TorchVersion, r.TorchBLAS = t.Torch, t.BLAS
	r.TorchPeakRSSMiB = max(r.TorchPeakRSSMiB, t.RSS)
	for i := range r.Rows {
		row := &r.Rows[i]
		a, ok := t.Arch[row.Arch]
		if !ok || row.Threads != threads {
			continue
		}
		row.Torch = map[string]float64{"train": a.Train, "encode": a.Encode, "decode": a.Decode}[row.Task]
		if row.Torch > 0 {
			row.Ratio = row.SamplesPerSec / row.Torch
		}
	}
	return nil
}

// runTorch runs the reference script (default scripts/torch_reference.py)
// with args under python (default /usr/bin/python3; "-": not at all) at
// the given thread count, and decodes the JSON object it prints into v. The
// error says why there are no PyTorch figures: no torch, no script, or the
// last line the script wrote to stderr.
func runTorch(ctx context.Context, python, script string, threads int, v any, args ...string) error {
	if python == "-" {
		return fmt.Errorf("PyTorch not asked for")
	}
	python, script = cmp.Or(python, "/usr/bin/python3"), cmp.Or(script, "scripts/torch_reference.py")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("reference script: %w", err)
	}
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("OMP_NUM_THREADS=%d", threads))
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg = lastLine(ee.Stderr)
		}
		return fmt.Errorf("%s %s: %s", python, script, msg)
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s: output: %w", script, err)
	}
	return nil
}

// WriteTable prints the report as a table for people.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "cpu: %s\nengine: %s, %s\n", r.CPU, r.Engine, r.Go)
	if r.TorchVersion != "" {
		fmt.Fprintf(w, "pytorch: %s, BLAS %s\n", r.TorchVersion, r.TorchBLAS)
	}
	if r.TorchSkipped != "" {
		fmt.Fprintf(w, "pytorch: skipped: %s\n", r.TorchSkipped)
	}
	for _, t := range slices.Sorted(maps.Keys(r.Peak)) {
		fmt.Fprintf(w, "peak (FMA loop), %d threads: %.0f GFLOPS\n", t, r.Peak[t])
	}
	if r.PeakRSSMiB > 0 {
		fmt.Fprintf(w, "peak RSS: %.0f MiB", r.PeakRSSMiB)
		if r.TorchPeakRSSMiB > 0 {
			fmt.Fprintf(w, ", pytorch %.0f MiB", r.TorchPeakRSSMiB)
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tarch\tthreads\tsamples/s\tGFLOPS\t% peak\tpytorch samples/s\tours/pytorch\t")
	for _, row := range r.Rows {
		torch, ratio := "-", "-"
		if row.Torch > 0 {
			torch, ratio = fmt.Sprintf("%.0f", row.Torch), fmt.Sprintf("%.2f×", row.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.1f\t%.0f%%\t%s\t%s\t\n", row.Task, row.Arch, row.Threads, row.SamplesPerSec, row.GFLOPS, row.PeakPct, torch, ratio)
	}
	return tw.Flush()
}

// engineName names the matrix-multiply engine in use.
func engineName() string {
	if f, ok := kernel.Current().(kernel.Fast); ok {
		return "fast-" + f.Describe()
	}
	return fmt.Sprintf("%T", kernel.Current())
}

// cpuName returns the processor's model name where the system tells it,
// with what CPUID says of it (kernel.Processor).
func cpuName() string {
	return modelName() + " (" + kernel.Processor().String() + ")"
}

// modelName returns the processor's model name from /proc/cpuinfo, or
// GOARCH.
func modelName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
