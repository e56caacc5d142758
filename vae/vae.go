// Package vae is the variational autoencoder of Kingma & Welling (2014), as
// the seed article draws it:
//
//	encoder_h = Dense(x)                        // hidden layer(s), ReLU
//	z_mean    = Dense(encoder_h)
//	z_log_var = Dense(encoder_h)
//	z         = z_mean + exp(z_log_var/2)·ε     // ε ~ N(0, I)
//	decoder_h = Dense(z)                        // hidden layer(s), ReLU
//	x̂         = Dense(decoder_h)                // Bernoulli logits, input size
//
//	reconstruction = Σ crossentropy(x, sigmoid(x̂))     // summed over inputs
//	KL             = −½ Σ (1 + z_log_var − z_mean² − exp(z_log_var))
//	cost           = reconstruction + KL
//
// trained by stochastic gradient descent. Losses are reported per sample:
// summed over input dimensions and averaged over the batch, as the PyTorch
// VAE example does.
//
// The encoder and decoder bodies are stacks of layers (nn.Layer): the dense
// hidden layers of Config.Hidden, or the layer specs of Config.Encoder and
// Config.Decoder, convolutions included (see Layer and ConvNetwork). A
// conditional model (Config.Classes) also reads each row's class, beside the
// encoder's first dense layer's input and beside z; its methods condition on
// the classes a view binds (Given).
//
// The likelihood p(x|z) is a Bernoulli (above), a Gaussian (Config.Likelihood)
// or, for a table, one per column (Config.Parts, built by TableParts from a
// fitted table.Schema): Gaussian, Bernoulli or categorical, with missing
// values (NaN) left out of the reconstruction term and shown to the encoder
// as indicators, as in HI-VAE. Such a model keeps its table's preprocessing
// (Model.Table) and reads raw records (ScoreTable, ImputeTable, …). A model
// may also keep an anomaly Detector: a score and a threshold (FitDetector).
//
// A Model is safe for concurrent use by the inference methods (Encode,
// Decode, DecodeTo, Reconstruct, Sample, Loss, Scores, NLL, Evaluate);
// Train must have the model to itself.
package vae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/table"
)

// Model is a VAE: an encoder and a decoder, each a stack of layers, and
// between them the two dense heads of q(z|x).
type Model struct {
	Config  Config
	Encoder []nn.Layer // input → the heads' input (hidden layers and their activations)
	ZMean   *nn.Dense  // → Latent
	ZLogVar *nn.Dense  // → Latent
	Decoder []nn.Layer // Latent → Input; the last is the output layer: Bernoulli logits or Gaussian means

	// OutputLogVar [Input] is the learned log-variance of a Gaussian
	// p(x|z) with Config.Sigma 0, or of a model's Gaussian parts, shared by
	// all rows; nil otherwise. New sets it to 0 (σ = 1); the first Train of
	// a model of inputs (not parts) starts it from the training data (see
	// Train).
	OutputLogVar *nn.Param

	// Table, for a model of a table's columns, is the table's schema with
	// the preprocessing fitted on the training rows (see package table):
	// what turns raw records into the model's inputs and its outputs back.
	// The model file keeps it.
	Table *table.Schema
	// Detector, if set, is the anomaly decision of the model: its score and
	// threshold (see FitDetector). The model file keeps it.
	Detector *Detector

	// EncoderClass and DecoderClass, for a conditional model
	// (Config.Classes > 0), are the weights of the class's one-hot in the
	// encoder's first dense layer and the decoder's first layer (see
	// Given); nil otherwise.
	EncoderClass, DecoderClass *nn.Embedding
	encClass                   int     // the index in Encoder of the layer EncoderClass joins
	classes                    []uint8 // a view's classes (see Given)

	lik   likelihood // p(x|z)
	parts *parts     // the likelihood of a model of parts, else nil
	fresh bool       // made by New and not yet trained: Train starts a learned variance from the data
	chunk int        // rows per inference pass (see chunkRows)

	// passes holds the buffers of inference passes over up to chunk rows
	// (*pass, no gradients) between calls: fresh memory costs a page fault
	// per 4 KiB on first touch, as much as the arithmetic in a small call.
	passes sync.Pool
}

