package vae

import (
	"fmt"

	"github.com/govae/vae/nn"
)

// Config is the shape of a VAE. The decoder mirrors the encoder: its hidden
// layers are Hidden in reverse order.
type Config struct {
	Input      int           `json:"input" yaml:"input"`           // input (and output) size, e.g. 784
	Hidden     []int         `json:"hidden" yaml:"hidden"`         // encoder hidden layer sizes, e.g. [512]
	Latent     int           `json:"latent" yaml:"latent"`         // latent size, e.g. 2
	Activation nn.Activation `json:"activation" yaml:"activation"` // hidden activation; default relu
	Init       nn.Init       `json:"init" yaml:"init"`             // weight initialisation; default pytorch
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
	switch c.Init {
	case "", nn.InitPyTorch, nn.InitGlorot:
	default:
		return fmt.Errorf("config: unknown init %q (want %q or %q)", c.Init, nn.InitPyTorch, nn.InitGlorot)
	}
	return nil
}

func (c Config) activation() nn.Activation {
	if c.Activation == "" {
		return nn.ReLU
	}
	return c.Activation
}

// String formats the architecture as sizes joined by dashes, e.g. "784-512-2".
func (c Config) String() string {
	s := fmt.Sprint(c.Input)
	for _, h := range c.Hidden {
		s += fmt.Sprintf("-%d", h)
	}
	return s + fmt.Sprintf("-%d", c.Latent)
}
