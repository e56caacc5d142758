package vae

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/nn"
)

// A model's encoder and decoder are stacks of layers (nn.Layer). Config
// gives them either as Hidden, dense layers whose decoder mirrors the
// encoder, or as Encoder and Decoder, lists of layer specs:
//
//	dense16         a dense layer of 16 units
//	conv32s2        a 2-D convolution to 32 channels; options after the
//	                channels: k<kernel> (default 3), s<stride> (default 1),
//	                p<pad> for PyTorch's symmetric zero padding instead of
//	                TensorFlow's "same" (the default; p0 is "valid")
//	convT32s2       a transposed convolution, options as conv's, and
//	                o<output padding> with p<pad>
//	reshape64x7x7   read rows as images of 64 channels of 7×7
//	flatten         read images as rows
//
// Every dense and convolutional layer of the bodies is followed by the
// model's activation, or by the one a spec names after a colon
// ("dense16:tanh"). The encoder's input is an image when Config.Image is
// set. The decoder ends in the output layer: its last spec when that is a
// convolution (which must give the input's shape, and has no activation),
// else a dense layer to Input values, named "output".
//
// The Keras example's network is
//
//	image:   [1, 28, 28]
//	encoder: [conv32s2, conv64s2, dense16]
//	decoder: [dense3136, reshape64x7x7, convT64s2, convT32s2, convT1]

// Layer describes one layer of a model with parameters, as Config.Layers
// lists them.
type Layer struct {
	Name    string // parameter name prefix, e.g. "encoder.0"
	Kind    string // "dense", "conv" or "convT"
	In, Out int    // floats per row of its input and of its output
	Weight  []int  // the weight's shape, PyTorch's layout; the bias has Bias values
	Bias    int
	MACs    int64 // multiply-adds per row of its forward pass
	Decoder bool  // in the decoder (else the encoder or its heads)
}

// layerSpec is one parsed entry of Config.Encoder or Config.Decoder.
type layerSpec struct {
	kind                   string // dense, conv, convT, reshape, flatten
	n                      int    // units or channels
	k, stride, pad, outPad int
	same                   bool          // TensorFlow's "same" padding
	shape                  [3]int        // reshape's channels, height, width
	act                    nn.Activation // "" for the model's
}

// maxSpecSize bounds every number in a layer spec, so that the products of
// sizes that follow cannot overflow before the budget refuses them.
const maxSpecSize = 1 << 20

// parseLayerSpec parses a layer spec such as "conv32s2" or "dense16:tanh".
func parseLayerSpec(s string) (layerSpec, error) {
	bad := func(why string) (layerSpec, error) {
		return layerSpec{}, fmt.Errorf("layer %q: %s (want e.g. dense512, conv32s2, convT32s2, reshape64x7x7 or flatten)", s, why)
	}
	body, act, hasAct := strings.Cut(s, ":")
	l := layerSpec{k: 3, stride: 1, same: true, act: nn.Activation(act)}
	if hasAct {
		if err := l.act.Valid(); err != nil {
			return bad(err.Error())
		}
	}
	// number reads the digits at the front of rest.
	number := func(rest string) (int, string, bool) {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		v, err := strconv.Atoi(rest[:i])
		if err != nil || v < 0 || v > maxSpecSize {
			return 0, rest, false
		}
		return v, rest[i:], true
	}
	switch {
	case body == "flatten":
		l.kind = "flatten"
	case strings.HasPrefix(body, "reshape"):
		l.kind = "reshape"
		parts := strings.Split(strings.TrimPrefix(body, "reshape"), "x")
		if len(parts) != 3 {
			return bad("reshape wants channels×height×width, as reshape64x7x7")
		}
		for i, p := range parts {
			v, rest, ok := number(p)
			if !ok || rest != "" || v == 0 {
				return bad(fmt.Sprintf("size %q", p))
			}
			l.shape[i] = v
		}
	case strings.HasPrefix(body, "dense"):
		l.kind = "dense"
		v, rest, ok := number(strings.TrimPrefix(body, "dense"))
		if !ok || rest != "" || v == 0 {
			return bad("dense wants a positive number of units")
		}
		l.n = v
	case strings.HasPrefix(body, "conv"):
		l.kind, body = "conv", strings.TrimPrefix(body, "conv")
		if strings.HasPrefix(body, "T") {
			l.kind, body = "convT", body[1:]
		}
		v, rest, ok := number(body)
		if !ok || v == 0 {
			return bad("a convolution wants a positive number of channels")
		}
		l.n = v
		padded := false
		for rest != "" {
			opt := rest[0]
			v, rest, ok = number(rest[1:])
			if !ok {
				return bad(fmt.Sprintf("option %q wants a number", opt))
			}
			switch opt {
			case 'k':
				l.k = v
			case 's':
				l.stride = v
			case 'p':
				l.pad, l.same, padded = v, false, true
			case 'o':
				l.outPad = v
			default:
				return bad(fmt.Sprintf("unknown option %q (want k, s, p or o)", opt))
			}
		}
		switch {
		case l.k == 0 || l.stride == 0:
			return bad("kernel and stride must be positive")
		case l.outPad != 0 && (l.kind != "convT" || !padded):
			return bad("output padding o is for convT with a padding p")
		}
	default:
		return bad("unknown kind")
	}
	if hasAct && l.kind != "dense" && l.kind != "conv" && l.kind != "convT" {
		return bad("only dense and convolutional layers take an activation")
	}
	return l, nil
}

