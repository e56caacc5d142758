package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ScatterOptions controls [LatentScatter]. The zero value gives sensible
// defaults.
type ScatterOptions struct {
	// Title is drawn above the chart; empty means no title.
	Title string
	// XLabel and YLabel name the axes; empty means "z[i]" for column i.
	XLabel, YLabel string
	// Width and Height are the picture size in pixels; zero selects 780×720.
	// Whatever the size, the data area is square and both axes use the same
	// scale.
	Width, Height int
	// Dim is the number of values per row of z; zero means 2.
	Dim int
	// Columns picks the two columns of z to draw as x and y; nil means
	// column 0 against column 1.
	Columns []int
	// PointRadius is the radius of a point in pixels (at 96 dpi); zero picks
	// one from the number of points: 1.2 for 10,000 points, larger for
	// fewer.
	PointRadius float64
	// Alpha is the opacity of a point in (0,1]; zero picks one from the
	// number of points, so that dense clusters stay readable.
	Alpha float64
	// ClassNames, if set, names the classes in the legend (class k is
	// ClassNames[k]); nil writes their numbers.
	ClassNames []string
}

// LatentScatter writes a scatter chart of latent codes as a PNG: z holds n
// rows of opt.Dim values (row-major), labels holds each row's class 0..9,
// and each class gets a colour of matplotlib's tab10 palette, with a legend
// of the classes present to the right of the chart. labels may be nil for
// unlabelled codes, drawn in one colour without a legend. Points are drawn in
// input order, so no class hides the others wholesale.
func LatentScatter(path string, z []float32, labels []uint8, opt ScatterOptions) error {
	r, err := latentScatter(z, labels, opt)
	if err != nil {
		return fmt.Errorf("latent scatter %s: %w", path, err)
	}
	if err := writePNG(path, r.image()); err != nil {
		return fmt.Errorf("latent scatter: %w", err)
	}
	return nil
}

func latentScatter(z []float32, labels []uint8, opt ScatterOptions) (raster, error) {
	dim := opt.Dim
	if dim == 0 {
		dim = 2
	}
	cx, cy := 0, 1
	switch {
	case len(opt.Columns) == 2:
		cx, cy = opt.Columns[0], opt.Columns[1]
	case opt.Columns != nil:
		return raster{}, fmt.Errorf("%d columns given, want 2", len(opt.Columns))
	}
	switch {
	case dim < 0:
		return raster{}, fmt.Errorf("negative dimension %d", dim)
	case cx < 0 || cx >= dim || cy < 0 || cy >= dim:
		return raster{}, fmt.Errorf("columns %d and %d out of range for %d values per row", cx, cy, dim)
	case len(z) == 0:
		return raster{}, fmt.Errorf("no points")
	case len(z)%dim != 0:
		return raster{}, fmt.Errorf("%d values are not rows of %d", len(z), dim)
	}
	n := len(z) / dim
	if labels != nil && len(labels) != n {
		return raster{}, fmt.Errorf("%d labels for %d points", len(labels), n)
	}
	w, h, err := checkSize(opt.Width, opt.Height, 780, 720)
	if err != nil {
		return raster{}, err
	}

	pts := &points{xs: make([]float64, n), ys: make([]float64, n), cls: labels}
	for i := range n {
		x, y := float64(z[i*dim+cx]), float64(z[i*dim+cy])
		if !finite(x) || !finite(y) {
			return raster{}, fmt.Errorf("point %d is (%v, %v), not finite", i, x, y)
		}
		pts.xs[i], pts.ys[i] = x, y
	}
	var present [len(tab10)]bool
	for i, c := range labels {
		if int(c) >= len(tab10) {
			return raster{}, fmt.Errorf("label %d of point %d is not a class 0..%d", c, i, len(tab10)-1)
		}
		present[c] = true
	}

	radius, alpha := opt.PointRadius, opt.Alpha
	if radius < 0 || !finite(radius) || alpha < 0 || alpha > 1 || math.IsNaN(alpha) {
		return raster{}, fmt.Errorf("point radius %v or alpha %v out of range", radius, alpha)
	}
	if radius == 0 {
		// 1.2 pixels at 10,000 points, growing as points get fewer.
		radius = min(max(1.2*math.Pow(1e4/float64(n), 0.25), 0.8), 4)
	}
	if alpha == 0 {
		alpha = min(max(0.55*math.Pow(1e4/float64(n), 0.25), 0.25), 1)
	}
	for k, c := range tab10 {
		c.A = uint8(math.Round(255 * alpha))
		pts.styles[k] = draw.GlyphStyle{Color: c, Radius: px(radius), Shape: draw.CircleGlyph{}}
	}

	xl, yl := opt.XLabel, opt.YLabel
	if xl == "" {
		xl = "z[" + strconv.Itoa(cx) + "]"
	}
	if yl == "" {
		yl = "z[" + strconv.Itoa(cy) + "]"
	}
	p := newChart(opt.Title, xl, yl)
	equalRanges(p, pts)
	p.X.Tick.Marker = niceTicks{target: 6}
	p.Y.Tick.Marker = niceTicks{target: 6}
	addGrid(p)
	p.Add(pts, frame{})

	var leg *gplot.Legend
	if labels != nil {
		leg = newLegend(px(12))
		for k, ok := range present {
			if ok {
				name := strconv.Itoa(k)
				if k < len(opt.ClassNames) {
					name = opt.ClassNames[k]
				}
				leg.Add(name, dot{color: tab10[k], radius: px(5)})
			}
		}
	}

	r := newRaster(w, h, dpiFor(min(w, h)))
	if err := drawChart(r.dc, p, leg, true); err != nil {
		return raster{}, err
	}
	return r, nil
}

// equalRanges sets both axes of p to the same span, centred on the data with
// a 5% margin, so that a unit is as long on either axis.
func equalRanges(p *gplot.Plot, pts *points) {
	xmin, xmax, ymin, ymax := pts.DataRange()
	half := max(xmax-xmin, ymax-ymin) / 2 * 1.05
	if half == 0 {
		half = 1
	}
	xc, yc := (xmin+xmax)/2, (ymin+ymax)/2
	p.X.Min, p.X.Max = xc-half, xc+half
	p.Y.Min, p.Y.Max = yc-half, yc+half
}

// points is a gonum plotter for a labelled point cloud, drawn in input order.
type points struct {
	xs, ys []float64
	cls    []uint8 // nil: all in class 0's colour
	styles [len(tab10)]draw.GlyphStyle
}

// Plot implements gplot.Plotter.
func (pts *points) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range pts.xs {
		k := 0
		if pts.cls != nil {
			k = int(pts.cls[i])
		}
		c.DrawGlyph(pts.styles[k], vg.Point{X: trX(pts.xs[i]), Y: trY(pts.ys[i])})
	}
}

// DataRange implements gplot.DataRanger.
func (pts *points) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for i := range pts.xs {
		xmin, xmax = min(xmin, pts.xs[i]), max(xmax, pts.xs[i])
		ymin, ymax = min(ymin, pts.ys[i]), max(ymax, pts.ys[i])
	}
	return xmin, xmax, ymin, ymax
}

// dot is a legend thumbnail: an opaque disc, larger than the points it
// stands for so that its colour is easy to read.
type dot struct {
	color  color.Color
	radius vg.Length
}

// Thumbnail implements gplot.Thumbnailer.
func (d dot) Thumbnail(c *draw.Canvas) {
	c.DrawGlyphNoClip(draw.GlyphStyle{Color: d.color, Radius: d.radius, Shape: draw.CircleGlyph{}}, c.Center())
}
