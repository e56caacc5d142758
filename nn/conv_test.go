package nn

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/govae/vae/nn/nntest"
)

// convLayer is a Conv2D or a ConvTranspose2D.
type convLayer = Layer

// convCase is a layer of the test table: a Conv2D, or with transpose a
// ConvTranspose2D; same asks for TensorFlow's "same" padding instead of pad
// (and outPad).
type convCase struct {
	transpose, same                               bool
	n, in, out, kh, kw, stride, pad, outPad, h, w int
}

func (tc convCase) String() string {
	kind, pad := "conv", fmt.Sprintf("p%d", tc.pad)
	if tc.transpose {
		kind, pad = "convT", fmt.Sprintf("p%d op%d", tc.pad, tc.outPad)
	}
	if tc.same {
		pad = "same"
	}
	return fmt.Sprintf("%s n%d %d→%d k%d×%d s%d %s %d×%d", kind, tc.n, tc.in, tc.out, tc.kh, tc.kw, tc.stride, pad, tc.h, tc.w)
}

func (tc convCase) build() (convLayer, error) {
	switch {
	case tc.transpose && tc.same:
		return NewConvTranspose2DSame("l", tc.in, tc.out, tc.kh, tc.kw, tc.stride, tc.h, tc.w)
	case tc.transpose:
		return NewConvTranspose2D("l", tc.in, tc.out, tc.kh, tc.kw, tc.stride, tc.pad, tc.outPad, tc.h, tc.w)
	case tc.same:
		return NewConv2DSame("l", tc.in, tc.out, tc.kh, tc.kw, tc.stride, tc.h, tc.w)
	}
	return NewConv2D("l", tc.in, tc.out, tc.kh, tc.kw, tc.stride, tc.pad, tc.h, tc.w)
}

var convCases = []convCase{
	{n: 1, in: 1, out: 1, kh: 3, kw: 3, stride: 1, h: 5, w: 5},
	{n: 2, in: 2, out: 3, kh: 3, kw: 3, stride: 1, pad: 1, h: 5, w: 5},
	{n: 2, in: 3, out: 2, kh: 3, kw: 3, stride: 2, pad: 1, h: 6, w: 7},
	{n: 1, in: 2, out: 3, kh: 3, kw: 3, stride: 2, h: 7, w: 6},
	{n: 1, in: 2, out: 2, kh: 1, kw: 1, stride: 1, h: 5, w: 5},
	{n: 2, in: 1, out: 3, kh: 1, kw: 1, stride: 2, h: 6, w: 7},
	{n: 2, in: 2, out: 2, kh: 2, kw: 3, stride: 1, pad: 1, h: 6, w: 7},
	{n: 1, in: 3, out: 1, kh: 2, kw: 3, stride: 2, h: 5, w: 6},
	{n: 2, in: 2, out: 2, kh: 3, kw: 3, stride: 2, pad: 2, h: 5, w: 5},
	{same: true, n: 2, in: 2, out: 3, kh: 3, kw: 3, stride: 2, h: 6, w: 7},
	{same: true, n: 1, in: 1, out: 2, kh: 2, kw: 3, stride: 1, h: 5, w: 6},

	{transpose: true, n: 1, in: 1, out: 1, kh: 3, kw: 3, stride: 1, h: 5, w: 5},
	{transpose: true, n: 2, in: 2, out: 3, kh: 3, kw: 3, stride: 1, pad: 1, h: 5, w: 5},
	{transpose: true, n: 2, in: 3, out: 2, kh: 3, kw: 3, stride: 2, pad: 1, outPad: 1, h: 3, w: 4},
	{transpose: true, n: 1, in: 2, out: 3, kh: 3, kw: 3, stride: 2, h: 4, w: 3},
	{transpose: true, n: 2, in: 2, out: 1, kh: 1, kw: 1, stride: 2, outPad: 1, h: 3, w: 4},
	{transpose: true, n: 1, in: 2, out: 2, kh: 1, kw: 1, stride: 1, h: 5, w: 5},
	{transpose: true, n: 2, in: 2, out: 2, kh: 2, kw: 3, stride: 2, pad: 1, outPad: 1, h: 3, w: 3},
	{transpose: true, n: 1, in: 1, out: 3, kh: 2, kw: 3, stride: 1, h: 4, w: 5},
	{transpose: true, same: true, n: 2, in: 3, out: 2, kh: 3, kw: 3, stride: 2, h: 3, w: 4},
	{transpose: true, same: true, n: 1, in: 2, out: 2, kh: 3, kw: 2, stride: 1, h: 5, w: 4},
}

