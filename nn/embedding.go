package nn

import "math/rand/v2"

// Embedding is a table of one vector per class, with PyTorch's nn.Embedding
// layout (W [Classes, Dim]). A conditional VAE adds the vector of a row's
// class to a dense layer's output, which is the dense layer of the row and
// its one-hot class side by side: W holds the columns of the one-hot.
type Embedding struct {
	Classes, Dim int
	W            *Param // [Classes, Dim]
}

// NewEmbedding returns a zero table whose parameter is named name.
func NewEmbedding(name string, classes, dim int) *Embedding {
	return &Embedding{Classes: classes, Dim: dim, W: NewParam(name, classes, dim)}
}

// Forward adds W[labels[i]] to row i of y [n, Dim].
func (e *Embedding) Forward(y []float32, labels []uint8, n int) {
	for i, c := range labels[:n] {
		row, v := y[i*e.Dim:(i+1)*e.Dim], e.W.Value[int(c)*e.Dim:(int(c)+1)*e.Dim]
		for j := range row {
			row[j] += v[j]
		}
	}
}

// Backward adds row i of dy = dLoss/dy [n, Dim] to the gradient of
// W[labels[i]].
func (e *Embedding) Backward(dy []float32, labels []uint8, n int) {
	for i, c := range labels[:n] {
		row, g := dy[i*e.Dim:(i+1)*e.Dim], e.W.Grad[int(c)*e.Dim:(int(c)+1)*e.Dim]
		for j := range row {
			g[j] += row[j]
		}
	}
}

// Initialize draws W as the weights of the dense layer of fanIn inputs
// and fanOut outputs whose one-hot columns it holds (see initUniform).
func (e *Embedding) Initialize(scheme Init, fanIn, fanOut int, rng *rand.Rand) error {
	return initUniform(e.W, &Param{}, scheme, fanIn, fanOut, rng)
}
