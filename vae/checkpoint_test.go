package vae

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govae/vae/internal/ctxtest"
	"github.com/govae/vae/optim"
)

// tinyOpts are the options trainTiny trains with, as a checkpoint stores
// them.
func tinyOpts(epochs int) TrainOptions {
	return TrainOptions{Epochs: epochs, BatchSize: 10, Seed: 3, Optim: optim.Config{LR: 1e-2}}
}

// interrupted returns trainTiny's model and progress stopped after steps
// steps (10 an epoch).
func interrupted(t *testing.T, steps int) (*Model, *Progress) {
	t.Helper()
	m, p, err := trainTiny(t, 3, ctxtest.CancelAfter(steps), nil, nil)
	if !errors.Is(err, context.Canceled) || p == nil {
		t.Fatalf("stop after %d steps: err %v, progress %v", steps, err, p)
	}
	return m, p
}

// copyProgress returns a deep copy of p, so that an edit leaves p as it is.
func copyProgress(p *Progress) *Progress {
	c := *p
	c.History = append([]EpochStats(nil), p.History...)
	c.NoiseState = append([]byte(nil), p.NoiseState...)
	c.Optim.Tensors = make(map[string][]float32, len(p.Optim.Tensors))
	for k, v := range p.Optim.Tensors {
		c.Optim.Tensors[k] = append([]float32(nil), v...)
	}
	return &c
}

// LoadCheckpoint refuses a checkpoint whose progress, options or optimizer
// state no run could have written, with an error naming the file and the
// field, instead of a panic or a silent start from nonsense later.
func TestLoadCheckpointChecksFields(t *testing.T) {
	m, p := interrupted(t, 13) // epoch 1 done, 3 steps into epoch 2
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := SaveCheckpoint(path, m, p, tinyOpts(3)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadCheckpoint(path); err != nil {
		t.Fatalf("a checkpoint Train wrote: %v", err)
	}
	key := "adam.m/" + m.Params()[0].Name
	for _, tc := range []struct {
		name string
		edit func(p *Progress, o *TrainOptions)
		want string
	}{
		{"negative batch", func(p *Progress, _ *TrainOptions) { p.Batch = -5 }, "batch -5"},
		{"negative epoch", func(p *Progress, _ *TrainOptions) { p.Epoch = -1 }, "epoch -1"},
		{"history shorter than the epochs", func(p *Progress, _ *TrainOptions) { p.Epoch = 2 }, "history holds 1 epochs"},
		{"history of another epoch", func(p *Progress, _ *TrainOptions) { p.History[0].Epoch = 4 }, "history[0] is of epoch 4"},
		{"best after the epochs done", func(p *Progress, _ *TrainOptions) { p.Best = 2 }, "best 2"},
		{"negative samples", func(p *Progress, _ *TrainOptions) { p.Samples = -1 }, "samples -1"},
		{"fewer samples than steps", func(p *Progress, _ *TrainOptions) { p.Samples = 2 }, "samples 2 after 3 steps"},
		{"sums before the first step", func(p *Progress, _ *TrainOptions) { p.Batch = 0 }, "before the first step"},
		{"negative seconds", func(p *Progress, _ *TrainOptions) { p.TrainSeconds = -1 }, "train_seconds -1"},
		{"noise state", func(p *Progress, _ *TrainOptions) { p.NoiseState = []byte("junk") }, "noise_state"},
		{"no noise state", func(p *Progress, _ *TrainOptions) { p.NoiseState = nil }, "noise_state"},
		{"negative optimizer steps", func(p *Progress, _ *TrainOptions) { p.Optim.Steps = -1 }, `"optim_steps": -1`},
		{"missing optimizer tensor", func(p *Progress, _ *TrainOptions) { delete(p.Optim.Tensors, key) }, key + " missing"},
		{"short optimizer tensor", func(p *Progress, _ *TrainOptions) { p.Optim.Tensors[key] = p.Optim.Tensors[key][1:] }, key + " has length"},
		{"optimizer tensor of another optimizer", func(p *Progress, _ *TrainOptions) { p.Optim.Tensors["sgd.momentum_buffer/x"] = []float32{1} }, "unexpected tensor sgd.momentum_buffer/x"},
		{"non-finite optimizer tensor", func(p *Progress, _ *TrainOptions) { p.Optim.Tensors[key][2] = float32(math.Inf(1)) }, key + " holds +Inf at index 2"},
		{"state of another optimizer", func(_ *Progress, o *TrainOptions) { o.Optimizer = "sgd" }, "unexpected tensor"},
		{"unknown optimizer", func(_ *Progress, o *TrainOptions) { o.Optimizer = "adagrad" }, `"adagrad"`},
		{"bad options", func(_ *Progress, o *TrainOptions) { o.BatchSize = -3 }, `"train_options": batch size -3`},
	} {
		q, o := copyProgress(p), tinyOpts(3)
		tc.edit(q, &o)
		bad := filepath.Join(dir, "bad.safetensors")
		if err := SaveCheckpoint(bad, m, q, o); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := LoadCheckpoint(bad)
		if err == nil || !strings.HasPrefix(err.Error(), bad+": ") || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line naming %s and containing %q", tc.name, err, bad, tc.want)
		}
	}
}

// Train refuses to resume from a progress that does not fit the data and
// options it is given (a step past the end of the epoch, samples or
// optimizer steps that those steps cannot have taken, a non-finite sum)
// instead of panicking or writing NaN losses.
func TestResumeChecksProgress(t *testing.T) {
	m, p := interrupted(t, 13)
	for _, tc := range []struct {
		name string
		edit func(p *Progress)
		want string
	}{
		{"negative batch", func(p *Progress) { p.Batch = -5 }, "batch -5"},
		{"batch past the epoch", func(p *Progress) { p.Batch = 10 }, "batch 10, want 0 to 9"},
		{"samples of another batch size", func(p *Progress) { p.Samples = 25 }, "samples 25 after 3 steps of 10, want 30"},
		{"optimizer steps", func(p *Progress) { p.Optim.Steps = 5 }, "optim_steps 5, want 13"},
		{"NaN sum", func(p *Progress) { p.Recon = math.NaN() }, "recon_sum NaN"},
		{"infinite sum", func(p *Progress) { p.KL = math.Inf(-1) }, "kl_sum -Inf"},
	} {
		q := copyProgress(p)
		tc.edit(q)
		_, _, err := trainTiny(t, 3, context.Background(), q, m) // refused before a step

		if err == nil || !strings.Contains(err.Error(), "train: resume: "+tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, "train: resume: "+tc.want)
		}
	}
	// With validation, the best epoch must have a validation loss.
	q := copyProgress(p)
	q.Best = 1
	opts := tinyOpts(3)
	opts.Validation, opts.Resume = 5, q
	if _, err := m.Train(context.Background(), blobs(95, 16, 1), nil, opts); err == nil || !strings.Contains(err.Error(), "best 1 names an epoch without a validation loss") {
		t.Errorf("best epoch without validation loss: err = %v", err)
	}
	// The progress Train left resumes.
	if _, _, err := trainTiny(t, 3, context.Background(), copyProgress(p), m); err != nil {
		t.Errorf("resume from the progress as Train left it: %v", err)
	}
}
