package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govae/vae/onnx"
)

// writeMixedCSV writes a table of n rows with an id, a continuous, a
// positive, a binary and a categorical column that depend on one factor,
// about one cell in ten missing, and returns its path.
func writeMixedCSV(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	b.WriteString("id,height,price,member,colour\n")
	for i := range n {
		u := rng.NormFloat64()
		cells := []string{
			fmt.Sprintf("%.2f", 170+10*u+rng.NormFloat64()),
			fmt.Sprintf("%.1f", math.Exp(4+0.8*u+0.3*rng.NormFloat64())),
			map[bool]string{true: "yes", false: "no"}[u > 0],
			[]string{"red", "green", "blue"}[min(2, max(0, int(u+1.5)))],
		}
		for j := range cells {
			if rng.Float64() < 0.1 {
				cells[j] = ""
			}
		}
		fmt.Fprintf(&b, "p%d,%s\n", i, strings.Join(cells, ","))
	}
	path := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A table trains with one command, and score, encode and impute read a new
// file with the model's preprocessing.
func TestTable(t *testing.T) {
	dir := t.TempDir()
	data := writeMixedCSV(t, dir, 600)
	runDir := filepath.Join(dir, "run")
	ctx := context.Background()
	code, out, errs := runVAE(ctx, "train", "--data", data, "--id", "id", "--hidden", "16", "--epochs", "3", "--out", runDir)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	for _, want := range []string{"height  continuous", "price   positive", "member  binary", "colour  categorical", "id      ignored (id)"} {
		if !strings.Contains(out, want) {
			t.Errorf("train printed no %q in its schema:\n%s", want, out)
		}
	}
	for _, f := range []string{"schema.yaml", "model.safetensors", "latent.png", "loss.png"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Error(err)
		}
	}
	if code, out, errs := runVAE(ctx, "export", "--out", filepath.Join(dir, "onnx"), runDir); code != 0 || !strings.Contains(out, onnx.PreprocessFile) {
		t.Errorf("export of a table model: exit %d, stdout %q without %s: %s", code, out, onnx.PreprocessFile, errs)
	}

	scores := filepath.Join(dir, "scores.csv")
	if code, _, errs := runVAE(ctx, "score", "--input", data, "--out", scores, runDir); code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	rows := readCSVFile(t, scores)
	if got := strings.Join(rows[0], ","); got != "id,loss,recon,kl,recon_height,recon_price,recon_member,recon_colour" {
		t.Errorf("score header %s", got)
	}
	if len(rows) != 601 || rows[1][0] != "p0" {
		t.Errorf("score wrote %d rows, first %v; want 600 and p0", len(rows)-1, rows[1])
	}

	explain := filepath.Join(dir, "explain.csv")
	if code, _, errs := runVAE(ctx, "score", "--input", data, "--out", scores, "--explain", "3", "--explain-out", explain, runDir); code != 0 {
		t.Fatalf("score --explain: exit %d: %s", code, errs)
	}
	ex := readCSVFile(t, explain)
	if len(ex) != 1+3*4 || strings.Join(ex[0], ",") != "id,line,loss,rank,column,recon,share,observed,reconstructed" {
		t.Fatalf("explain wrote %d lines, header %v; want 3 rows × 4 columns", len(ex)-1, ex[0])
	}
	var worst float64
	for _, row := range rows[1:] { // the scores above: the first explained row is the highest
		if v, _ := strconv.ParseFloat(row[1], 64); v > worst {
			worst = v
		}
	}
	if got, _ := strconv.ParseFloat(ex[1][2], 64); got != worst || ex[1][3] != "1" {
		t.Errorf("first explained row %v, want the highest loss %v at rank 1", ex[1], worst)
	}

	latent := filepath.Join(dir, "latent.csv")
	if code, _, errs := runVAE(ctx, "encode", "--input", data, "--out", latent, runDir); code != 0 {
		t.Fatalf("encode: exit %d: %s", code, errs)
	}
	if rows := readCSVFile(t, latent); len(rows) != 601 || len(rows[0]) != 5 {
		t.Errorf("encode wrote %d rows of %d columns, want 600 of id and 2+2", len(rows)-1, len(rows[0]))
	}

	samples := filepath.Join(dir, "samples.csv")
	if code, _, errs := runVAE(ctx, "sample", "-n", "5", "--out", samples, runDir); code != 0 {
		t.Fatalf("sample: exit %d: %s", code, errs)
	}
	if rows := readCSVFile(t, samples); len(rows) != 6 || strings.Join(rows[0], ",") != "height,price,member,colour" {
		t.Errorf("sample wrote %v, want 5 rows of the model columns", rows)
	}
	recon := filepath.Join(dir, "recon.csv")
	if code, _, errs := runVAE(ctx, "reconstruct", "--input", data, "--out", recon, runDir); code != 0 {
		t.Fatalf("reconstruct: exit %d: %s", code, errs)
	}
	if rows := readCSVFile(t, recon); len(rows) != 601 || rows[1][0] != "p0" || rows[1][3] != "yes" && rows[1][3] != "no" {
		t.Errorf("reconstruct wrote %d rows, first %v", len(rows)-1, rows[1])
	}

	filled := filepath.Join(dir, "filled.csv")
	if code, _, errs := runVAE(ctx, "impute", "--input", data, "--out", filled, runDir); code != 0 {
		t.Fatalf("impute: exit %d: %s", code, errs)
	}
	before, after := readCSVFile(t, data), readCSVFile(t, filled)
	if len(after) != len(before) {
		t.Fatalf("impute wrote %d rows, want %d", len(after), len(before))
	}
	holes := 0
	for i := range before {
		for j, c := range before[i] {
			switch {
			case c != "" && after[i][j] != c:
				t.Fatalf("row %d column %d: observed %q became %q", i, j, c, after[i][j])
			case c == "" && after[i][j] == "":
				t.Fatalf("row %d column %d: still missing", i, j)
			case c == "":
				holes++
			}
		}
	}
	if holes == 0 {
		t.Fatal("the test table had no missing cell")
	}
}

