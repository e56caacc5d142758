// Package nn holds the building blocks of the networks: the layers (dense,
// convolutions, activations; see Layer) and the losses, each with its
// forward and backward pass side by side, working on caller-owned float32
// buffers laid out row-major as [batch, features] ([batch, channels, height,
// width] for images).
package nn

// Param is a trainable tensor with its gradient buffer. Value and Grad have
// the same length, the product of Shape.
type Param struct {
	Name  string    // stable name, used in model files and optimizer state
	Shape []int     // e.g. [out, in] for a dense weight
	Value []float32 // the parameter
	Grad  []float32 // dLoss/dValue, accumulated by the backward passes
}

// NewParam returns a zeroed parameter of the given shape.
func NewParam(name string, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param{Name: name, Shape: shape, Value: make([]float32, n), Grad: make([]float32, n)}
}

// ZeroGrad clears the gradients of ps.
func ZeroGrad(ps []*Param) {
	for _, p := range ps {
		clear(p.Grad)
	}
}
