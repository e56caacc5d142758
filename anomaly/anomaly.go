// Package anomaly turns scores into decisions and measures them: a
// threshold chosen from the scores of normal examples, and how well scores
// or decisions find the anomalies of a labelled set (the area under the ROC
// curve, average precision, precision, recall and F1).
//
// Scores are high for anomalies: a model's negative ELBO or −log p(x), a
// detector's distance. The conventions are scikit-learn's and PyOD's: an
// example is flagged when its score is above the threshold, and a
// threshold for a contamination c is the (1 − c) quantile of the training
// scores, as PyOD's threshold_.
package anomaly

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// check reports scores and labels that cannot be measured.
func check(scores []float64, anomalous []bool) (pos, neg int, err error) {
	if len(scores) != len(anomalous) {
		return 0, 0, fmt.Errorf("%d scores for %d labels", len(scores), len(anomalous))
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, 0, fmt.Errorf("score %d is NaN", i)
		}
		if anomalous[i] {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return pos, neg, fmt.Errorf("%d anomalies and %d normal examples: both classes are needed", pos, neg)
	}
	return pos, neg, nil
}

// byScore returns the indices of scores from the highest score down.
func byScore(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return idx
}

// AUROC returns the area under the ROC curve of scores against labels
// (anomalous true for the positive class): the probability that a random
// anomaly scores above a random normal example, a tie counting ½ (the
// Mann–Whitney U statistic over n₊·n₋). 0.5 is chance, 1 a perfect ranking.
func AUROC(scores []float64, anomalous []bool) (float64, error) {
	pos, neg, err := check(scores, anomalous)
	if err != nil {
		return 0, fmt.Errorf("auroc: %w", err)
	}
	// Walk down the scores a group of ties at a time: each anomaly of a
	// group outranks the normal examples below it and ties with half of
	// those in its group.
	idx := byScore(scores)
	var u float64
	below := neg // normal examples not yet passed
	for lo := 0; lo < len(idx); {
		hi := lo
		var p, n int
		for ; hi < len(idx) && scores[idx[hi]] == scores[idx[lo]]; hi++ {
			if anomalous[idx[hi]] {
				p++
			} else {
				n++
			}
		}
		below -= n
		u += float64(p) * (float64(below) + float64(n)/2)
		lo = hi
	}
	return u / (float64(pos) * float64(neg)), nil
}

// AveragePrecision returns the area under the precision–recall curve as
// scikit-learn's average_precision_score computes it: Σ (Rₖ − Rₖ₋₁)·Pₖ
// over the distinct scores from the highest down, where Pₖ and Rₖ are the
// precision and recall of flagging every example scoring at least the k-th
// distinct score (tied examples enter together). Chance is the share of
// anomalies.
func AveragePrecision(scores []float64, anomalous []bool) (float64, error) {
	pos, _, err := check(scores, anomalous)
	if err != nil {
		return 0, fmt.Errorf("average precision: %w", err)
	}
	idx := byScore(scores)
	var ap, recall float64
	var tp, flagged int
	for lo := 0; lo < len(idx); {
		hi := lo
		for ; hi < len(idx) && scores[idx[hi]] == scores[idx[lo]]; hi++ {
			if anomalous[idx[hi]] {
				tp++
			}
			flagged++
		}
		r := float64(tp) / float64(pos)
		ap += (r - recall) * float64(tp) / float64(flagged)
		recall = r
		lo = hi
	}
	return ap, nil
}

// ROCPoint is a point of the ROC curve: the false and true positive rates
// of flagging every score at least Threshold.
type ROCPoint struct {
	Threshold float64
	FPR, TPR  float64
}

// ROC returns the ROC curve of scores against labels, from (0, 0) at a
// threshold of +Inf to (1, 1), one point per distinct score.
func ROC(scores []float64, anomalous []bool) ([]ROCPoint, error) {
	pos, neg, err := check(scores, anomalous)
	if err != nil {
		return nil, fmt.Errorf("roc: %w", err)
	}
	idx := byScore(scores)
	curve := []ROCPoint{{Threshold: math.Inf(1)}}
	var tp, fp int
	for lo := 0; lo < len(idx); {
		hi := lo
		for ; hi < len(idx) && scores[idx[hi]] == scores[idx[lo]]; hi++ {
			if anomalous[idx[hi]] {
				tp++
			} else {
				fp++
			}
		}
		curve = append(curve, ROCPoint{Threshold: scores[idx[lo]], FPR: float64(fp) / float64(neg), TPR: float64(tp) / float64(pos)})
		lo = hi
	}
	return curve, nil
}

// Threshold returns the score above which a share contamination of the
// given scores (those of normal training or validation examples) lies: their
// (1 − contamination) quantile, interpolated linearly between order
// statistics as numpy.percentile does, and so PyOD's threshold_.
func Threshold(scores []float64, contamination float64) (float64, error) {
	if !(contamination > 0 && contamination < 1) {
		return 0, fmt.Errorf("contamination %v, want a share between 0 and 1", contamination)
	}
	return Quantile(scores, 1-contamination)
}

// Quantile returns the q quantile of scores, interpolated linearly between
// order statistics (numpy.percentile's default).
func Quantile(scores []float64, q float64) (float64, error) {
	if !(q >= 0 && q <= 1) {
		return 0, fmt.Errorf("quantile %v, want 0 to 1", q)
	}
	if len(scores) == 0 {
		return 0, errors.New("quantile of no scores")
	}
	s := slices.Clone(scores)
	for i, v := range s {
		if math.IsNaN(v) {
			return 0, fmt.Errorf("score %d is NaN", i)
		}
	}
	slices.Sort(s)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(s) {
		return s[len(s)-1], nil
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo]), nil
}

// Confusion counts the decisions of a threshold against labels.
type Confusion struct {
	TP, FP, TN, FN int
}

// At returns the confusion of flagging the scores above threshold.
func At(scores []float64, anomalous []bool, threshold float64) (Confusion, error) {
	var c Confusion
	if len(scores) != len(anomalous) {
		return c, fmt.Errorf("%d scores for %d labels", len(scores), len(anomalous))
	}
	for i, s := range scores {
		switch flag := s > threshold; {
		case flag && anomalous[i]:
			c.TP++
		case flag:
			c.FP++
		case anomalous[i]:
			c.FN++
		default:
			c.TN++
		}
	}
	return c, nil
}

// Precision is the share of flagged examples that are anomalies; 0 when
// nothing is flagged.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is the share of anomalies flagged; 0 without anomalies.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall; 0 when both are 0.
func (c Confusion) F1() float64 { return ratio(2*c.TP, 2*c.TP+c.FP+c.FN) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