// convLens returns the lengths of one image of l's input and output.
func convLens(l convLayer) (in, out int) {
	switch l := l.(type) {
	case *Conv2D:
		return l.In * l.InH * l.InW, l.Out * l.OutH * l.OutW
	case *ConvTranspose2D:
		return l.In * l.InH * l.InW, l.Out * l.OutH * l.OutW
	}
	panic("unknown layer")
}

// convRef computes l's output for x by the definition, in float64: a
// Conv2D's output pixels are sums over the kernel of the input pixels under
// it, a ConvTranspose2D's input pixels each add the kernel, scaledBy, to the
// output pixels it covers.
func convRef(l convLayer, x []float32, n int) []float32 {
	_, outLen := convLens(l)
	y := make([]float64, n*outLen)
	switch l := l.(type) {
	case *Conv2D:
		for b := range n {
			for o := range l.Out {
				for i := range l.OutH {
					for j := range l.OutW {
						s := float64(l.B.Value[o])
						for c := range l.In {
							for p := range l.KH {
								for q := range l.KW {
									yy, xx := i*l.Stride-l.Pad.Top+p, j*l.Stride-l.Pad.Left+q
									if yy >= 0 && yy < l.InH && xx >= 0 && xx < l.InW {
										s += float64(l.W.Value[((o*l.In+c)*l.KH+p)*l.KW+q]) * float64(x[((b*l.In+c)*l.InH+yy)*l.InW+xx])
									}
								}
							}
						}
						y[((b*l.Out+o)*l.OutH+i)*l.OutW+j] = s
					}
				}
			}
		}
	case *ConvTranspose2D:
		for b := range n {
			for o := range l.Out {
				for k := range l.OutH * l.OutW {
					y[(b*l.Out+o)*l.OutH*l.OutW+k] = float64(l.B.Value[o])
				}
			}
			for c := range l.In {
				for i := range l.InH {
					for j := range l.InW {
						v := float64(x[((b*l.In+c)*l.InH+i)*l.InW+j])
						for o := range l.Out {
							for p := range l.KH {
								for q := range l.KW {
									yy, xx := i*l.Stride-l.Pad.Top+p, j*l.Stride-l.Pad.Left+q
									if yy >= 0 && yy < l.OutH && xx >= 0 && xx < l.OutW {
										y[((b*l.Out+o)*l.OutH+yy)*l.OutW+xx] += v * float64(l.W.Value[((c*l.Out+o)*l.KH+p)*l.KW+q])
									}
								}
							}
						}
					}
				}
			}
		}
	}
	y32 := make([]float32, len(y))
	for i, v := range y {
		y32[i] = float32(v)
	}
	return y32
}

// convDiff returns max |got − want| / max |want|.
func convDiff(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = max(m, math.Abs(float64(want[i])))
	}
	return d / max(m, 1e-30)
}

// randomConv returns the layer of tc with PyTorch's random initialisation,
// a random input and a random output gradient.
func randomConv(t testing.TB, tc convCase, seed uint64) (l convLayer, x, dy []float32) {
	t.Helper()
	l, err := tc.build()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 8))
	if err := l.Initialize(InitPyTorch, rng); err != nil {
		t.Fatal(err)
	}
	inLen, outLen := convLens(l)
	return l, randSlice(rng, tc.n*inLen, 1), randSlice(rng, tc.n*outLen, 1)
}

// Backward's gradients for x, W and b against finite differences of
// Σ dy·Forward(x), and a second Backward, without dx, doubles W's and b's.
func TestConvGradients(t *testing.T) {
	ws := new(Workspace)
	for i, tc := range convCases {
		t.Run(tc.String(), func(t *testing.T) {
			l, x, c := randomConv(t, tc, uint64(i))
			y, dx := make([]float32, len(c)), make([]float32, len(x))
			loss := func() float64 { l.Forward(y, x, tc.n, ws); return dot(c, y) }
			l.Backward(dx, c, x, nil, tc.n, ws)
			ps := l.Params()
			nntest.CheckGradient(t, "x", x, dx, loss)
			nntest.CheckGradient(t, "W", ps[0].Value, ps[0].Grad, loss)
			nntest.CheckGradient(t, "b", ps[1].Value, ps[1].Grad, loss)
			once := [][]float32{append([]float32(nil), ps[0].Grad...), append([]float32(nil), ps[1].Grad...)}
			l.Backward(nil, c, x, nil, tc.n, ws)
			for k, p := range ps {
				if d := convDiff(p.Grad, scaledBy(once[k], 2)); d > 1e-6 {
					t.Errorf("%s.Grad after two Backward calls is off twice the first by %.2g", p.Name, d)
				}
			}
		})
	}
}

