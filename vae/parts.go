package vae

import (
	"fmt"
	"math"

	"github.com/govae/vae/nn"
)

// Part is a block of consecutive inputs with a likelihood of its own, such
// as one column of a table: a model whose Config lists Parts reconstructs
// each by its likelihood, skips the parts missing from a row (NaN) in the
// reconstruction term, and feeds the encoder, beside the inputs with their
// missing values zeroed, one indicator per part that is 1 where it is
// missing (as HI-VAE, Nazábal et al. 2020).
type Part struct {
	Name       string     `json:"name" yaml:"name"`
	Likelihood Likelihood `json:"likelihood" yaml:"likelihood"` // Gaussian (variance learned), Bernoulli or Categorical
	Width      int        `json:"width" yaml:"width"`           // 1, or a Categorical part's number of categories
}

// Categorical is the likelihood of a Part holding a one-hot category: the
// outputs are the logits of a softmax.
const Categorical Likelihood = "categorical"

// checkParts reports the first part of c.Parts that is malformed, or parts
// that do not add up to Input.
func (c Config) checkParts() error {
	if c.Likelihood != "" || c.Sigma != 0 {
		return fmt.Errorf("config: a model of parts has a likelihood per part, not likelihood %q and sigma %v", c.Likelihood, c.Sigma)
	}
	w := 0
	for i, p := range c.Parts {
		switch {
		case p.Width < 1:
			return fmt.Errorf("config: part %d (%s): width %d, want ≥ 1", i, p.Name, p.Width)
		case p.Likelihood == Categorical && p.Width < 2:
			return fmt.Errorf("config: part %d (%s): a categorical part needs width ≥ 2, has %d", i, p.Name, p.Width)
		case p.Likelihood != Categorical && p.Likelihood != Gaussian && p.Likelihood != Bernoulli:
			return fmt.Errorf("config: part %d (%s): unknown likelihood %q (want %s, %s or %s)", i, p.Name, p.Likelihood, Gaussian, Bernoulli, Categorical)
		case p.Likelihood != Categorical && p.Width != 1:
			return fmt.Errorf("config: part %d (%s): a %s part has width 1, not %d", i, p.Name, p.Likelihood, p.Width)
		}
		w += p.Width
	}
	if w != c.Input {
		return fmt.Errorf("config: parts add up to %d inputs, input is %d", w, c.Input)
	}
	return nil
}

// encoderInput is the width of the encoder's input: the inputs, and one
// missing-value indicator per part.
func (c Config) encoderInput() int { return c.Input + len(c.Parts) }

// parts is the likelihood of a model of parts. The Gaussian parts' log-
// variances are their entries of the learned output log-variance.
type parts struct {
	list   []Part
	offset []int // of each part in a row
	width  int   // Input
	logVar *nn.Param
}

func newParts(list []Part, logVar *nn.Param) *parts {
	ps := &parts{list: list, logVar: logVar}
	for _, p := range list {
		ps.offset = append(ps.offset, ps.width)
		ps.width += p.Width
	}
	return ps
}

// missing reports whether part i of row x is missing.
func (ps *parts) missing(x []float32, i int) bool {
	return math.IsNaN(float64(x[ps.offset[i]]))
}

func (ps *parts) nll(grad, rowLoss, partLoss, outputs, x []float32, gradScale float32) float64 {
	D, P := ps.width, len(ps.list)
	var total float64
	for r := range len(outputs) / D {
		xr, out := x[r*D:(r+1)*D], outputs[r*D:(r+1)*D]
		var g []float32
		if grad != nil {
			g = grad[r*D : (r+1)*D]
		}
		var sum float64
		for i, p := range ps.list {
			lo, hi := ps.offset[i], ps.offset[i]+p.Width
			var l float64
			switch {
			case ps.missing(xr, i):
				if g != nil {
					clear(g[lo:hi])
				}
			case p.Likelihood == Gaussian:
				var gi, dlv []float32
				if g != nil {
					gi, dlv = g[lo:hi], ps.logVar.Grad[lo:hi]
				}
				l = nn.GaussianNLL(gi, dlv, nil, out[lo:hi], ps.logVar.Value[lo:hi], xr[lo:hi], gradScale)
			case p.Likelihood == Bernoulli:
				o, t := float64(out[lo]), float64(xr[lo])
				l = max(o, 0) - o*t + math.Log1p(math.Exp(-math.Abs(o)))
				if g != nil {
					g[lo] = gradScale * float32(1/(1+math.Exp(-o))-t)
				}
			default: // Categorical
				var gi []float32
				if g != nil {
					gi = g[lo:hi]
				}
				l = nn.SoftmaxCrossEntropy(gi, out[lo:hi], xr[lo:hi], gradScale)
			}
			if partLoss != nil {
				partLoss[r*P+i] = float32(l)
			}
			sum += l
		}
		if rowLoss != nil {
			rowLoss[r] = float32(sum)
		}
		total += sum
	}
	return total
}

