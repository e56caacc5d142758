package nn

import (
	"fmt"
	"math"

	"github.com/govae/vae/kernel"
)

// Activation names an element-wise non-linearity.
type Activation string

// The activations a hidden layer may use.
const (
	ReLU     Activation = "relu"
	Tanh     Activation = "tanh"
	Softplus Activation = "softplus"
	Identity Activation = "identity"
)

// Valid reports an error for an activation name this package does not know.
func (a Activation) Valid() error {
	switch a {
	case ReLU, Tanh, Softplus, Identity:
		return nil
	}
	return fmt.Errorf("unknown activation %q (want relu, tanh, softplus or identity)", string(a))
}

// Forward writes a(x) into y; y and x may be the same slice only for ReLU,
// Tanh and Identity, whose backward passes need just y.
func (a Activation) Forward(y, x []float32) {
	switch a {
	case ReLU:
		kernel.ReLU(y, x)
	case Tanh:
		kernel.Tanh(y, x) // vectorised, within 4 ulp
	case Softplus:
		for i, v := range x {
			y[i] = float32(softplus(float64(v)))
		}
	case Identity:
		copy(y, x)
	default:
		panic("nn: unknown activation " + string(a))
	}
}

// Backward writes dLoss/dx into dx given dy = dLoss/dy and the forward pass's
// input x and output y. dx may alias dy.
func (a Activation) Backward(dx, dy, x, y []float32) {
	switch a {
	case ReLU:
		kernel.ReLUBackward(dx, dy, y)
	case Tanh:
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	case Softplus:
		for i, v := range x {
			dx[i] = dy[i] * float32(sigmoid(float64(v)))
		}
	case Identity:
		copy(dx, dy)
	default:
		panic("nn: unknown activation " + string(a))
	}
}

// softplus is log(1+eˣ) without overflow.
func softplus(x float64) float64 {
	return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Sigmoid writes 1/(1+e^−x) into y, element-wise, with the vectorised
// kernel.Sigmoid (within 1e-6 relative); y may alias x.
func Sigmoid(y, x []float32) { kernel.Sigmoid(y, x) }
