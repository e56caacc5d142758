package plot

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ScoreHistogram writes, as a PNG, the histograms of two groups of scores
// over the same bins, e.g. normal examples against anomalies, each
// normalised to unit area so that groups of different sizes compare, and a
// vertical line at threshold unless it is NaN. names label the groups in
// the legend. Non-finite scores are left out.
func ScoreHistogram(path string, groups [2][]float64, names [2]string, threshold float64, opt ChartOptions) error {
	r, err := scoreHistogram(groups, names, threshold, opt)
	if err != nil {
		return fmt.Errorf("score histogram %s: %w", path, err)
	}
	if err := writePNG(path, r.image()); err != nil {
		return fmt.Errorf("score histogram: %w", err)
	}
	return nil
}

func scoreHistogram(groups [2][]float64, names [2]string, threshold float64, opt ChartOptions) (raster, error) {
	w, h, err := checkSize(opt.Width, opt.Height, 900, 560)
	if err != nil {
		return raster{}, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var vals [2]plotter.Values
	for g, scores := range groups {
		for _, s := range scores {
			if finite(s) {
				vals[g] = append(vals[g], s)
				lo, hi = min(lo, s), max(hi, s)
			}
		}
		if len(vals[g]) == 0 {
			return raster{}, fmt.Errorf("group %q has no finite score", names[g])
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	const bins = 50
	xl, yl := opt.XLabel, opt.YLabel
	if xl == "" {
		xl = "score"
	}
	if yl == "" {
		yl = "density"
	}
	p := newChart(opt.Title, xl, yl)
	addGrid(p)
	leg := newLegend(px(20))
	ymax := 0.0
	for g := range groups {
		// lo and hi, the range of both groups, added to each so that both get
		// the same bin edges
		hist, err := plotter.NewHist(append(vals[g], lo, hi), bins)
		if err != nil {
			return raster{}, err
		}
		// take the two added values out again, and normalise
		hist.Bins[0].Weight--
		hist.Bins[len(hist.Bins)-1].Weight--
		hist.Normalize(1)
		c := tab10[g]
		hist.FillColor = color.NRGBA{c.R, c.G, c.B, 110}
		hist.LineStyle = draw.LineStyle{Color: c, Width: px(1)}
		for _, b := range hist.Bins {
			ymax = max(ymax, b.Weight)
		}
		p.Add(hist)
		leg.Add(fmt.Sprintf("%s (%d)", names[g], len(vals[g])), hist)
	}
	if finite(threshold) {
		line, err := plotter.NewLine(plotter.XYs{{X: threshold, Y: 0}, {X: threshold, Y: ymax * 1.05}})
		if err != nil {
			return raster{}, err
		}
		line.LineStyle = draw.LineStyle{Color: color.Black, Width: px(2), Dashes: []vg.Length{px(6), px(4)}}
		p.Add(line)
		leg.Add(fmt.Sprintf("threshold %.4g", threshold), line)
		lo, hi = min(lo, threshold), max(hi, threshold)
	}
	padRange(&p.X, lo, hi, 0.02)
	p.Y.Min, p.Y.Max = 0, ymax*1.08
	p.X.Tick.Marker = niceTicks{target: 8}
	p.Y.Tick.Marker = niceTicks{target: 6}
	p.Add(frame{})
	r := newRaster(w, h, dpiFor(min(w, h)))
	if err := drawChart(r.dc, p, leg, false); err != nil {
		return raster{}, err
	}
	return r, nil
}
