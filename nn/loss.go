package nn

import (
	"math"

	"github.com/govae/vae/kernel"
)

// BCEWithLogits returns the binary cross-entropy −Σ [t·log σ(l) + (1−t)·log(1−σ(l))]
// summed over all elements of targets t ∈ [0, 1] and logits l, computed in the
// stable form max(l,0) − l·t + log(1+e^−|l|) by the vectorised
// kernel.BCEWithLogits (float32 per element, within 1e-6 relative of the
// exact value; sums in float64). Per-row sums go to rowLoss when it is not nil
// (len = rows). When grad is not nil it receives scale·dLoss/dl = scale·(σ(l) − t).
func BCEWithLogits(grad, rowLoss, logits, targets []float32, scale float32) float64 {
	return kernel.BCEWithLogits(grad, rowLoss, logits, targets, scale)
}

// GaussianKL returns KL(N(μ, diag e^logVar) ‖ N(0, I)) = −½ Σ (1 + logVar − μ² − e^logVar),
// summed over all elements. Per-row sums go to rowLoss when it is not nil.
// When dMean and dLogVar are not nil they receive scale times the gradients
// μ and ½(e^logVar − 1).
func GaussianKL(dMean, dLogVar, rowLoss, mean, logVar []float32, scale float32) float64 {
	rows := 1
	if rowLoss != nil {
		rows = len(rowLoss)
	}
	cols := len(mean) / rows
	var total float64
	for r := range rows {
		var sum float64
		for i := r * cols; i < (r+1)*cols; i++ {
			m, lv := float64(mean[i]), float64(logVar[i])
			v := math.Exp(lv)
			sum += -0.5 * (1 + lv - m*m - v)
			if dMean != nil {
				dMean[i] = scale * float32(m)
				dLogVar[i] = scale * float32(0.5*(v-1))
			}
		}
		if rowLoss != nil {
			rowLoss[r] = float32(sum)
		}
		total += sum
	}
	return total
}

// GaussianNLL returns the negative log-likelihood of targets t under
// independent Gaussians N(μ, e^logVar), ½ Σ ((t−μ)²·e^−logVar + logVar +
// log 2π), summed over all elements of mean μ and targets [rows, cols];
// logVar [cols] is shared by the rows. Per-row sums go to rowLoss when it is
// not nil (len = rows). When dMean is not nil it receives scale·dLoss/dμ =
// scale·(μ−t)·e^−logVar; when dLogVar is not nil, scale·dLoss/dlogVar =
// scale·½ Σ_rows (1 − (t−μ)²·e^−logVar) is added to it.
func GaussianNLL(dMean, dLogVar, rowLoss, mean, logVar, targets []float32, scale float32) float64 {
	cols := len(logVar)
	rows := len(mean) / cols
	const log2Pi = 1.8378770664093453
	var total float64
	for r := range rows {
		var sum float64
		for j, lv := range logVar {
			i := r*cols + j
			d := float64(targets[i]) - float64(mean[i])
			prec := math.Exp(-float64(lv))
			sum += d*d*prec + float64(lv) + log2Pi
			if dMean != nil {
				dMean[i] = scale * float32(-d*prec)
			}
			if dLogVar != nil {
				dLogVar[j] += scale * float32(0.5*(1-d*d*prec))
			}
		}
		sum /= 2
		if rowLoss != nil {
			rowLoss[r] = float32(sum)
		}
		total += sum
	}
	return total
}

// SoftmaxCrossEntropy returns the cross-entropy −Σ t·log softmax(l) of one
// categorical distribution with logits l and target probabilities t (a
// one-hot row for an observed category), log-sum-exp stabilised, in float64.
// When grad is not nil it receives scale·dLoss/dl = scale·(softmax(l)·Σt − t).
func SoftmaxCrossEntropy(grad, logits, targets []float32, scale float32) float64 {
	hi := math.Inf(-1)
	for _, l := range logits {
		hi = max(hi, float64(l))
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - hi)
	}
	lse := hi + math.Log(sum)
	var loss, mass float64
	for j, l := range logits {
		t := float64(targets[j])
		loss -= t * (float64(l) - lse)
		mass += t
	}
	if grad != nil {
		for j, l := range logits {
			grad[j] = scale * float32(math.Exp(float64(l)-lse)*mass-float64(targets[j]))
		}
	}
	return loss
}