// New returns a model of the given shape with weights drawn from rng as
// cfg.Init says; the model's Config names the initialisation used.
func New(cfg Config, rng *rand.Rand) (*Model, error) {
	if cfg.Init == "" {
		cfg.Init = nn.InitGlorot
	}
	m, err := newZero(cfg)
	if err != nil {
		return nil, err
	}
	for _, l := range m.layers() {
		if err := l.Initialize(cfg.Init, rng); err != nil {
			return nil, err
		}
	}
	es, fanIn, fanOut := m.embeddings()
	for i, e := range es {
		if err := e.Initialize(cfg.Init, fanIn[i], fanOut[i], rng); err != nil {
			return nil, err
		}
	}
	m.fresh = true
	return m, nil
}

// newZero returns a model of the given shape with all parameters zero.
func newZero(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkModel(); err != nil {
		return nil, err
	}
	enc, heads, dec, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, chunk: cfg.chunkRows(), encClass: classLayer(enc)}
	if m.Encoder, err = build(enc); err != nil {
		return nil, err
	}
	if m.Decoder, err = build(dec); err != nil {
		return nil, err
	}
	m.ZMean = nn.NewDense(heads[0].Name, heads[0].In, heads[0].Out)
	m.ZLogVar = nn.NewDense(heads[1].Name, heads[1].In, heads[1].Out)
	if cfg.learnsVariance() {
		m.OutputLogVar = nn.NewParam("output.log_var", cfg.Input)
	}
	m.newEmbeddings()
	m.lik = newLikelihood(cfg, m.OutputLogVar)
	m.parts, _ = m.lik.(*parts)
	return m, nil
}

// build makes the layers of a plan, zero-initialised.
func build(plan []planned) ([]nn.Layer, error) {
	ls := make([]nn.Layer, len(plan))
	for i, p := range plan {
		l, err := p.build()
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		ls[i] = l
	}
	return ls, nil
}

// layers returns the layers of m, encoder first, then the heads, then the
// decoder.
func (m *Model) layers() []nn.Layer {
	ls := append([]nn.Layer(nil), m.Encoder...)
	ls = append(ls, m.ZMean, m.ZLogVar)
	return append(ls, m.Decoder...)
}

// Params returns every trainable parameter, in a fixed order.
func (m *Model) Params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range m.layers() {
		ps = append(ps, l.Params()...)
	}
	if m.OutputLogVar != nil {
		ps = append(ps, m.OutputLogVar)
	}
	es, _, _ := m.embeddings()
	for _, e := range es {
		ps = append(ps, e.W)
	}
	return ps
}

// pass holds the activations and gradients of one forward and backward pass
// over a batch of up to n inputs with k samples of z each: n·k rows from the
// reparameterisation on. Buffers are allocated once.
type pass struct {
	in                 []float32   // [n, Input+parts] a model of parts' encoder input
	enc                [][]float32 // per encoder layer, its output [n, out]
	mean, logVar       []float32   // [n·k, latent]
	eps, std, z        []float32   // [n·k, latent]
	dec                [][]float32 // per decoder layer, its output [n·k, out]; the last is logits
	logits             []float32   // [n·k, input]
	recon, kl          []float32   // [n·k] per-row losses
	partLoss           []float32   // [n·k, parts] a model of parts' per-part losses
	dLogits            []float32   // [n·k, input], the last of dDec
	dDec               [][]float32 // per decoder layer, the gradient of its output
	dZ, dMean, dLogVar []float32   // [n·k, latent]
	dEnc               [][]float32 // per encoder layer, the gradient of its output
	dEncFromLogVar     []float32   // [n, the heads' input]
	ws                 nn.Workspace

	// labels, for a conditional model, are the classes of the n inputs,
	// decLabels those of the n·k decoder rows; labelBuf [n] backs labels
	// when all rows have one class.
	labels, decLabels, labelBuf []uint8

	// With weighted set (by importanceWeights, for the next backward),
	// zWeight holds per row the weight c of the sampled ½|z|² term of the
	// importance-weighted objective: backward adds c·z to dLoss/dz.
	weighted bool
	zWeight  []float32 // [n]
	logw     []float64 // log-weights of one input's samples
}

