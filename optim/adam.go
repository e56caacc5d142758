package optim

import (
	"math"

	"github.com/govae/vae/kernel"
	"github.com/govae/vae/nn"
)

// AdamConfig holds Adam's hyperparameters, named as in torch.optim.Adam. A
// zero field takes PyTorch's default.
type AdamConfig struct {
	LR          float64 // learning rate; default 1e-3
	Beta1       float64 // decay of the gradient average; default 0.9
	Beta2       float64 // decay of the squared-gradient average; default 0.999
	Eps         float64 // added to the denominator; default 1e-8
	WeightDecay float64 // L2 penalty added to the gradient (not AdamW's decoupled decay); default 0
}

func (c AdamConfig) withDefaults() AdamConfig {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

func (c AdamConfig) validate() error {
	for _, err := range []error{
		checkNonNeg("adam", "LR", c.LR),
		checkRate("adam", "Beta1", c.Beta1),
		checkRate("adam", "Beta2", c.Beta2),
		checkNonNeg("adam", "Eps", c.Eps),
		checkNonNeg("adam", "WeightDecay", c.WeightDecay),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Adam is the Adam optimizer of Kingma and Ba, as torch.optim.Adam with
// amsgrad, maximize and foreach off. At step t, for each element with
// gradient g:
//
//	g = g + WeightDecay*value          (if WeightDecay != 0)
//	m = Beta1*m + (1-Beta1)*g
//	v = Beta2*v + (1-Beta2)*g*g
//	value = value - LR/(1-Beta1**t) * m / (sqrt(v)/sqrt(1-Beta2**t) + Eps)
//
// The bias corrections 1-Beta1**t and 1-Beta2**t, the step size and the
// square root of the second correction are computed in float64 and then
// rounded to float32, as PyTorch computes them in Python floats.
// Its State holds the buffers "adam.m/<param>" and "adam.v/<param>".
type Adam struct {
	cfg AdamConfig
	buf buffers // slots: m, v
}

// NewAdam returns an Adam optimizer over params with the hyperparameters in
// c, zero fields taking their defaults. It panics if a hyperparameter is
// out of range (a learning rate, Eps or WeightDecay below zero, a beta
// outside [0, 1)), if a param is nil, if a param's Grad and Value differ in
// length or if two params share a name: New reports the same as errors.
func NewAdam(params []*nn.Param, c AdamConfig) *Adam {
	c = c.withDefaults()
	mustValid(c.validate())
	mustValid(checkParams(params))
	return &Adam{cfg: c, buf: newBuffers(params, "adam.m", "adam.v")}
}

// Config returns the hyperparameters in use, defaults filled in.
func (a *Adam) Config() AdamConfig { return a.cfg }

// LR returns the learning rate.
func (a *Adam) LR() float64 { return a.cfg.LR }

// SetLR sets the learning rate of the following steps. It panics if lr is
// negative or NaN.
func (a *Adam) SetLR(lr float64) { checkLR(lr); a.cfg.LR = lr }

// State returns a copy of the step count and the moment buffers.
func (a *Adam) State() State { return a.buf.state() }

// SetState restores a state returned by State; see Optimizer.
func (a *Adam) SetState(s State) error { return a.buf.setState(s) }

// Step takes one Adam step.
func (a *Adam) Step() { a.Advance(); a.Update(0, 1) }

// Advance starts a step; see Optimizer.
func (a *Adam) Advance() { a.buf.steps++ }

// Update applies the current step to part i of n of each parameter; see
// Optimizer.
func (a *Adam) Update(i, n int) {
	c := a.cfg
	bc1 := 1 - powInt(c.Beta1, a.buf.steps)
	bc2 := 1 - powInt(c.Beta2, a.buf.steps)
	var (
		negStep  = float32(-(c.LR / bc1))
		bc2Sqrt  = float32(math.Sqrt(bc2))
		eps      = float32(c.Eps)
		beta1    = float32(c.Beta1)
		beta2    = float32(c.Beta2)
		oneMinB1 = float32(1 - c.Beta1)
		oneMinB2 = float32(1 - c.Beta2)
		wd       = float32(c.WeightDecay)
	)
	for j, p := range a.buf.params {
		// Per element, with each operation rounded once as PyTorch's kernels do:
		//   g = fma(value, wd, grad)            grad.add(param, alpha=wd)
		//   m = fma(g, 1-b1, m*b1)              m.mul_(b1).add_(g, alpha=1-b1)
		//   v = fma((1-b2)*g, g, v*b2)          v.mul_(b2).addcmul_(g, g, value=1-b2)
		//   value += (-step*m) / (sqrt(v)/sqrt(bc2) + eps)   param.addcdiv_(m, denom, value=-step_size)
		kernel.AdamStep(part(p.Value, i, n), part(p.Grad, i, n), part(a.buf.data[0][j], i, n), part(a.buf.data[1][j], i, n), beta1, beta2, oneMinB1, oneMinB2, wd, negStep, bc2Sqrt, eps)
	}
}
