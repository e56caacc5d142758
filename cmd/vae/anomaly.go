package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/govae/vae/anomaly"
	"github.com/govae/vae/dataset"
	"github.com/govae/vae/plot"
	"github.com/govae/vae/run"
	"github.com/govae/vae/vae"
)

// detectorFlags are the flags that say how a detector scores and chooses
// its threshold.
type detectorFlags struct {
	d vae.Detector
}

// add adds the flags to fs, --seed too unless fs has one.
func (f *detectorFlags) add(fs *pflag.FlagSet) {
	fs.Float64Var(&f.d.Contamination, "contamination", 0, "the share of the normal set (validation, else training) above the threshold, e.g. 0.05")
	fs.Float64Var(&f.d.Quantile, "quantile", 0, "or: the threshold is this quantile of the normal set's scores, e.g. 0.99")
	fs.StringVar(&f.d.Score, "score", vae.ScoreELBO, "what the detector ranks by: elbo (negative ELBO), nll (−log p(x), with --k), recon (reconstruction term) or complexity (ELBO bits less PNG bits, Serrà et al. 2020)")
	fs.IntVar(&f.d.K, "k", 100, "importance samples per input of --score nll")
	f.d.Seed = 1
	if fs.Lookup("seed") == nil {
		fs.Uint64Var(&f.d.Seed, "seed", 1, "seed of the scores' draws")
	}
}

// detector returns the detector the flags describe, or nil when neither
// --contamination nor --quantile was given.
func (f *detectorFlags) detector(fs *pflag.FlagSet) (*vae.Detector, error) {
	if !fs.Changed("contamination") && !fs.Changed("quantile") {
		return nil, nil
	}
	d := f.d
	if d.Score != vae.ScoreNLL {
		d.K = 0
	}
	switch {
	case fs.Changed("contamination") && fs.Changed("quantile"):
		return nil, usageError{fmt.Errorf("--contamination or --quantile, not both")}
	case fs.Changed("contamination") && !(d.Contamination > 0 && d.Contamination < 1):
		return nil, usageError{fmt.Errorf("--contamination %v, want a share between 0 and 1", d.Contamination)}
	case fs.Changed("quantile") && !(d.Quantile > 0 && d.Quantile < 1):
		return nil, usageError{fmt.Errorf("--quantile %v, want between 0 and 1", d.Quantile)}
	case d.Score != vae.ScoreELBO && d.Score != vae.ScoreNLL && d.Score != vae.ScoreRecon && d.Score != vae.ScoreComplexity:
		return nil, usageError{fmt.Errorf("--score %q, want elbo, nll, recon or complexity", d.Score)}
	case d.Score == vae.ScoreNLL && (d.K < 1 || d.K > vae.MaxK):
		return nil, usageError{fmt.Errorf("--k %d, want 1 to %d", d.K, vae.MaxK)}
	}
	return &d, nil
}

