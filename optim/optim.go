// Package optim holds the optimizers that train the networks: Adam, RMSprop
// and SGD behind one interface, updating float32 parameters in place from
// their gradients.
//
// Every optimizer reproduces the update of its torch.optim counterpart
// bit for bit, as computed by PyTorch's CPU kernels (checked against
// PyTorch 1.13): the same order of operations, the same roundings to
// float32, and fused multiply-adds where PyTorch's vectorised kernels use
// them (the "add with alpha" and addcmul kernels). Hyperparameters are
// float64, like the Python floats PyTorch receives, so that the scalars
// derived from them (1-beta1, lr/bias_correction1) are computed in float64
// and rounded to float32 exactly where PyTorch rounds them.
// testdata/torch_golden.json, written by testdata/torch_golden.py, holds
// the trajectories the tests compare against. Two caveats: PyTorch 2
// computes Adam's first moment with lerp, which rounds differently in the
// last bit now and then; and C's pow, which PyTorch uses for the bias
// corrections, is not correctly rounded, so that a float32 step size could
// in rare cases differ by one unit.
//
// An optimizer keeps per-parameter buffers (Adam's moments, momentum
// buffers), allocated once when it is made; Step allocates nothing. State
// and SetState copy the buffers out and in, keyed by "<kind>.<buffer>/<param
// name>", for checkpoints.
package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/govae/vae/nn"
)

// Optimizer updates a fixed set of parameters from their gradients.
type Optimizer interface {
	// Step updates every parameter's Value from its Grad: Advance, then
	// Update(0, 1). It does not clear the gradients. It panics if a
	// parameter's Value or Grad has changed length since the optimizer
	// was made.
	Step()
	// Advance starts a step: the step count goes up by one.
	Advance()
	// Update applies the step Advance started to the elements
	// [i·len/n, (i+1)·len/n) of every parameter. The calls for i = 0…n−1
	// update each element once, exactly as Step does, and may run
	// concurrently, so that a step can be spread over threads.
	Update(i, n int)
	// LR returns the current learning rate.
	LR() float64
	// SetLR changes the learning rate used by the following steps, as a
	// schedule does between epochs. It panics if lr is negative or NaN.
	SetLR(lr float64)
	// State returns a copy of the optimizer's step count and buffers.
	State() State
	// SetState replaces the step count and buffers with copies of those in
	// s. It returns an error, and changes nothing, if s has a negative step
	// count, lacks a buffer, has one of the wrong length or has one this
	// optimizer does not know.
	SetState(s State) error
}

// State is the resumable state of an optimizer: what a checkpoint saves.
type State struct {
	// Steps is the number of steps taken so far.
	Steps int64
	// Tensors holds the optimizer's buffers by key, "<kind>.<buffer>/<param
	// name>", e.g. "adam.m/enc.w" and "adam.v/enc.w". Each has the length of
	// its parameter's Value.
	Tensors map[string][]float32
}

// Config holds the hyperparameters of any optimizer, for building one by
// name with New. A zero field takes the optimizer's default; a field the
// named optimizer does not use must be zero.
type Config struct {
	LR          float64 `json:"lr,omitempty" yaml:"lr,omitempty"`                     // learning rate
	Beta1       float64 `json:"beta1,omitempty" yaml:"beta1,omitempty"`               // adam
	Beta2       float64 `json:"beta2,omitempty" yaml:"beta2,omitempty"`               // adam
	Alpha       float64 `json:"alpha,omitempty" yaml:"alpha,omitempty"`               // rmsprop: smoothing constant of the squared-gradient average
	Eps         float64 `json:"eps,omitempty" yaml:"eps,omitempty"`                   // adam, rmsprop: added to the denominator
	Momentum    float64 `json:"momentum,omitempty" yaml:"momentum,omitempty"`         // rmsprop, sgd
	Nesterov    bool    `json:"nesterov,omitempty" yaml:"nesterov,omitempty"`         // sgd
	WeightDecay float64 `json:"weight_decay,omitempty" yaml:"weight_decay,omitempty"` // L2 penalty: WeightDecay*Value is added to the gradient
}

// Names returns the optimizer names that New accepts.
func Names() []string { return []string{"adam", "rmsprop", "sgd"} }

