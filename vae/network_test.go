package vae

import (
	"fmt"
	"strings"
	"testing"

	"github.com/govae/vae/nn"
)

// kerasConv is the Keras example's convolutional VAE.
var kerasConv = Config{
	Input: 784, Image: []int{1, 28, 28}, Latent: 2,
	Encoder: []string{"conv32s2", "conv64s2", "dense16"},
	Decoder: []string{"dense3136", "reshape64x7x7", "convT64s2", "convT32s2", "convT1"},
}

// smallConv is a convolutional VAE small enough for finite differences.
var smallConv = Config{
	Input: 36, Image: []int{1, 6, 6}, Latent: 2, Activation: nn.Tanh,
	Encoder: []string{"conv3s2", "dense4"},
	Decoder: []string{"dense27", "reshape3x3x3", "convT2s2", "convT1"},
}

// The Keras example's layers, with its parameter counts (Keras's summary:
// 69,076 in the encoder, 65,089 in the decoder).
func TestKerasConvLayers(t *testing.T) {
	var got []string
	for _, l := range kerasConv.Layers() {
		got = append(got, fmt.Sprintf("%s %s %v %d→%d", l.Name, l.Kind, l.Weight, l.In, l.Out))
	}
	want := []string{
		"encoder.0 conv [32 1 3 3] 784→6272",
		"encoder.1 conv [64 32 3 3] 6272→3136",
		"encoder.2 dense [16 3136] 3136→16",
		"z_mean dense [2 16] 16→2",
		"z_log_var dense [2 16] 16→2",
		"decoder.0 dense [3136 2] 2→3136",
		"decoder.1 convT [64 64 3 3] 3136→12544",
		"decoder.2 convT [64 32 3 3] 12544→25088",
		"output convT [32 1 3 3] 25088→784",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("layers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := kerasConv.ParamCount(); n != 69076+65089 {
		t.Errorf("%d parameters, want %d", n, 69076+65089)
	}
	enc, dec, err := ConvNetwork(1, 28, 28)
	if err != nil || fmt.Sprint(enc, dec) != fmt.Sprint(kerasConv.Encoder, kerasConv.Decoder) {
		t.Errorf("ConvNetwork(1, 28, 28) = %v, %v, %v; want the Keras network", enc, dec, err)
	}
	if _, _, err := ConvNetwork(3, 30, 32); err == nil {
		t.Error("ConvNetwork(3, 30, 32) made a network for a height not a multiple of 4")
	}
	// A dense model through specs is the model of Hidden, names and all.
	hidden := Config{Input: 784, Hidden: []int{400}, Latent: 20}
	specs := Config{Input: 784, Encoder: []string{"dense400"}, Decoder: []string{"dense400"}, Latent: 20}
	if a, b := fmt.Sprint(hidden.Layers()), fmt.Sprint(specs.Layers()); a != b {
		t.Errorf("Hidden [400] gives %s, specs dense400 %s", a, b)
	}
}

func TestLayerSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Input: 784, Latent: 2, Encoder: []string{"conv32"}, Decoder: []string{"dense4"}}, "needs images"},
		{Config{Input: 784, Latent: 2, Encoder: []string{"dense4"}}, "give both"},
		{Config{Input: 784, Latent: 2, Hidden: []int{4}, Encoder: []string{"dense4"}, Decoder: []string{"dense4"}}, "one or the other"},
		{Config{Input: 784, Latent: 2, Encoder: []string{"pool2"}, Decoder: []string{"dense4"}}, `encoder[0]: layer "pool2": unknown kind`},
		{Config{Input: 784, Latent: 2, Encoder: []string{"dense0"}, Decoder: []string{"dense4"}}, "positive number of units"},
		{Config{Input: 784, Latent: 2, Encoder: []string{"dense4:gelu"}, Decoder: []string{"dense4"}}, `"gelu"`},
		{Config{Input: 784, Latent: 2, Encoder: []string{"flatten:relu"}, Decoder: []string{"dense4"}}, "take an activation"},
		{Config{Input: 784, Latent: 2, Encoder: []string{"dense99999999999"}, Decoder: []string{"dense4"}}, "positive number of units"},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"conv8x3"}, Decoder: []string{"dense4"}}, `unknown option 'x'`},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"conv8s0"}, Decoder: []string{"dense4"}}, "must be positive"},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"conv8o1"}, Decoder: []string{"dense4"}}, "output padding o is for convT"},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"conv8k40p0"}, Decoder: []string{"dense4"}}, "does not fit"},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"dense4"}, Decoder: []string{"reshape4x7x7"}}, "reshape to 4×7×7, but its input has 2 values"},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"dense4"}, Decoder: []string{"dense49", "reshape1x7x7", "convT1s2"}}, "gives 1×14×14, want the input's 1×28×28"},
		{Config{Input: 784, Image: []int{1, 28, 28}, Latent: 2, Encoder: []string{"dense4"}, Decoder: []string{"dense49", "reshape1x7x7", "convT1k1s2"}}, "no \"same\" padding"},
		{Config{Input: 784, Image: []int{1, 28, 27}, Latent: 2}, "image shape [1 28 27]"},
		{Config{Input: 784, Image: []int{784}, Latent: 2}, "image shape [784]"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.cfg, err, tc.want)
		}
	}
}
