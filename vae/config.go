package vae

import (
	"fmt"
	"math"
	"strings"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/nn"
)

// Config is the shape of a VAE: its networks are dense layers of the sizes
// Hidden (the decoder mirrors the encoder: its hidden layers are Hidden in
// reverse order), or the stacks of layers Encoder and Decoder (see Layer
// for their specs).
type Config struct {
	Input  int   `json:"input" yaml:"input"`   // input (and output) size, e.g. 784
	Hidden []int `json:"hidden" yaml:"hidden"` // encoder hidden layer sizes, e.g. [512]
	// Encoder and Decoder, if set instead of Hidden, are the networks as
	// lists of layer specs, e.g. [conv32s2, conv64s2, dense16] and
	// [dense3136, reshape64x7x7, convT64s2, convT32s2, convT1].
	Encoder []string `json:"encoder,omitempty" yaml:"encoder,omitempty"`
	Decoder []string `json:"decoder,omitempty" yaml:"decoder,omitempty"`
	// Image, if set, is the shape of the input as images, [channels,
	// height, width] with Input their product: what convolutions read.
	Image  []int `json:"image,omitempty" yaml:"image,omitempty"`
	Latent int   `json:"latent" yaml:"latent"` // latent size, e.g. 2
	// Classes, if set, makes the model conditional on a class of that many
	// (the one-hot label beside the encoder's output and beside z; see
	// Given).
	Classes    int           `json:"classes,omitempty" yaml:"classes,omitempty"`
	Activation nn.Activation `json:"activation" yaml:"activation"` // hidden activation; default relu
	// Activations, if set, gives each hidden layer its own activation, in
	// the order of Hidden (the decoder mirrors it) instead of Activation.
	Activations []nn.Activation `json:"activations,omitempty" yaml:"activations,omitempty"`
	Init        nn.Init         `json:"init" yaml:"init"` // weight initialisation; default glorot (Keras's, as `vae train`)

	Likelihood Likelihood `json:"likelihood,omitempty" yaml:"likelihood,omitempty"` // p(x|z); default bernoulli
	// Sigma is the standard deviation of a Gaussian p(x|z); 0 learns one
	// variance per input dimension (the parameter output.log_var).
	Sigma float64 `json:"sigma,omitempty" yaml:"sigma,omitempty"`
	// Parts, if set, cuts the inputs into blocks with a likelihood each
	// (the columns of a table, see Part) instead of one Likelihood for all.
	Parts []Part `json:"parts,omitempty" yaml:"parts,omitempty"`
}

// Likelihood names the distribution p(x|z) that the decoder's output
// parameterises.
type Likelihood string

// The likelihoods a model supports.
const (
	// Bernoulli: the outputs are logits, the targets in [0, 1] (binary
	// images, or grayscale ones read as probabilities).
	Bernoulli Likelihood = "bernoulli"
	// Gaussian: the outputs are the means of independent Gaussians, for
	// continuous data; their standard deviation is Config.Sigma or learned.
	Gaussian Likelihood = "gaussian"
)

func (c Config) likelihood() Likelihood {
	if c.Likelihood == "" {
		return Bernoulli
	}
	return c.Likelihood
}

