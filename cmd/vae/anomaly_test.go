package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// train --contamination stores a detector; score adds its decisions, eval
// measures it against a normal class, threshold replaces it.
func TestAnomaly(t *testing.T) {
	ctx := context.Background()
	data := tinyData(t)
	runDir := filepath.Join(t.TempDir(), "run")
	if code, _, errs := runVAE(ctx, "train", "--data-dir", data, "--hidden", "16", "--epochs", "3", "--contamination", "0.1", "--out", runDir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	code, out, errs := runVAE(ctx, "score", "--data-dir", data, "--out", "-", runDir)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasSuffix(lines[0], ",anomaly") || len(lines) != 101 {
		t.Fatalf("score wrote %d lines, header %q; want 100 rows with an anomaly column", len(lines)-1, lines[0])
	}

	plots := filepath.Join(t.TempDir(), "plots")
	code, out, errs = runVAE(ctx, "eval", "--data-dir", data, "--normal-class", "0", "--plots", plots, "--json", runDir)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errs)
	}
	var e struct {
		Detection *struct {
			AUROC, Threshold, F1 float64
			Anomalies, Normals   int
		}
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Detection == nil {
		t.Fatalf("eval --json: %v: %s", err, out)
	}
	if d := e.Detection; d.AUROC < 0 || d.AUROC > 1 || d.Anomalies+d.Normals != 100 || d.Threshold == 0 {
		t.Errorf("detection %+v", d)
	}
	for _, f := range []string{"roc.png", "scores.png"} {
		if _, err := os.Stat(filepath.Join(plots, f)); err != nil {
			t.Error(err)
		}
	}

	code, out, errs = runVAE(ctx, "threshold", "--quantile", "0.5", "--score", "recon", runDir)
	if code != 0 || !strings.Contains(out, "of the recon score, from 300 examples") {
		t.Errorf("threshold: exit %d: %s%s", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"threshold", runDir}, 2, "--contamination Q or --quantile P"},
		{[]string{"threshold", "--contamination", "1.5", runDir}, 2, "--contamination 1.5"},
		{[]string{"threshold", "--contamination", "0.1", "--quantile", "0.9", runDir}, 2, "not both"},
		{[]string{"eval", "--data-dir", data, "--normal-class", "cat", runDir}, 2, `"cat" is not a class`},
	} {
		if code, _, errs := runVAE(ctx, tc.args...); code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
