package plot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// grayCases are gray grids whose pixels were hashed before colour support
// was added: the refactor must leave them byte for byte as they were.
func grayCases() []struct {
	name string
	make func() (image.Image, error)
	want string // SHA-256 of bounds and Pix
} {
	const h, w = 5, 3
	ramp := func(k int) []float32 {
		im := make([]float32, h*w)
		for i := range im {
			im[i] = float32((5*k+i)%17)/15 - 0.05 // some below 0 and above 1
		}
		return im
	}
	var imgs [][]float32
	for k := range 7 {
		imgs = append(imgs, ramp(k))
	}
	imgs[3][4] = float32(math.NaN())
	rec := make([][]float32, len(imgs))
	for i := range rec {
		rec[i] = ramp(i + 20)
	}
	return []struct {
		name string
		make func() (image.Image, error)
		want string
	}{
		{"grid defaults", func() (image.Image, error) { return Grid(imgs, h, w, 0, GridOptions{}) }, "dd674e229d6813da542956434d86d4c3ca64cb65006b82cebef08ab9b3d3434e"},
		{"grid scale 2 border 1", func() (image.Image, error) { return Grid(imgs, h, w, 4, GridOptions{Scale: 2, Border: 1}) }, "c0e2be51198348487096118bce0f808d01df6535f7f12f516d3a6fec439bf33f"},
		{"grid no border", func() (image.Image, error) { return Grid(imgs[:6], h, w, 3, GridOptions{Scale: 3, Border: -1}) }, "613549746d5d5f0ad9c85711f9efad0f757220cdc49d1c687f78c5fdd9af90dd"},
		{"grid border colour", func() (image.Image, error) {
			return Grid(imgs, h, w, 3, GridOptions{Scale: 1, Border: 3, BorderColor: color.RGBA{200, 30, 90, 255}})
		}, "6127779c202654a377373f326fa067c0e9656b660e0bea661630ad5842f90dfc"},
		{"reconstructions", func() (image.Image, error) {
			return ReconstructionGrid(imgs, rec, h, w, 3, GridOptions{Scale: 2})
		}, "8def40bf18b17539da6db6a98b1745df99b6f61e369c975d6af912da6e72053e"},
		{"reconstructions one row", func() (image.Image, error) {
			return ReconstructionGrid(imgs, rec, h, w, 0, GridOptions{Border: 1, BorderColor: color.White})
		}, "d5581a1b9304b31a09878a0b8431e12813d28186480c68bb93c160787875cec6"},
	}
}

func grayHash(img *image.Gray) string {
	var b bytes.Buffer
	b.WriteString(img.Rect.String())
	b.Write(img.Pix)
	s := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(s[:])
}

func TestGrayGridUnchanged(t *testing.T) {
	for _, tc := range grayCases() {
		t.Run(tc.name, func(t *testing.T) {
			img, err := tc.make()
			if err != nil {
				t.Fatal(err)
			}
			g, ok := img.(*image.Gray)
			if !ok {
				t.Fatalf("picture is a %T, want *image.Gray", img)
			}
			if got := grayHash(g); got != tc.want {
				t.Errorf("pixels hash to %s, want %s", got, tc.want)
			}
		})
	}
}