// Bad tables are one line naming the file, line, column and cell; exit 1.
func TestTableErrors(t *testing.T) {
	dir := t.TempDir()
	data := writeMixedCSV(t, dir, 200)
	runDir := filepath.Join(dir, "run")
	ctx := context.Background()
	if code, _, errs := runVAE(ctx, "train", "--data", data, "--id", "id", "--hidden", "8", "--epochs", "1", "--out", runDir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"ragged row", []string{"train", "--data", write("ragged.csv", "a,b\n1,2\n3\n4,5\n")}, []string{"ragged.csv:3", "1 field"}},
		{"empty file", []string{"train", "--data", write("empty.csv", "")}, []string{"empty.csv", "empty"}},
		{"header only", []string{"train", "--data", write("head.csv", "a,b\n")}, []string{"head.csv", "no rows"}},
		{"unknown extension", []string{"train", "--data", write("data.xlsx", "x")}, []string{"data.xlsx", ".xlsx", ".csv"}},
		{"no such file", []string{"train", "--data", filepath.Join(dir, "nope.csv")}, []string{"nope.csv", "no such data set or file"}},
		{"unknown category", []string{"score", "--out", "-", "--input", write("new.csv", "id,height,price,member,colour\nq1,170,200,yes,mauve\n"), runDir}, []string{"new.csv:2", "colour", "mauve"}},
		{"text in a number column", []string{"score", "--out", "-", "--input", write("text.csv", "id,height,price,member,colour\nq1,tall,200,yes,red\n"), runDir}, []string{"text.csv:2", "height", "tall"}},
		{"missing column", []string{"score", "--out", "-", "--input", write("cols.csv", "id,height,member,colour\nq1,170,yes,red\n"), runDir}, []string{"cols.csv", "price"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{}, tc.args...)
			if args[0] == "train" {
				args = append(args, "--out", filepath.Join(dir, "bad-"+strings.ReplaceAll(tc.name, " ", "-")))
			}
			code, _, errs := runVAE(ctx, args...)
			if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") > 0 && !strings.Contains(errs, "level=") {
				t.Errorf("exit %d, stderr %q: want a failure on one line", code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}