// outputs allocates a buffer of rows rows for each layer's output.
func outputs(ls []nn.Layer, rows int) [][]float32 {
	bufs := make([][]float32, len(ls))
	for i, l := range ls {
		_, out := l.Sizes()
		bufs[i] = make([]float32, rows*out)
	}
	return bufs
}

// newPass allocates the buffers of a pass over up to n inputs with k
// samples each; the gradient buffers only when grad is set (training).
func (m *Model) newPass(n, k int, grad bool) *pass {
	c := m.Config
	L, rows := c.Latent, n*k
	p := &pass{
		mean: make([]float32, rows*L), logVar: make([]float32, rows*L),
		eps: make([]float32, rows*L), std: make([]float32, rows*L), z: make([]float32, rows*L),
		enc: outputs(m.Encoder, n), dec: outputs(m.Decoder, rows),
		recon: make([]float32, rows), kl: make([]float32, rows),
	}
	p.logits = p.dec[len(p.dec)-1]
	if P := len(c.Parts); P > 0 {
		p.in, p.partLoss = make([]float32, n*(c.Input+P)), make([]float32, rows*P)
	}
	if c.Classes > 0 {
		p.decLabels, p.labelBuf = make([]uint8, rows), make([]uint8, n)
	}
	if !grad {
		return p
	}
	p.dEnc, p.dDec = outputs(m.Encoder, n), outputs(m.Decoder, rows)
	p.dLogits = p.dDec[len(p.dDec)-1]
	p.dZ, p.dMean, p.dLogVar = make([]float32, rows*L), make([]float32, rows*L), make([]float32, rows*L)
	p.dEncFromLogVar = make([]float32, n*m.ZMean.In)
	p.zWeight = make([]float32, rows)
	return p
}

// encoderInput returns what the encoder reads for the rows of x [n, Input]:
// x itself, or for a model of parts its masked input, built in p.in.
func (m *Model) encoderInput(p *pass, x []float32, n int) []float32 {
	if m.parts == nil {
		return x
	}
	m.parts.maskedInput(p.in, x, n)
	return p.in[:n*m.Config.encoderInput()]
}

// encode runs the encoder on x [n, Input], filling p.mean and p.logVar.
func (m *Model) encode(p *pass, x []float32, n int) {
	h := m.encoderInput(p, x, n)
	for i, l := range m.Encoder {
		l.Forward(p.enc[i], h, n, &p.ws)
		if i == m.encClass && m.EncoderClass != nil { // the one-hot class beside h
			m.EncoderClass.Forward(p.enc[i], p.labels, n)
		}
		h = p.enc[i]
	}
	m.ZMean.Forward(p.mean, h, n, nil)
	m.ZLogVar.Forward(p.logVar, h, n, nil)
}

// sample draws k samples z = z_mean + exp(z_log_var/2)·ε for each of the n
// posteriors [n, latent] the encoder left, with ε from p.eps [n·k, latent].
// It spreads the mean, log-variance and σ of input i to rows i·k … i·k+k−1.
func (p *pass) sample(n, k, latent int) {
	for i := range n * latent {
		p.std[i] = float32(math.Exp(float64(p.logVar[i]) / 2))
	}
	if k > 1 {
		expand(p.mean, n, k, latent)
		expand(p.logVar, n, k, latent)
		expand(p.std, n, k, latent)
	}
	for i := range n * k * latent {
		p.z[i] = p.mean[i] + p.std[i]*p.eps[i]
	}
}

// decode runs the decoder on z [n, Latent], filling p.logits; a
// conditional model's decoder rows have the classes p.decLabels.
func (m *Model) decode(p *pass, z []float32, n int) {
	h := z
	for i, l := range m.Decoder {
		l.Forward(p.dec[i], h, n, &p.ws)
		if i == 0 && m.DecoderClass != nil { // the one-hot class beside z
			m.DecoderClass.Forward(p.dec[0], p.decLabels, n)
		}
		h = p.dec[i]
	}
}