func scaledBy(v []float32, a float32) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = a * v[i]
	}
	return out
}

// Forward equals the definition, computed by plain loops.
func TestConvForwardReference(t *testing.T) {
	ws := new(Workspace)
	for i, tc := range convCases {
		l, x, dy := randomConv(t, tc, uint64(i))
		y := make([]float32, len(dy))
		l.Forward(y, x, tc.n, ws)
		if d := convDiff(y, convRef(l, x, tc.n)); d > 1e-5 {
			t.Errorf("%v: Forward off the definition by %.2g", tc, d)
		}
	}
}

// A ConvTranspose2D with a Conv2D's weights is its transpose:
// ⟨Conv(x), y⟩ = ⟨x, ConvT(y)⟩ with the biases zero.
func TestConvAdjoint(t *testing.T) {
	ws := new(Workspace)
	for i, tc := range convCases {
		if tc.transpose {
			continue
		}
		l, x, y := randomConv(t, tc, uint64(i))
		c := l.(*Conv2D)
		// The transpose maps c's output grid back onto its input image. Its
		// output padding may differ between the dimensions, which the
		// constructors do not offer, so it is built here.
		ct := &ConvTranspose2D{
			In: c.Out, Out: c.In, KH: c.KH, KW: c.KW, Stride: c.Stride, Pad: c.Pad,
			InH: c.OutH, InW: c.OutW, OutH: c.InH, OutW: c.InW,
			W: NewParam("t.weight", c.Out, c.In, c.KH, c.KW), B: NewParam("t.bias", c.In),
		}
		copy(ct.W.Value, c.W.Value) // both [Out, In, KH, KW] of the Conv2D
		clear(c.B.Value)
		cx, cty := make([]float32, len(y)), make([]float32, len(x))
		c.Forward(cx, x, tc.n, ws)
		ct.Forward(cty, y, tc.n, ws)
		if a, b := dot(cx, y), dot(x, cty); math.Abs(a-b) > 1e-5*math.Max(math.Abs(a), 1) {
			t.Errorf("%v: ⟨Conv x, y⟩ = %v, ⟨x, ConvT y⟩ = %v", tc, a, b)
		}
	}
}

// The Keras VAE example's encoder and decoder shapes, with PyTorch's
// paddings and with TensorFlow's "same".
func TestConvKerasShapes(t *testing.T) {
	for _, tc := range []struct {
		c            convCase
		outH, outW   int
		pad          Padding
		outPad, pyOP int
	}{
		{convCase{in: 1, out: 32, kh: 3, kw: 3, stride: 2, pad: 1, h: 28, w: 28}, 14, 14, Padding{1, 1, 1, 1}, 0, 0},
		{convCase{in: 32, out: 64, kh: 3, kw: 3, stride: 2, pad: 1, h: 14, w: 14}, 7, 7, Padding{1, 1, 1, 1}, 0, 0},
		{convCase{same: true, in: 1, out: 32, kh: 3, kw: 3, stride: 2, h: 28, w: 28}, 14, 14, Padding{0, 1, 0, 1}, 0, 0},
		{convCase{same: true, in: 32, out: 64, kh: 3, kw: 3, stride: 2, h: 14, w: 14}, 7, 7, Padding{0, 1, 0, 1}, 0, 0},
		{convCase{transpose: true, in: 64, out: 64, kh: 3, kw: 3, stride: 2, pad: 1, outPad: 1, h: 7, w: 7}, 14, 14, Padding{1, 1, 1, 1}, 1, 0},
		{convCase{transpose: true, in: 64, out: 32, kh: 3, kw: 3, stride: 2, pad: 1, outPad: 1, h: 14, w: 14}, 28, 28, Padding{1, 1, 1, 1}, 1, 0},
		{convCase{transpose: true, in: 32, out: 1, kh: 3, kw: 3, stride: 1, pad: 1, h: 28, w: 28}, 28, 28, Padding{1, 1, 1, 1}, 0, 0},
		{convCase{transpose: true, same: true, in: 64, out: 64, kh: 3, kw: 3, stride: 2, h: 7, w: 7}, 14, 14, Padding{0, 1, 0, 1}, 0, 0},
		{convCase{transpose: true, same: true, in: 64, out: 32, kh: 3, kw: 3, stride: 2, h: 14, w: 14}, 28, 28, Padding{0, 1, 0, 1}, 0, 0},
		{convCase{transpose: true, same: true, in: 32, out: 1, kh: 3, kw: 3, stride: 1, h: 28, w: 28}, 28, 28, Padding{1, 1, 1, 1}, 0, 0},
	} {
		l, err := tc.c.build()
		if err != nil {
			t.Fatalf("%v: %v", tc.c, err)
		}
		var oh, ow, op int
		var pad Padding
		switch l := l.(type) {
		case *Conv2D:
			oh, ow, pad = l.OutH, l.OutW, l.Pad
		case *ConvTranspose2D:
			oh, ow, pad, op = l.OutH, l.OutW, l.Pad, l.OutPad
		}
		if oh != tc.outH || ow != tc.outW || pad != tc.pad || op != tc.outPad {
			t.Errorf("%v: output %d×%d, padding %+v, output padding %d; want %d×%d, %+v, %d", tc.c, oh, ow, pad, op, tc.outH, tc.outW, tc.pad, tc.outPad)
		}
	}
}