// TestChannelsOneIsGray checks that Channels 1 draws what Channels 0 does.
func TestChannelsOneIsGray(t *testing.T) {
	imgs := [][]float32{{0, 0.5, 1, 0.25}, {1, 0.75, 0, 0.1}, {0.3, 0.3, 0.3, 0.3}}
	a, err := Grid(imgs, 2, 2, 2, GridOptions{Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Grid(imgs, 2, 2, 2, GridOptions{Scale: 2, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ga, gb := a.(*image.Gray), b.(*image.Gray); ga.Rect != gb.Rect || !bytes.Equal(ga.Pix, gb.Pix) {
		t.Error("Channels 1 differs from Channels 0")
	}
}

// Colours of the test pictures, as 8-bit NRGBA.
var (
	red     = color.NRGBA{255, 0, 0, 255}
	green   = color.NRGBA{0, 255, 0, 255}
	blue    = color.NRGBA{0, 0, 255, 255}
	white   = color.NRGBA{255, 255, 255, 255}
	black   = color.NRGBA{0, 0, 0, 255}
	yellow  = color.NRGBA{255, 255, 0, 255}
	cyan    = color.NRGBA{0, 255, 255, 255}
	magenta = color.NRGBA{255, 0, 255, 255}
	mid     = color.NRGBA{128, 128, 128, 255}
)

// planes turns the colours of an image's pixels, row by row, into its
// red, green and blue planes of values in [0,1], one after the other.
func planes(px ...color.NRGBA) []float32 {
	n := len(px)
	out := make([]float32, 3*n)
	for i, c := range px {
		out[i], out[n+i], out[2*n+i] = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
	}
	return out
}

// The 2×2 test images: rgbw has red and green on top, blue and white below.
var (
	rgbw = []color.NRGBA{red, green, blue, white}
	ycmk = []color.NRGBA{yellow, cyan, magenta, black}
)

func nrgbaAt(img image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
}

// checkTile checks that the 2×2 image px, enlarged by scale, lies at (x0, y0).
func checkTile(t *testing.T, img image.Image, what string, px []color.NRGBA, scale, x0, y0 int) {
	t.Helper()
	for y := range 2 * scale {
		for x := range 2 * scale {
			want := px[(y/scale)*2+x/scale]
			if c := nrgbaAt(img, x0+x, y0+y); c != want {
				t.Errorf("%s pixel (%d,%d) at (%d,%d) is %v, want %v", what, x/scale, y/scale, x0+x, y0+y, c, want)
				return
			}
		}
	}
}

func TestRGBImage(t *testing.T) {
	tests := []struct {
		name   string
		pixels []float32
		h, w   int
		want   []color.NRGBA // nil: want a nil image
	}{
		{"primaries", planes(rgbw...), 2, 2, rgbw},
		{"one row", planes(ycmk...), 1, 4, ycmk},
		{"levels and clamping", []float32{0.5, -1, float32(math.NaN()), 2, 0.25, 1}, 1, 2,
			[]color.NRGBA{{128, 0, 64, 255}, {0, 255, 255, 255}}},
		{"gray-sized", planes(rgbw...)[:4], 2, 2, nil},
		{"one value too many", append(planes(rgbw...), 0), 2, 2, nil},
		{"zero width", nil, 2, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := RGBImage(tt.pixels, tt.h, tt.w)
			if tt.want == nil {
				if img != nil {
					t.Fatal("got an image, want nil")
				}
				return
			}
			if img == nil {
				t.Fatal("got nil")
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("bounds %v, want %d×%d", b, tt.w, tt.h)
			}
			for i, want := range tt.want {
				if c := nrgbaAt(img, i%tt.w, i/tt.w); c != want {
					t.Errorf("pixel (%d,%d) is %v, want %v", i%tt.w, i/tt.w, c, want)
				}
			}
		})
	}
}

func TestImageGridRGB(t *testing.T) {
	a, b := planes(rgbw...), planes(ycmk...)
	tests := []struct {
		name          string
		images        [][]float32
		cols          int
		opt           GridOptions
		wantCols      int
		scale, border int
		bg            color.NRGBA // border and empty cells
	}{
		{"scale 1 border 1", [][]float32{a, b}, 2, GridOptions{Scale: 1, Border: 1}, 2, 1, 1, mid},
		{"defaults", [][]float32{b, a}, 0, GridOptions{}, 2, 8, 2, mid},
		{"empty cell", [][]float32{a, b, a}, 2, GridOptions{Scale: 3, Border: 2}, 2, 3, 2, mid},
		{"no border", [][]float32{a, b, b, a}, 2, GridOptions{Scale: 2, Border: -1}, 2, 2, 0, mid},
		{"border colour", [][]float32{a, b}, 1, GridOptions{Scale: 2, Border: 3, BorderColor: color.RGBA{200, 30, 90, 255}}, 1, 2, 3, color.NRGBA{200, 30, 90, 255}},
		{"gray border colour", [][]float32{a}, 1, GridOptions{Scale: 1, BorderColor: color.Gray{40}}, 1, 1, 2, color.NRGBA{40, 40, 40, 255}},
		{"translucent border colour made opaque", [][]float32{a}, 1, GridOptions{Scale: 1, BorderColor: color.NRGBA{255, 0, 0, 128}}, 1, 1, 2, color.NRGBA{128, 0, 0, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Channels = 3
			pic, err := Grid(tt.images, 2, 2, tt.cols, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := pic.(*image.RGBA); !ok {
				t.Fatalf("picture is a %T, want *image.RGBA", pic)
			}
			path := filepath.Join(t.TempDir(), "grid.png")
			if err := ImageGrid(path, tt.images, 2, 2, tt.cols, tt.opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			rows := (len(tt.images) + tt.wantCols - 1) / tt.wantCols
			side := 2 * tt.scale
			wantW, wantH := tt.border+tt.wantCols*(side+tt.border), tt.border+rows*(side+tt.border)
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("size %d×%d, want %d×%d", b.Dx(), b.Dy(), wantW, wantH)
			}
			for r := range rows {
				for c := range tt.wantCols {
					i := r*tt.wantCols + c
					x0, y0 := tt.border+c*(side+tt.border), tt.border+r*(side+tt.border)
					px := []color.NRGBA{tt.bg, tt.bg, tt.bg, tt.bg}
					switch {
					case i >= len(tt.images):
					case &tt.images[i][0] == &a[0]:
						px = rgbw
					default:
						px = ycmk
					}
					checkTile(t, img, "tile "+strconv.Itoa(i), px, tt.scale, x0, y0)
				}
			}
			if tt.border > 0 {
				for _, p := range []image.Point{{0, 0}, {wantW - 1, wantH - 1}, {tt.border + side, tt.border}} {
					if p.X >= wantW {
						continue
					}
					if c := nrgbaAt(img, p.X, p.Y); c != tt.bg {
						t.Errorf("border pixel %v is %v, want %v", p, c, tt.bg)
					}
				}
			}
		})
	}
}

func TestReconstructionsRGB(t *testing.T) {
	a, b := planes(rgbw...), planes(ycmk...)
	tests := []struct {
		name    string
		n, cols int
		pairs   int
		perPair int
	}{
		{"one pair of rows", 3, 0, 1, 3},
		{"two pairs", 3, 2, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig, rec [][]float32
			for range tt.n {
				orig, rec = append(orig, a), append(rec, b)
			}
			opt := GridOptions{Scale: 2, Border: 1, Channels: 3}
			pic, err := ReconstructionGrid(orig, rec, 2, 2, tt.cols, opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := pic.(*image.RGBA); !ok {
				t.Fatalf("picture is a %T, want *image.RGBA", pic)
			}
			path := filepath.Join(t.TempDir(), "recons.png")
			if err := Reconstructions(path, orig, rec, 2, 2, tt.cols, opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			// Scale 2, border 1, group gap max(3*1, 4) = 4.
			wantW, wantH := 1+tt.perPair*(4+1), 1+2*tt.pairs*(4+1)+(tt.pairs-1)*4
			if bd := img.Bounds(); bd.Dx() != wantW || bd.Dy() != wantH {
				t.Fatalf("size %d×%d, want %d×%d", bd.Dx(), bd.Dy(), wantW, wantH)
			}
			for i := range tt.n {
				p, c := i/tt.perPair, i%tt.perPair
				x := 1 + c*5
				y := 1 + 2*p*5 + p*4
				checkTile(t, img, "original", rgbw, 2, x, y)
				checkTile(t, img, "reconstruction", ycmk, 2, x, y+5)
			}
			if tt.pairs > 1 {
				if c := nrgbaAt(img, 0, 1+2*5+1); c != mid {
					t.Errorf("gap between pairs is %v, want %v", c, mid)
				}
			}
		})
	}
}

func TestManifoldRGB(t *testing.T) {
	a, b := planes(rgbw...), planes(ycmk...)
	tests := []struct {
		name   string
		xs, ys []float64
		images [][]float32
		want   [][]color.NRGBA
		scale  int
	}{
		{"2×1", []float64{0, 1}, []float64{0}, [][]float32{a, b}, [][]color.NRGBA{rgbw, ycmk}, 5},
		{"2×2", []float64{-1, 1}, []float64{1, -1}, [][]float32{b, a, a, b}, [][]color.NRGBA{ycmk, rgbw, rgbw, ycmk}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "manifold.png")
			if err := Manifold(path, tt.images, 2, 2, tt.xs, tt.ys, ManifoldOptions{Scale: tt.scale, Channels: 3}); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			// The first non-white pixel is the frame's top left corner, one
			// pixel up and left of the grid.
			bd := img.Bounds()
			x0, y0 := -1, -1
			for y := 0; y < bd.Dy() && x0 < 0; y++ {
				for x := 0; x < bd.Dx(); x++ {
					if nrgbaAt(img, x, y) != white {
						x0, y0 = x+1, y+1
						break
					}
				}
			}
			side := 2 * tt.scale
			if x0 < 0 || x0+len(tt.xs)*side > bd.Dx() || y0+len(tt.ys)*side > bd.Dy() {
				t.Fatalf("grid at (%d,%d) does not fit in %v", x0, y0, bd)
			}
			for k, px := range tt.want {
				r, c := k/len(tt.xs), k%len(tt.xs)
				checkTile(t, img, "cell "+strconv.Itoa(k), px, tt.scale, x0+c*side, y0+r*side)
			}
		})
	}
}

// TestErrorsRGB checks that colour input of the wrong size, or a bad channel
// count, is an error naming the image and the sizes, with no file left.
func TestErrorsRGB(t *testing.T) {
	rgb, gray := planes(rgbw...), []float32{0, 1, 0, 1}
	three := GridOptions{Channels: 3}
	tests := []struct {
		name string
		call func(path string) error
		want string
	}{
		{"grid gray image as RGB", func(p string) error {
			return ImageGrid(p, [][]float32{rgb, gray}, 2, 2, 0, three)
		}, "images[1] has 4 values, want 3 channels × 2×2 = 12"},
		{"grid RGB image as gray", func(p string) error {
			return ImageGrid(p, [][]float32{gray, rgb}, 2, 2, 0, GridOptions{})
		}, "images[1] has 12 pixels, want 2×2 = 4"},
		{"grid wrong shape", func(p string) error {
			return ImageGrid(p, [][]float32{rgb}, 2, 3, 0, three)
		}, "images[0] has 12 values, want 3 channels × 2×3 = 18"},
		{"grid two channels", func(p string) error {
			return ImageGrid(p, [][]float32{rgb}, 2, 2, 0, GridOptions{Channels: 2})
		}, "2 channels: want 1 (gray) or 3 (RGB)"},
		{"grid negative channels", func(p string) error {
			return ImageGrid(p, [][]float32{rgb}, 2, 2, 0, GridOptions{Channels: -3})
		}, "-3 channels"},
		{"recons original short", func(p string) error {
			return Reconstructions(p, [][]float32{rgb, rgb[:11]}, [][]float32{rgb, rgb}, 2, 2, 0, three)
		}, "originals[1] has 11 values, want 3 channels × 2×2 = 12"},
		{"recons reconstruction long", func(p string) error {
			return Reconstructions(p, [][]float32{rgb}, [][]float32{append(rgb, 0)}, 2, 2, 0, three)
		}, "reconstructions[0] has 13 values, want 3 channels × 2×2 = 12"},
		{"manifold wrong size", func(p string) error {
			return Manifold(p, [][]float32{rgb, gray}, 2, 2, []float64{0, 1}, []float64{0}, ManifoldOptions{Channels: 3})
		}, "images[1] has 4 values, want 3 channels × 2×2 = 12"},
		{"manifold four channels", func(p string) error {
			return Manifold(p, [][]float32{rgb}, 2, 2, []float64{0}, []float64{0}, ManifoldOptions{Channels: 4})
		}, "4 channels"},
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