// planned is one layer of a model's plan: a Layer with what building it
// takes. An activation has Kind "act" and no Name.
type planned struct {
	Layer
	spec    layerSpec
	act     nn.Activation
	c, h, w int // a convolution's input
}

// shape is the shape of a row between layers: an image c×h×w, or flat
// with c values (h and w 0).
type shape struct{ c, h, w int }

func (s shape) size() int {
	if s.h == 0 {
		return s.c
	}
	return s.c * s.h * s.w
}

func (s shape) String() string {
	if s.h == 0 {
		return fmt.Sprintf("%d values", s.c)
	}
	return fmt.Sprintf("%d×%d×%d", s.c, s.h, s.w)
}

// plan lists the layers of a model of shape c and their activations:
// the encoder, then the heads z_mean and z_log_var, then the decoder ending
// in the output layer. It is what New builds, what the model file's
// tensors are checked against and what the budget counts, and computes
// no more than sizes.
func (c Config) plan() (enc []planned, heads [2]planned, dec []planned, err error) {
	encSpecs, decSpecs, err := c.specs()
	if err != nil {
		return nil, heads, nil, err
	}
	in := shape{c: c.encoderInput()}
	if c.Image != nil {
		in = shape{c.Image[0], c.Image[1], c.Image[2]}
	}
	enc, in, err = c.stack("encoder", encSpecs, in, false)
	if err != nil {
		return nil, heads, nil, err
	}
	for i, name := range []string{"z_mean", "z_log_var"} {
		heads[i] = dense(name, in.size(), c.Latent, false)
	}
	dec, out, err := c.stack("decoder", decSpecs, shape{c: c.Latent}, true)
	if err != nil {
		return nil, heads, nil, err
	}
	last := len(decSpecs) - 1
	if last >= 0 && (decSpecs[last].kind == "conv" || decSpecs[last].kind == "convT") {
		dec = dec[:len(dec)-1] // the output layer has no activation
		dec[len(dec)-1].Name = "output"
		want := shape{c: c.Input}
		if c.Image != nil {
			want = shape{c.Image[0], c.Image[1], c.Image[2]}
		}
		if out.size() != c.Input || (c.Image != nil && out != want) {
			return nil, heads, nil, fmt.Errorf("config: the decoder's last layer %s gives %v, want the input's %v", c.Decoder[last], out, want)
		}
	} else {
		dec = append(dec, dense("output", out.size(), c.Input, true))
	}
	return enc, heads, dec, nil
}

