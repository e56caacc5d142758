package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/govae/vae/kernel"
)

// Padding is the zero padding around an image, in pixels on each side.
type Padding struct{ Top, Bottom, Left, Right int }

// Conv2D is a 2-D convolution with the semantics of PyTorch's nn.Conv2d
// (groups and dilation 1):
//
//	y[b, o, i, j] = B[o] + Σ_{c,p,q} W[o, c, p, q] · x[b, c, i·Stride − Pad.Top + p, j·Stride − Pad.Left + q]
//
// with x zero outside the image. Activations are NCHW: x is [n, In, InH, InW]
// and y [n, Out, OutH, OutW], row-major, and W is stored [Out, In, KH, KW],
// PyTorch's layout, so weights move between the two unchanged. The products
// go through kernel.Gemm on im2col columns (kernel.Tap), with as many images
// of the batch per product as fit 1 MiB of columns (a Zen 4 core's L2 cache).
//
// NewConv2D's symmetric pad is PyTorch's padding. For the Keras example's
// encoder, Conv2D(32, 3, strides=2, padding="same") on 28×28 and then on
// 14×14, PyTorch's equivalent by shape is padding=1 (28→14→7), but
// TensorFlow's "same" pads those even sizes asymmetrically, 0 above and 1
// below (and 0 left, 1 right), so its windows sit one pixel down and right
// of PyTorch's and the outputs differ; NewConv2DSame gives TensorFlow's.
// With stride 1 and an odd kernel the two agree.
//
// Its im2col columns live in the caller's Workspace, so that a layer keeps
// no state: Forward may run concurrently with one Workspace per goroutine
// (concurrent Backward calls race on the gradients). The fields describe the
// layer and must not be changed.
type Conv2D struct {
	In, Out    int // channels
	KH, KW     int // kernel height and width
	Stride     int
	Pad        Padding
	InH, InW   int    // input height and width
	OutH, OutW int    // output height and width
	W          *Param // [Out, In, KH, KW]
	B          *Param // [Out]
}

// NewConv2D returns a zero-initialised convolution of h×w inputs with pad
// pixels of zero padding on every side, as PyTorch's nn.Conv2d(in, out,
// (kh, kw), stride, pad); its output is
// ⌊(h + 2·pad − kh)/stride⌋ + 1 by ⌊(w + 2·pad − kw)/stride⌋ + 1. The
// parameters are named name+".weight" and name+".bias". It returns an error,
// and allocates nothing, when a size is not positive, pad is negative or the
// output would be empty.
func NewConv2D(name string, in, out, kh, kw, stride, pad, h, w int) (*Conv2D, error) {
	return newConv2D(name, in, out, kh, kw, stride, Padding{pad, pad, pad, pad}, h, w)
}

// NewConv2DSame is NewConv2D with the padding of TensorFlow's "same": the
// output is ⌈h/stride⌉×⌈w/stride⌉, and the total padding of each dimension,
// max((out−1)·stride + k − size, 0), is split with the odd pixel at the
// bottom or right. It is Keras's Conv2D(out, (kh, kw), strides=stride,
// padding="same").
func NewConv2DSame(name string, in, out, kh, kw, stride, h, w int) (*Conv2D, error) {
	if stride <= 0 {
		return nil, fmt.Errorf("conv2d %s: stride %d is not positive", name, stride)
	}
	top, bottom := SamePadding(h, kh, stride)
	left, right := SamePadding(w, kw, stride)
	return newConv2D(name, in, out, kh, kw, stride, Padding{top, bottom, left, right}, h, w)
}

func newConv2D(name string, in, out, kh, kw, stride int, pad Padding, h, w int) (*Conv2D, error) {
	if err := checkConvSizes(in, out, kh, kw, stride, pad, h, w); err != nil {
		return nil, fmt.Errorf("conv2d %s: %v", name, err)
	}
	if h+pad.Top+pad.Bottom < kh || w+pad.Left+pad.Right < kw {
		return nil, fmt.Errorf("conv2d %s: kernel %d×%d is larger than the padded %d×%d input", name, kh, kw, h, w)
	}
	oh, ow := ConvOutput(h, kh, stride, pad.Top, pad.Bottom), ConvOutput(w, kw, stride, pad.Left, pad.Right)
	if convTooLarge(in, out, kh, kw) || convTooLarge(in, kh, kw, oh, ow) || convTooLarge(out, oh, ow) {
		return nil, fmt.Errorf("conv2d %s: too large", name)
	}
	return &Conv2D{
		In: in, Out: out, KH: kh, KW: kw, Stride: stride, Pad: pad,
		InH: h, InW: w, OutH: oh, OutW: ow,
		W: NewParam(name+".weight", out, in, kh, kw),
		B: NewParam(name+".bias", out),
	}, nil
}

