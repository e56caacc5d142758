package nn

import "math/rand/v2"

// Layer is one stage of a network, applied to a batch of n rows: x [n, in]
// to y [n, out], row-major, in caller-owned buffers. Forward and Backward sit
// side by side in each layer's file; ws is scratch memory for the layers
// that need some (the convolutions), owned by the caller so that a layer
// keeps no state and one layer may run in several passes at once, each with
// its own Workspace.
//
// Dense, Conv2D, ConvTranspose2D and Activate are layers.
type Layer interface {
	// Sizes returns the floats per row of x and of y.
	Sizes() (in, out int)
	// Forward writes the layer's output for x into y.
	Forward(y, x []float32, n int, ws *Workspace)
	// Backward takes dy = dLoss/dy and the forward pass's x and y, adds
	// dLoss/dθ to the gradients of the layer's parameters and, when dx is
	// not nil, writes dLoss/dx into dx. Only an activation's dx may alias
	// its dy.
	Backward(dx, dy, x, y []float32, n int, ws *Workspace)
	// Params returns the layer's trainable parameters, weight first; none
	// for an activation.
	Params() []*Param
	// Initialize draws the parameters with the given scheme from rng.
	Initialize(scheme Init, rng *rand.Rand) error
}

// Activate is an activation as a layer of Size units.
type Activate struct {
	Fn   Activation
	Size int
}

// Sizes returns Size twice.
func (a Activate) Sizes() (in, out int) { return a.Size, a.Size }

// Forward writes Fn(x) into y.
func (a Activate) Forward(y, x []float32, n int, _ *Workspace) {
	a.Fn.Forward(y[:n*a.Size], x[:n*a.Size])
}

// Backward writes dLoss/dx into dx; dx may alias dy.
func (a Activate) Backward(dx, dy, x, y []float32, n int, _ *Workspace) {
	e := n * a.Size
	a.Fn.Backward(dx[:e], dy[:e], x[:e], y[:e])
}

// Params returns nil: an activation has no parameters.
func (Activate) Params() []*Param { return nil }

// Initialize does nothing.
func (Activate) Initialize(Init, *rand.Rand) error { return nil }