// specs returns the layer specs of the encoder and the decoder: Encoder and
// Decoder parsed, or Hidden as dense layers.
func (c Config) specs() (enc, dec []layerSpec, err error) {
	if c.Encoder == nil && c.Decoder == nil {
		for i, h := range c.Hidden {
			enc = append(enc, layerSpec{kind: "dense", n: h, act: c.hiddenActivation(i)})
		}
		for i := range c.Hidden {
			j := len(c.Hidden) - 1 - i
			dec = append(dec, layerSpec{kind: "dense", n: c.Hidden[j], act: c.hiddenActivation(j)})
		}
		return enc, dec, nil
	}
	if c.Hidden != nil || c.Activations != nil {
		return nil, nil, fmt.Errorf("config: hidden or activations set with encoder and decoder; give one or the other")
	}
	if c.Encoder == nil || c.Decoder == nil {
		return nil, nil, fmt.Errorf("config: encoder set without decoder or the other way round; give both")
	}
	for i, s := range c.Encoder {
		l, err := parseLayerSpec(s)
		if err != nil {
			return nil, nil, fmt.Errorf("config: encoder[%d]: %w", i, err)
		}
		enc = append(enc, l)
	}
	for i, s := range c.Decoder {
		l, err := parseLayerSpec(s)
		if err != nil {
			return nil, nil, fmt.Errorf("config: decoder[%d]: %w", i, err)
		}
		dec = append(dec, l)
	}
	return enc, dec, nil
}

func dense(name string, in, out int, decoder bool) planned {
	return planned{Layer: Layer{
		Name: name, Kind: "dense", In: in, Out: out, Weight: []int{out, in}, Bias: out,
		MACs: budget.Mul(int64(in), int64(out)), Decoder: decoder,
	}}
}

// stack plans the layers of specs on rows of shape in, each dense or
// convolutional layer followed by its activation, and returns them with
// the shape of their output.
func (c Config) stack(net string, specs []layerSpec, in shape, decoder bool) ([]planned, shape, error) {
	var ls []planned
	for i, s := range specs {
		fail := func(format string, args ...any) ([]planned, shape, error) {
			return nil, in, fmt.Errorf("config: %s[%d]: %s", net, i, fmt.Sprintf(format, args...))
		}
		name := fmt.Sprintf("%s.%d", net, parametrised(ls))
		var p planned
		switch s.kind {
		case "flatten":
			in = shape{c: in.size()}
			continue
		case "reshape":
			out := shape{s.shape[0], s.shape[1], s.shape[2]}
			if budget.Mul(int64(out.c), int64(out.h), int64(out.w)) != int64(in.size()) {
				return fail("reshape to %v, but its input has %v", out, in)
			}
			in = out
			continue
		case "dense":
			p = dense(name, in.size(), s.n, decoder)
			in = shape{c: s.n}
		case "conv", "convT":
			if in.h == 0 {
				return fail("%s%d needs images; set the model's image shape or reshape first (its input has %v)", s.kind, s.n, in)
			}
			out := shape{c: s.n}
			var top, bottom, left, right int
			if s.same { // of the input for conv, of the output (in·stride) for convT
				scale := 1
				if s.kind == "convT" {
					if s.k < s.stride {
						return fail("%s with kernel %d smaller than stride %d has no \"same\" padding; give p", s.kind, s.k, s.stride)
					}
					scale = s.stride
				}
				top, bottom = nn.SamePadding(in.h*scale, s.k, s.stride)
				left, right = nn.SamePadding(in.w*scale, s.k, s.stride)
			} else {
				top, bottom, left, right = s.pad, s.pad, s.pad, s.pad
			}
			if s.kind == "conv" {
				out.h = nn.ConvOutput(in.h, s.k, s.stride, top, bottom)
				out.w = nn.ConvOutput(in.w, s.k, s.stride, left, right)
			} else {
				if s.outPad >= s.stride {
					return fail("output padding %d not below the stride %d", s.outPad, s.stride)
				}
				out.h = nn.ConvTransposeOutput(in.h, s.k, s.stride, top, bottom, s.outPad)
				out.w = nn.ConvTransposeOutput(in.w, s.k, s.stride, left, right, s.outPad)
			}
			if out.h <= 0 || out.w <= 0 || s.kind == "conv" && (in.h+top+bottom < s.k || in.w+left+right < s.k) {
				return fail("kernel %d does not fit its %v input", s.k, in)
			}
			p = planned{Layer: Layer{Name: name, Kind: s.kind, In: in.size(), Out: out.size(), Bias: s.n, Decoder: decoder}, c: in.c, h: in.h, w: in.w}
			macs := budget.Mul(int64(out.size()), int64(in.c), int64(s.k), int64(s.k))
			p.Weight = []int{s.n, in.c, s.k, s.k}
			if s.kind == "convT" {
				macs = budget.Mul(int64(in.size()), int64(s.n), int64(s.k), int64(s.k))
				p.Weight = []int{in.c, s.n, s.k, s.k}
			}
			p.MACs = macs
			in = out
		}
		p.spec = s
		act := cmp.Or(s.act, c.activation())
		ls = append(ls, p, planned{Layer: Layer{Kind: "act", In: p.Out, Out: p.Out, Decoder: decoder}, act: act})
	}
	return ls, in, nil
}

