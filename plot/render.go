package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"github.com/govae/vae/internal/atomicfile"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// maxSide bounds the width and height of any picture, so that a bad scale or
// size is an error instead of an enormous allocation.
const maxSide = 16384

// tab10 is matplotlib's default qualitative palette; class k gets tab10[k].
var tab10 = [...]color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // gray
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

	gridLine  = draw.LineStyle{Color: color.Gray{0xe4}, Width: px(1)}
	frameLine = draw.LineStyle{Color: color.Gray{0x40}, Width: px(1)}
)

// px converts reference pixels (pixels at 96 dpi) to a vg length. Sizes of
// fonts, lines and glyphs are given in reference pixels; a large picture is
// drawn at a higher dpi so that it looks like the same figure, only sharper.
func px(n float64) vg.Length { return vg.Length(n * 0.75) }

// dpiFor picks the resolution for a picture whose shorter side is short
// pixels long: 96 dpi up to 720 pixels, then growing with the picture.
func dpiFor(short int) int {
	return int(math.Round(96 * math.Min(math.Max(float64(short)/720, 1), 4)))
}

// raster is an in-memory picture being drawn with gonum/plot.
type raster struct {
	vc *vgimg.Canvas
	dc draw.Canvas
}

func newRaster(w, h, dpi int) raster {
	vc := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))), vgimg.UseDPI(dpi))
	return raster{vc: vc, dc: draw.New(vc)}
}

// image returns what has been drawn.
func (r raster) image() image.Image { return r.vc.Image() }

// writePNG encodes img as a PNG file at path, atomically.
func writePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		if err := png.Encode(w, img); err != nil {
			return fmt.Errorf("encode png: %w", err)
		}
		return nil
	})
}

// checkSize validates a requested picture size, returning the default for
// zero values.
func checkSize(w, h, defW, defH int) (int, int, error) {
	if w == 0 {
		w = defW
	}
	if h == 0 {
		h = defH
	}
	if w < 0 || h < 0 || w > maxSide || h > maxSide {
		return 0, 0, fmt.Errorf("picture size %d×%d out of range 1..%d", w, h, maxSide)
	}
	return w, h, nil
}

// textStyle returns a style in the package's font with the given size in
// reference pixels.
func textStyle(size float64, xa draw.XAlignment, ya draw.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(sansFont, px(size)),
		XAlign:  xa,
		YAlign:  ya,
		Handler: gplot.DefaultTextHandler,
	}
}

// newChart returns a plot with the package's look: sans-serif text, axis
// lines left to the frame plotter, and the given labels.
func newChart(title, xlabel, ylabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle = textStyle(17, draw.XCenter, draw.YTop)
	p.Title.Padding = px(10)
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Padding = 0
		// The frame plotter draws the box; an axis line on top of it would
		// look thicker than the other sides.
		a.LineStyle = draw.LineStyle{Color: color.Transparent, Width: frameLine.Width}
		a.Tick.LineStyle = frameLine
		a.Tick.Length = px(5)
		a.Label.Padding = px(4)
		a.Label.TextStyle = textStyle(15, draw.XCenter, draw.YBottom)
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Label = textStyle(13, draw.XCenter, draw.YTop)
	p.Y.Tick.Label = textStyle(13, draw.XRight, draw.YCenter)
	return p
}

// addGrid adds light grid lines at the major ticks, under everything else.
func addGrid(p *gplot.Plot) {
	g := plotter.NewGrid()
	g.Vertical, g.Horizontal = gridLine, gridLine
	p.Add(g)
}

// frame is a plotter that outlines the data area, drawn after the data so
// that the chart has a closed box like matplotlib's.
type frame struct{}

// Plot implements gplot.Plotter.
func (frame) Plot(c draw.Canvas, _ *gplot.Plot) {
	r := c.Rectangle
	c.StrokeLines(frameLine, []vg.Point{
		r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min,
	})
}

// newLegend returns an empty legend in the package's look, with icons to the
// left of the names.
func newLegend(thumb vg.Length) *gplot.Legend {
	l := gplot.NewLegend()
	l.TextStyle = textStyle(14, draw.XLeft, draw.YBottom)
	l.Left, l.Top = true, true
	l.Padding = px(6)
	l.ThumbnailWidth = thumb
	return &l
}

// drawChart draws p onto dc with leg (if not nil) in a column to the right of
// the data area. With square set, the data area is made square and the chart
// centred. It fails when the picture is too small to hold the chart.
func drawChart(dc draw.Canvas, p *gplot.Plot, leg *gplot.Legend, square bool) error {
	margin := px(14)
	region := draw.Crop(dc, margin, -margin, margin, -margin)
	var legW, gap vg.Length
	if leg != nil {
		r := leg.Rectangle(region)
		legW, gap = r.Max.X-r.Min.X, px(18)
		region.Max.X -= legW + gap
	}
	if region.Max.X-region.Min.X < px(40) || region.Max.Y-region.Min.Y < px(40) {
		return fmt.Errorf("picture too small for the chart's labels and legend")
	}
	da := p.DataCanvas(region)
	dw, dh := da.Max.X-da.Min.X, da.Max.Y-da.Min.Y
	if dw < px(20) || dh < px(20) || da.Min.X < region.Min.X || da.Min.Y < region.Min.Y {
		return fmt.Errorf("picture too small for the chart's labels and legend")
	}
	if square {
		if dw > dh {
			region.Min.X += (dw - dh) / 2
			region.Max.X -= (dw - dh) / 2
		} else {
			region.Min.Y += (dh - dw) / 2
			region.Max.Y -= (dh - dw) / 2
		}
	}
	p.Draw(region)
	if leg != nil {
		da = p.DataCanvas(region)
		leg.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: region.Max.X + gap, Y: da.Min.Y},
			Max: vg.Point{X: region.Max.X + gap + legW, Y: da.Max.Y},
		}})
	}
	return nil
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