// geom returns the geometry: a Conv2D's input is the image, its output the grid.
func (c *Conv2D) geom() convGeom {
	return convGeom{c.In, c.InH, c.InW, c.Out, c.OutH, c.OutW, c.KH, c.KW, c.Stride, c.Pad.Top, c.Pad.Left}
}

// Params returns the layer's trainable parameters, weight first.
func (c *Conv2D) Params() []*Param { return []*Param{c.W, c.B} }

// Sizes returns the floats per image of the input and the output.
func (c *Conv2D) Sizes() (in, out int) { return c.In * c.InH * c.InW, c.Out * c.OutH * c.OutW }

// Forward computes y = W ⋆ x + b for a batch of n images: x is
// [n, In, InH, InW] and y [n, Out, OutH, OutW].
func (c *Conv2D) Forward(y, x []float32, n int, ws *Workspace) {
	c.geom().conv(y, x, c.W.Value, c.B.Value, n, ws)
}

// Backward takes dy = dLoss/dy [n, Out, OutH, OutW] and the forward input x
// [n, In, InH, InW], adds dLoss/dW and dLoss/db to the parameters'
// gradients, and, when dx is not nil, writes dLoss/dx [n, In, InH, InW] into
// dx. It does not read y.
func (c *Conv2D) Backward(dx, dy, x, _ []float32, n int, ws *Workspace) {
	c.geom().backward(c.W.Grad, dx, nil, dy, x, c.W.Value, n, ws)
	addBiasGrad(c.B.Grad, dy, n, c.Out, c.OutH*c.OutW)
}

// Initialize draws the layer's parameters with the given scheme from rng:
// InitPyTorch draws W and b from U(−1/√fanIn, 1/√fanIn) with
// fanIn = In·KH·KW, nn.Conv2d's default; InitGlorot draws W from
// U(±√(6/(fanIn+fanOut))) with fanOut = Out·KH·KW and sets b to zero, the
// Keras default.
func (c *Conv2D) Initialize(scheme Init, rng *rand.Rand) error {
	return initUniform(c.W, c.B, scheme, c.In*c.KH*c.KW, c.Out*c.KH*c.KW, rng)
}

// ConvTranspose2D is a transposed 2-D convolution with the semantics of
// PyTorch's nn.ConvTranspose2d (groups and dilation 1): each input pixel
// x[b, c, i, j] adds x[b, c, i, j]·W[c, o, p, q] to
// y[b, o, i·Stride − Pad.Top + p, j·Stride − Pad.Left + q], and
// y starts at B[o]. x is [n, In, InH, InW], y [n, Out, OutH, OutW] and W is
// stored [In, Out, KH, KW], PyTorch's layout. It is the adjoint of the
// Conv2D from Out to In channels with the same kernel, stride and padding:
// its forward pass is that convolution's backward pass for the input, and
// the other way round, and the two share their code.
//
// PyTorch's padding=p, output_padding=op is Pad = {p, p, p, p} and OutPad =
// op, and gives an output of (InH−1)·Stride − 2p + KH + op (op adds rows and
// columns at the bottom and right). For the Keras example's decoder,
// Conv2DTranspose(64, 3, strides=2, padding="same") 7→14 and then 14→28 have
// the shapes of PyTorch's padding=1, output_padding=1, and
// Conv2DTranspose(1, 3, strides=1, padding="same") 28→28 is padding=1
// exactly. With stride 2 the values differ, as for Conv2D: TensorFlow pads
// asymmetrically, which is Pad = {0, 1, 0, 1}, OutPad = 0, and what
// NewConvTranspose2DSame gives.
//
// Like Conv2D it keeps its columns in the caller's Workspace. The fields
// describe the layer and must not be changed.
type ConvTranspose2D struct {
	In, Out    int // channels
	KH, KW     int // kernel height and width
	Stride     int
	Pad        Padding
	OutPad     int    // extra rows and columns at the bottom and right of the output
	InH, InW   int    // input height and width
	OutH, OutW int    // output height and width
	W          *Param // [In, Out, KH, KW]
	B          *Param // [Out]
}

