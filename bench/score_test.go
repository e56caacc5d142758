package bench

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
)

// scoreTest runs Score on a few MNIST test images at one thread.
func scoreTest(t *testing.T, python string) *ScoreReport {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MNIST")
	}
	r, err := Score(context.Background(), ScoreOptions{Threads: []int{1}, Images: 100, NLLImages: 10, K: 20, Repeats: 1,
		Python: python, Script: "../scripts/torch_reference.py", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 2*len(Archs) {
		t.Fatalf("%d rows, want %d", len(r.Rows), 2*len(Archs))
	}
	finite := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	for _, row := range r.Rows {
		if !finite(row.ImagesPerSec) || !finite(row.Mean) || row.Threads != 1 || row.Arch == "" {
			t.Errorf("implausible row %+v", row)
		}
	}
	if r.Rows[0].Task != "score elbo" || r.Rows[1].Task != "score nll k=20" {
		t.Errorf("tasks %q, %q", r.Rows[0].Task, r.Rows[1].Task)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil || !strings.Contains(b.String(), "score nll k=20") {
		t.Errorf("table %q, %v", b.String(), err)
	}
	t.Log("\n" + b.String())
	return r
}

// Without PyTorch every row is filled in on our side and the table says why
// PyTorch's columns are empty.
func TestScore(t *testing.T) {
	r := scoreTest(t, "-")
	if r.TorchSkipped == "" {
		t.Error("PyTorch skipped without a reason")
	}
	for _, row := range r.Rows {
		if row.Torch != 0 || row.Diff != 0 {
			t.Errorf("PyTorch figures without PyTorch: %+v", row)
		}
	}
}

// With PyTorch, where /usr/bin/python3 has it, the script's scores agree
// with ours.
func TestScoreTorch(t *testing.T) {
	r := scoreTest(t, "")
	if r.TorchSkipped != "" {
		t.Skip(r.TorchSkipped)
	}
	for _, row := range r.Rows {
		if !(row.Torch > 0 && row.Tol > 0 && row.Diff <= row.Tol) {
			t.Errorf("%s %s: PyTorch %v images/s, scores differ by %v nats, tolerance %v", row.Task, row.Arch, row.Torch, row.Diff, row.Tol)
		}
	}
}