// Bad sizes give errors, not panics.
func TestConvConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    convCase
	}{
		{"no input channels", convCase{in: 0, out: 1, kh: 3, kw: 3, stride: 1, h: 5, w: 5}},
		{"negative output channels", convCase{in: 1, out: -1, kh: 3, kw: 3, stride: 1, h: 5, w: 5}},
		{"empty kernel", convCase{in: 1, out: 1, kh: 0, kw: 3, stride: 1, h: 5, w: 5}},
		{"zero stride", convCase{in: 1, out: 1, kh: 3, kw: 3, stride: 0, h: 5, w: 5}},
		{"negative padding", convCase{in: 1, out: 1, kh: 3, kw: 3, stride: 1, pad: -1, h: 5, w: 5}},
		{"empty input", convCase{in: 1, out: 1, kh: 1, kw: 1, stride: 1, h: 0, w: 5}},
		{"kernel larger than input", convCase{in: 1, out: 1, kh: 6, kw: 3, stride: 1, pad: 0, h: 5, w: 5}},
		{"too large", convCase{in: 1 << 20, out: 1, kh: 3, kw: 3, stride: 1, pad: 1, h: 1 << 10, w: 1 << 10}},
		{"same, zero stride", convCase{same: true, in: 1, out: 1, kh: 3, kw: 3, stride: 0, h: 5, w: 5}},
		{"same, empty input", convCase{same: true, in: 1, out: 1, kh: 3, kw: 3, stride: 2, h: -4, w: 5}},
		{"transpose, zero stride", convCase{transpose: true, in: 1, out: 1, kh: 3, kw: 3, stride: 0, h: 5, w: 5}},
		{"transpose, output padding = stride", convCase{transpose: true, in: 1, out: 1, kh: 3, kw: 3, stride: 2, outPad: 2, h: 5, w: 5}},
		{"transpose, negative output padding", convCase{transpose: true, in: 1, out: 1, kh: 3, kw: 3, stride: 2, outPad: -1, h: 5, w: 5}},
		{"transpose, empty output", convCase{transpose: true, in: 1, out: 1, kh: 1, kw: 1, stride: 1, pad: 1, h: 1, w: 1}},
		{"transpose, empty input", convCase{transpose: true, in: 1, out: 1, kh: 3, kw: 3, stride: 1, h: 5, w: 0}},
		{"transpose same, kernel smaller than stride", convCase{transpose: true, same: true, in: 1, out: 1, kh: 1, kw: 3, stride: 2, h: 5, w: 5}},
		{"transpose same, zero stride", convCase{transpose: true, same: true, in: 1, out: 1, kh: 3, kw: 3, stride: 0, h: 5, w: 5}},
	} {
		if l, err := tc.c.build(); err == nil {
			t.Errorf("%s: no error, layer %+v", tc.name, l)
		}
	}
}