// NewConvTranspose2D returns a zero-initialised transposed convolution of
// h×w inputs, as PyTorch's nn.ConvTranspose2d(in, out, (kh, kw), stride,
// pad, outPad); its output is (h−1)·stride − 2·pad + kh + outPad by
// (w−1)·stride − 2·pad + kw + outPad. The parameters are named
// name+".weight" and name+".bias". It returns an error, and allocates
// nothing, when a size is not positive, pad is negative, outPad is not in
// [0, stride) (as PyTorch requires) or the output would be empty.
func NewConvTranspose2D(name string, in, out, kh, kw, stride, pad, outPad, h, w int) (*ConvTranspose2D, error) {
	return newConvTranspose2D(name, in, out, kh, kw, stride, Padding{pad, pad, pad, pad}, outPad, h, w)
}

// NewConvTranspose2DSame is NewConvTranspose2D with the padding of
// TensorFlow's "same", Keras's Conv2DTranspose(out, (kh, kw),
// strides=stride, padding="same"): the output is h·stride×w·stride and the
// layer is the adjoint of NewConv2DSame on that output. It returns an error
// when a kernel dimension is smaller than the stride, which would need
// different output paddings for the two dimensions.
func NewConvTranspose2DSame(name string, in, out, kh, kw, stride, h, w int) (*ConvTranspose2D, error) {
	if stride <= 0 || kh < stride || kw < stride {
		return nil, fmt.Errorf("conv-transpose2d %s: stride %d is not positive or larger than the kernel %d×%d", name, stride, kh, kw)
	}
	top, bottom := SamePadding(h*stride, kh, stride)
	left, right := SamePadding(w*stride, kw, stride)
	return newConvTranspose2D(name, in, out, kh, kw, stride, Padding{top, bottom, left, right}, 0, h, w)
}

func newConvTranspose2D(name string, in, out, kh, kw, stride int, pad Padding, outPad, h, w int) (*ConvTranspose2D, error) {
	if err := checkConvSizes(in, out, kh, kw, stride, pad, h, w); err != nil {
		return nil, fmt.Errorf("conv-transpose2d %s: %v", name, err)
	}
	if outPad < 0 || outPad >= stride {
		return nil, fmt.Errorf("conv-transpose2d %s: output padding %d not in [0, stride %d)", name, outPad, stride)
	}
	oh := ConvTransposeOutput(h, kh, stride, pad.Top, pad.Bottom, outPad)
	ow := ConvTransposeOutput(w, kw, stride, pad.Left, pad.Right, outPad)
	if oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("conv-transpose2d %s: empty %d×%d output", name, oh, ow)
	}
	if convTooLarge(in, out, kh, kw) || convTooLarge(out, kh, kw, h, w) || convTooLarge(in, h, w) {
		return nil, fmt.Errorf("conv-transpose2d %s: too large", name)
	}
	return &ConvTranspose2D{
		In: in, Out: out, KH: kh, KW: kw, Stride: stride, Pad: pad, OutPad: outPad,
		InH: h, InW: w, OutH: oh, OutW: ow,
		W: NewParam(name+".weight", in, out, kh, kw),
		B: NewParam(name+".bias", out),
	}, nil
}

// geom returns the geometry: a ConvTranspose2D's output is the image, its input the grid.
func (t *ConvTranspose2D) geom() convGeom {
	return convGeom{t.Out, t.OutH, t.OutW, t.In, t.InH, t.InW, t.KH, t.KW, t.Stride, t.Pad.Top, t.Pad.Left}
}

// Params returns the layer's trainable parameters, weight first.
func (t *ConvTranspose2D) Params() []*Param { return []*Param{t.W, t.B} }

// Sizes returns the floats per image of the input and the output.
func (t *ConvTranspose2D) Sizes() (in, out int) { return t.In * t.InH * t.InW, t.Out * t.OutH * t.OutW }

// Forward computes the transposed convolution y of a batch of n images: x
// is [n, In, InH, InW] and y [n, Out, OutH, OutW].
func (t *ConvTranspose2D) Forward(y, x []float32, n int, ws *Workspace) {
	t.geom().convT(y, x, t.W.Value, t.B.Value, n, ws)
}

