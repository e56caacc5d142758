package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readPNG decodes the PNG file at path.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// colours returns the set of distinct colours in img, as 8-bit NRGBA.
func colours(img image.Image) map[color.NRGBA]int {
	set := make(map[color.NRGBA]int)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			set[color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)]++
		}
	}
	return set
}

// grayAt returns the 8-bit gray level at (x, y) of a grayscale picture.
func grayAt(img image.Image, x, y int) uint8 {
	return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
}

// uniformImage returns an h×w image with every pixel v.
func uniformImage(h, w int, v float32) []float32 {
	im := make([]float32, h*w)
	for i := range im {
		im[i] = v
	}
	return im
}

// assertNoFiles fails unless dir is empty: no picture, no temporary file.
func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("file %s left behind", e.Name())
	}
}

func TestGrayImage(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		pixels []float32
		h, w   int
		want   []uint8 // nil: want a nil image
	}{
		{"levels", []float32{0, 0.5, 1, 0.25, 0.75, 1.0 / 255}, 2, 3, []uint8{0, 128, 255, 64, 191, 1}},
		{"clamped", []float32{-1, 2, nan, float32(math.Inf(1))}, 1, 4, []uint8{0, 255, 0, 255}},
		{"too few pixels", []float32{0, 1, 0}, 2, 2, nil},
		{"too many pixels", []float32{0, 1, 0, 1, 0}, 2, 2, nil},
		{"zero height", nil, 0, 4, nil},
		{"negative size", []float32{1}, -1, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := GrayImage(tt.pixels, tt.h, tt.w)
			if tt.want == nil {
				if img != nil {
					t.Fatalf("got an image, want nil")
				}
				return
			}
			if img == nil {
				t.Fatal("got nil")
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("bounds %v, want %d×%d", b, tt.w, tt.h)
			}
			if !slices.Equal(img.Pix, tt.want) {
				t.Fatalf("pixels %v, want %v", img.Pix, tt.want)
			}
		})
	}
}

func TestImageGridLayout(t *testing.T) {
	const h, w = 4, 3
	white, black, gray := uniformImage(h, w, 1), uniformImage(h, w, 0), uniformImage(h, w, 0.5)
	tests := []struct {
		name       string
		images     [][]float32
		cols       int
		opt        GridOptions
		wantCols   int   // grid columns after defaults
		wantRows   int   // grid rows
		scale      int   // enlargement after defaults
		border     int   // border width after defaults
		borderGray uint8 // colour of border and empty cells
	}{
		{"defaults pick scale and border", [][]float32{white, black}, 2, GridOptions{}, 2, 1, 8, 2, 128},
		{"scale 2 border 1", [][]float32{white, black, gray}, 2, GridOptions{Scale: 2, Border: 1}, 2, 2, 2, 1, 128},
		{"no border", [][]float32{white, black, gray, black}, 2, GridOptions{Scale: 3, Border: -1}, 2, 2, 3, 0, 128},
		{"border colour", [][]float32{white, black, gray}, 3, GridOptions{Scale: 1, Border: 2, BorderColor: color.White}, 3, 1, 1, 2, 255},
		{"dark border colour", [][]float32{white, gray}, 2, GridOptions{Scale: 2, BorderColor: color.RGBA{40, 40, 40, 255}}, 2, 1, 2, 2, 40},
		{"cols reduced to count", [][]float32{white, black}, 5, GridOptions{Scale: 1, Border: 1}, 2, 1, 1, 1, 128},
		{"cols zero is near square", [][]float32{white, black, gray, black, white}, 0, GridOptions{Scale: 1, Border: 1}, 3, 2, 1, 1, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "grid.png")
			if err := ImageGrid(path, tt.images, h, w, tt.cols, tt.opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			tileW, tileH := w*tt.scale, h*tt.scale
			wantW := tt.border + tt.wantCols*(tileW+tt.border)
			wantH := tt.border + tt.wantRows*(tileH+tt.border)
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("size %d×%d, want %d×%d", b.Dx(), b.Dy(), wantW, wantH)
			}
			if tt.border > 0 {
				for _, p := range []image.Point{{0, 0}, {wantW - 1, wantH - 1}, {tt.border - 1, wantH / 2}, {tt.border + tileW, tt.border + 1}} {
					if g := grayAt(img, p.X, p.Y); g != tt.borderGray {
						t.Errorf("border pixel %v is %d, want %d", p, g, tt.borderGray)
					}
				}
			}
			// The centre and corners of every tile hold its image's value;
			// cells past the last image have the border colour.
			for r := range tt.wantRows {
				for c := range tt.wantCols {
					i := r*tt.wantCols + c
					x0 := tt.border + c*(tileW+tt.border)
					y0 := tt.border + r*(tileH+tt.border)
					want := tt.borderGray
					if i < len(tt.images) {
						want = grayLevel(tt.images[i][0])
					}
					for _, p := range []image.Point{{x0 + tileW/2, y0 + tileH/2}, {x0, y0}, {x0 + tileW - 1, y0 + tileH - 1}} {
						if g := grayAt(img, p.X, p.Y); g != want {
							t.Errorf("tile %d pixel %v is %d, want %d", i, p, g, want)
						}
					}
				}
			}
		})
	}
}

