package optim

import "github.com/govae/vae/nn"

// RMSpropConfig holds RMSprop's hyperparameters, named as in
// torch.optim.RMSprop. A zero field takes PyTorch's default.
type RMSpropConfig struct {
	LR          float64 // learning rate; default 1e-2
	Alpha       float64 // decay of the squared-gradient average; default 0.99
	Eps         float64 // added to the denominator; default 1e-8
	Momentum    float64 // momentum factor; default 0 (none)
	WeightDecay float64 // L2 penalty added to the gradient; default 0
}

func (c RMSpropConfig) withDefaults() RMSpropConfig {
	if c.LR == 0 {
		c.LR = 1e-2
	}
	if c.Alpha == 0 {
		c.Alpha = 0.99
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

func (c RMSpropConfig) validate() error {
	for _, err := range []error{
		checkNonNeg("rmsprop", "LR", c.LR),
		checkRate("rmsprop", "Alpha", c.Alpha),
		checkNonNeg("rmsprop", "Eps", c.Eps),
		checkNonNeg("rmsprop", "Momentum", c.Momentum),
		checkNonNeg("rmsprop", "WeightDecay", c.WeightDecay),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// RMSprop is the RMSprop optimizer, as torch.optim.RMSprop with centered
// and maximize off. For each element with gradient g:
//
//	g = g + WeightDecay*value           (if WeightDecay != 0)
//	s = Alpha*s + (1-Alpha)*g*g
//	d = sqrt(s) + Eps
//	buf = Momentum*buf + g/d            (if Momentum > 0)
//	value = value - LR*buf              (if Momentum > 0)
//	value = value - LR*g/d              (otherwise)
//
// Its State holds "rmsprop.square_avg/<param>" and, with momentum,
// "rmsprop.momentum_buffer/<param>".
type RMSprop struct {
	cfg RMSpropConfig
	buf buffers // slots: square_avg[, momentum_buffer]
}

// NewRMSprop returns an RMSprop optimizer over params with the
// hyperparameters in c, zero fields taking their defaults. It panics if a
// hyperparameter is out of range (LR, Eps, Momentum or WeightDecay below
// zero, Alpha outside [0, 1)) or if the params are unusable, as NewAdam
// does; New reports the same as errors.
func NewRMSprop(params []*nn.Param, c RMSpropConfig) *RMSprop {
	c = c.withDefaults()
	mustValid(c.validate())
	mustValid(checkParams(params))
	slots := []string{"rmsprop.square_avg"}
	if c.Momentum > 0 {
		slots = append(slots, "rmsprop.momentum_buffer")
	}
	return &RMSprop{cfg: c, buf: newBuffers(params, slots...)}
}

// Config returns the hyperparameters in use, defaults filled in.
func (r *RMSprop) Config() RMSpropConfig { return r.cfg }

// LR returns the learning rate.
func (r *RMSprop) LR() float64 { return r.cfg.LR }

// SetLR sets the learning rate of the following steps. It panics if lr is
// negative or NaN.
func (r *RMSprop) SetLR(lr float64) { checkLR(lr); r.cfg.LR = lr }

// State returns a copy of the step count and the buffers.
func (r *RMSprop) State() State { return r.buf.state() }

// SetState restores a state returned by State; see Optimizer.
func (r *RMSprop) SetState(s State) error { return r.buf.setState(s) }

// Step takes one RMSprop step.
func (r *RMSprop) Step() { r.Advance(); r.Update(0, 1) }

// Advance starts a step; see Optimizer.
func (r *RMSprop) Advance() { r.buf.steps++ }

// Update applies the current step to part i of n of each parameter; see
// Optimizer.
func (r *RMSprop) Update(i, n int) {
	c := r.cfg
	var (
		negLR      = float32(-c.LR)
		eps        = float32(c.Eps)
		alpha      = float32(c.Alpha)
		oneMinA    = float32(1 - c.Alpha)
		momentum   = float32(c.Momentum)
		wd         = float32(c.WeightDecay)
		inMomentum = c.Momentum > 0
	)
	for k, p := range r.buf.params {
		value := part(p.Value, i, n)
		grad := part(p.Grad, i, n)[:len(value)]
		sq := part(r.buf.data[0][k], i, n)[:len(value)]
		var mbuf []float32
		if inMomentum {
			mbuf = part(r.buf.data[1][k], i, n)[:len(value)]
		}
		for j, g := range grad {
			if c.WeightDecay != 0 {
				g = fma32(value[j], wd, g) // grad.add(param, alpha=wd)
			}
			s := fma32(float32(oneMinA*g), g, float32(sq[j]*alpha)) // sq.mul_(alpha).addcmul_(g, g, value=1-alpha)
			sq[j] = s
			d := sqrt32(s) + eps
			if inMomentum {
				b := float32(mbuf[j]*momentum) + g/d // buf.mul_(momentum).addcdiv_(g, d)
				mbuf[j] = b
				value[j] = fma32(b, negLR, value[j]) // param.add_(buf, alpha=-lr)
			} else {
				value[j] += float32(negLR*g) / d // param.addcdiv_(g, d, value=-lr)
			}
		}
	}
}