func newThreshold(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var f detectorFlags
	cmd := &cobra.Command{
		Use:   "threshold MODEL|RUN (--contamination Q | --quantile P)",
		Short: "Choose a model's anomaly threshold from its normal data and store it in the model",
		Long: `Score the run's normal set (its validation set if it has one, else its training
set) with --score, choose the threshold that leaves --contamination of them
above it (PyOD's threshold_), or their --quantile, and write it into the
model file. vae score then adds an anomaly column (1 above the threshold),
vae eval reports precision, recall and F1 at it, and vae serve returns the
decision.`,
		Example: "  vae threshold --contamination 0.05 runs/mnist-512-2\n  vae threshold --quantile 0.99 --score nll --k 200 runs/breast_cancer-64-2",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			d, err := f.detector(cmd.Flags())
			if err != nil {
				return err
			}
			if d == nil {
				return usageError{fmt.Errorf("give --contamination Q or --quantile P")}
			}
			op, err := run.FitDetector(cmd.Context(), a[0], *d, run.OpenOptions{Logger: logger, Download: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			got := op.Model.Detector
			fmt.Fprintf(stdout, "%s: threshold %.6g of the %s score, from %d examples of %s\n", op.Path, got.Threshold, got.Score, got.Fitted, got.FittedOn)
			return nil
		},
	}
	f.add(cmd.Flags())
	return cmd
}

// Evaluation of a detector against labels, as vae eval prints it.
type detection struct {
	Normal    string  `json:"normal_class"`
	Anomalies int     `json:"anomalies"`
	Normals   int     `json:"normals"`
	Score     string  `json:"score"`
	AUROC     float64 `json:"auroc"`
	AP        float64 `json:"average_precision"`

	Threshold *float64 `json:"threshold,omitempty"` // the model's detector's
	Precision float64  `json:"precision,omitempty"`
	Recall    float64  `json:"recall,omitempty"`
	F1        float64  `json:"f1,omitempty"`
}

// normalClass returns the label of class c, a class name or number, of s.
func normalClass(s *dataset.Set, c string) (uint8, error) {
	if s.Labels == nil {
		return 0, fmt.Errorf("%s has no labels: --normal-class needs them (a table's --label column, class folders, MNIST's digits)", s.Name)
	}
	if i := slices.Index(s.ClassNames, c); i >= 0 {
		return uint8(i), nil
	}
	if n, err := strconv.Atoi(c); err == nil && n >= 0 && n < 256 && (s.Classes == 0 || n < s.Classes) {
		return uint8(n), nil
	}
	return 0, fmt.Errorf("--normal-class %q is not a class of %s (classes: %v)", c, s.Name, classList(s))
}

// classList names the classes of s for an error.
func classList(s *dataset.Set) any {
	if s.ClassNames != nil {
		return s.ClassNames
	}
	return fmt.Sprintf("0 to %d", s.Classes-1)
}

// detect measures how the model's scores of test find the examples whose
// class is not normal, and draws roc.png and scores.png into dir when it is
// not empty.
func detect(cmd *cobra.Command, m *vae.Model, test *dataset.Set, normal string, dir string) (*detection, error) {
	c, err := normalClass(test, normal)
	if err != nil {
		return nil, usageError{err}
	}
	d := vae.Detector{Score: vae.ScoreELBO, Seed: 1}
	if m.Detector != nil {
		d = *m.Detector
	}
	scores, err := m.AnomalyScores(cmd.Context(), test.X, d)
	if err != nil {
		return nil, err
	}
	odd := make([]bool, len(scores))
	r := &detection{Normal: normal, Score: d.Score}
	var groups [2][]float64
	for i, l := range test.Labels {
		odd[i] = l != c
		if odd[i] {
			r.Anomalies++
			groups[1] = append(groups[1], scores[i])
		} else {
			r.Normals++
			groups[0] = append(groups[0], scores[i])
		}
	}
	if r.AUROC, err = anomaly.AUROC(scores, odd); err != nil {
		return nil, err
	}
	if r.AP, err = anomaly.AveragePrecision(scores, odd); err != nil {
		return nil, err
	}
	threshold := math.NaN()
	if m.Detector != nil {
		threshold = m.Detector.Threshold
		conf, _ := anomaly.At(scores, odd, threshold)
		r.Threshold, r.Precision, r.Recall, r.F1 = &m.Detector.Threshold, conf.Precision(), conf.Recall(), conf.F1()
	}
	if dir == "" {
		return r, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	roc, _ := anomaly.ROC(scores, odd)
	fpr, tpr := make([]float64, len(roc)), make([]float64, len(roc))
	for i, p := range roc {
		fpr[i], tpr[i] = p.FPR, p.TPR
	}
	title := fmt.Sprintf("%s, normal class %s: AUROC %.3f", test.Name, normal, r.AUROC)
	if err := plot.LossCurves(filepath.Join(dir, "roc.png"), []plot.Series{{Name: d.Score, X: fpr, Y: tpr}, {Name: "chance", X: []float64{0, 1}, Y: []float64{0, 1}}},
		plot.ChartOptions{Title: title, XLabel: "false positive rate", YLabel: "true positive rate"}); err != nil {
		return nil, err
	}
	if err := plot.ScoreHistogram(filepath.Join(dir, "scores.png"), groups, [2]string{"normal", "anomalous"}, threshold,
		plot.ChartOptions{Title: title, XLabel: d.Score + " score"}); err != nil {
		return nil, err
	}
	return r, nil
}

// printDetection prints r as text.
func printDetection(w io.Writer, r *detection) {
	fmt.Fprintf(w, "anomalies: not class %s (%d of %d), by %s score\nAUROC %.4f\nAP    %.4f\n", r.Normal, r.Anomalies, r.Anomalies+r.Normals, r.Score, r.AUROC, r.AP)
	if r.Threshold != nil {
		fmt.Fprintf(w, "at threshold %.6g: precision %.4f, recall %.4f, F1 %.4f\n", *r.Threshold, r.Precision, r.Recall, r.F1)
	}
}
