package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/govae/vae/kernel"
)

// Dense is a fully connected layer, y = x·Wᵀ + b. W is stored [Out, In] and b
// [Out], the layout of PyTorch's nn.Linear, so weights move between the two
// unchanged.
type Dense struct {
	In, Out int
	W       *Param // [Out, In]
	B       *Param // [Out]
}

// NewDense returns a zero-initialised layer whose parameters are named
// name+".weight" and name+".bias".
func NewDense(name string, in, out int) *Dense {
	return &Dense{
		In: in, Out: out,
		W: NewParam(name+".weight", out, in),
		B: NewParam(name+".bias", out),
	}
}

// Params returns the layer's trainable parameters, weight first.
func (d *Dense) Params() []*Param { return []*Param{d.W, d.B} }

// Sizes returns In and Out.
func (d *Dense) Sizes() (in, out int) { return d.In, d.Out }

// Forward computes y = x·Wᵀ + b for a batch of n rows: x is [n, In], y is
// [n, Out]. It needs no Workspace.
func (d *Dense) Forward(y, x []float32, n int, _ *Workspace) {
	for i := range n {
		copy(y[i*d.Out:(i+1)*d.Out], d.B.Value)
	}
	kernel.Gemm(false, true, n, d.Out, d.In, 1, x, d.In, d.W.Value, d.In, 1, y, d.Out)
}

// Backward takes dy = dLoss/dy [n, Out] and the forward input x [n, In],
// adds dLoss/dW and dLoss/db to the parameters' gradients, and, when dx is
// not nil, writes dLoss/dx [n, In] into dx. It does not read y.
func (d *Dense) Backward(dx, dy, x, _ []float32, n int, _ *Workspace) {
	// dW += dyᵀ·x
	kernel.Gemm(true, false, d.Out, d.In, n, 1, dy, d.Out, x, d.In, 1, d.W.Grad, d.In)
	// db += Σ_rows dy
	db := d.B.Grad
	for i := range n {
		for j, g := range dy[i*d.Out : (i+1)*d.Out] {
			db[j] += g
		}
	}
	// dx = dy·W
	if dx != nil {
		kernel.Gemm(false, false, n, d.In, d.Out, 1, dy, d.Out, d.W.Value, d.In, 0, dx, d.In)
	}
}

// Init names a weight initialisation scheme.
type Init string

// The initialisations a Dense layer supports.
const (
	// InitPyTorch draws W and b from U(−1/√In, 1/√In), PyTorch's nn.Linear default.
	InitPyTorch Init = "pytorch"
	// InitGlorot draws W from U(−√(6/(In+Out)), +√(6/(In+Out))) and sets b to
	// zero, the Keras Dense default.
	InitGlorot Init = "glorot"
)

// Initialize draws the layer's parameters with the given scheme from rng.
func (d *Dense) Initialize(scheme Init, rng *rand.Rand) error {
	return initUniform(d.W, d.B, scheme, d.In, d.Out, rng)
}

// initUniform draws a layer's weight w and bias b with the given scheme
// from rng, for a layer of fanIn inputs and fanOut outputs per weight:
// InitPyTorch (also the empty scheme) draws both from U(±1/√fanIn);
// InitGlorot draws w from U(±√(6/(fanIn+fanOut))) and sets b to zero.
func initUniform(w, b *Param, scheme Init, fanIn, fanOut int, rng *rand.Rand) error {
	var wBound, bBound float64
	switch scheme {
	case InitPyTorch, "":
		wBound = 1 / math.Sqrt(float64(fanIn))
		bBound = wBound
	case InitGlorot:
		wBound = math.Sqrt(6 / float64(fanIn+fanOut))
	default:
		return fmt.Errorf("unknown initialisation %q (want %q or %q)", scheme, InitPyTorch, InitGlorot)
	}
	uniform(w.Value, wBound, rng)
	uniform(b.Value, bBound, rng)
	return nil
}

func uniform(v []float32, bound float64, rng *rand.Rand) {
	for i := range v {
		v[i] = float32((2*rng.Float64() - 1) * bound)
	}
}