// Validate reports the first field of c that is out of range.
func (c Config) Validate() error {
	if c.Input <= 0 {
		return fmt.Errorf("config: input size %d, want > 0", c.Input)
	}
	if c.Latent <= 0 {
		return fmt.Errorf("config: latent size %d, want > 0", c.Latent)
	}
	for i, h := range c.Hidden {
		if h <= 0 {
			return fmt.Errorf("config: hidden[%d] = %d, want > 0", i, h)
		}
	}
	if err := c.activation().Valid(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.Activations != nil && len(c.Activations) != len(c.Hidden) {
		return fmt.Errorf("config: %d activations for %d hidden layers", len(c.Activations), len(c.Hidden))
	}
	for i, a := range c.Activations {
		if err := a.Valid(); err != nil {
			return fmt.Errorf("config: activations[%d]: %w", i, err)
		}
	}
	switch c.Init {
	case "", nn.InitPyTorch, nn.InitGlorot:
	default:
		return fmt.Errorf("config: unknown init %q (want %q or %q)", c.Init, nn.InitPyTorch, nn.InitGlorot)
	}
	if c.Image != nil {
		if len(c.Image) != 3 || c.Image[0] <= 0 || c.Image[1] <= 0 || c.Image[2] <= 0 ||
			budget.Mul(int64(c.Image[0]), int64(c.Image[1]), int64(c.Image[2])) != int64(c.Input) {
			return fmt.Errorf("config: image shape %v, want [channels, height, width] of %d values", c.Image, c.Input)
		}
		if c.Parts != nil {
			return fmt.Errorf("config: image shape set for a model of parts")
		}
	}
	enc, _, dec, err := c.plan()
	if err != nil {
		return err
	}
	if c.Classes < 0 || c.Classes > 256 {
		return fmt.Errorf("config: %d classes, want 0 (not conditional) to 256", c.Classes)
	}
	if c.Classes > 0 && dec[0].Kind != "dense" {
		return fmt.Errorf("config: a conditional model's decoder starts with a dense layer, not %s", dec[0].Kind)
	}
	if c.Classes > 0 && classLayer(enc) < 0 {
		return fmt.Errorf("config: a conditional model's encoder has a dense layer, where the class joins")
	}
	if c.Parts != nil {
		return c.checkParts()
	}
	switch l := c.likelihood(); {
	case l != Bernoulli && l != Gaussian:
		return fmt.Errorf("config: unknown likelihood %q (want %q or %q)", c.Likelihood, Bernoulli, Gaussian)
	case !(c.Sigma >= 0) || math.IsInf(c.Sigma, 0):
		return fmt.Errorf("config: sigma %v, want a positive number (or 0 to learn it)", c.Sigma)
	case c.Sigma != 0 && l != Gaussian:
		return fmt.Errorf("config: sigma %v set for a %s likelihood, which has none", c.Sigma, l)
	}
	return nil
}

// learnsVariance reports whether a model of shape c learns output
// log-variances (the parameter output.log_var [Input]): a Gaussian
// likelihood without Sigma, or Gaussian parts.
func (c Config) learnsVariance() bool {
	for _, p := range c.Parts {
		if p.Likelihood == Gaussian {
			return true
		}
	}
	return c.Parts == nil && c.likelihood() == Gaussian && c.Sigma == 0
}

// hiddenActivation returns the activation of hidden layer i (encoder
// order; decoder layer j is hidden layer len(Hidden)−1−j).
func (c Config) hiddenActivation(i int) nn.Activation {
	if c.Activations != nil {
		return c.Activations[i]
	}
	return c.activation()
}

func (c Config) activation() nn.Activation {
	if c.Activation == "" {
		return nn.ReLU
	}
	return c.Activation
}

// String formats the architecture as sizes joined by dashes, e.g.
// "784-512-2", or for stacks of layers the input, the encoder, the latent
// size and the decoder, e.g. "1x28x28 conv32s2,dense16 2 dense3136,…".
func (c Config) String() string {
	if c.Encoder != nil || c.Decoder != nil {
		in := fmt.Sprint(c.Input)
		if len(c.Image) == 3 {
			in = fmt.Sprintf("%dx%dx%d", c.Image[0], c.Image[1], c.Image[2])
		}
		return fmt.Sprintf("%s %s %d %s", in, strings.Join(c.Encoder, ","), c.Latent, strings.Join(c.Decoder, ","))
	}
	s := fmt.Sprint(c.Input)
	for _, h := range c.Hidden {
		s += fmt.Sprintf("-%d", h)
	}
	return s + fmt.Sprintf("-%d", c.Latent)
}
