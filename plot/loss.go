package plot

import (
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a chart: the points (X[i], Y[i]) under a name shown
// in the legend.
type Series struct {
	Name string
	X, Y []float64
}

// ChartOptions controls [LossCurves]. The zero value gives sensible defaults.
type ChartOptions struct {
	// Title is drawn above the chart; empty means no title.
	Title string
	// XLabel and YLabel name the axes; empty means "epoch" and
	// "loss per sample (nats)".
	XLabel, YLabel string
	// Width and Height are the picture size in pixels; zero selects 900×560.
	Width, Height int
}

// LossCurves writes a line chart of series as a PNG, typically loss against
// epoch: one colour per series (matplotlib's tab10, in order, so at most ten
// series), point markers
// while a series has at most 40 points, and a legend of the names to the right
// of the chart. When every X is a whole number the x axis gets whole-number
// ticks only. Points with a NaN or infinite coordinate are left out (a
// diverged run still gets its chart), but every series needs at least one
// finite point and X and Y of equal length.
func LossCurves(path string, series []Series, opt ChartOptions) error {
	r, err := lossCurves(series, opt)
	if err != nil {
		return fmt.Errorf("loss curves %s: %w", path, err)
	}
	if err := writePNG(path, r.image()); err != nil {
		return fmt.Errorf("loss curves: %w", err)
	}
	return nil
}

func lossCurves(series []Series, opt ChartOptions) (raster, error) {
	if len(series) == 0 {
		return raster{}, fmt.Errorf("no series")
	}
	if len(series) > len(tab10) {
		return raster{}, fmt.Errorf("%d series, at most %d", len(series), len(tab10))
	}
	w, h, err := checkSize(opt.Width, opt.Height, 900, 560)
	if err != nil {
		return raster{}, err
	}
	xl, yl := opt.XLabel, opt.YLabel
	if xl == "" {
		xl = "epoch"
	}
	if yl == "" {
		yl = "loss per sample (nats)"
	}
	p := newChart(opt.Title, xl, yl)
	addGrid(p)
	leg := newLegend(px(28))

	integral := true
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for k, s := range series {
		if len(s.X) != len(s.Y) {
			return raster{}, fmt.Errorf("series %q has %d x but %d y values", s.Name, len(s.X), len(s.Y))
		}
		xys := make(plotter.XYs, 0, len(s.X))
		for i, x := range s.X {
			if y := s.Y[i]; finite(x) && finite(y) {
				xys = append(xys, plotter.XY{X: x, Y: y})
				integral = integral && x == math.Trunc(x)
				xmin, xmax = min(xmin, x), max(xmax, x)
				ymin, ymax = min(ymin, y), max(ymax, y)
			}
		}
		if len(xys) == 0 {
			return raster{}, fmt.Errorf("series %q has no finite points", s.Name)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return raster{}, fmt.Errorf("series %q: %w", s.Name, err)
		}
		line.LineStyle = draw.LineStyle{Color: tab10[k], Width: px(2)}
		p.Add(line)
		thumbs := []gplot.Thumbnailer{line}
		if len(xys) <= 40 {
			marks, err := plotter.NewScatter(xys)
			if err != nil {
				return raster{}, fmt.Errorf("series %q: %w", s.Name, err)
			}
			marks.GlyphStyle = draw.GlyphStyle{Color: tab10[k], Radius: px(3), Shape: draw.CircleGlyph{}}
			p.Add(marks)
			thumbs = append(thumbs, marks)
		}
		leg.Add(s.Name, thumbs...)
	}
	// A little room around the data, so that lines do not run along the frame.
	padRange(&p.X, xmin, xmax, 0.02)
	padRange(&p.Y, ymin, ymax, 0.06)
	p.X.Tick.Marker = niceTicks{target: 8, integer: integral}
	p.Y.Tick.Marker = niceTicks{target: 6}
	p.Add(frame{})

	r := newRaster(w, h, dpiFor(min(w, h)))
	if err := drawChart(r.dc, p, leg, false); err != nil {
		return raster{}, err
	}
	return r, nil
}

// padRange sets the axis to [lo, hi] widened by frac of its span on both
// sides (by 1 on both sides when lo == hi).
func padRange(a *gplot.Axis, lo, hi, frac float64) {
	d := (hi - lo) * frac
	if d == 0 {
		d = 1
	}
	a.Min, a.Max = lo-d, hi+d
}