// TestImageGridPixels checks that each source pixel becomes a scale×scale
// block in the right place.
func TestImageGridPixels(t *testing.T) {
	const h, w, scale, border = 3, 2, 2, 1
	a := []float32{0, 0.2, 0.4, 0.6, 0.8, 1}
	b := []float32{1, 0.8, 0.6, 0.4, 0.2, 0}
	path := filepath.Join(t.TempDir(), "pixels.png")
	if err := ImageGrid(path, [][]float32{a, b}, h, w, 2, GridOptions{Scale: scale, Border: border}); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, path)
	for k, im := range [][]float32{a, b} {
		x0 := border + k*(w*scale+border)
		for y := range h * scale {
			for x := range w * scale {
				want := grayLevel(im[(y/scale)*w+x/scale])
				if g := grayAt(img, x0+x, border+y); g != want {
					t.Fatalf("image %d pixel (%d,%d) is %d, want %d", k, x, y, g, want)
				}
			}
		}
	}
}

func TestReconstructions(t *testing.T) {
	const h, w = 2, 2
	white, black := uniformImage(h, w, 1), uniformImage(h, w, 0)
	tests := []struct {
		name           string
		n, cols        int
		wantW, wantH   int
		pairs, perPair int
	}{
		// Scale 1, border 1, group gap max(3*1, 4) = 4.
		{"one pair of rows", 3, 0, 1 + 3*(2+1), 1 + 2*(2+1), 1, 3},
		{"two pairs", 5, 3, 1 + 3*(2+1), 1 + 4*(2+1) + 4, 2, 3},
		{"cols above count", 2, 9, 1 + 2*(2+1), 1 + 2*(2+1), 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig, rec [][]float32
			for range tt.n {
				orig, rec = append(orig, white), append(rec, black)
			}
			path := filepath.Join(t.TempDir(), "recons.png")
			if err := Reconstructions(path, orig, rec, h, w, tt.cols, GridOptions{Scale: 1, Border: 1}); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Fatalf("size %d×%d, want %d×%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
			for i := range tt.n {
				p, c := i/tt.perPair, i%tt.perPair
				x := 1 + c*3
				y := 1 + 2*p*3 + p*4 // top of the originals row of pair p
				if g := grayAt(img, x, y); g != 255 {
					t.Errorf("original %d at (%d,%d) is %d, want 255", i, x, y, g)
				}
				if g := grayAt(img, x, y+3); g != 0 {
					t.Errorf("reconstruction %d at (%d,%d) is %d, want 0", i, x, y+3, g)
				}
			}
			if tt.pairs > 1 {
				// The gap between pairs has the border colour.
				if g := grayAt(img, 0, 1+2*3+1); g != 128 {
					t.Errorf("gap between pairs is %d, want 128", g)
				}
			}
		})
	}
}

// blobs returns n two-dimensional codes in ten clusters with their labels.
func blobs(n int) ([]float32, []uint8) {
	z := make([]float32, 2*n)
	labels := make([]uint8, n)
	for i := range n {
		k := i % 10
		a := 2 * math.Pi * float64(k) / 10
		// A deterministic spread around each centre.
		r, t := 0.5*math.Sqrt(float64(i%97)/97), float64(i)*2.399
		z[2*i] = float32(3*math.Cos(a) + r*math.Cos(t))
		z[2*i+1] = float32(3*math.Sin(a) + r*math.Sin(t))
		labels[i] = uint8(k)
	}
	return z, labels
}