// spreadLabels sets the classes of the n·k decoder rows of a conditional
// model from those of the n inputs, k rows per input.
func (p *pass) spreadLabels(n, k int) {
	if p.labels == nil {
		return
	}
	for r := range n * k {
		p.decLabels[r] = p.labels[r/k]
	}
}

// forward runs the encoder on x [n, Input], then the reparameterisation
// and decoder on k samples of z per input (rows i·k … i·k+k−1 for input i)
// with the noise already in p.eps [n·k, Latent], and returns the
// reconstruction and KL terms summed over the n·k rows. When gradScale is
// not zero, it also leaves in p for backward the gradients of
// gradScale·(recon + beta·KL): dLoss/dlogits, dLoss/dz_mean and
// dLoss/dz_log_var per row. gradScale is 1/(n·k) for the per-sample loss of
// these rows, 1/(N·k) for their part of a batch of N.
func (m *Model) forward(p *pass, x []float32, n, k int, gradScale, beta float32) (recon, kl float64) {
	L, D, rows := m.Config.Latent, m.Config.Input, n*k
	m.encode(p, x, n)
	p.sample(n, k, L)
	p.spreadLabels(n, k)
	m.decode(p, p.z, rows)

	var dLogits, dMean, dLogVar []float32
	if gradScale != 0 {
		dLogits, dMean, dLogVar = p.dLogits[:rows*D], p.dMean[:rows*L], p.dLogVar[:rows*L]
	}
	P := len(m.Config.Parts)
	if k == 1 {
		recon = m.lik.nll(dLogits, p.recon[:n], p.partLoss, p.logits[:n*D], x[:n*D], gradScale)
	} else {
		for r := range rows { // sample r%k of input r/k
			var g []float32
			if dLogits != nil {
				g = dLogits[r*D : (r+1)*D]
			}
			recon += m.lik.nll(g, p.recon[r:r+1], p.partLoss[r*P:(r+1)*P], p.logits[r*D:(r+1)*D], x[r/k*D:(r/k+1)*D], gradScale)
		}
	}
	kl = nn.GaussianKL(dMean, dLogVar, p.kl[:rows], p.mean[:rows*L], p.logVar[:rows*L], gradScale*beta)
	return recon, kl
}

// expand copies each row i of v [n, w] to rows i·k … i·k+k−1 of v [n·k, w].
func expand(v []float32, n, k, w int) {
	for i := n - 1; i >= 0; i-- { // from the end, so that no row is overwritten before it is copied
		for s := k - 1; s >= 0; s-- {
			copy(v[(i*k+s)*w:(i*k+s+1)*w], v[i*w:(i+1)*w])
		}
	}
}

// sumGroups sums rows i·k … i·k+k−1 of v [n·k, w] into row i of v [n, w],
// the reverse of expand for gradients.
func sumGroups(v []float32, n, k, w int) {
	for i := range n {
		for j := range w {
			s := v[i*k*w+j]
			for t := 1; t < k; t++ {
				s += v[(i*k+t)*w+j]
			}
			v[i*w+j] = s
		}
	}
}

