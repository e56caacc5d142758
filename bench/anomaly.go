package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/govae/vae/anomaly"
	"github.com/govae/vae/dataset"
	"github.com/govae/vae/run"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// AnomalyOptions say what Anomaly measures. Zero fields take the defaults
// in their comments.
type AnomalyOptions struct {
	Dir        string   // folder for the breast-cancer table, its split and the baselines' JSON
	MNIST      string   // MNIST's IDX folder; default ~/.cache/vae/mnist; "-" skips it
	Fashion    string   // Fashion-MNIST's; default /usr/share/datasets/fashion-mnist; "-" skips it
	Table      bool     // the breast-cancer table too (needs python3-sklearn)
	Classes    []int    // default 0 to 9
	Hidden     []int    // the VAE's hidden layers; default [512]
	Latent     int      // default 20
	Likelihood string   // the images' p(x|z): bernoulli (the zero value) or gaussian (vae bench anomaly's default)
	Epochs     int      // default 30
	Score      string   // vae.ScoreELBO (default) or vae.ScoreNLL
	K          int      // importance samples of ScoreNLL; default 100
	Python     string   // default /usr/bin/python3; "-" skips the baselines
	Script     string   // default scripts/anomaly_baselines.py
	Detectors  []string // the baselines' detectors; default all
	TableEpoch int      // epochs of the table's model; default 200
	TableShape []int    // the table model's hidden layers, then its latent size; default 64, 2
	Logger     *slog.Logger
}

// AnomalyRow is one benchmark's result: the VAE's AUROC and the baselines'.
type AnomalyRow struct {
	Benchmark string             `json:"benchmark"`
	Class     *int               `json:"class,omitempty"`
	VAE       float64            `json:"vae"`
	Seconds   float64            `json:"seconds"` // the VAE's training and scoring
	Baselines map[string]float64 `json:"baselines,omitempty"`
}

// AnomalyReport is what Anomaly measured.
type AnomalyReport struct {
	Model     string
	Score     string
	Rows      []AnomalyRow
	Detectors []string
	Note      string // why the baselines are missing, if they are
	CPU       string
}

