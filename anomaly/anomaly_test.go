package anomaly

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Known answers, worked by hand; ties count ½ in the AUROC and enter the
// precision–recall curve together.
func TestMetrics(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scores    []float64
		anomalous []bool
		auroc, ap float64
	}{
		// perfect: every anomaly above every normal example
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1, 1},
		// reversed
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0, 0.5*1.0/3 + 0.5*2.0/4},
		// all tied: AUROC ½, AP the share of anomalies
		{"all tied", []float64{1, 1, 1, 1}, []bool{true, false, false, false}, 0.5, 0.25},
		// one pair tied: pairs (a=0.8 vs n=0.8) ½, (a=0.8 vs n=0.1) 1, (a=0.3 vs n=0.8) 0, (a=0.3 vs n=0.1) 1 → 2.5/4;
		// AP: at 0.8 two flagged, one anomaly: R=½, P=½; at 0.3: R=1, P=⅔ → ½·½ + ½·⅔
		{"a tie", []float64{0.8, 0.8, 0.3, 0.1}, []bool{true, false, true, false}, 2.5 / 4, 0.25 + 1.0/3},
		// scikit-learn's documented example: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75, AP 0.8333…
		{"scikit-learn", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75, 5.0 / 6},
	} {
		auroc, err := AUROC(tc.scores, tc.anomalous)
		if err != nil || !near(auroc, tc.auroc) {
			t.Errorf("%s: AUROC %v, %v; want %v", tc.name, auroc, err, tc.auroc)
		}
		ap, err := AveragePrecision(tc.scores, tc.anomalous)
		if err != nil || !near(ap, tc.ap) {
			t.Errorf("%s: AP %v, %v; want %v", tc.name, ap, err, tc.ap)
		}
		roc, err := ROC(tc.scores, tc.anomalous)
		if err != nil {
			t.Fatal(err)
		}
		// the trapezoids under the curve are the AUROC, ties included
		var area float64
		for i := 1; i < len(roc); i++ {
			area += (roc[i].FPR - roc[i-1].FPR) * (roc[i].TPR + roc[i-1].TPR) / 2
		}
		if last := roc[len(roc)-1]; !near(area, tc.auroc) || last.FPR != 1 || last.TPR != 1 {
			t.Errorf("%s: ROC %v: area %v, want %v, ending at (1, 1)", tc.name, roc, area, tc.auroc)
		}
	}
}

func TestMetricErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scores    []float64
		anomalous []bool
		want      string
	}{
		{"one class", []float64{1, 2}, []bool{true, true}, "both classes"},
		{"lengths", []float64{1, 2}, []bool{true}, "2 scores for 1 labels"},
		{"NaN", []float64{1, math.NaN()}, []bool{true, false}, "score 1 is NaN"},
	} {
		if _, err := AUROC(tc.scores, tc.anomalous); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: AUROC error %v, want %q", tc.name, err, tc.want)
		}
		if _, err := AveragePrecision(tc.scores, tc.anomalous); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: AP error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Thresholds are numpy.percentile's: np.percentile([1,2,3,4,5], 90) = 4.6.
func TestThreshold(t *testing.T) {
	scores := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct {
		contamination, want float64
	}{{0.1, 4.6}, {0.5, 3}, {0.25, 4}, {0.99, 1.04}} {
		got, err := Threshold(scores, tc.contamination)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Threshold(%v) = %v, %v; want %v", tc.contamination, got, err, tc.want)
		}
	}
	for _, c := range []float64{0, 1, -0.1, math.NaN()} {
		if _, err := Threshold(scores, c); err == nil {
			t.Errorf("contamination %v: no error", c)
		}
	}
	if q, _ := Quantile([]float64{7}, 0.3); q != 7 {
		t.Errorf("quantile of one score %v, want 7", q)
	}
	if _, err := Quantile(nil, 0.5); err == nil {
		t.Error("quantile of no scores: no error")
	}
}

// Decisions flag scores above the threshold; a score equal to it is normal.
func TestConfusion(t *testing.T) {
	c, err := At([]float64{0.1, 0.5, 0.5, 0.9, 0.7}, []bool{false, true, false, true, false}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Confusion{TP: 1, FP: 1, TN: 2, FN: 1}) {
		t.Fatalf("confusion %+v", c)
	}
	if !near(c.Precision(), 0.5) || !near(c.Recall(), 0.5) || !near(c.F1(), 0.5) {
		t.Errorf("precision %v recall %v F1 %v, want ½ each", c.Precision(), c.Recall(), c.F1())
	}
	if (Confusion{TN: 3}).F1() != 0 || (Confusion{TN: 3}).Precision() != 0 {
		t.Error("nothing flagged: want precision and F1 0")
	}
}

// The metrics equal scikit-learn's roc_auc_score and
// average_precision_score on random scores with many ties, when Debian's
// python3-sklearn is there.
func TestMatchesScikitLearn(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import sklearn").Run(); err != nil {
		t.Skip("skipped: /usr/bin/python3 cannot import sklearn; apt-get install python3-sklearn")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	scores, anomalous := make([]float64, 300), make([]bool, 300)
	for i := range scores {
		anomalous[i] = rng.Float64() < 0.2
		scores[i] = float64(rng.IntN(20)) // ties
		if anomalous[i] {
			scores[i] += 5
		}
	}
	js, _ := json.Marshal(map[string]any{"s": scores, "y": anomalous})
	script := `import json, sys
from sklearn.metrics import roc_auc_score, average_precision_score
d = json.load(sys.stdin)
print(json.dumps([roc_auc_score(d["y"], d["s"]), average_precision_score(d["y"], d["s"])]))`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(js)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [2]float64
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	auroc, _ := AUROC(scores, anomalous)
	ap, _ := AveragePrecision(scores, anomalous)
	if math.Abs(auroc-want[0]) > 1e-12 || math.Abs(ap-want[1]) > 1e-12 {
		t.Errorf("AUROC %v, AP %v; scikit-learn %v, %v", auroc, ap, want[0], want[1])
	}
}

// A blank image needs far fewer bits than a noisy one.
func TestPNGBits(t *testing.T) {
	blank, noise := make([]float32, 784), make([]float32, 784)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range noise {
		noise[i] = rng.Float32()
	}
	b, n := PNGBits(blank, 28, 28), PNGBits(noise, 28, 28)
	if b <= 0 || n < 784*8*9/10 || b*5 > n {
		t.Errorf("blank %d bits, noise %d bits: want blank ≪ noise ≈ 6272", b, n)
	}
}
