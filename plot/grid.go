package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// GridOptions controls how [ImageGrid] and [Reconstructions] lay out tiles.
// The zero value gives sensible defaults.
type GridOptions struct {
	// Scale is the integer factor every image is enlarged by (each pixel
	// becomes a Scale×Scale block). Zero picks the factor that brings the
	// longer side of the grid closest to 640 pixels, at least 1 and at most 8.
	Scale int
	// Border is the width in output pixels of the lines between and around
	// the tiles. Zero selects 2; a negative value selects no border.
	Border int
	// BorderColor is the colour of the border and of empty cells: converted
	// to gray for gray images, made opaque (as if drawn over black) for RGB
	// ones. Nil selects middle gray (128, in every channel for RGB).
	BorderColor color.Color
	// Channels is the number of colour planes of every image: 0 or 1 for
	// gray images of h×w values, 3 for RGB images of 3×h×w values, the red,
	// green and blue planes of h×w values one after the other (channels
	// first, as a PyTorch tensor of shape [3, h, w]).
	Channels int
}

// defaultBorder and defaultBorderGray are what the zero GridOptions select.
const (
	defaultBorder     = 2
	defaultBorderGray = 128
)

// channelCount returns the number of planes Channels selects, 1 or 3, or an
// error for any other value.
func channelCount(channels int) (int, error) {
	switch channels {
	case 0, 1:
		return 1, nil
	case 3:
		return 3, nil
	}
	return 0, fmt.Errorf("%d channels: want 1 (gray) or 3 (RGB)", channels)
}

