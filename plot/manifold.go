package plot

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"slices"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
)

// ManifoldOptions controls [Manifold]. The zero value gives sensible
// defaults.
type ManifoldOptions struct {
	// Scale is the integer factor every image is enlarged by. Zero picks the
	// factor that brings the longer side of the grid closest to 640 pixels,
	// at least 1 and at most 8.
	Scale int
	// Title is drawn above the grid; empty means no title.
	Title string
	// XLabel and YLabel name the axes; empty means "z[0]" and "z[1]".
	XLabel, YLabel string
	// Channels is the number of colour planes of every image, as in
	// [GridOptions]: 0 or 1 for gray, 3 for RGB planes one after the other.
	Channels int
}

// Manifold writes decoded images tiled edge to edge over a grid of latent
// coordinates as a PNG, with the coordinates as tick labels: the figure of
// digits over the latent space. xs holds the len(xs) x coordinates of the
// columns, left to right, and ys the len(ys) y coordinates of the rows, top
// to bottom (so usually decreasing: the top row has the highest z[1]).
// images holds len(ys)×len(xs) images of h×w pixels with values in [0,1]
// (opt.Channels planes of them for colour images), row by row from the top
// left. The picture's size follows from the grid
// and opt.Scale; the images are copied pixel for pixel, without smoothing.
func Manifold(path string, images [][]float32, h, w int, xs, ys []float64, opt ManifoldOptions) error {
	img, err := manifold(images, h, w, xs, ys, opt)
	if err != nil {
		return fmt.Errorf("manifold %s: %w", path, err)
	}
	if err := writePNG(path, img); err != nil {
		return fmt.Errorf("manifold: %w", err)
	}
	return nil
}

func manifold(images [][]float32, h, w int, xs, ys []float64, opt ManifoldOptions) (image.Image, error) {
	cols, rows := len(xs), len(ys)
	if cols == 0 || rows == 0 {
		return nil, fmt.Errorf("grid of %d×%d coordinates is empty", cols, rows)
	}
	for _, v := range slices.Concat(xs, ys) {
		if !finite(v) {
			return nil, fmt.Errorf("grid coordinate %v is not finite", v)
		}
	}
	if len(images) != rows*cols {
		return nil, fmt.Errorf("%d images for a grid of %d rows × %d columns", len(images), rows, cols)
	}
	if err := checkImages("images", images, h, w, opt.Channels); err != nil {
		return nil, err
	}
	grid, err := tile(images, h, w, rows, cols, 0, GridOptions{Scale: opt.Scale, Border: -1, Channels: opt.Channels})
	if err != nil {
		return nil, err
	}
	gw, gh := grid.Bounds().Dx(), grid.Bounds().Dy()

	xl, yl := opt.XLabel, opt.YLabel
	if xl == "" {
		xl = "z[0]"
	}
	if yl == "" {
		yl = "z[1]"
	}
	p := newChart(opt.Title, xl, yl)
	p.X.Min, p.X.Max = 0, float64(cols)
	p.Y.Min, p.Y.Max = 0, float64(rows)
	p.X.Tick.Marker = gplot.ConstantTicks(cellTicks(xs, false))
	p.Y.Tick.Marker = gplot.ConstantTicks(cellTicks(ys, true))

	// Measure the room the title and axes need around the data area, then
	// size the picture so that the data area is the grid, pixel for pixel.
	dpi := dpiFor(min(gw, gh))
	toPx := func(l vg.Length) float64 { return l.Dots(float64(dpi)) }
	fromPx := func(n float64) vg.Length { return vg.Length(n/float64(dpi)) * vg.Inch }
	// Only the rectangle of the canvas matters for measuring.
	trial := vgdraw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: 100 * vg.Inch, Y: 100 * vg.Inch}}}
	da := p.DataCanvas(trial)
	left := toPx(da.Min.X - trial.Min.X)
	bottom := toPx(da.Min.Y - trial.Min.Y)
	top := toPx(trial.Max.Y - da.Max.Y)
	// An x tick label near the right end may stick out past the grid.
	right := 0.0
	for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		centre := tk.Value / float64(cols) * float64(gw)
		right = max(right, centre+toPx(p.X.Tick.Label.Width(tk.Label)/2)-float64(gw))
	}
	margin := toPx(px(14))
	x0 := int(math.Ceil(margin + left))
	y0 := int(math.Ceil(margin + top))
	width := x0 + gw + int(math.Ceil(max(margin, right+toPx(px(4)))))
	height := y0 + gh + int(math.Ceil(margin+bottom))
	if width > maxSide || height > maxSide {
		return nil, fmt.Errorf("picture of %d×%d pixels too large (at most %d a side)", width, height, maxSide)
	}

	r := newRaster(width, height, dpi)
	dataMinY := float64(height - y0 - gh) // vg's y axis points up
	region := vgdraw.Canvas{Canvas: r.dc.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: fromPx(float64(x0) - left), Y: fromPx(dataMinY - bottom)},
		Max: vg.Point{X: fromPx(float64(x0 + gw)), Y: fromPx(dataMinY + float64(gh) + top)},
	}}
	p.Draw(region)

	out := r.image().(draw.Image)
	frame := image.Rect(x0-1, y0-1, x0+gw+1, y0+gh+1)
	draw.Draw(out, frame, image.NewUniform(frameLine.Color), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(x0, y0, x0+gw, y0+gh), grid, image.Point{}, draw.Src)
	return out, nil
}

// cellTicks returns a tick at the centre of every cell of a grid axis whose
// cells have the coordinates vs, in axis units of one per cell. With
// topDown, vs[0] belongs to the top cell. At most about ten ticks are
// labelled (the middle one among them), with as few decimals as keep the
// labels distinct.
func cellTicks(vs []float64, topDown bool) []gplot.Tick {
	n := len(vs)
	every := (n + 10) / 11
	first := (n - 1) / 2 % every
	var labelled []int
	for i := first; i < n; i += every {
		labelled = append(labelled, i)
	}
	dec := decimalsFor(vs, labelled)
	ticks := make([]gplot.Tick, n)
	for i, v := range vs {
		pos := float64(i) + 0.5
		if topDown {
			pos = float64(n-i) - 0.5
		}
		ticks[i].Value = pos
		if (i-first)%every == 0 && i >= first {
			ticks[i].Label = formatCoord(v, dec)
		}
	}
	return ticks
}

// decimalsFor returns the fewest decimals, up to 6, that label the values at
// the indices idx distinctly and each within 10% of the smallest gap between
// them of its value.
func decimalsFor(vs []float64, idx []int) int {
	tol := math.Inf(1)
	for k := 1; k < len(idx); k++ {
		if d := math.Abs(vs[idx[k]] - vs[idx[k-1]]); d > 0 {
			tol = min(tol, 0.1*d)
		}
	}
	if math.IsInf(tol, 1) { // a single value, or all the same
		tol = 0.005 * max(math.Abs(vs[idx[0]]), 1)
	}
	for dec := 0; dec < 6; dec++ {
		seen := make(map[string]bool, len(idx))
		ok := true
		for _, i := range idx {
			s := formatCoord(vs[i], dec)
			r, _ := strconv.ParseFloat(s, 64)
			ok = ok && !seen[s] && math.Abs(r-vs[i]) <= tol
			seen[s] = true
		}
		if ok {
			return dec
		}
	}
	return 6
}

// formatCoord formats v with dec decimals, without a minus sign on zero.
func formatCoord(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if z := strconv.FormatFloat(0, 'f', dec, 64); s == "-"+z {
		return z
	}
	return s
}