// Backward takes dy = dLoss/dy [n, Out, OutH, OutW] and the forward input x
// [n, In, InH, InW], adds dLoss/dW and dLoss/db to the parameters'
// gradients, and, when dx is not nil, writes dLoss/dx [n, In, InH, InW] into
// dx. It does not read y.
func (t *ConvTranspose2D) Backward(dx, dy, x, _ []float32, n int, ws *Workspace) {
	t.geom().backward(t.W.Grad, nil, dx, x, dy, t.W.Value, n, ws)
	addBiasGrad(t.B.Grad, dy, n, t.Out, t.OutH*t.OutW)
}

// Initialize draws the layer's parameters as Conv2D.Initialize does, with
// PyTorch's and Keras's fans for this layout: for InitPyTorch fanIn is
// Out·KH·KW (nn.ConvTranspose2d computes it from W's second dimension), and
// Glorot's bound √(6/((In+Out)·KH·KW)) is that of Conv2D.
func (t *ConvTranspose2D) Initialize(scheme Init, rng *rand.Rand) error {
	return initUniform(t.W, t.B, scheme, t.Out*t.KH*t.KW, t.In*t.KH*t.KW, rng)
}

// ConvOutput returns the output size of a dimension of the given size
// under a convolution of kernel size k (Conv2D's height or width).
func ConvOutput(size, k, stride, before, after int) int {
	return (size+before+after-k)/stride + 1
}

// ConvTransposeOutput returns the output size of a dimension of the given
// size under a transposed convolution (ConvTranspose2D's height or width).
func ConvTransposeOutput(size, k, stride, before, after, outPad int) int {
	return (size-1)*stride - before - after + k + outPad
}

// SamePadding returns TensorFlow's "same" padding of a dimension of the
// given size: the total max((⌈size/stride⌉−1)·stride + k − size, 0), split
// with the odd pixel after.
func SamePadding(size, k, stride int) (before, after int) {
	out := (size + stride - 1) / stride
	total := max((out-1)*stride+k-size, 0)
	return total / 2, total - total/2
}

func checkConvSizes(in, out, kh, kw, stride int, pad Padding, h, w int) error {
	if in <= 0 || out <= 0 || kh <= 0 || kw <= 0 || stride <= 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("sizes must be positive: in %d, out %d, kernel %d×%d, stride %d, input %d×%d", in, out, kh, kw, stride, h, w)
	}
	if pad.Top < 0 || pad.Bottom < 0 || pad.Left < 0 || pad.Right < 0 {
		return fmt.Errorf("negative padding %+v", pad)
	}
	return nil
}

// convTooLarge reports whether the product of dims, the length of a weight or
// of the Workspace for one image, exceeds 2³² (or would overflow int).
func convTooLarge(dims ...int) bool {
	p := 1.0
	for _, d := range dims {
		p *= float64(d)
	}
	return p > 1<<32
}

// convGeom describes the correlation of an image [c, h, w] with a kernel
// [gc, c, kh, kw] giving a grid [gc, gh, gw]:
//
//	grid[o, i, j] = Σ_{c,p,q} w[o, c, p, q] · image[c, i·stride − top + p, j·stride − left + q],
//
// image zero outside [0, h)×[0, w). Conv2D computes the grid from the image,
// ConvTranspose2D the image from the grid, with the transposed product. The
// grid's size is given rather than derived, so that bottom and right padding
// (and PyTorch's output_padding) need no fields.
type convGeom struct {
	c, h, w                   int // image
	gc, gh, gw                int // grid
	kh, kw, stride, top, left int
}

// Workspace is the scratch memory of layers that need some, the
// convolutions' im2col columns: one per pass (or goroutine), shared by its
// layers one after another, grown on first use and kept, so that a steady
// training step allocates nothing. The zero value is ready to use.
type Workspace struct{ col, tmp []float32 }

// colBudget is the most floats of im2col columns a chunk of the batch
// takes, unless one image needs more.
const colBudget = 1 << 18

// chunk returns how many images go into one product, and the Workspace for
// that many.
func (g convGeom) chunk(n int, ws *Workspace) (nb int, col, tmp []float32) {
	k, p := g.c*g.kh*g.kw, g.gh*g.gw
	nb = max(1, min(n, colBudget/(k*p)))
	if len(ws.col) < nb*k*p {
		ws.col = make([]float32, nb*k*p)
	}
	if len(ws.tmp) < nb*g.gc*p {
		ws.tmp = make([]float32, nb*g.gc*p)
	}
	return nb, ws.col, ws.tmp
}