// Initialize draws within PyTorch's bounds, 1/√fanIn with fanIn computed
// from W's second dimension (In·KH·KW for Conv2D, Out·KH·KW for
// ConvTranspose2D), and Glorot's, √(6/((In+Out)·KH·KW)) with zero biases.
func TestConvInitialize(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	c, _ := NewConv2D("c", 8, 20, 3, 2, 1, 0, 5, 5)
	ct, _ := NewConvTranspose2D("t", 8, 20, 3, 2, 1, 0, 0, 5, 5)
	for _, tc := range []struct {
		l      convLayer
		init   Init
		wBound float64
		zeroB  bool
	}{
		{c, InitPyTorch, 1 / math.Sqrt(8*6), false},
		{ct, InitPyTorch, 1 / math.Sqrt(20*6), false},
		{c, InitGlorot, math.Sqrt(6.0 / (28 * 6)), true},
		{ct, InitGlorot, math.Sqrt(6.0 / (28 * 6)), true},
	} {
		if err := tc.l.Initialize(tc.init, rng); err != nil {
			t.Fatal(err)
		}
		ps := tc.l.Params()
		var maxW, maxB float64
		for _, v := range ps[0].Value {
			maxW = max(maxW, math.Abs(float64(v)))
		}
		for _, v := range ps[1].Value {
			maxB = max(maxB, math.Abs(float64(v)))
		}
		if maxW > tc.wBound || maxW < 0.9*tc.wBound {
			t.Errorf("%T %s: max |w| = %v, want just below %v", tc.l, tc.init, maxW, tc.wBound)
		}
		if (maxB == 0) != tc.zeroB || maxB > tc.wBound {
			t.Errorf("%T %s: max |b| = %v, want zero %v, at most %v", tc.l, tc.init, maxB, tc.zeroB, tc.wBound)
		}
	}
	if c.Initialize("he", rng) == nil || ct.Initialize("he", rng) == nil {
		t.Error("unknown initialisation accepted")
	}
}

// chunkCases' im2col columns for one image, 18·side², are between a
// quarter and a third of colBudget, so a batch of 5 goes in chunks of 3 and 2.
var chunkCases = func() []convCase {
	side := int(math.Sqrt(colBudget / 18 / 3.5))
	return []convCase{
		{n: 5, in: 2, out: 2, kh: 3, kw: 3, stride: 1, pad: 1, h: side, w: side},
		{transpose: true, n: 5, in: 2, out: 2, kh: 3, kw: 3, stride: 1, pad: 1, h: side, w: side},
	}
}()

// A batch split into chunks gives the definition's output, and the
// gradients of the images one at a time.
func TestConvBatchChunks(t *testing.T) {
	ws := new(Workspace)
	for _, tc := range chunkCases {
		l, x, dy := randomConv(t, tc, 9)
		if nb, _, _ := geomOf(l).chunk(tc.n, &Workspace{}); nb != 3 {
			t.Fatalf("%v: chunks of %d images, want 3", tc, nb)
		}
		y := make([]float32, len(dy))
		l.Forward(y, x, tc.n, ws)
		if d := convDiff(y, convRef(l, x, tc.n)); d > 1e-5 {
			t.Errorf("%v: Forward off the definition by %.2g", tc, d)
		}
		inLen, outLen := convLens(l)
		ps := l.Params()
		dx := make([]float32, len(x))
		l.Backward(dx, dy, x, nil, tc.n, ws)
		batch := [][]float32{dx, append([]float32(nil), ps[0].Grad...), append([]float32(nil), ps[1].Grad...)}
		ZeroGrad(ps)
		for b := range tc.n {
			l.Backward(dx[b*inLen:(b+1)*inLen], dy[b*outLen:(b+1)*outLen], x[b*inLen:(b+1)*inLen], nil, 1, ws)
		}
		for k, one := range [][]float32{dx, ps[0].Grad, ps[1].Grad} {
			if d := convDiff(batch[k], one); d > 1e-5 {
				t.Errorf("%v: gradient %d of the batch off the images' by %.2g", tc, k, d)
			}
		}
	}
}

func geomOf(l convLayer) convGeom {
	if c, ok := l.(*Conv2D); ok {
		return c.geom()
	}
	return l.(*ConvTranspose2D).geom()
}

// A training step's Forward and Backward allocate nothing once the
// convWorkspace has grown.
func TestConvNoAllocs(t *testing.T) {
	ws := new(Workspace)
	cases := append([]convCase{
		{n: 8, in: 32, out: 64, kh: 3, kw: 3, stride: 2, pad: 1, h: 14, w: 14},
		{transpose: true, n: 8, in: 64, out: 32, kh: 3, kw: 3, stride: 2, pad: 1, outPad: 1, h: 7, w: 7},
	}, chunkCases...)
	for _, tc := range cases {
		l, x, dy := randomConv(t, tc, 10)
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		step := func() { l.Forward(y, x, tc.n, ws); l.Backward(dx, dy, x, nil, tc.n, ws) }
		step()
		if a := testing.AllocsPerRun(3, step); a != 0 {
			t.Errorf("%v: %v allocations per step", tc, a)
		}
	}
}