// Anomaly measures the VAE as an anomaly detector on the one-class
// protocol of Ruff et al. (2018): for each class c of MNIST and
// Fashion-MNIST, a model trained on the training images of c alone scores
// the whole test set, and the AUROC of "not c" against c is reported; and
// on the Wisconsin breast-cancer table (benign normal: trained on a seeded
// 70% of the benign rows, tested on the other benign and all malignant
// rows). scripts/anomaly_baselines.py runs kNN, Isolation Forest, PCA and
// OC-SVM on the same splits in the same run.
func Anomaly(ctx context.Context, o AnomalyOptions) (*AnomalyReport, error) {
	home, _ := os.UserHomeDir()
	o.MNIST = cmp.Or(o.MNIST, filepath.Join(home, ".cache", "vae", "mnist"))
	o.Fashion = cmp.Or(o.Fashion, "/usr/share/datasets/fashion-mnist")
	o.Python = cmp.Or(o.Python, "/usr/bin/python3")
	o.Script = cmp.Or(o.Script, "scripts/anomaly_baselines.py")
	o.Score = cmp.Or(o.Score, vae.ScoreELBO)
	if o.Classes == nil {
		o.Classes = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	if o.Hidden == nil {
		o.Hidden = []int{512}
	}
	if o.Latent == 0 {
		o.Latent = 20
	}
	if o.Epochs == 0 {
		o.Epochs = 30
	}
	if o.K == 0 {
		o.K = 100
	}
	if o.TableEpoch == 0 {
		o.TableEpoch = 200
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	r := &AnomalyReport{Model: fmt.Sprintf("%v-%d %s, %d epochs", o.Hidden, o.Latent, cmp.Or(o.Likelihood, "bernoulli"), o.Epochs), Score: o.Score, CPU: cpuName()}
	det := vae.Detector{Score: o.Score, K: o.K, Seed: 1}
	if o.Score != vae.ScoreNLL {
		det.K = 0
	}

	// The breast-cancer table and its split come from the Python side.
	bcCSV, bcSplit := filepath.Join(o.Dir, "breast_cancer.csv"), filepath.Join(o.Dir, "bc_split.csv")
	if o.Table {
		if out, err := exec.CommandContext(ctx, o.Python, "scripts/breast_cancer.py", bcCSV).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("scripts/breast_cancer.py: %v: %s", err, out)
		}
	}
	baselines, err := r.runBaselines(ctx, o, bcSplit)
	if err != nil {
		return nil, err
	}

	for _, name := range []string{"mnist", "fashion-mnist"} {
		dir := o.MNIST
		if name == "fashion-mnist" {
			dir = o.Fashion
		}
		if dir == "-" {
			continue
		}
		opts := dataset.Options{Dir: dir, Logger: o.Logger}
		if _, err := os.Stat(dir); err != nil {
			opts.Dir = "" // found or fetched as every command does
		}
		train, test, _, err := dataset.Open(ctx, name, opts)
		if err != nil {
			return nil, err
		}
		for _, c := range o.Classes {
			start := time.Now()
			auroc, err := oneClass(ctx, o, det, train, test, uint8(c))
			if err != nil {
				return nil, fmt.Errorf("%s class %d: %w", name, c, err)
			}
			class := c
			row := AnomalyRow{Benchmark: name, Class: &class, VAE: auroc, Seconds: time.Since(start).Seconds(), Baselines: baselines[key(name, c)]}
			o.Logger.Info("one-class", "benchmark", name, "class", c, "auroc", auroc, "seconds", row.Seconds)
			r.Rows = append(r.Rows, row)
		}
	}
	if o.Table {
		start := time.Now()
		auroc, err := breastCancer(ctx, o, det, bcCSV, bcSplit)
		if err != nil {
			return nil, fmt.Errorf("breast cancer: %w", err)
		}
		r.Rows = append(r.Rows, AnomalyRow{Benchmark: "breast-cancer", VAE: auroc, Seconds: time.Since(start).Seconds(), Baselines: baselines[key("breast-cancer", -1)]})
	}
	return r, nil
}

func key(benchmark string, class int) string { return benchmark + "/" + strconv.Itoa(class) }

// runBaselines runs the Python detectors and returns their AUROCs by
// benchmark and class, then detector.
func (r *AnomalyReport) runBaselines(ctx context.Context, o AnomalyOptions, bcSplit string) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	if o.Python == "-" {
		r.Note = "baselines skipped (--python -)"
		if o.Table {
			return nil, fmt.Errorf("the breast-cancer table's split comes from the baselines' script: run it, or leave out the table")
		}
		return out, nil
	}
	args := []string{o.Script, "--json", filepath.Join(o.Dir, "baselines.json"), "--classes", joinInts(o.Classes)}
	if o.MNIST != "-" {
		args = append(args, "--mnist", o.MNIST)
	}
	if o.Fashion != "-" {
		args = append(args, "--fashion", o.Fashion)
	}
	if o.Table {
		args = append(args, "--bc-split", bcSplit)
	} else {
		args = append(args, "--no-breast-cancer")
	}
	if o.Detectors != nil {
		args = append(args, "--detectors", strings.Join(o.Detectors, ","))
	}
	cmd := exec.CommandContext(ctx, o.Python, args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if o.Table {
			return nil, fmt.Errorf("%s %s: %v: %s", o.Python, o.Script, err, lastLine(msg))
		}
		r.Note = fmt.Sprintf("baselines not measured: %s %s: %v (apt-get install python3-sklearn)", o.Python, o.Script, err)
		return out, nil
	}
	data, err := os.ReadFile(filepath.Join(o.Dir, "baselines.json"))
	if err != nil {
		return nil, err
	}
	var res struct {
		Results []struct {
			Benchmark, Detector string
			Class               *int
			AUROC               float64
		}
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Script, err)
	}
	for _, x := range res.Results {
		c := -1
		if x.Class != nil {
			c = *x.Class
		}
		k := key(x.Benchmark, c)
		if out[k] == nil {
			out[k] = map[string]float64{}
		}
		out[k][x.Detector] = x.AUROC
		if !slices.Contains(r.Detectors, x.Detector) {
			r.Detectors = append(r.Detectors, x.Detector)
		}
	}
	return out, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// oneClass trains a model on the training images of class c and returns
// the AUROC of its scores of the test set, anomalies being the other
// classes.
func oneClass(ctx context.Context, o AnomalyOptions, det vae.Detector, train, test *dataset.Set, c uint8) (float64, error) {
	var idx []int
	for i, l := range train.Labels {
		if l == c {
			idx = append(idx, i)
		}
	}
	normal := &dataset.Set{Name: fmt.Sprintf("%s/class-%d", train.Name, c), X: make([]float32, len(idx)*train.Dim), N: len(idx), Dim: train.Dim, Rows: train.Rows, Cols: train.Cols}
	train.Gather(normal.X, idx)
	m, err := vae.New(vae.Config{Input: train.Dim, Hidden: o.Hidden, Latent: o.Latent, Likelihood: vae.Likelihood(o.Likelihood)}, rand.New(rand.NewPCG(1, uint64(c))))
	if err != nil {
		return 0, err
	}
	if _, err := m.Train(ctx, normal, nil, vae.TrainOptions{Epochs: o.Epochs, Seed: 1}); err != nil {
		return 0, err
	}
	scores, err := m.AnomalyScores(ctx, test.X, det)
	if err != nil {
		return 0, err
	}
	odd := make([]bool, test.N)
	for i, l := range test.Labels {
		odd[i] = l != c
	}
	return anomaly.AUROC(scores, odd)
}