// GrayImage converts one image of h×w pixels, stored row by row with values
// in [0,1], to an 8-bit grayscale image: values are clamped to [0,1] (NaN
// counts as 0) and scaled by 255 with rounding. It returns nil when h or w is
// not positive or len(pixels) != h*w.
func GrayImage(pixels []float32, h, w int) *image.Gray {
	if h <= 0 || w <= 0 || len(pixels) != h*w {
		return nil
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range pixels {
		img.Pix[i] = grayLevel(v)
	}
	return img
}

// grayLevel maps v in [0,1] to 0..255, clamping and treating NaN as 0.
func grayLevel(v float32) uint8 {
	switch {
	case !(v > 0): // also NaN
		return 0
	case v >= 1:
		return 255
	}
	return uint8(math.Round(float64(v) * 255))
}

// RGBImage converts one colour image of h×w pixels, stored as its red, green
// and blue planes of h×w values each, one after the other, row by row with
// values in [0,1], to an opaque 8-bit RGBA image. Values are mapped as by
// [GrayImage]. It returns nil when h or w is not positive or len(pixels) !=
// 3*h*w.
func RGBImage(pixels []float32, h, w int) *image.RGBA {
	if h <= 0 || w <= 0 || len(pixels) != 3*h*w {
		return nil
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	paintRGB(img, pixels, h, w, 1, 0, 0)
	return img
}

// ImageGrid writes images, each h×w pixels stored row by row with values in
// [0,1] (opt.Channels planes of them for colour images), as a PNG grid with
// cols images per row, filled row by row; cells left over in the last row
// are filled with the border colour. cols 0 picks a near-square grid, and
// cols above len(images) is reduced to it. The PNG is grayscale for gray
// images and RGB for colour ones.
func ImageGrid(path string, images [][]float32, h, w, cols int, opt GridOptions) error {
	img, err := Grid(images, h, w, cols, opt)
	if err != nil {
		return fmt.Errorf("image grid %s: %w", path, err)
	}
	if err := writePNG(path, img); err != nil {
		return fmt.Errorf("image grid: %w", err)
	}
	return nil
}

// Grid is ImageGrid's picture, for a caller that writes it elsewhere: an
// [*image.Gray] for gray images, an [*image.RGBA] for RGB ones.
func Grid(images [][]float32, h, w, cols int, opt GridOptions) (image.Image, error) {
	if err := checkImages("images", images, h, w, opt.Channels); err != nil {
		return nil, err
	}
	n := len(images)
	switch {
	case cols < 0:
		return nil, fmt.Errorf("negative column count %d", cols)
	case cols == 0:
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	case cols > n:
		cols = n
	}
	rows := (n + cols - 1) / cols
	cells := make([][]float32, rows*cols)
	copy(cells, images)
	return tile(cells, h, w, rows, cols, 0, opt)
}

// Reconstructions writes originals and their reconstructions (each h×w
// pixels with values in [0,1], opt.Channels planes of them for colour
// images) as a PNG grid, grayscale or RGB, in pairs of rows: a
// row of up to cols originals with their reconstructions in the row below,
// then a wider gap and the next pair. cols 0 puts everything in one pair of
// rows. originals and recons must have the same length.
func Reconstructions(path string, originals, recons [][]float32, h, w, cols int, opt GridOptions) error {
	img, err := ReconstructionGrid(originals, recons, h, w, cols, opt)
	if err != nil {
		return fmt.Errorf("reconstructions %s: %w", path, err)
	}
	if err := writePNG(path, img); err != nil {
		return fmt.Errorf("reconstructions: %w", err)
	}
	return nil
}

// ReconstructionGrid is Reconstructions' picture, for a caller that writes it
// elsewhere: an [*image.Gray] for gray images, an [*image.RGBA] for RGB
// ones.
func ReconstructionGrid(originals, recons [][]float32, h, w, cols int, opt GridOptions) (image.Image, error) {
	if len(originals) != len(recons) {
		return nil, fmt.Errorf("%d originals but %d reconstructions", len(originals), len(recons))
	}
	if err := checkImages("originals", originals, h, w, opt.Channels); err != nil {
		return nil, err
	}
	if err := checkImages("reconstructions", recons, h, w, opt.Channels); err != nil {
		return nil, err
	}
	n := len(originals)
	switch {
	case cols < 0:
		return nil, fmt.Errorf("negative column count %d", cols)
	case cols == 0 || cols > n:
		cols = n
	}
	pairs := (n + cols - 1) / cols
	cells := make([][]float32, 2*pairs*cols)
	for i := range n {
		p, c := i/cols, i%cols
		cells[(2*p)*cols+c] = originals[i]
		cells[(2*p+1)*cols+c] = recons[i]
	}
	return tile(cells, h, w, 2*pairs, cols, 2, opt)
}

// checkImages reports an error unless channels is valid (see
// [GridOptions.Channels]), images is non-empty and every image has
// channels*h*w values.
func checkImages(what string, images [][]float32, h, w, channels int) error {
	nc, err := channelCount(channels)
	if err != nil {
		return err
	}
	if h <= 0 || w <= 0 {
		return fmt.Errorf("image size %d×%d is not positive", h, w)
	}
	if len(images) == 0 {
		return fmt.Errorf("no %s", what)
	}
	for i, im := range images {
		switch {
		case nc == 1 && len(im) != h*w:
			return fmt.Errorf("%s[%d] has %d pixels, want %d×%d = %d", what, i, len(im), h, w, h*w)
		case nc > 1 && len(im) != nc*h*w:
			return fmt.Errorf("%s[%d] has %d values, want %d channels × %d×%d = %d", what, i, len(im), nc, h, w, nc*h*w)
		}
	}
	return nil
}

// tile lays cells (rows×cols of h×w images of opt.Channels planes, nil for
// an empty cell) out as one image, an *image.Gray for gray cells and an
// *image.RGBA for RGB ones. With group > 0 a wider gap separates every group
// rows. The cells must have passed checkImages.
func tile(cells [][]float32, h, w, rows, cols, group int, opt GridOptions) (image.Image, error) {
	nc, err := channelCount(opt.Channels)
	if err != nil {
		return nil, err
	}
	border := opt.Border
	switch {
	case border == 0:
		border = defaultBorder
	case border < 0:
		border = 0
	}
	groupGap := 0 // extra pixels between groups of rows
	if group > 0 {
		groupGap = max(3*border, 4)
	}
	scale := opt.Scale
	switch {
	case scale < 0 || scale > maxSide:
		return nil, fmt.Errorf("scale %d out of range 1..%d", scale, maxSide)
	case scale == 0:
		scale = autoScale(max(cols*w, rows*h), 640)
	}
	gaps := 0
	if group > 0 {
		gaps = (rows - 1) / group
	}
	width := border + cols*(w*scale+border)
	height := border + rows*(h*scale+border) + gaps*groupGap
	if width > maxSide || height > maxSide || width <= 0 || height <= 0 {
		return nil, fmt.Errorf("grid of %d×%d pixels too large (at most %d a side)", width, height, maxSide)
	}

	rect := image.Rect(0, 0, width, height)
	var img image.Image
	var put func(pixels []float32, x0, y0 int)
	if nc == 1 {
		var bg uint8 = defaultBorderGray
		if opt.BorderColor != nil {
			bg = color.GrayModel.Convert(opt.BorderColor).(color.Gray).Y
		}
		g := image.NewGray(rect)
		for i := range g.Pix {
			g.Pix[i] = bg
		}
		img = g
		put = func(pixels []float32, x0, y0 int) { paint(g, pixels, h, w, scale, x0, y0) }
	} else {
		bg := color.RGBA{defaultBorderGray, defaultBorderGray, defaultBorderGray, 255}
		if opt.BorderColor != nil {
			bg = color.RGBAModel.Convert(opt.BorderColor).(color.RGBA)
			bg.A = 255 // over black: the premultiplied channels stay
		}
		c := image.NewRGBA(rect)
		for i := 0; i < len(c.Pix); i += 4 {
			c.Pix[i], c.Pix[i+1], c.Pix[i+2], c.Pix[i+3] = bg.R, bg.G, bg.B, bg.A
		}
		img = c
		put = func(pixels []float32, x0, y0 int) { paintRGB(c, pixels, h, w, scale, x0, y0) }
	}
	for i, cell := range cells {
		if cell == nil {
			continue
		}
		r, c := i/cols, i%cols
		x0 := border + c*(w*scale+border)
		y0 := border + r*(h*scale+border)
		if group > 0 {
			y0 += r / group * groupGap
		}
		put(cell, x0, y0)
	}
	return img, nil
}

// paint draws one h×w image enlarged by scale with its top-left corner at
// (x0, y0).
func paint(dst *image.Gray, pixels []float32, h, w, scale, x0, y0 int) {
	for y := range h * scale {
		row := dst.Pix[(y0+y)*dst.Stride+x0:]
		src := pixels[(y/scale)*w:]
		for x := range w * scale {
			row[x] = grayLevel(src[x/scale])
		}
	}
}

// paintRGB draws one RGB image of three h×w planes enlarged by scale, opaque,
// with its top-left corner at (x0, y0).
func paintRGB(dst *image.RGBA, pixels []float32, h, w, scale, x0, y0 int) {
	plane := h * w
	red, green, blue := pixels[:plane], pixels[plane:2*plane], pixels[2*plane:3*plane]
	for y := range h * scale {
		row := dst.Pix[(y0+y)*dst.Stride+4*x0:]
		o := (y / scale) * w
		for x := range w * scale {
			i := o + x/scale
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = grayLevel(red[i]), grayLevel(green[i]), grayLevel(blue[i]), 255
		}
	}
}

// autoScale returns the integer factor in [1,8] that brings side closest to
// target pixels.
func autoScale(side, target int) int {
	if side <= 0 {
		return 1
	}
	return min(max(int(math.Round(float64(target)/float64(side))), 1), 8)
}

// Split cuts a row-major batch of images, each size values long, into one
// slice per image, sharing v's memory: the form the functions of this
// package take.
func Split(v []float32, size int) [][]float32 {
	out := make([][]float32, len(v)/size)
	for i := range out {
		out[i] = v[i*size : (i+1)*size]
	}
	return out
}
