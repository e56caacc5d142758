package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"text/tabwriter"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/onnx"
	"github.com/govae/vae/vae"
)

// ONNXOptions say what ONNX measures. Zero fields take the defaults in
// their comments.
type ONNXOptions struct {
	Threads []int  // thread counts to measure; default 1 and runtime.NumCPU()
	Repeats int    // timed passes over the test set; the best counts; default 3
	DataDir string // folder with the MNIST files; default as dataset.Open
	Script  string // the runner; default scripts/onnx/run.js, beside its node_modules
	Logger  *slog.Logger
}

// ONNXRow is one measurement: ours and ONNX Runtime's samples/s of one
// task, arch and thread count.
type ONNXRow struct {
	Task    string  `json:"task"` // "encode" or "decode", batch 1000
	Arch    string  `json:"arch"`
	Threads int     `json:"threads"`
	Ours    float64 `json:"samples_per_sec"`
	ORT     float64 `json:"onnxruntime_samples_per_sec"`
	Ratio   float64 `json:"ratio"` // Ours / ORT
}

// ONNXReport is what ONNX measured.
type ONNXReport struct {
	CPU         string    `json:"cpu"`
	Engine      string    `json:"engine"`
	ONNXRuntime string    `json:"onnxruntime"`
	Rows        []ONNXRow `json:"rows"`
}

// ONNX exports each of Archs (with New's weights: the speed does not depend
// on them) and times encoding the MNIST test set and decoding its means in
// batches of 1000 with ONNX Runtime's CPU provider (Node.js, run.js) beside
// Encode and DecodeTo, at each thread count.
func ONNX(ctx context.Context, o ONNXOptions) (*ONNXReport, error) {
	o.Threads = threadCounts(o.Threads)
	o.Repeats = cmp.Or(o.Repeats, 3)
	o.Script = cmp.Or(o.Script, filepath.Join("scripts", "onnx", "run.js"))
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("onnx bench: node: %w", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(o.Script), "node_modules", "onnxruntime-node")); err != nil {
		return nil, fmt.Errorf("onnx bench: no onnxruntime-node beside %s (cd %s && ONNXRUNTIME_NODE_INSTALL=skip npm install)", o.Script, filepath.Dir(o.Script))
	}
	_, test, _, err := dataset.Open(ctx, "mnist", dataset.Options{Dir: o.DataDir, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vae-bench-onnx-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	r := &ONNXReport{CPU: cpuName(), Engine: engineName()}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	xPath := filepath.Join(dir, "x.f32")
	if err := writeF32(xPath, test.X); err != nil {
		return nil, err
	}
	for _, a := range Archs {
		arch := cmp.Or(a.Name, a.Config.String())
		m, err := vae.New(a.Config, rand.New(rand.NewPCG(1, 0)))
		if err != nil {
			return nil, err
		}
		adir := filepath.Join(dir, arch)
		if err := os.MkdirAll(adir, 0o755); err != nil {
			return nil, err
		}
		if err := onnx.Write(adir, m); err != nil {
			return nil, err
		}
		L, D := a.Config.Latent, a.Config.Input
		mean, _, err := m.Encode(test.X)
		if err != nil {
			return nil, err
		}
		zPath := filepath.Join(adir, "z.f32")
		if err := writeF32(zPath, mean); err != nil {
			return nil, err
		}
		for _, threads := range o.Threads {
			runtime.GOMAXPROCS(threads)
			encode := bestOf(o.Repeats, func() { m.Encode(test.X) })
			images := make([]float32, inferBatch*D)
			decode := bestOf(o.Repeats, func() {
				for lo := 0; lo < test.N; lo += inferBatch {
					hi := min(lo+inferBatch, test.N)
					m.DecodeTo(images[:(hi-lo)*D], mean[lo*L:hi*L])
				}
			})
			n := float64(test.N)
			for _, t := range []struct {
				task, model, input, in string
				cols                   int
				ours                   float64
			}{
				{"encode", onnx.EncoderFile, "x", xPath, D, n / encode},
				{"decode", onnx.DecoderFile, "z", zPath, L, n / decode},
			} {
				res, err := runORT(ctx, o.Script, filepath.Join(adir, t.model), t.input, t.in, test.N, t.cols, filepath.Join(adir, "out"), threads, o.Repeats)
				if err != nil {
					return nil, fmt.Errorf("onnx bench %s %s: %w", arch, t.task, err)
				}
				r.ONNXRuntime = res.Version
				r.Rows = append(r.Rows, ONNXRow{Task: t.task, Arch: arch, Threads: threads, Ours: t.ours, ORT: res.RowsPerSec, Ratio: t.ours / res.RowsPerSec})
			}
			o.Logger.Info("onnx bench", "arch", arch, "threads", threads)
		}
	}
	return r, nil
}

// ortResult is what run.js prints.
type ortResult struct {
	Version    string  `json:"onnxruntime"`
	RowsPerSec float64 `json:"rows_per_sec"`
}

// runORT runs a graph over the rows of the file in with ONNX Runtime, in
// batches of inferBatch, and returns what run.js measured.
func runORT(ctx context.Context, script, model, input, in string, rows, cols int, out string, threads, repeats int) (ortResult, error) {
	cmd := exec.CommandContext(ctx, "node", script, model, input, in, fmt.Sprint(rows), fmt.Sprint(cols), out,
		"--threads", fmt.Sprint(threads), "--batch", fmt.Sprint(inferBatch), "--repeat", fmt.Sprint(repeats))
	b, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg = lastLine(ee.Stderr)
		}
		return ortResult{}, fmt.Errorf("node %s: %s", script, msg)
	}
	var res ortResult
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("%s: output: %w", script, err)
	}
	return res, nil
}

// writeF32 writes v as raw little-endian float32.
func writeF32(path string, v []float32) error {
	b, err := binary.Append(nil, binary.LittleEndian, v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// WriteTable prints the report as a table for people.
func (r *ONNXReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "cpu: %s\nengine: %s\nonnxruntime-node: %s (CPU execution provider)\n", r.CPU, r.Engine, r.ONNXRuntime)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\tarch\tthreads\tsamples/s\tonnxruntime samples/s\tours/onnxruntime\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%.2f×\t\n", row.Task, row.Arch, row.Threads, row.Ours, row.ORT, row.Ratio)
	}
	return tw.Flush()
}