func (ps *parts) mean(dst, outputs []float32) {
	D := ps.width
	for r := range len(outputs) / D {
		out, d := outputs[r*D:(r+1)*D], dst[r*D:(r+1)*D]
		for i, p := range ps.list {
			lo, hi := ps.offset[i], ps.offset[i]+p.Width
			switch p.Likelihood {
			case Gaussian:
				copy(d[lo:hi], out[lo:hi])
			case Bernoulli:
				nn.Sigmoid(d[lo:hi], out[lo:hi])
			default:
				softmax(d[lo:hi], out[lo:hi])
			}
		}
	}
}

// softmax writes the softmax of logits into dst.
func softmax(dst, logits []float32) {
	hi := math.Inf(-1)
	for _, l := range logits {
		hi = max(hi, float64(l))
	}
	var sum float64
	for j, l := range logits {
		e := math.Exp(float64(l) - hi)
		dst[j] = float32(e)
		sum += e
	}
	for j := range dst {
		dst[j] = float32(float64(dst[j]) / sum)
	}
}

// maskedInput writes the encoder's input [n, Input+parts] for the rows of
// x [n, Input] into dst: each row's values, zero where a part is missing,
// then a 1 for each missing part and a 0 for each observed one.
func (ps *parts) maskedInput(dst, x []float32, n int) {
	D, W := ps.width, ps.width+len(ps.list)
	for r := range n {
		xr, d := x[r*D:(r+1)*D], dst[r*W:(r+1)*W]
		for i, p := range ps.list {
			lo, hi := ps.offset[i], ps.offset[i]+p.Width
			if ps.missing(xr, i) {
				clear(d[lo:hi])
				d[D+i] = 1
			} else {
				copy(d[lo:hi], xr[lo:hi])
				d[D+i] = 0
			}
		}
	}
}

// check reports the first value of x [n, Input] that does not fit its
// part: an infinity, a part only partly missing, a Bernoulli value outside
// [0, 1], a categorical part that is not a one-hot row.
func (ps *parts) check(what string, x []float32) error {
	D := ps.width
	for r := range len(x) / D {
		xr := x[r*D : (r+1)*D]
		for i, p := range ps.list {
			lo, hi := ps.offset[i], ps.offset[i]+p.Width
			miss := ps.missing(xr, i)
			var sum float64
			for j := lo; j < hi; j++ {
				v := xr[j]
				switch {
				case math.IsNaN(float64(v)) != miss:
					return fmt.Errorf("%s: row %d, part %s: partly missing (NaN in some of its %d values only)", what, r, p.Name, p.Width)
				case math.IsInf(float64(v), 0):
					return fmt.Errorf("%s: row %d, part %s is %v: want a finite value, or NaN for missing", what, r, p.Name, v)
				case p.Likelihood != Gaussian && !miss && (v < 0 || v > 1):
					return fmt.Errorf("%s: row %d, part %s holds %v, outside the [0, 1] of a %s part", what, r, p.Name, v, p.Likelihood)
				}
				sum += float64(v)
			}
			if p.Likelihood == Categorical && !miss && math.Abs(sum-1) > 1e-3 {
				return fmt.Errorf("%s: row %d, part %s: its %d values add up to %v, want 1 (one-hot)", what, r, p.Name, p.Width, sum)
			}
		}
	}
	return nil
}