// The layers equal PyTorch's F.conv2d and F.conv_transpose2d, forward and
// backward, computed in float64 by scripts/torch_conv.py. TensorFlow's
// "same" is checked as TensorFlow defines it: explicit zero padding (F.pad),
// then no padding.
func TestConvMatchesPyTorch(t *testing.T) {
	ws := new(Workspace)
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skip("skipped: /usr/bin/python3 cannot import torch; apt-get install python3-torch")
	}
	dir := t.TempDir()
	type spec struct {
		Transpose                  bool
		N, In, Out, KH, KW, Stride int
		Pad                        [4]int // top, bottom, left, right
		OutPad, H, W, OutH, OutW   int
	}
	var specs []spec
	var layers []convLayer
	var xs, dys [][]float32
	for i, tc := range convCases {
		l, x, dy := randomConv(t, tc, uint64(i))
		s := spec{Transpose: tc.transpose, N: tc.n}
		switch l := l.(type) {
		case *Conv2D:
			s.In, s.Out, s.KH, s.KW, s.Stride, s.H, s.W, s.OutH, s.OutW = l.In, l.Out, l.KH, l.KW, l.Stride, l.InH, l.InW, l.OutH, l.OutW
			s.Pad = [4]int{l.Pad.Top, l.Pad.Bottom, l.Pad.Left, l.Pad.Right}
		case *ConvTranspose2D:
			s.In, s.Out, s.KH, s.KW, s.Stride, s.H, s.W, s.OutH, s.OutW = l.In, l.Out, l.KH, l.KW, l.Stride, l.InH, l.InW, l.OutH, l.OutW
			s.Pad, s.OutPad = [4]int{l.Pad.Top, l.Pad.Bottom, l.Pad.Left, l.Pad.Right}, l.OutPad
		}
		ps := l.Params()
		for name, v := range map[string][]float32{"x": x, "w": ps[0].Value, "b": ps[1].Value, "dy": dy} {
			writeFloat32s(t, filepath.Join(dir, fmt.Sprintf("%d.%s", i, name)), v)
		}
		specs, layers, xs, dys = append(specs, s), append(layers, l), append(xs, x), append(dys, dy)
	}
	js, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, "../scripts/torch_conv.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("torch_conv.py: %v\n%s", err, out)
	}
	for i, l := range layers {
		tc, x, dy := convCases[i], xs[i], dys[i]
		ps := l.Params()
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		l.Forward(y, x, tc.n, ws)
		l.Backward(dx, dy, x, nil, tc.n, ws)
		for name, got := range map[string][]float32{"y": y, "dx": dx, "dw": ps[0].Grad, "db": ps[1].Grad} {
			want := readFloat32s(t, filepath.Join(dir, fmt.Sprintf("%d.%s", i, name)), len(got))
			if d := convDiff(got, want); d > 1e-5 {
				t.Errorf("%v: %s off PyTorch by %.2g", tc, name, d)
			}
		}
	}
}

func writeFloat32s(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFloat32s(t *testing.T, path string, n int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4*n {
		t.Fatalf("%s: %d bytes, want %d", path, len(b), 4*n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// The first two layers of the Keras example's encoder at batch 128.
// Backward computes dx too, so it does twice Forward's arithmetic.
func BenchmarkConvKeras(b *testing.B) {
	ws := new(Workspace)
	for _, tc := range []convCase{
		{n: 128, in: 1, out: 32, kh: 3, kw: 3, stride: 2, pad: 1, h: 28, w: 28},
		{n: 128, in: 32, out: 64, kh: 3, kw: 3, stride: 2, pad: 1, h: 14, w: 14},
	} {
		l, x, dy := randomConv(b, tc, 11)
		c := l.(*Conv2D)
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		flops := 2 * float64(tc.n*c.Out*c.OutH*c.OutW*c.In*c.KH*c.KW)
		name := fmt.Sprintf("%d×%d %d→%d", tc.h, tc.w, tc.in, tc.out)
		b.Run(name+"/forward", func(b *testing.B) {
			for b.Loop() {
				l.Forward(y, x, tc.n, ws)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(name+"/backward", func(b *testing.B) {
			for b.Loop() {
				l.Backward(dx, dy, x, nil, tc.n, ws)
			}
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