// uses holds, for each optimizer, the fields of Config it uses among those
// that not all optimizers use.
var uses = map[string][]string{
	"adam":    {"Beta1", "Beta2", "Eps"},
	"rmsprop": {"Alpha", "Eps", "Momentum"},
	"sgd":     {"Momentum", "Nesterov"},
}

// Uses reports whether the optimizer called name uses the Config field
// called field ("Eps", "Momentum", …), so that a caller can leave a default
// meant for other optimizers out; New refuses a non-zero field its
// optimizer does not use. LR and WeightDecay are used by every optimizer;
// an unknown name uses nothing.
func Uses(name, field string) bool {
	if field == "LR" || field == "WeightDecay" {
		_, ok := uses[name]
		return ok
	}
	for _, f := range uses[name] {
		if f == field {
			return true
		}
	}
	return false
}

// New returns the optimizer called name ("adam", "rmsprop" or "sgd") over
// params with the hyperparameters in c. It returns an error for an unknown
// name, a hyperparameter that name does not use, an invalid hyperparameter,
// or parameters that cannot be optimized together (see NewAdam).
func New(name string, params []*nn.Param, c Config) (Optimizer, error) {
	unused := func() error {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"Beta1", c.Beta1 != 0}, {"Beta2", c.Beta2 != 0}, {"Alpha", c.Alpha != 0},
			{"Eps", c.Eps != 0}, {"Momentum", c.Momentum != 0}, {"Nesterov", c.Nesterov},
		} {
			if f.set && !Uses(name, f.name) {
				return fmt.Errorf("optim: %s does not use %s", name, f.name)
			}
		}
		return nil
	}
	var (
		cfgErr error
		build  func() Optimizer
	)
	switch name {
	case "adam":
		if err := unused(); err != nil {
			return nil, err
		}
		ac := AdamConfig{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay}.withDefaults()
		cfgErr = ac.validate()
		build = func() Optimizer { return NewAdam(params, ac) }
	case "rmsprop":
		if err := unused(); err != nil {
			return nil, err
		}
		rc := RMSpropConfig{LR: c.LR, Alpha: c.Alpha, Eps: c.Eps, Momentum: c.Momentum, WeightDecay: c.WeightDecay}.withDefaults()
		cfgErr = rc.validate()
		build = func() Optimizer { return NewRMSprop(params, rc) }
	case "sgd":
		if err := unused(); err != nil {
			return nil, err
		}
		sc := SGDConfig{LR: c.LR, Momentum: c.Momentum, Nesterov: c.Nesterov, WeightDecay: c.WeightDecay}.withDefaults()
		cfgErr = sc.validate()
		build = func() Optimizer { return NewSGD(params, sc) }
	default:
		return nil, fmt.Errorf("optim: unknown optimizer %q, want one of %s", name, strings.Join(Names(), ", "))
	}
	if cfgErr != nil {
		return nil, cfgErr
	}
	if err := checkParams(params); err != nil {
		return nil, err
	}
	return build(), nil
}

// checkParams reports parameters that cannot be optimized together: a nil
// one, one whose Grad and Value differ in length, or two with the same name
// (their buffers would share a State key).
func checkParams(params []*nn.Param) error {
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if p == nil {
			return fmt.Errorf("optim: param %d is nil", i)
		}
		if len(p.Grad) != len(p.Value) {
			return fmt.Errorf("optim: param %s: len(Grad) = %d, len(Value) = %d", p.Name, len(p.Grad), len(p.Value))
		}
		if seen[p.Name] {
			return fmt.Errorf("optim: param name %s used twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// checkRate returns an error unless v is finite and in [0, 1); a rate of 0
// stands for the default and never reaches here.
func checkRate(kind, field string, v float64) error {
	if !(v >= 0 && v < 1) {
		return fmt.Errorf("optim: %s: %s = %v, want 0 <= %s < 1", kind, field, v, field)
	}
	return nil
}

// checkNonNeg returns an error unless v is finite and not negative.
func checkNonNeg(kind, field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("optim: %s: %s = %v, want a finite value >= 0", kind, field, v)
	}
	return nil
}

// mustValid panics with err if it is not nil: the constructors treat bad
// configurations and parameters as programmer errors.
func mustValid(err error) {
	if err != nil {
		panic(err)
	}
}

// checkLR panics unless lr is a valid learning rate.
func checkLR(lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 1) {
		panic(fmt.Sprintf("optim: SetLR(%v): want a finite learning rate >= 0", lr))
	}
}