// importanceWeights turns the gradients of the last forward pass, made with
// gradScale c and beta 0 (so with no KL gradients) on rows rows of groups of
// k samples of one input each, into those of the negative importance-
// weighted bound of Burda et al. (2016), c·Σ_groups −log (1/k) Σ_s w_s with
//
//	log w = log p(x|z) + log p(z) − log q(z|x)
//	      = −recon − ½|z|² + ½|ε|² + ½ Σ log σ²   (the log 2π terms cancel)
//
// whose gradient is Σ_s w̃_s ∇(−log w_s), w̃ the weights normalised in
// their group: each row's reconstruction gradient is scaled by w̃, and its
// latent gradients become those of c·w̃·(½|z|² − ½ Σ log σ²) with ε held:
// −½·c·w̃ for each log σ², and c·w̃·z for z, which backward adds.
func (p *pass) importanceWeights(rows, k, latent int, c float32) {
	D := len(p.dLogits) / len(p.recon)
	if cap(p.logw) < k {
		p.logw = make([]float64, k)
	}
	logw := p.logw[:k]
	p.weighted = true
	for g := 0; g < rows; g += k {
		hi := math.Inf(-1)
		for s := range k {
			r := g + s
			lw := -float64(p.recon[r])
			for j := r * latent; j < (r+1)*latent; j++ {
				e, z := float64(p.eps[j]), float64(p.z[j])
				lw += 0.5 * (e*e - z*z + float64(p.logVar[j]))
			}
			logw[s] = lw
			hi = max(hi, lw)
		}
		var sum float64
		for s := range k {
			logw[s] = math.Exp(logw[s] - hi)
			sum += logw[s]
		}
		for s := range k {
			r := g + s
			w := float32(logw[s] / sum)
			for i := r * D; i < (r+1)*D; i++ {
				p.dLogits[i] *= w
			}
			for j := r * latent; j < (r+1)*latent; j++ {
				p.dMean[j] = 0
				p.dLogVar[j] = -0.5 * c * w
			}
			p.zWeight[r] = c * w
		}
	}
}

// backward adds the gradients of the last forward pass (made with a
// gradScale, on n inputs with k samples each) to the parameters' gradients.
func (m *Model) backward(p *pass, x []float32, n, k int) {
	L := m.Config.Latent
	rows := n * k

	// decoder, from the logits back to z
	for i := len(m.Decoder) - 1; i >= 0; i-- {
		in, dIn := p.z, p.dZ
		if i > 0 {
			in, dIn = p.dec[i-1], p.dDec[i-1]
		}
		if i == 0 && m.DecoderClass != nil {
			m.DecoderClass.Backward(p.dDec[0], p.decLabels, rows)
		}
		m.Decoder[i].Backward(dIn, p.dDec[i], in, p.dec[i], rows, &p.ws)
	}

	// the sampled ½|z|² of the importance-weighted objective
	if p.weighted {
		for i := range rows * L {
			p.dZ[i] += p.zWeight[i/L] * p.z[i]
		}
		p.weighted = false
	}

	// z = z_mean + exp(z_log_var/2)·ε, with z_mean and z_log_var shared by
	// the k samples of an input
	for i := range rows * L {
		p.dMean[i] += p.dZ[i]
		p.dLogVar[i] += p.dZ[i] * p.eps[i] * p.std[i] / 2
	}
	if k > 1 {
		sumGroups(p.dMean, n, k, L)
		sumGroups(p.dLogVar, n, k, L)
	}

	// the two heads, whose input gradients add up, then the encoder back to x
	x = m.encoderInput(p, x, n) // as forward left it
	last := len(m.Encoder) - 1
	if last < 0 {
		m.ZMean.Backward(nil, p.dMean, x, nil, n, nil)
		m.ZLogVar.Backward(nil, p.dLogVar, x, nil, n, nil)
		return
	}
	m.ZMean.Backward(p.dEnc[last], p.dMean, p.enc[last], nil, n, nil)
	m.ZLogVar.Backward(p.dEncFromLogVar, p.dLogVar, p.enc[last], nil, n, nil)
	for i, g := range p.dEncFromLogVar[:n*m.ZLogVar.In] {
		p.dEnc[last][i] += g
	}
	for i := last; i >= 0; i-- {
		in, dIn := x, []float32(nil)
		if i > 0 {
			in, dIn = p.enc[i-1], p.dEnc[i-1]
		}
		if i == m.encClass && m.EncoderClass != nil {
			m.EncoderClass.Backward(p.dEnc[i], p.labels, n)
		}
		m.Encoder[i].Backward(dIn, p.dEnc[i], in, p.enc[i], n, &p.ws)
	}
}

// fillNormal fills v with standard normal draws from rng.
func fillNormal(v []float32, rng *rand.Rand) {
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
}
