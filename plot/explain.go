package plot

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"slices"

	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
)

// Explanations writes, as an RGB PNG, one row per image that explains its
// score: the input, its reconstruction and a heat map of terms, its
// reconstruction term −log p(x_j|z) of each value, left to right; with
// labels (nil for none) each row's label, such as "#123 score 245.1", to
// the left. inputs, recons and terms hold as many images each, of h×w pixels
// (opt.Channels planes of them for colour images, a term for each value);
// labels as many strings, or none.
//
// The heat map runs from black through red and yellow to white, scaled per
// row from the row's smallest term to its largest, so that it shows where
// in each image the term lies, not how rows compare: their scores say that.
// A colour image's pixel is heated by the sum of its three channels' terms;
// NaN terms are black. Zero opt.Scale picks the factor that brings the
// longer side of the grid closest to 640 pixels, between 1 and 8, but one
// at least that makes a row as tall as its label.
func Explanations(path string, inputs, recons, terms [][]float32, labels []string, h, w int, opt GridOptions) error {
	img, err := ExplanationGrid(inputs, recons, terms, labels, h, w, opt)
	if err != nil {
		return fmt.Errorf("explanations %s: %w", path, err)
	}
	if err := writePNG(path, img); err != nil {
		return fmt.Errorf("explanations: %w", err)
	}
	return nil
}

// ExplanationGrid is Explanations' picture, for a caller that writes it
// elsewhere: an [*image.RGBA].
func ExplanationGrid(inputs, recons, terms [][]float32, labels []string, h, w int, opt GridOptions) (image.Image, error) {
	n := len(inputs)
	if len(recons) != n || len(terms) != n || labels != nil && len(labels) != n {
		return nil, fmt.Errorf("%d inputs, %d reconstructions, %d terms and %d labels: want as many of each (or no labels)", n, len(recons), len(terms), len(labels))
	}
	for _, c := range []struct {
		what   string
		images [][]float32
	}{{"inputs", inputs}, {"reconstructions", recons}, {"terms", terms}} {
		if err := checkImages(c.what, c.images, h, w, opt.Channels); err != nil {
			return nil, err
		}
	}
	nc, _ := channelCount(opt.Channels) // checked above
	rgb := func(v []float32) []float32 {
		if nc == 3 {
			return v
		}
		return slices.Concat(v, v, v)
	}
	cells := make([][]float32, 3*n)
	for i := range n {
		cells[3*i], cells[3*i+1], cells[3*i+2] = rgb(inputs[i]), rgb(recons[i]), heat(terms[i], h*w)
	}
	const labelPx = 18 // the least row height in pixels for a label
	if opt.Scale == 0 {
		opt.Scale = autoScale(max(3*w, n*h), 640)
		if labels != nil {
			opt.Scale = max(opt.Scale, (labelPx+h-1)/h)
		}
	}
	opt.Channels = 3
	grid, err := tile(cells, h, w, n, 3, 0, opt)
	if err != nil || labels == nil {
		return grid, err
	}

	// The labels go in a column to the left, drawn at 96 dpi, where a
	// reference pixel is a pixel.
	rowH := h * opt.Scale
	gw, gh := grid.Bounds().Dx(), grid.Bounds().Dy()
	border := (gh - n*rowH) / (n + 1)
	style := textStyle(min(13, 0.8*float64(rowH)), vgdraw.XLeft, vgdraw.YCenter)
	const pad = 8
	x0 := 0
	for _, l := range labels {
		x0 = max(x0, int(math.Ceil(float64(style.Width(l)/px(1)))))
	}
	x0 += 2 * pad
	if x0+gw > maxSide {
		return nil, fmt.Errorf("picture of %d×%d pixels too large (at most %d a side)", x0+gw, gh, maxSide)
	}
	r := newRaster(x0+gw, gh, 96)
	for i, l := range labels {
		centre := border + i*(rowH+border) + rowH/2 // from the top
		r.dc.FillText(style, vg.Point{X: px(pad), Y: px(float64(gh - centre))}, l)
	}
	out := r.image().(draw.Image)
	draw.Draw(out, image.Rect(x0, 0, x0+gw, gh), grid, image.Point{}, draw.Src)
	return out, nil
}

// HeatMap returns the heat map of Explanations for one image of h×w pixels
// whose terms are one per value (h·w of them, or 3·h·w for a colour image,
// whose pixels are heated by the sum of their channels' terms), or nil when
// len(terms) is neither.
func HeatMap(terms []float32, h, w int) *image.RGBA {
	if h < 1 || w < 1 || len(terms) != h*w && len(terms) != 3*h*w {
		return nil
	}
	return RGBImage(heat(terms, h*w), h, w)
}

// heat returns the heat map of terms, the values of one image of planes of
// size values each, as red, green and blue planes in [0,1]: each pixel's
// sum over the planes, scaled from the smallest finite sum (black) to the
// largest (white) through red and yellow.
func heat(terms []float32, size int) []float32 {
	sum := make([]float64, size)
	for i, v := range terms {
		sum[i%size] += float64(v)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range sum {
		if finite(s) {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	out := make([]float32, 3*size)
	for i, s := range sum {
		t := 3 * (s - lo) / (hi - lo) // NaN when all are equal: black
		for c := range 3 {
			out[c*size+i] = float32(t - float64(c)) // clamped, NaN black, by grayLevel
		}
	}
	return out
}