func TestLatentScatter(t *testing.T) {
	z, labels := blobs(10000)
	z3 := make([]float32, 0, 3*len(labels))
	for i := range labels {
		z3 = append(z3, 7, z[2*i], z[2*i+1])
	}
	three := make([]uint8, 300) // classes 0, 3 and 9 only
	for i := range three {
		three[i] = []uint8{0, 3, 9}[i%3]
	}
	tests := []struct {
		name       string
		z          []float32
		labels     []uint8
		opt        ScatterOptions
		wantW      int
		wantH      int
		wantColors []color.NRGBA // each present exactly somewhere
	}{
		{"defaults, ten classes", z, labels, ScatterOptions{Title: "codes"}, 780, 720, tab10[:]},
		{"wide picture", z, labels, ScatterOptions{Width: 1000, Height: 500}, 1000, 500, tab10[:]},
		{"tall picture", z, labels, ScatterOptions{Width: 600, Height: 900}, 600, 900, tab10[:]},
		{"three classes", z[:600], three, ScatterOptions{}, 780, 720, []color.NRGBA{tab10[0], tab10[3], tab10[9]}},
		{"columns of wider rows", z3, labels, ScatterOptions{Dim: 3, Columns: []int{1, 2}, XLabel: "a", YLabel: "b"}, 780, 720, tab10[:]},
		{"unlabelled", z, nil, ScatterOptions{PointRadius: 3, Alpha: 1}, 780, 720, tab10[:1]},
		{"few points", z[:20], labels[:10], ScatterOptions{Width: 400, Height: 400}, 400, 400, tab10[:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "scatter.png")
			if err := LatentScatter(path, tt.z, tt.labels, tt.opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Fatalf("size %d×%d, want %d×%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
			set := colours(img)
			if len(set) < 50 {
				t.Errorf("only %d distinct colours: blank picture?", len(set))
			}
			for _, c := range tt.wantColors {
				if set[c] == 0 {
					t.Errorf("palette colour %v absent", c)
				}
			}
		})
	}
}

// TestLatentScatterLegend checks that the legend holds exactly the classes
// present: a class absent from the labels leaves no disc of its colour.
func TestLatentScatterLegend(t *testing.T) {
	z, labels := blobs(100)
	for i := range labels {
		labels[i] %= 2 // classes 0 and 1 only
	}
	path := filepath.Join(t.TempDir(), "scatter.png")
	if err := LatentScatter(path, z, labels, ScatterOptions{}); err != nil {
		t.Fatal(err)
	}
	set := colours(readPNG(t, path))
	for k, c := range tab10 {
		if k == 7 {
			continue // gray: the anti-aliased text has it too
		}
		if got, want := set[c] > 0, k < 2; got != want {
			t.Errorf("colour of class %d present: %v, want %v", k, got, want)
		}
	}
}

// TestDeterministic checks that equal input gives byte-identical files.
func TestDeterministic(t *testing.T) {
	z, labels := blobs(2000)
	dir := t.TempDir()
	var files [][]byte
	for _, name := range []string{"a.png", "b.png"} {
		path := filepath.Join(dir, name)
		if err := LatentScatter(path, z, labels, ScatterOptions{Title: "same"}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two renderings of the same input differ")
	}
}

func TestManifold(t *testing.T) {
	const h, w = 4, 5
	tests := []struct {
		name   string
		xs, ys []float64
		opt    ManifoldOptions
		scale  int // enlargement after defaults
	}{
		{"3×2 scale 4", []float64{-1, 0, 1}, []float64{1, -1}, ManifoldOptions{Scale: 4}, 4},
		{"default scale", linspace(-3, 3, 15), linspace(3, -3, 15), ManifoldOptions{XLabel: "u", YLabel: "v"}, 8}, // 640/75 rounds to 9, capped at 8
		{"single cell", []float64{0.5}, []float64{0.25}, ManifoldOptions{Scale: 10}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, cols := len(tt.ys), len(tt.xs)
			// Tile k, pixel i has level ((7k+i) mod 11)/10: every tile and
			// pixel position is told apart.
			images := make([][]float32, rows*cols)
			for k := range images {
				images[k] = make([]float32, h*w)
				for i := range images[k] {
					images[k][i] = float32((7*k+i)%11) / 10
				}
			}
			path := filepath.Join(t.TempDir(), "manifold.png")
			if err := Manifold(path, images, h, w, tt.xs, tt.ys, tt.opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			gw, gh := cols*w*tt.scale, rows*h*tt.scale
			b := img.Bounds()
			if b.Dx() <= gw || b.Dy() <= gh {
				t.Fatalf("picture %v no larger than the %d×%d grid", b, gw, gh)
			}
			// Without a title the first non-white pixel is the frame's top
			// left corner, one pixel up and left of the grid.
			x0, y0 := -1, -1
			for y := 0; y < b.Dy() && x0 < 0; y++ {
				for x := 0; x < b.Dx(); x++ {
					if c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA); c != (color.NRGBA{255, 255, 255, 255}) {
						x0, y0 = x+1, y+1
						break
					}
				}
			}
			if x0+gw > b.Dx() || y0+gh > b.Dy() {
				t.Fatalf("grid at (%d,%d) of %d×%d does not fit in %v", x0, y0, gw, gh, b)
			}
			for y := range gh {
				for x := range gw {
					k := (y/(h*tt.scale))*cols + x/(w*tt.scale)
					i := (y%(h*tt.scale))/tt.scale*w + (x%(w*tt.scale))/tt.scale
					want := grayLevel(images[k][i])
					if c := color.NRGBAModel.Convert(img.At(x0+x, y0+y)).(color.NRGBA); c != (color.NRGBA{want, want, want, 255}) {
						t.Fatalf("grid pixel (%d,%d) is %v, want gray %d", x, y, c, want)
					}
				}
			}
			if len(colours(img)) < 20 {
				t.Error("too few colours: no tick labels?")
			}
		})
	}
}

func TestCellTicks(t *testing.T) {
	tests := []struct {
		name    string
		vs      []float64
		topDown bool
		want    []string // labels, "" for unlabelled ticks
		first   float64  // position of the first tick
	}{
		{"three", []float64{-1, 0, 1}, false, []string{"-1", "0", "1"}, 0.5},
		{"top down", []float64{1, 0, -1}, true, []string{"1", "0", "-1"}, 2.5},
		{"decimals", []float64{-0.5, 0, 0.5}, false, []string{"-0.5", "0.0", "0.5"}, 0.5},
		{"fifteen, every other", linspace(-3, 3, 15), false,
			[]string{"", "-2.6", "", "-1.7", "", "-0.9", "", "0.0", "", "0.9", "", "1.7", "", "2.6", ""}, 0.5},
		{"single", []float64{0.25}, false, []string{"0.25"}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ticks := cellTicks(tt.vs, tt.topDown)
			var got []string
			for _, tk := range ticks {
				got = append(got, tk.Label)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("labels %q, want %q", got, tt.want)
			}
			if ticks[0].Value != tt.first {
				t.Errorf("first tick at %v, want %v", ticks[0].Value, tt.first)
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		name    string
		lo, hi  float64
		target  int
		integer bool
		want    []string
	}{
		{"zero to ten", 0, 10, 6, false, []string{"0", "2", "4", "6", "8", "10"}},
		{"symmetric", -4.4, 4.4, 6, false, []string{"-4", "-2", "0", "2", "4"}},
		{"small", 0.01, 0.09, 4, false, []string{"0.02", "0.04", "0.06", "0.08"}},
		{"epochs whole", 0.9, 3.1, 8, true, []string{"1", "2", "3"}},
		{"epochs many", 0.4, 30.6, 8, true, []string{"5", "10", "15", "20", "25", "30"}},
		{"quarter steps", 0, 1, 5, false, []string{"0.00", "0.25", "0.50", "0.75", "1.00"}},
		{"loss range", 16, 170, 6, false, []string{"25", "50", "75", "100", "125", "150"}},
		{"halves", 0, 1, 4, false, []string{"0.0", "0.5", "1.0"}},
		{"empty range", 2, 2, 6, false, []string{"2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tk := range (niceTicks{target: tt.target, integer: tt.integer}).Ticks(tt.lo, tt.hi) {
				got = append(got, tk.Label)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("labels %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLossCurves(t *testing.T) {
	epochs := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i + 1)
		}
		return x
	}
	falling := func(n int, base float64) []float64 {
		y := make([]float64, n)
		for i := range y {
			y[i] = base + 50*math.Exp(-float64(i)/5)
		}
		return y
	}
	tests := []struct {
		name         string
		series       []Series
		opt          ChartOptions
		wantW, wantH int
		wantColors   int // leading tab10 colours that must be present exactly
	}{
		{"train and test", []Series{{"train", epochs(20), falling(20, 100)}, {"test", epochs(20), falling(20, 104)}}, ChartOptions{Title: "loss"}, 900, 560, 2},
		{"four series", []Series{
			{"train", epochs(10), falling(10, 100)}, {"test", epochs(10), falling(10, 104)},
			{"recon", epochs(10), falling(10, 80)}, {"KL", epochs(10), falling(10, 20)},
		}, ChartOptions{Width: 640, Height: 400}, 640, 400, 4},
		{"long run without markers", []Series{{"train", epochs(200), falling(200, 100)}}, ChartOptions{}, 900, 560, 0},
		{"single point", []Series{{"train", []float64{1}, []float64{150}}}, ChartOptions{}, 900, 560, 1},
		{"NaN points dropped", []Series{{"train", epochs(3), []float64{150, math.NaN(), 120}}}, ChartOptions{}, 900, 560, 1},
		{"fractional x", []Series{{"lr", []float64{0.1, 0.25, 0.7}, []float64{3, 2, 1}}}, ChartOptions{XLabel: "x", YLabel: "y"}, 900, 560, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loss.png")
			if err := LossCurves(path, tt.series, tt.opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Fatalf("size %d×%d, want %d×%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
			set := colours(img)
			if len(set) < 20 {
				t.Errorf("only %d distinct colours: blank picture?", len(set))
			}
			for _, c := range tab10[:tt.wantColors] {
				if set[c] == 0 {
					t.Errorf("series colour %v absent", c)
				}
			}
		})
	}
}

// TestErrors checks that bad input is an error that names the problem and
// leaves no file, final or temporary, behind.
func TestErrors(t *testing.T) {
	z, labels := blobs(10)
	img := uniformImage(28, 28, 0.5)
	imgs := [][]float32{img, img, img, img}
	nan := math.NaN()
	line := Series{Name: "train", X: []float64{1, 2}, Y: []float64{3, 4}}
	tests := []struct {
		name string
		call func(path string) error
		want string // part of the error message
	}{
		{"scatter labels short", func(p string) error { return LatentScatter(p, z, labels[:9], ScatterOptions{}) }, "9 labels for 10 points"},
		{"scatter labels empty", func(p string) error { return LatentScatter(p, z, []uint8{}, ScatterOptions{}) }, "0 labels"},
		{"scatter no points", func(p string) error { return LatentScatter(p, nil, nil, ScatterOptions{}) }, "no points"},
		{"scatter ragged rows", func(p string) error { return LatentScatter(p, z[:5], nil, ScatterOptions{}) }, "not rows of 2"},
		{"scatter label 10", func(p string) error {
			return LatentScatter(p, z[:2], []uint8{10}, ScatterOptions{})
		}, "not a class"},
		{"scatter NaN", func(p string) error {
			return LatentScatter(p, []float32{0, float32(nan)}, nil, ScatterOptions{})
		}, "not finite"},
		{"scatter column out of range", func(p string) error {
			return LatentScatter(p, z, nil, ScatterOptions{Columns: []int{0, 2}})
		}, "out of range"},
		{"scatter three columns", func(p string) error {
			return LatentScatter(p, z, nil, ScatterOptions{Dim: 5, Columns: []int{0, 1, 2}})
		}, "3 columns"},
		{"scatter negative width", func(p string) error { return LatentScatter(p, z, nil, ScatterOptions{Width: -1}) }, "size"},
		{"scatter huge", func(p string) error { return LatentScatter(p, z, nil, ScatterOptions{Height: 1 << 20}) }, "size"},
		{"scatter tiny", func(p string) error { return LatentScatter(p, z, labels, ScatterOptions{Width: 60, Height: 60}) }, "too small"},
		{"scatter alpha", func(p string) error { return LatentScatter(p, z, nil, ScatterOptions{Alpha: 2}) }, "alpha"},

		{"grid empty", func(p string) error { return ImageGrid(p, nil, 28, 28, 0, GridOptions{}) }, "no images"},
		{"grid wrong size", func(p string) error {
			return ImageGrid(p, [][]float32{img, img[:700]}, 28, 28, 0, GridOptions{})
		}, "images[1] has 700 pixels"},
		{"grid zero height", func(p string) error { return ImageGrid(p, imgs, 0, 28, 0, GridOptions{}) }, "not positive"},
		{"grid negative cols", func(p string) error { return ImageGrid(p, imgs, 28, 28, -2, GridOptions{}) }, "column"},
		{"grid negative scale", func(p string) error { return ImageGrid(p, imgs, 28, 28, 2, GridOptions{Scale: -1}) }, "scale"},
		{"grid too large", func(p string) error { return ImageGrid(p, imgs, 28, 28, 4, GridOptions{Scale: 1000}) }, "too large"},

		{"recons count mismatch", func(p string) error { return Reconstructions(p, imgs, imgs[:3], 28, 28, 0, GridOptions{}) }, "4 originals but 3"},
		{"recons wrong size", func(p string) error {
			return Reconstructions(p, imgs[:1], [][]float32{img[:10]}, 28, 28, 0, GridOptions{})
		}, "reconstructions[0] has 10 pixels"},
		{"recons empty", func(p string) error { return Reconstructions(p, nil, nil, 28, 28, 0, GridOptions{}) }, "no originals"},

		{"manifold count", func(p string) error {
			return Manifold(p, imgs[:3], 28, 28, []float64{0, 1}, []float64{1, 0}, ManifoldOptions{})
		}, "3 images for a grid of 2 rows × 2 columns"},
		{"manifold no coordinates", func(p string) error { return Manifold(p, nil, 28, 28, nil, []float64{1}, ManifoldOptions{}) }, "empty"},
		{"manifold NaN coordinate", func(p string) error {
			return Manifold(p, imgs, 28, 28, []float64{0, nan}, []float64{1, 0}, ManifoldOptions{})
		}, "not finite"},
		{"manifold wrong size", func(p string) error {
			return Manifold(p, imgs, 28, 27, []float64{0, 1}, []float64{1, 0}, ManifoldOptions{})
		}, "has 784 pixels"},
		{"manifold too large", func(p string) error {
			return Manifold(p, imgs, 28, 28, []float64{0, 1}, []float64{1, 0}, ManifoldOptions{Scale: 400})
		}, "too large"},

		{"loss no series", func(p string) error { return LossCurves(p, nil, ChartOptions{}) }, "no series"},
		{"loss x y mismatch", func(p string) error {
			return LossCurves(p, []Series{line, {Name: "test", X: []float64{1, 2}, Y: []float64{3}}}, ChartOptions{})
		}, `"test" has 2 x but 1 y`},
		{"loss empty series", func(p string) error { return LossCurves(p, []Series{{Name: "kl"}}, ChartOptions{}) }, `"kl" has no finite points`},
		{"loss all NaN", func(p string) error {
			return LossCurves(p, []Series{{Name: "kl", X: []float64{1}, Y: []float64{nan}}}, ChartOptions{})
		}, "no finite points"},
		{"loss too many series", func(p string) error { return LossCurves(p, slices.Repeat([]Series{line}, 11), ChartOptions{}) }, "11 series"},
		{"loss tiny", func(p string) error { return LossCurves(p, []Series{line}, ChartOptions{Width: 80, Height: 60}) }, "too small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := tt.call(filepath.Join(dir, "out.png"))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			assertNoFiles(t, dir)
		})
	}
}

// TestUnwritablePath checks that a failure to write is reported, with the
// path.
func TestUnwritablePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "grid.png")
	err := ImageGrid(path, [][]float32{uniformImage(2, 2, 1)}, 2, 2, 1, GridOptions{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
}

func TestScoreHistogram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scores.png")
	normal, odd := []float64{1, 2, 2, 3, 3, 3, 4, math.NaN()}, []float64{5, 6, 6, 7}
	if err := ScoreHistogram(path, [2][]float64{normal, odd}, [2]string{"normal", "anomalous"}, 4.5, ChartOptions{Title: "scores"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("no picture: %v", err)
	}
	if err := ScoreHistogram(path, [2][]float64{normal, {math.Inf(1)}}, [2]string{"normal", "anomalous"}, math.NaN(), ChartOptions{}); err == nil || !strings.Contains(err.Error(), "anomalous") {
		t.Errorf("a group without finite scores: %v", err)
	}
}
