package vae

import (
	"errors"
	"fmt"
	"strings"

	"github.com/govae/vae/nn"
)

// A conditional VAE (Config.Classes > 0, Sohn et al. 2015) sees the class
// y of each row beside the input of the encoder's first dense layer (the
// first hidden layer of a dense network, the dense layer after the
// convolutions of a convolutional one) and beside z, where the decoder's
// first layer reads it: each of those dense layers has one-hot inputs for
// y, whose weights are an nn.Embedding added to its output. Its methods condition on classes that Given binds;
// Train takes them from the training set's labels.

// ErrNoClass is returned by the methods of a conditional model that was not
// given classes (see Given).
var ErrNoClass = errors.New("a conditional model needs the classes of its rows: call Given first")

// Given returns a view of the conditional model m whose methods condition
// on classes: one class for every row, or one per row, and then every call
// must have len(classes) rows. The view shares m's parameters; Train and
// the model file belong to m.
func (m *Model) Given(classes ...uint8) (*Model, error) {
	C := m.Config.Classes
	if C == 0 {
		return nil, errors.New("given: the model is not conditional (its config has no classes)")
	}
	if len(classes) == 0 {
		return nil, errors.New("given: no classes")
	}
	for i, c := range classes {
		if int(c) >= C {
			return nil, fmt.Errorf("given: class %d at %d, the model has classes 0 to %d", c, i, C-1)
		}
	}
	return &Model{
		Config: m.Config, Encoder: m.Encoder, ZMean: m.ZMean, ZLogVar: m.ZLogVar, Decoder: m.Decoder,
		OutputLogVar: m.OutputLogVar, Table: m.Table, Detector: m.Detector,
		EncoderClass: m.EncoderClass, DecoderClass: m.DecoderClass, encClass: m.encClass,
		lik: m.lik, parts: m.parts, chunk: m.chunk, classes: classes,
	}, nil
}

// checkClasses returns ErrNoClass for a conditional model without classes,
// and an error when its classes, one per row, are not n.
func (m *Model) checkClasses(what string, n int) error {
	switch {
	case m.Config.Classes == 0:
		return nil
	case m.classes == nil:
		return fmt.Errorf("%s: %w", what, ErrNoClass)
	case len(m.classes) > 1 && len(m.classes) != n:
		return fmt.Errorf("%s: %d rows for the %d classes the model was given", what, n, len(m.classes))
	}
	return nil
}

// bindClasses sets the classes of the inputs [lo, hi) of a call in p, from
// the model's classes (see Given).
func (m *Model) bindClasses(p *pass, lo, hi int) {
	switch {
	case m.classes == nil:
		p.labels = nil
	case len(m.classes) == 1:
		for i := range hi - lo {
			p.labelBuf[i] = m.classes[0]
		}
		p.labels = p.labelBuf[:hi-lo]
	default:
		p.labels = m.classes[lo:hi]
	}
}

// newEmbeddings makes the class embeddings of a conditional model, for the
// encoder's layer m.encClass and the decoder's first (dense, as the config
// checks).
func (m *Model) newEmbeddings() {
	C := m.Config.Classes
	if C == 0 {
		return
	}
	enc, dec := m.Encoder[m.encClass].(*nn.Dense), m.Decoder[0].(*nn.Dense)
	m.EncoderClass = nn.NewEmbedding(strings.TrimSuffix(enc.W.Name, ".weight")+".class", C, enc.Out)
	m.DecoderClass = nn.NewEmbedding(strings.TrimSuffix(dec.W.Name, ".weight")+".class", C, dec.Out)
}

// embeddings returns the class embeddings of m, with the fans of the
// layers they join; none for a model that is not conditional.
func (m *Model) embeddings() (es []*nn.Embedding, fanIn, fanOut []int) {
	if m.EncoderClass == nil {
		return nil, nil, nil
	}
	C := m.Config.Classes
	enc, dec := m.Encoder[m.encClass].(*nn.Dense), m.Decoder[0].(*nn.Dense)
	return []*nn.Embedding{m.EncoderClass, m.DecoderClass}, []int{enc.In + C, dec.In + C}, []int{enc.Out, dec.Out}
}

// GivenLabels returns m itself when it is not conditional, else m given the
// labels of a set's rows (see Given): the model whose methods take those
// rows.
func (m *Model) GivenLabels(labels []uint8) (*Model, error) {
	if m.Config.Classes == 0 {
		return m, nil
	}
	if labels == nil {
		return nil, fmt.Errorf("the rows have no labels: %w", ErrNoClass)
	}
	return m.Given(labels...)
}

// EachClass decodes the n draws of z [n, Latent] under every class of the
// conditional model m: row i·Classes + c of the result [n·Classes, Input]
// is z_i decoded given class c, the same style in each class.
func (m *Model) EachClass(z []float32) ([]float32, error) {
	C, L := m.Config.Classes, m.Config.Latent
	if C == 0 {
		return nil, errors.New("each class: the model is not conditional")
	}
	n, err := rows("each class: z", z, L)
	if err != nil {
		return nil, err
	}
	zs := make([]float32, 0, n*C*L)
	classes := make([]uint8, 0, n*C)
	for i := range n {
		for c := range C {
			zs = append(zs, z[i*L:(i+1)*L]...)
			classes = append(classes, uint8(c))
		}
	}
	v, err := m.Given(classes...)
	if err != nil {
		return nil, err
	}
	return v.Decode(zs)
}
