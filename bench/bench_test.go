package bench

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/govae/vae/vae"
)

func TestFLOPs(t *testing.T) {
	// 784-400-20: multiply-adds 784·400 + 2·400·20 (encoder) and
	// 20·400 + 400·784 (decoder); training skips the input gradient of the
	// first layer.
	train, enc, dec := FLOPs(vae.Config{Input: 784, Hidden: []int{400}, Latent: 20})
	encMACs, decMACs := 784.0*400+2*400*20, 20.0*400+400*784
	if want := 6*(encMACs+decMACs) - 2*784*400; train != want {
		t.Errorf("train FLOPs = %v, want %v", train, want)
	}
	if enc != 2*encMACs || dec != 2*decMACs {
		t.Errorf("encode, decode FLOPs = %v, %v; want %v, %v", enc, dec, 2*encMACs, 2*decMACs)
	}
	// Without a hidden layer both heads read the input: no input gradient
	// at all, only the decoder's output layer has one.
	train, enc, dec = FLOPs(vae.Config{Input: 10, Latent: 3})
	if train != 6*(60+30)-2*60 || enc != 2*60 || dec != 2*30 {
		t.Errorf("10-3: FLOPs = %v, %v, %v; want %v, %v, %v", train, enc, dec, 6*(60+30)-2*60, 2*60, 2*30)
	}
}

// Run on MNIST with few steps and no PyTorch: every row is filled in and the
// table prints them.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MNIST")
	}
	r, err := Run(context.Background(), Options{Threads: []int{1}, Steps: 3, Warmup: 1, Python: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 3*len(Archs) {
		t.Fatalf("%d rows, want %d", len(r.Rows), 3*len(Archs))
	}
	for _, row := range r.Rows {
		if row.SamplesPerSec <= 0 || row.GFLOPS <= 0 || row.Threads != 1 {
			t.Errorf("implausible row %+v", row)
		}
	}
	if runtime.GOOS == "linux" && !(r.PeakRSSMiB > 50 && r.PeakRSSMiB < 4096) {
		t.Errorf("peak RSS %v MiB: implausible for a process holding MNIST", r.PeakRSSMiB)
	}
	var buf bytes.Buffer
	r.WriteTable(&buf)
	if !strings.Contains(buf.String(), "train") || !strings.Contains(buf.String(), "skipped") || !strings.Contains(buf.String(), "peak RSS") {
		t.Errorf("table:\n%s", buf.String())
	}
}

// The model's imputations of a small generated table beat the column mean
// and mode on the numeric columns and on most categorical ones.
func TestImpute(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	r, err := Impute(context.Background(), ImputeOptions{Dir: t.TempDir(), Rows: 6000, Epochs: 15, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.WriteTable(&b)
	t.Log("\n" + b.String())
	if len(r.Columns) != len(imputeColumns) {
		t.Fatalf("%d columns measured, want %d", len(r.Columns), len(imputeColumns))
	}
	for _, c := range r.Columns {
		better := c.VAE < c.Baseline
		if c.Metric == "accuracy" {
			better = c.VAE > c.Baseline
		}
		if !better {
			t.Errorf("%s: vae %s %.3f, mean/mode %.3f", c.Name, c.Metric, c.VAE, c.Baseline)
		}
	}
}

// One class of the one-class protocol, without the baselines: a VAE of
// MNIST's ones finds the other digits.
func TestAnomalyOneClass(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model on MNIST")
	}
	r, err := Anomaly(context.Background(), AnomalyOptions{Dir: t.TempDir(), Fashion: "-", Classes: []int{1}, Epochs: 2, Hidden: []int{64}, Latent: 4, Python: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 || r.Rows[0].VAE < 0.9 {
		t.Fatalf("rows %+v, want one with an AUROC above 0.9", r.Rows)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil || !strings.Contains(b.String(), "mnist") || !strings.Contains(b.String(), "baselines skipped") {
		t.Errorf("table %q, %v", b.String(), err)
	}
}