// conv writes grid = w ⋆ image + bias for n images (Conv2D's forward pass).
func (g convGeom) conv(grid, img, w, bias []float32, n int, ws *Workspace) {
	imgLen, gridLen, k, p := g.c*g.h*g.w, g.gc*g.gh*g.gw, g.c*g.kh*g.kw, g.gh*g.gw
	checkConvLen("image", img, n*imgLen)
	checkConvLen("grid", grid, n*gridLen)
	nb, col, tmp := g.chunk(n, ws)
	for b0 := 0; b0 < n; b0 += nb {
		m := min(nb, n-b0)
		g.patches(col, img[b0*imgLen:], m, false)
		// tmp [gc, m·p] = w [gc, k] · col [k, m·p]
		kernel.Gemm(false, false, g.gc, m*p, k, 1, w, k, col, m*p, 0, tmp, m*p)
		fromChannelMajor(grid[b0*gridLen:], tmp, g.gc, m, p, bias)
	}
}

// convT writes image = bias + wᵀ ⋆ grid for n images, the adjoint of conv
// (ConvTranspose2D's forward pass).
func (g convGeom) convT(img, grid, w, bias []float32, n int, ws *Workspace) {
	imgLen, gridLen, k, p := g.c*g.h*g.w, g.gc*g.gh*g.gw, g.c*g.kh*g.kw, g.gh*g.gw
	checkConvLen("image", img, n*imgLen)
	checkConvLen("grid", grid, n*gridLen)
	nb, col, tmp := g.chunk(n, ws)
	for b0 := 0; b0 < n; b0 += nb {
		m := min(nb, n-b0)
		toChannelMajor(tmp, grid[b0*gridLen:], g.gc, m, p)
		// col [k, m·p] = wᵀ [k, gc] · tmp [gc, m·p]
		kernel.Gemm(true, false, k, m*p, g.gc, 1, w, k, tmp, m*p, 0, col, m*p)
		fillChannels(img[b0*imgLen:], bias, m, g.c, g.h*g.w)
		g.patches(col, img[b0*imgLen:], m, true)
	}
}

// backward adds to dw the weight gradient of both layers, grid ⋆ image,
// where grid is Conv2D's dy or ConvTranspose2D's x and image the other
// one. When dimg is not nil it writes wᵀ ⋆ grid into it (Conv2D's dx), and
// when dgrid is not nil w ⋆ image (ConvTranspose2D's dx), both from the
// columns and transposed grid already in the Workspace.
func (g convGeom) backward(dw, dimg, dgrid, grid, img, w []float32, n int, ws *Workspace) {
	imgLen, gridLen, k, p := g.c*g.h*g.w, g.gc*g.gh*g.gw, g.c*g.kh*g.kw, g.gh*g.gw
	checkConvLen("image", img, n*imgLen)
	checkConvLen("grid", grid, n*gridLen)
	if dimg != nil {
		checkConvLen("image gradient", dimg, n*imgLen)
	}
	if dgrid != nil {
		checkConvLen("grid gradient", dgrid, n*gridLen)
	}
	nb, col, tmp := g.chunk(n, ws)
	for b0 := 0; b0 < n; b0 += nb {
		m := min(nb, n-b0)
		g.patches(col, img[b0*imgLen:], m, false)
		toChannelMajor(tmp, grid[b0*gridLen:], g.gc, m, p)
		// dw [gc, k] += tmp [gc, m·p] · colᵀ [m·p, k]
		kernel.Gemm(false, true, g.gc, k, m*p, 1, tmp, m*p, col, m*p, 1, dw, k)
		if dimg != nil { // Conv2D's dx: col = wᵀ · tmp, scattered back
			kernel.Gemm(true, false, k, m*p, g.gc, 1, w, k, tmp, m*p, 0, col, m*p)
			fillChannels(dimg[b0*imgLen:], nil, m, g.c, g.h*g.w)
			g.patches(col, dimg[b0*imgLen:], m, true)
		}
		if dgrid != nil { // ConvTranspose2D's dx: tmp = w · col
			kernel.Gemm(false, false, g.gc, m*p, k, 1, w, k, col, m*p, 0, tmp, m*p)
			fromChannelMajor(dgrid[b0*gridLen:], tmp, g.gc, m, p, nil)
		}
	}
}

