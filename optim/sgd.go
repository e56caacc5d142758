package optim

import (
	"fmt"

	"github.com/govae/vae/nn"
)

// SGDConfig holds the hyperparameters of stochastic gradient descent, named
// as in torch.optim.SGD (without dampening). A zero field takes its default.
type SGDConfig struct {
	LR          float64 // learning rate; default 1e-3, PyTorch 2's default
	Momentum    float64 // momentum factor; default 0 (none)
	Nesterov    bool    // use Nesterov momentum; needs Momentum > 0
	WeightDecay float64 // L2 penalty added to the gradient; default 0
}

func (c SGDConfig) withDefaults() SGDConfig {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	return c
}

func (c SGDConfig) validate() error {
	for _, err := range []error{
		checkNonNeg("sgd", "LR", c.LR),
		checkNonNeg("sgd", "Momentum", c.Momentum),
		checkNonNeg("sgd", "WeightDecay", c.WeightDecay),
	} {
		if err != nil {
			return err
		}
	}
	if c.Nesterov && c.Momentum == 0 {
		return fmt.Errorf("optim: sgd: Nesterov needs Momentum > 0")
	}
	return nil
}

// SGD is stochastic gradient descent with optional momentum, as
// torch.optim.SGD with dampening 0 and maximize off. For each element with
// gradient g:
//
//	g = g + WeightDecay*value     (if WeightDecay != 0)
//	buf = g                       (first step, if Momentum != 0)
//	buf = Momentum*buf + g        (later steps)
//	g = g + Momentum*buf          (if Nesterov)
//	g = buf                       (otherwise, if Momentum != 0)
//	value = value - LR*g
//
// With momentum its State holds "sgd.momentum_buffer/<param>"; a state with
// Steps = 0 marks the buffers as not yet started.
type SGD struct {
	cfg SGDConfig
	buf buffers // slots: none, or momentum_buffer
}

// NewSGD returns an SGD optimizer over params with the hyperparameters in c,
// zero fields taking their defaults. It panics if a hyperparameter is out of
// range (LR, Momentum or WeightDecay below zero, Nesterov without Momentum)
// or if the params are unusable, as NewAdam does; New reports the same as
// errors.
func NewSGD(params []*nn.Param, c SGDConfig) *SGD {
	c = c.withDefaults()
	mustValid(c.validate())
	mustValid(checkParams(params))
	var slots []string
	if c.Momentum != 0 {
		slots = append(slots, "sgd.momentum_buffer")
	}
	return &SGD{cfg: c, buf: newBuffers(params, slots...)}
}

// Config returns the hyperparameters in use, defaults filled in.
func (s *SGD) Config() SGDConfig { return s.cfg }

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.cfg.LR }

// SetLR sets the learning rate of the following steps. It panics if lr is
// negative or NaN.
func (s *SGD) SetLR(lr float64) { checkLR(lr); s.cfg.LR = lr }

// State returns a copy of the step count and the momentum buffers.
func (s *SGD) State() State { return s.buf.state() }

// SetState restores a state returned by State; see Optimizer.
func (s *SGD) SetState(st State) error { return s.buf.setState(st) }

// Step takes one SGD step.
func (s *SGD) Step() { s.Advance(); s.Update(0, 1) }

// Advance starts a step; see Optimizer.
func (s *SGD) Advance() { s.buf.steps++ }

// Update applies the current step to part i of n of each parameter; see
// Optimizer.
func (s *SGD) Update(i, n int) {
	first := s.buf.steps == 1
	c := s.cfg
	var (
		negLR    = float32(-c.LR)
		momentum = float32(c.Momentum)
		wd       = float32(c.WeightDecay)
	)
	for k, p := range s.buf.params {
		value := part(p.Value, i, n)
		grad := part(p.Grad, i, n)[:len(value)]
		var mbuf []float32
		if c.Momentum != 0 {
			mbuf = part(s.buf.data[0][k], i, n)[:len(value)]
		}
		for j, g := range grad {
			if c.WeightDecay != 0 {
				g = fma32(value[j], wd, g) // d_p.add(param, alpha=wd)
			}
			if c.Momentum != 0 {
				b := g // buf = clone(d_p)
				if !first {
					b = float32(mbuf[j]*momentum) + g // buf.mul_(momentum).add_(d_p)
				}
				mbuf[j] = b
				if c.Nesterov {
					g = fma32(b, momentum, g) // d_p.add(buf, alpha=momentum)
				} else {
					g = b
				}
			}
			value[j] = fma32(g, negLR, value[j]) // param.add_(d_p, alpha=-lr)
		}
	}
}