// parametrised counts the layers of ls with parameters.
func parametrised(ls []planned) int {
	n := 0
	for _, l := range ls {
		if l.Name != "" {
			n++
		}
	}
	return n
}

// build makes the layer p describes, zero-initialised.
func (p planned) build() (nn.Layer, error) {
	s := p.spec
	switch p.Kind {
	case "act":
		return nn.Activate{Fn: p.act, Size: p.Out}, nil
	case "dense":
		return nn.NewDense(p.Name, p.In, p.Out), nil
	case "conv":
		if s.same {
			return nn.NewConv2DSame(p.Name, p.c, s.n, s.k, s.k, s.stride, p.h, p.w)
		}
		return nn.NewConv2D(p.Name, p.c, s.n, s.k, s.k, s.stride, s.pad, p.h, p.w)
	case "convT":
		if s.same {
			return nn.NewConvTranspose2DSame(p.Name, p.c, s.n, s.k, s.k, s.stride, p.h, p.w)
		}
		return nn.NewConvTranspose2D(p.Name, p.c, s.n, s.k, s.k, s.stride, s.pad, s.outPad, p.h, p.w)
	}
	panic("vae: unknown layer kind " + p.Kind)
}

// Layers lists the layers with parameters of a model of shape c, encoder
// first, then z_mean and z_log_var, then the decoder and the output layer;
// nil when c is not valid.
func (c Config) Layers() []Layer {
	enc, heads, dec, err := c.plan()
	if err != nil {
		return nil
	}
	var ls []Layer
	for _, p := range append(append(enc, heads[:]...), dec...) {
		if p.Name != "" {
			ls = append(ls, p.Layer)
		}
	}
	return ls
}

// ConvNetwork returns the layer specs of the Keras example's convolutional
// network (see Layer) for images of the given shape, whose height and width
// must be multiples of 4: two convolutions of stride 2 and a dense layer of
// 16 in the encoder, their mirror in the decoder. For 1×28×28 it is
//
//	encoder: conv32s2, conv64s2, dense16
//	decoder: dense3136, reshape64x7x7, convT64s2, convT32s2, convT1
func ConvNetwork(channels, height, width int) (encoder, decoder []string, err error) {
	if channels <= 0 || height <= 0 || width <= 0 || height%4 != 0 || width%4 != 0 {
		return nil, nil, fmt.Errorf("the convolutional network takes images whose height and width are multiples of 4, not %d×%d×%d", channels, height, width)
	}
	h, w := height/4, width/4
	encoder = []string{"conv32s2", "conv64s2", "dense16"}
	decoder = []string{fmt.Sprintf("dense%d", 64*h*w), fmt.Sprintf("reshape64x%dx%d", h, w), "convT64s2", "convT32s2", fmt.Sprintf("convT%d", channels)}
	return encoder, decoder, nil
}

// classLayer returns the index in enc of the first dense layer, where a
// conditional model's class joins the encoder, or −1.
func classLayer(enc []planned) int {
	return slices.IndexFunc(enc, func(p planned) bool { return p.Kind == "dense" })
}
