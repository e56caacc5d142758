package vae

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// ExplainedImage is one of the inputs ExplainImages ranks highest: its
// score, and what the model expected of each of its values.
type ExplainedImage struct {
	Index int     // the input's row of x
	Score float64 // what it is ranked by: the detector's score, else the negative ELBO
	Loss  Loss    // its negative ELBO and terms at the z of Reconstruction and Terms

	// Input is the row of x [Input]; Reconstruction the mean of p(x|z) at
	// the z drawn; Terms the reconstruction term −log p(x_j|z) of each
	// value, adding up to Loss.Recon within float32 rounding.
	Input, Reconstruction, Terms []float32
}

// explainBlock is the number of values of x that ExplainImages scores at a
// time, so that it holds about that many of each of terms and means.
const explainBlock = 1 << 20

// ExplainImages returns the n rows of x [rows, Input] with the highest
// scores, highest first and equal scores in row order, each with its
// reconstruction and per-value terms (InputScores): which pixels make an
// image unlikely. The score is that of m.Detector when the model has one
// (AnomalyScores), else the negative ELBO. The reconstructions and terms
// come from one draw of ε per row from seed, the same draws as
// Scores(x, rand.New(rand.NewPCG(seed, 0))). n above the number of rows
// returns them all; n below 1 is an error. A model of parts is explained
// by columns instead (ExplainTable).
//
// When ctx is cancelled ExplainImages stops and returns an error wrapping
// ctx.Err().
func (m *Model) ExplainImages(ctx context.Context, x []float32, n int, seed uint64) ([]ExplainedImage, error) {
	if m.Config.Parts != nil {
		return nil, errors.New("explain images: a model of parts is explained by its columns (ExplainTable)")
	}
	if n < 1 {
		return nil, fmt.Errorf("explain images: %d images, want ≥ 1", n)
	}
	D := m.Config.Input
	total, err := rows("explain images: x", x, D)
	if err != nil {
		return nil, err
	}
	var det []float64
	if m.Detector != nil {
		if det, err = m.AnomalyScores(ctx, x, *m.Detector); err != nil {
			return nil, fmt.Errorf("explain images: %w", err)
		}
	}
	// Scored a block at a time with one rng, every row gets the draws one
	// call of Scores over x would give it.
	rng := rand.New(rand.NewPCG(seed, 0))
	byRank := func(a, b ExplainedImage) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Index, b.Index))
	}
	n = min(n, total)
	top := make([]ExplainedImage, 0, n+1)
	step := max(1, explainBlock/D)
	for lo := 0; lo < total; lo += step {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("explain images: stopped after %d of %d images: %w", lo, total, err)
		}
		hi := min(total, lo+step)
		xb := x[lo*D : hi*D]
		losses, terms, recon, err := m.InputScores(xb, rng)
		if err != nil {
			return nil, fmt.Errorf("explain images: rows %d to %d: %w", lo, hi-1, err)
		}
		for i, l := range losses {
			e := ExplainedImage{Index: lo + i, Score: l.Total, Loss: l}
			if det != nil {
				e.Score = det[lo+i]
			}
			if len(top) == n && byRank(e, top[n-1]) > 0 {
				continue
			}
			row := func(v []float32) []float32 { return slices.Clone(v[i*D : (i+1)*D]) }
			e.Input, e.Reconstruction, e.Terms = row(xb), row(recon), row(terms)
			k, _ := slices.BinarySearchFunc(top, e, byRank)
			top = slices.Insert(top, k, e)
			if len(top) > n {
				top = top[:n]
			}
		}
	}
	return top, nil
}