// patches moves between m images [m, c, h, w] and their im2col columns col
// [c·kh·kw, m·gh·gw], whose row (c, p, q) holds, for each image and grid
// point (i, j), the pixel under kernel tap (p, q), or 0 in the padding. With
// add false it fills col from img (im2col); with add true it adds col into
// img (col2im, the transpose). Each tap's m planes are one kernel.Tap.
func (g convGeom) patches(col, img []float32, m int, add bool) {
	p, hw := g.gh*g.gw, g.h*g.w
	for c := range g.c {
		for kp := range g.kh {
			// Grid point (i, j) reads image pixel (i·s + offY, j·s + offX).
			offY := kp - g.top
			ilo, ihi := tapSpan(offY, g.stride, g.h, g.gh)
			for kq := range g.kw {
				offX := kq - g.left
				jlo, jhi := tapSpan(offX, g.stride, g.w, g.gw)
				t := kernel.Tap{
					Planes: m, PlaneStride: g.c * hw, Rows: g.gh, Cols: g.gw,
					RowLo: ilo, RowHi: ihi, ColLo: jlo, ColHi: jhi,
					RowStride: g.stride * g.w, Stride: g.stride,
				}
				row := col[((c*g.kh+kp)*g.kw+kq)*m*p:][:m*p]
				var src []float32 // the pixel of point (ilo, jlo) on, when the span is not empty
				if ilo < ihi && jlo < jhi {
					src = img[c*hw+(ilo*g.stride+offY)*g.w+jlo*g.stride+offX:]
				}
				if add {
					t.ScatterAdd(src, row)
				} else {
					t.Gather(row, src)
				}
			}
		}
	}
}

// tapSpan returns the grid points [lo, hi) of a line of gn whose image pixel
// i·stride + off lies in [0, n).
func tapSpan(off, stride, n, gn int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if n > off {
		hi = min((n-off+stride-1)/stride, gn)
	}
	return min(lo, hi), hi
}

// toChannelMajor copies y [m, c, p] into t [c, m·p].
func toChannelMajor(t, y []float32, c, m, p int) {
	for b := range m {
		for ch := range c {
			copy(t[(ch*m+b)*p:][:p], y[(b*c+ch)*p:][:p])
		}
	}
}

// fromChannelMajor copies t [c, m·p] into y [m, c, p], adding bias[ch] to
// channel ch when bias is not nil.
func fromChannelMajor(y, t []float32, c, m, p int, bias []float32) {
	for b := range m {
		for ch := range c {
			dst, src := y[(b*c+ch)*p:][:p], t[(ch*m+b)*p:][:p]
			if bias == nil {
				copy(dst, src)
				continue
			}
			for i, v := range src {
				dst[i] = v + bias[ch]
			}
		}
	}
}

// fillChannels sets each channel of m images [m, c, p] to its bias, or to zero when
// bias is nil.
func fillChannels(y, bias []float32, m, c, p int) {
	for b := range m {
		for ch := range c {
			dst := y[(b*c+ch)*p:][:p]
			if bias == nil {
				clear(dst)
				continue
			}
			for i := range dst {
				dst[i] = bias[ch]
			}
		}
	}
}

// addBiasGrad adds to db the sum of dy [n, c, p] over images and pixels.
func addBiasGrad(db, dy []float32, n, c, p int) {
	for b := range n {
		for ch := range c {
			db[ch] += sum(dy[(b*c+ch)*p:][:p])
		}
	}
}

// sum returns the sum of v, in eight running sums (which a single sum's
// add latency would otherwise serialise) added at the end.
func sum(v []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8 : i+8]
		s[0] += w[0]
		s[1] += w[1]
		s[2] += w[2]
		s[3] += w[3]
		s[4] += w[4]
		s[5] += w[5]
		s[6] += w[6]
		s[7] += w[7]
	}
	for ; i < len(v); i++ {
		s[i%8] += v[i]
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

func checkConvLen(what string, v []float32, n int) {
	if len(v) < n {
		panic(fmt.Sprintf("nn: convolution %s has length %d, want %d", what, len(v), n))
	}
}