// breastCancer trains a table model on the benign training rows of the
// split and returns the AUROC of its scores of the test rows, malignant
// being the anomalies.
func breastCancer(ctx context.Context, o AnomalyOptions, det vae.Detector, path, splitPath string) (float64, error) {
	t, err := table.Open(path, table.Options{})
	if err != nil {
		return 0, err
	}
	defer t.Close()
	rows, err := table.ReadAll(t)
	if err != nil {
		return 0, err
	}
	split, err := readSplit(splitPath)
	if err != nil {
		return 0, err
	}
	var trainRows, testRows table.Rows
	trainRows, testRows = *rows, *rows
	trainRows.Records, testRows.Records, trainRows.Lines, testRows.Lines = nil, nil, nil, nil
	for i, rec := range rows.Records {
		switch split[rec[0]] {
		case "train":
			trainRows.Records, trainRows.Lines = append(trainRows.Records, rec), append(trainRows.Lines, rows.Line(i))
		case "test":
			testRows.Records, testRows.Lines = append(testRows.Records, rec), append(testRows.Lines, rows.Line(i))
		}
	}
	schema, err := run.InferSchema(&trainRows, run.DataOptions{ID: "id", Label: "diagnosis"})
	if err != nil {
		return 0, err
	}
	classes := []string{"benign", "malignant"}
	trainSet, err := run.TableSet(schema, &trainRows, "breast-cancer/train", classes)
	if err != nil {
		return 0, err
	}
	testSet, err := run.TableSet(schema, &testRows, "breast-cancer/test", classes)
	if err != nil {
		return 0, err
	}
	shape := o.TableShape
	if len(shape) < 1 {
		shape = []int{64, 2}
	}
	m, err := vae.New(vae.Config{Input: schema.Width(), Hidden: shape[:len(shape)-1], Latent: shape[len(shape)-1], Parts: vae.TableParts(schema)}, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		return 0, err
	}
	if _, err := m.Train(ctx, trainSet, nil, vae.TrainOptions{Epochs: o.TableEpoch, Seed: 1}); err != nil {
		return 0, err
	}
	scores, err := m.AnomalyScores(ctx, testSet.X, det)
	if err != nil {
		return 0, err
	}
	odd := make([]bool, testSet.N)
	for i, l := range testSet.Labels {
		odd[i] = l == 1
	}
	return anomaly.AUROC(scores, odd)
}

// readSplit reads the baselines' split of the breast-cancer rows: id → train|test.
func readSplit(path string) (map[string]string, error) {
	t, err := table.Open(path, table.Options{Header: table.Bool(true)})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	out := map[string]string{}
	for {
		rec, err := t.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out[rec[0]] = rec[1]
	}
}

// WriteTable prints the AUROCs: every class, then each benchmark's mean.
func (r *AnomalyReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "AUROC, one-class protocol; VAE %s, score %s; %s\n", r.Model, r.Score, r.CPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "benchmark\tclass\tvae\t"
	for _, d := range r.Detectors {
		head += d + "\t"
	}
	fmt.Fprintln(tw, head+"vae seconds\t")
	line := func(bench, class string, vae float64, base map[string]float64, secs float64) {
		s := fmt.Sprintf("%s\t%s\t%.3f\t", bench, class, vae)
		for _, d := range r.Detectors {
			if v, ok := base[d]; ok {
				s += fmt.Sprintf("%.3f\t", v)
			} else {
				s += "–\t"
			}
		}
		fmt.Fprintln(tw, s+fmt.Sprintf("%.1f\t", secs))
	}
	var order []string
	sum := map[string]*AnomalyRow{}
	count := map[string]int{}
	for _, row := range r.Rows {
		class := "–"
		if row.Class != nil {
			class = strconv.Itoa(*row.Class)
		}
		line(row.Benchmark, class, row.VAE, row.Baselines, row.Seconds)
		s := sum[row.Benchmark]
		if s == nil {
			s = &AnomalyRow{Baselines: map[string]float64{}}
			sum[row.Benchmark] = s
			order = append(order, row.Benchmark)
		}
		s.VAE += row.VAE
		s.Seconds += row.Seconds
		for d, v := range row.Baselines {
			s.Baselines[d] += v
		}
		count[row.Benchmark]++
	}
	for _, b := range order {
		s, n := sum[b], float64(count[b])
		for d := range s.Baselines {
			s.Baselines[d] /= n
		}
		line(b, "mean", s.VAE/n, s.Baselines, s.Seconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Note != "" {
		fmt.Fprintln(w, r.Note)
	}
	return nil
}
