package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/internal/memtest"
)

// folderFiles are the files of a test folder by their paths relative to it,
// with forward slashes; a path ending in "/" is an empty folder.
type folderFiles map[string][]byte

// folderDir writes files into a new folder called "img" and returns its path.
func folderDir(t testing.TB, files folderFiles) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// folderLoad loads dir, failing the test on an error or a Set that does not
// pass Check.
func folderLoad(t testing.TB, dir string, opts FolderOptions) (*Set, *FolderReport) {
	t.Helper()
	s, rep, err := LoadFolder(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("LoadFolder(%s): %v", dir, err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("LoadFolder(%s): Check: %v", dir, err)
	}
	if rep == nil {
		t.Fatalf("LoadFolder(%s): no report", dir)
	}
	return s, rep
}

// folderLoadErr loads dir, expecting an error that contains each of want.
func folderLoadErr(t testing.TB, dir string, opts FolderOptions, want ...string) error {
	t.Helper()
	s, rep, err := LoadFolder(context.Background(), dir, opts)
	if err == nil {
		t.Fatalf("LoadFolder(%s) = %d images, want an error", dir, s.N)
	}
	if s != nil || rep != nil {
		t.Errorf("LoadFolder(%s) returned a Set or a report with the error %v", dir, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("LoadFolder(%s) error = %q, want one containing %q", dir, err, w)
		}
	}
	return err
}

// folderPattern is the colour of pixel (y, x) of the test colour images.
func folderPattern(y, x int) [3]uint8 {
	return [3]uint8{uint8(10 + 40*y + x), uint8(100 + 7*x + y), uint8(250 - 13*x - 5*y)}
}

// folderGrayPattern is the gray of pixel (y, x) of the test gray images.
func folderGrayPattern(y, x int) uint8 { return uint8(5 + 30*y + 11*x) }

// folderRGB returns an opaque h×w colour image of the colours of f.
func folderRGB(h, w int, f func(y, x int) [3]uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := f(y, x)
			img.SetNRGBA(x, y, color.NRGBA{c[0], c[1], c[2], 0xff})
		}
	}
	return img
}

// folderGrayImg returns an h×w gray image of the grays of f.
func folderGrayImg(h, w int, f func(y, x int) uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{f(y, x)})
		}
	}
	return img
}

// folderUniform returns an h×w image of one colour.
func folderUniform(h, w int, c [3]uint8) *image.NRGBA {
	return folderRGB(h, w, func(int, int) [3]uint8 { return c })
}

// folderEncode encodes img in format: png, jpeg, gif, bmp or tiff.
func folderEncode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "bmp":
		err = bmp.Encode(&b, img)
	case "tiff":
		err = tiff.Encode(&b, img, nil)
	default:
		t.Fatalf("no encoder for %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// folderPNG encodes img as PNG.
func folderPNG(t testing.TB, img image.Image) []byte { return folderEncode(t, "png", img) }

// folderPNGHeader returns the start of a PNG file whose header declares an
// h×w RGB image, without its pixels.
func folderPNGHeader(h, w uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8 bits, RGB, no interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// folderBits writes bits least significant first, as VP8L does.
type folderBits struct {
	b []byte
	n uint
}

func (w *folderBits) put(v uint32, n int) {
	for i := range n {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 != 0 {
			w.b[len(w.b)-1] |= 1 << (w.n % 8)
		}
		w.n++
	}
}

// folderWebP builds a lossless WebP file of 2×2 opaque pixels by hand (x/image
// has no WebP encoder): red r, blue b, and green g[sel[i]] for pixel i, in
// rows. Each channel has a simple prefix code, of one symbol but green's two.
func folderWebP(r, b uint8, g [2]uint8, sel [4]uint32) []byte {
	var w folderBits
	w.put(0x2f, 8)                          // VP8L signature
	w.put(2-1, 14)                          // width − 1
	w.put(2-1, 14)                          // height − 1
	w.put(0, 1)                             // no alpha
	w.put(0, 3)                             // version 0
	w.put(0, 1)                             // no transform
	w.put(0, 1)                             // no colour cache
	w.put(0, 1)                             // no meta prefix codes
	w.put(1, 1)                             // green: a simple code
	w.put(1, 1)                             // of two symbols
	w.put(1, 1)                             // of 8 bits
	w.put(uint32(g[0]), 8)                  // code 0
	w.put(uint32(g[1]), 8)                  // code 1
	for _, v := range []uint8{r, b, 0xff} { // red, blue, alpha
		w.put(1, 1)
		w.put(0, 1) // one symbol
		w.put(1, 1) // of 8 bits
		w.put(uint32(v), 8)
	}
	w.put(1, 1) // distance: a simple code
	w.put(0, 1) // one symbol
	w.put(0, 1) // of 1 bit
	w.put(0, 1) // 0
	for _, s := range sel {
		w.put(s, 1) // the green code; the others take no bits
	}
	payload := w.b
	pad := len(payload) % 2
	f := []byte("RIFF")
	f = binary.LittleEndian.AppendUint32(f, uint32(4+8+len(payload)+pad))
	f = append(f, "WEBPVP8L"...)
	f = binary.LittleEndian.AppendUint32(f, uint32(len(payload)))
	f = append(f, payload...)
	return append(f, make([]byte, pad)...)
}

// folderGIF encodes frames, each drawn on a screen of h×w with the palette
// pal, as an animated GIF.
func folderGIF(t testing.TB, h, w int, pal color.Palette, frames ...*image.Paletted) []byte {
	t.Helper()
	g := &gif.GIF{Image: frames, Delay: make([]int, len(frames)),
		Config: image.Config{ColorModel: pal, Width: w, Height: h}}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// folderAt is the value of channel c of pixel (y, x) of a row of images of
// h×w.
func folderAt(row []float32, h, w, c, y, x int) float32 { return row[(c*h+y)*w+x] }

// folderCheckPixels checks each value of row, an image of c×h×w, against want
// within tol.
func folderCheckPixels(t *testing.T, id string, row []float32, c, h, w int, tol float64, want func(c, y, x int) float32) {
	t.Helper()
	bad := 0
	for k := range c {
		for y := range h {
			for x := range w {
				got, wv := folderAt(row, h, w, k, y, x), want(k, y, x)
				if math.Abs(float64(got-wv)) > tol && bad < 5 {
					t.Errorf("%s: channel %d pixel (%d, %d) = %v, want %v (±%g)", id, k, y, x, got, wv, tol)
					bad++
				}
			}
		}
	}
}

// folder8 is a byte as a pixel value.
func folder8(v uint8) float32 { return float32(v) / 255 }

// folderLumaOf is the luminance a colour of bytes has.
func folderLumaOf(c [3]uint8) float32 {
	return float32((0.299*float64(c[0]) + 0.587*float64(c[1]) + 0.114*float64(c[2])) / 255)
}

// TestLoadFolderFormats loads one image of each format and checks its pixels.
func TestLoadFolderFormats(t *testing.T) {
	colour := func(c, y, x int) float32 { return folder8(folderPattern(y, x)[c]) }
	gray := func(_, y, x int) float32 { return folder8(folderGrayPattern(y, x)) }
	flat := [3]uint8{200, 60, 120}
	flatColour := func(c, _, _ int) float32 { return folder8(flat[c]) }
	pal := color.Palette{color.RGBA{0xff, 0, 0, 0xff}, color.RGBA{0, 0x80, 0, 0xff}, color.RGBA{0, 0, 0xff, 0xff}, color.RGBA{0xff, 0xff, 0xff, 0xff}}
	palImg := image.NewPaletted(image.Rect(0, 0, 3, 2), pal)
	for i := range palImg.Pix {
		palImg.Pix[i] = uint8(i % len(pal))
	}
	palWant := func(c, y, x int) float32 {
		r, g, b, _ := pal[(y*3+x)%len(pal)].RGBA()
		return float32([3]uint32{r, g, b}[c]) / 0xffff
	}
	grayPal := make(color.Palette, 256)
	for i := range grayPal {
		grayPal[i] = color.Gray{uint8(i)}
	}
	grayGIF := image.NewPaletted(image.Rect(0, 0, 3, 2), grayPal)
	copy(grayGIF.Pix, folderGrayImg(2, 3, folderGrayPattern).Pix)
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		g16.SetGray16(i%3, i/3, color.Gray16{uint16(1000 + 9000*i)})
	}
	rgb16 := image.NewNRGBA64(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		rgb16.SetNRGBA64(i%3, i/3, color.NRGBA64{uint16(300 * i), uint16(65535 - 77*i), uint16(12345 + i), 0xffff})
	}
	// Alpha is dropped: un-premultiplied colours stay as they are.
	alpha := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		c := folderPattern(i/3, i%3)
		alpha.SetNRGBA(i%3, i/3, color.NRGBA{c[0], c[1], c[2], uint8(51 * i)})
	}
	premul := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		premul.Set(i%3, i/3, color.NRGBA{200, 100, 50, uint8(255 - 40*i)})
	}
	webpGreen := [2]uint8{30, 220}
	webpSel := [4]uint32{0, 1, 1, 0}
	cases := []struct {
		name     string
		file     string
		data     []byte
		channels int // what Channels 0 chooses
		h, w     int
		tol      float64
		want     func(c, y, x int) float32
	}{
		{"png colour", "a.png", folderPNG(t, folderRGB(2, 3, folderPattern)), 3, 2, 3, 0, colour},
		{"png gray", "a.png", folderPNG(t, folderGrayImg(2, 3, folderGrayPattern)), 1, 2, 3, 0, gray},
		{"png paletted", "a.png", folderPNG(t, palImg), 3, 2, 3, 0, palWant},
		{"png gray 16-bit", "a.png", folderPNG(t, g16), 1, 2, 3, 0, func(_, y, x int) float32 { return float32(1000+9000*(y*3+x)) / 65535 }},
		{"png colour 16-bit", "a.png", folderPNG(t, rgb16), 3, 2, 3, 0, func(c, y, x int) float32 {
			n := rgb16.NRGBA64At(x, y)
			return float32([3]uint16{n.R, n.G, n.B}[c]) / 65535
		}},
		{"png alpha", "a.png", folderPNG(t, alpha), 3, 2, 3, 0, colour},
		{"tiff premultiplied alpha", "a.tif", folderEncode(t, "tiff", premul), 3, 2, 3, 0.02, func(c, _, _ int) float32 {
			return folder8([3]uint8{200, 100, 50}[c]) // within rounding by alpha
		}},
		{"jpeg colour", "a.jpg", folderEncode(t, "jpeg", folderUniform(16, 16, flat)), 3, 16, 16, 3.0 / 255, flatColour},
		{"jpeg gray", "a.JPEG", folderEncode(t, "jpeg", folderGrayImg(8, 8, folderGrayPattern)), 1, 8, 8, 3.0 / 255, gray},
		{"gif colour", "a.gif", folderEncode(t, "gif", palImg), 3, 2, 3, 0, palWant},
		{"gif gray", "a.GIF", folderEncode(t, "gif", grayGIF), 1, 2, 3, 0, gray},
		{"bmp colour", "a.bmp", folderEncode(t, "bmp", folderRGB(2, 3, folderPattern)), 3, 2, 3, 0, colour},
		{"bmp gray", "a.bmp", folderEncode(t, "bmp", folderGrayImg(2, 3, folderGrayPattern)), 1, 2, 3, 0, gray},
		{"tiff colour", "a.tiff", folderEncode(t, "tiff", folderRGB(2, 3, folderPattern)), 3, 2, 3, 0, colour},
		{"tiff gray", "a.TIF", folderEncode(t, "tiff", folderGrayImg(2, 3, folderGrayPattern)), 1, 2, 3, 0, gray},
		{"tiff gray 16-bit", "a.tif", folderEncode(t, "tiff", g16), 1, 2, 3, 0, func(_, y, x int) float32 { return float32(1000+9000*(y*3+x)) / 65535 }},
		{"webp lossless", "a.webp", folderWebP(7, 250, webpGreen, webpSel), 3, 2, 2, 0, func(c, y, x int) float32 {
			return folder8([3]uint8{7, webpGreen[webpSel[y*2+x]], 250}[c])
		}},
		{"jpeg named png", "a.png", folderEncode(t, "jpeg", folderGrayImg(8, 8, folderGrayPattern)), 1, 8, 8, 3.0 / 255, gray},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := folderDir(t, folderFiles{tc.file: tc.data})
			s, rep := folderLoad(t, dir, FolderOptions{})
			if s.N != 1 || s.Channels != tc.channels || s.Rows != tc.h || s.Cols != tc.w || s.Dim != tc.channels*tc.h*tc.w {
				t.Fatalf("got %d images of %d×%d×%d (Dim %d), want 1 of %d×%d×%d", s.N, s.Channels, s.Rows, s.Cols, s.Dim, tc.channels, tc.h, tc.w)
			}
			if s.Name != "img" || !slices.Equal(s.IDs, []string{tc.file}) || s.Labels != nil || s.Classes != 0 || s.ClassNames != nil {
				t.Errorf("Name %q, IDs %q, Labels %v, Classes %d %q; want img, [%s], no labels", s.Name, s.IDs, s.Labels, s.Classes, s.ClassNames, tc.file)
			}
			if rep.Found != 1 || rep.Skipped != 0 || rep.Resized != 0 {
				t.Errorf("report %+v, want 1 found", rep)
			}
			folderCheckPixels(t, tc.file, s.Row(0), tc.channels, tc.h, tc.w, tc.tol, tc.want)
		})
	}
}

// TestLoadFolderLayout checks the class folders, labels, IDs and the order of
// the rows LoadFolder finds in folders of several layouts.
func TestLoadFolderLayout(t *testing.T) {
	img := func(v uint8) []byte {
		return folderPNG(t, folderGrayImg(2, 2, func(int, int) uint8 { return v }))
	}
	cases := []struct {
		name    string
		files   folderFiles
		ids     []string
		labels  []uint8 // nil: no labels
		classes []string
	}{
		{
			name: "classes",
			files: folderFiles{
				"dog/7.png": img(1), "cat/1.png": img(2), "cat/10.PNG": img(3), "Bird/x.png": img(4),
				"cat/sub/deep/2.png": img(5), "cat-b/0.png": img(6), "dog/.hidden.png": img(7), ".git/x.png": img(8),
				"dog/.cache/y.png": img(9), "notes.txt": []byte("hi"), ".DS_Store": {0}, "dog/readme.md": []byte("x"),
			},
			ids:     []string{"Bird/x.png", "cat-b/0.png", "cat/1.png", "cat/10.PNG", "cat/sub/deep/2.png", "dog/7.png"},
			labels:  []uint8{0, 2, 1, 1, 1, 3},
			classes: []string{"Bird", "cat", "cat-b", "dog"},
		},
		{
			name:  "flat",
			files: folderFiles{"b.png": img(1), "a.png": img(2), "c.txt": []byte("x"), ".d.png": img(3), "thumbs/": nil, "e.Png": img(4)},
			ids:   []string{"a.png", "b.png", "e.Png"},
		},
		{
			name:    "one class",
			files:   folderFiles{"only/a/b.png": img(1), "only/a.png": img(2)},
			ids:     []string{"only/a.png", "only/a/b.png"},
			labels:  []uint8{0, 0},
			classes: []string{"only"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := folderDir(t, tc.files)
			s, rep := folderLoad(t, dir, FolderOptions{})
			if !slices.Equal(s.IDs, tc.ids) {
				t.Errorf("IDs = %q, want %q", s.IDs, tc.ids)
			}
			if !slices.Equal(s.Labels, tc.labels) || (s.Labels == nil) != (tc.labels == nil) {
				t.Errorf("Labels = %v, want %v", s.Labels, tc.labels)
			}
			if !slices.Equal(s.ClassNames, tc.classes) || s.Classes != len(tc.classes) {
				t.Errorf("ClassNames = %q (Classes %d), want %q", s.ClassNames, s.Classes, tc.classes)
			}
			if rep.Found != len(tc.ids) {
				t.Errorf("report found %d images, want %d", rep.Found, len(tc.ids))
			}
			// Each row is the image its id names.
			for i, id := range s.IDs {
				data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(id)))
				if err != nil {
					t.Fatal(err)
				}
				m, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				if want := folder8(m.(*image.Gray).Pix[0]); s.Row(i)[0] != want {
					t.Errorf("row %d (%s) = %v, want %v", i, id, s.Row(i)[0], want)
				}
			}
		})
	}
}

// TestLoadFolderSymlinks checks that links to class folders and to image
// files are followed.
func TestLoadFolderSymlinks(t *testing.T) {
	data := folderPNG(t, folderGrayImg(2, 2, folderGrayPattern))
	src := folderDir(t, folderFiles{"cats/1.png": data, "one.png": data})
	dir := folderDir(t, folderFiles{"dog/1.png": data})
	if err := os.Symlink(filepath.Join(src, "cats"), filepath.Join(dir, "cat")); err != nil {
		t.Skip("no symbolic links:", err)
	}
	if err := os.Symlink(filepath.Join(src, "one.png"), filepath.Join(dir, "dog", "2.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(src, "missing"), filepath.Join(dir, "dog", "3.png")); err != nil {
		t.Fatal(err)
	}
	s, _ := folderLoad(t, dir, FolderOptions{})
	if want := []string{"cat/1.png", "dog/1.png", "dog/2.png"}; !slices.Equal(s.IDs, want) || !slices.Equal(s.Labels, []uint8{0, 1, 1}) {
		t.Errorf("IDs %q labels %v, want %q labels [0 1 1]", s.IDs, s.Labels, want)
	}
}

// TestLoadFolderChannels checks the layout of colour rows, and the
// conversions between gray and colour.
func TestLoadFolderChannels(t *testing.T) {
	colourPNG := folderPNG(t, folderRGB(2, 3, folderPattern))
	grayPNG := folderPNG(t, folderGrayImg(2, 3, folderGrayPattern))
	grayish := folderPNG(t, folderRGB(2, 3, func(y, x int) [3]uint8 {
		v := folderGrayPattern(y, x)
		return [3]uint8{v, v, v}
	}))
	cases := []struct {
		name     string
		files    folderFiles
		channels int // asked
		want     int // got
		check    map[string]func(c, y, x int) float32
	}{
		{"colour channels first", folderFiles{"c.png": colourPNG}, 0, 3, map[string]func(c, y, x int) float32{
			"c.png": func(c, y, x int) float32 { return folder8(folderPattern(y, x)[c]) },
		}},
		{"gray as 3", folderFiles{"g.png": grayPNG}, 3, 3, map[string]func(c, y, x int) float32{
			"g.png": func(_, y, x int) float32 { return folder8(folderGrayPattern(y, x)) },
		}},
		{"colour as 1", folderFiles{"c.png": colourPNG, "g.png": grayish}, 1, 1, map[string]func(c, y, x int) float32{
			"c.png": func(_, y, x int) float32 { return folderLumaOf(folderPattern(y, x)) },
			"g.png": func(_, y, x int) float32 { return folder8(folderGrayPattern(y, x)) }, // exactly
		}},
		{"gray and colour", folderFiles{"c.png": colourPNG, "g.png": grayPNG}, 0, 3, map[string]func(c, y, x int) float32{
			"c.png": func(c, y, x int) float32 { return folder8(folderPattern(y, x)[c]) },
			"g.png": func(_, y, x int) float32 { return folder8(folderGrayPattern(y, x)) },
		}},
		{"all gray", folderFiles{"g.png": grayPNG, "h.png": grayPNG}, 0, 1, map[string]func(c, y, x int) float32{
			"g.png": func(_, y, x int) float32 { return folder8(folderGrayPattern(y, x)) },
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := folderLoad(t, folderDir(t, tc.files), FolderOptions{Channels: tc.channels})
			if s.Channels != tc.want || s.Dim != tc.want*2*3 {
				t.Fatalf("Channels %d, Dim %d; want %d, %d", s.Channels, s.Dim, tc.want, tc.want*6)
			}
			for i, id := range s.IDs {
				if want := tc.check[id]; want != nil {
					tol := 0.0
					if id == "c.png" && tc.want == 1 {
						tol = 1e-6
					}
					folderCheckPixels(t, id, s.Row(i), s.Channels, 2, 3, tol, want)
				}
			}
		})
	}
	// The layout spelt out: channel, then row, then column.
	s, _ := folderLoad(t, folderDir(t, folderFiles{"c.png": colourPNG}), FolderOptions{})
	for i, v := range s.Row(0) {
		c, y, x := i/6, i%6/3, i%3
		if want := folder8(folderPattern(y, x)[c]); v != want {
			t.Errorf("value %d = %v, want channel %d of pixel (%d, %d) = %v", i, v, c, y, x, want)
		}
	}
}

// TestLoadFolderGIFFrames checks that a GIF is read by its first frame,
// black outside it when it does not cover the screen.
func TestLoadFolderGIFFrames(t *testing.T) {
	pal := color.Palette{color.RGBA{0, 0, 0, 0xff}, color.RGBA{0xff, 0x80, 0, 0xff}, color.RGBA{0, 0xff, 0xff, 0xff}}
	first := image.NewPaletted(image.Rect(1, 1, 3, 2), pal)
	for i := range first.Pix {
		first.Pix[i] = 1
	}
	second := image.NewPaletted(image.Rect(0, 0, 4, 3), pal)
	for i := range second.Pix {
		second.Pix[i] = 2
	}
	dir := folderDir(t, folderFiles{"a.gif": folderGIF(t, 3, 4, pal, first, second)})
	s, _ := folderLoad(t, dir, FolderOptions{})
	if s.Rows != 3 || s.Cols != 4 || s.Channels != 3 {
		t.Fatalf("%d×%d×%d, want 3×3×4", s.Channels, s.Rows, s.Cols)
	}
	folderCheckPixels(t, "a.gif", s.Row(0), 3, 3, 4, 0, func(c, y, x int) float32 {
		if y == 1 && x >= 1 && x < 3 {
			return folder8([3]uint8{0xff, 0x80, 0}[c])
		}
		return 0
	})
}

// TestLoadFolderResize checks resizing images to one size.
func TestLoadFolderResize(t *testing.T) {
	red, teal := [3]uint8{200, 30, 40}, [3]uint8{10, 150, 160}
	g16 := image.NewGray16(image.Rect(0, 0, 7, 5))
	for i := range g16.Pix {
		g16.Pix[i] = 0x9a // 0x9a9a everywhere
	}
	files := folderFiles{
		"red/small.png":  folderPNG(t, folderUniform(2, 3, red)),
		"red/big.png":    folderPNG(t, folderUniform(40, 30, red)),
		"teal/exact.png": folderPNG(t, folderRGB(3, 5, folderPattern)),
		"teal/wide.jpg":  folderEncode(t, "jpeg", folderUniform(8, 64, teal)),
		"teal/deep.png":  folderPNG(t, g16),
	}
	dir := folderDir(t, files)
	for _, channels := range []int{0, 1} {
		s, rep := folderLoad(t, dir, FolderOptions{Height: 3, Width: 5, Channels: channels})
		c := max(channels, 3)
		if channels == 1 {
			c = 1
		}
		if s.N != 5 || s.Rows != 3 || s.Cols != 5 || s.Channels != c || rep.Resized != 4 {
			t.Fatalf("%d images of %d×%d×%d, %d resized; want 5 of %d×3×5, 4 resized", s.N, s.Channels, s.Rows, s.Cols, rep.Resized, c)
		}
		uniform := func(col [3]uint8) func(k, y, x int) float32 {
			return func(k, _, _ int) float32 {
				if c == 1 {
					return folderLumaOf(col)
				}
				return folder8(col[k])
			}
		}
		want := map[string]func(k, y, x int) float32{
			"red/small.png": uniform(red),
			"red/big.png":   uniform(red),
			"teal/exact.png": func(k, y, x int) float32 { // not resized: exact
				if c == 1 {
					return folderLumaOf(folderPattern(y, x))
				}
				return folder8(folderPattern(y, x)[k])
			},
			"teal/wide.jpg": uniform(teal),
			"teal/deep.png": func(int, int, int) float32 { return float32(0x9a9a) / 0xffff },
		}
		tol := map[string]float64{"red/small.png": 1.0 / 255, "red/big.png": 1.0 / 255, "teal/exact.png": 1e-6, "teal/wide.jpg": 4.0 / 255, "teal/deep.png": 2.0 / 65535}
		for i, id := range s.IDs {
			folderCheckPixels(t, id, s.Row(i), c, 3, 5, tol[id], want[id])
		}
	}
}

// TestLoadFolderErrors checks the errors of folders LoadFolder cannot read
// and of options it cannot follow.
func TestLoadFolderErrors(t *testing.T) {
	small := folderPNG(t, folderGrayImg(2, 2, folderGrayPattern))
	many := folderFiles{}
	for i := range anyByte + 1 {
		many[fmt.Sprintf("c%03d/a.png", i)] = small
	}
	good := folderPNG(t, folderRGB(4, 4, folderPattern))
	truncated := good[:len(good)-20]
	cases := []struct {
		name  string
		files folderFiles
		opts  FolderOptions
		want  []string // in the error; "DIR" is replaced by the folder
	}{
		{"no images", folderFiles{"notes.txt": []byte("x"), "sub/": nil}, FolderOptions{},
			[]string{"DIR: no images", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}},
		{"empty", folderFiles{}, FolderOptions{}, []string{"DIR: no images", ".png"}},
		{"images and classes", folderFiles{"a.png": small, "cat/1.png": small}, FolderOptions{},
			[]string{"DIR holds both images (DIR/a.png) and class folders", "(DIR/cat)"}},
		{"empty class", folderFiles{"cat/1.png": small, "dog/readme.txt": []byte("x")}, FolderOptions{},
			[]string{"class folder DIR/dog holds no images"}},
		{"too many classes", many, FolderOptions{}, []string{"DIR holds more than 256 class folders"}},
		{"mixed sizes", folderFiles{"cat/1.png": folderPNG(t, folderGrayImg(32, 32, folderGrayPattern)), "dog/7.png": folderPNG(t, folderGrayImg(28, 28, folderGrayPattern)), "dog/8.png": small},
			FolderOptions{}, []string{"DIR/cat/1.png is 32×32 but DIR/dog/7.png is 28×28: pass --image-size HxW to resize"}},
		{"mixed sizes, height and width", folderFiles{"a.png": folderPNG(t, folderGrayImg(3, 2, folderGrayPattern)), "b.png": folderPNG(t, folderGrayImg(2, 3, folderGrayPattern))},
			FolderOptions{}, []string{"DIR/a.png is 3×2 but DIR/b.png is 2×3"}},
		{"corrupt", folderFiles{"cat/1.png": good, "cat/3.png": []byte("not a png at all"), "dog/1.png": good}, FolderOptions{},
			[]string{"DIR/cat/3.png: png: invalid format: not a PNG file"}},
		{"corrupt gif", folderFiles{"a.gif": []byte("GIF89a\x01"), "b.png": good}, FolderOptions{},
			[]string{"DIR/a.gif: gif: "}},
		{"truncated", folderFiles{"cat/1.png": good, "cat/4.png": truncated}, FolderOptions{},
			[]string{"DIR/cat/4.png: ", "EOF"}},
		{"truncated, resized", folderFiles{"cat/1.png": good, "cat/4.png": truncated}, FolderOptions{Height: 2, Width: 2},
			[]string{"DIR/cat/4.png: ", "EOF"}},
		{"absurd header", folderFiles{"a.png": good, "huge.png": folderPNGHeader(100000, 100000)}, FolderOptions{Height: 4, Width: 4},
			[]string{"DIR/huge.png is 100000×100000, more than the 134217728 pixels an image may have"}},
		{"no pixels", folderFiles{"a.png": folderPNGHeader(0, 5)}, FolderOptions{}, []string{"DIR/a.png: "}},
		{"all bad, skipped", folderFiles{"a.png": []byte("no png here"), "b.gif": []byte("y")}, FolderOptions{SkipBad: true},
			[]string{"DIR: none of the 2 images decodes, e.g. DIR/a.png: png: invalid format"}},
		{"all truncated, skipped", folderFiles{"a.png": truncated}, FolderOptions{SkipBad: true},
			[]string{"DIR: none of the 1 images decodes, e.g. DIR/a.png: "}},
		{"channels", folderFiles{"a.png": small}, FolderOptions{Channels: 2}, []string{"2 channels: want 1 (gray), 3 (RGB) or 0"}},
		{"height only", folderFiles{"a.png": small}, FolderOptions{Height: 5}, []string{"image size 5×0: want a positive height and width, or neither"}},
		{"negative size", folderFiles{"a.png": small}, FolderOptions{Height: -1, Width: -1}, []string{"image size -1×-1"}},
		{"size too large", folderFiles{"a.png": small}, FolderOptions{Height: 100000, Width: 100000}, []string{"image size 100000×100000: more than the"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := folderDir(t, tc.files)
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.ReplaceAll(w, "DIR", dir)
			}
			folderLoadErr(t, dir, tc.opts, want...)
		})
	}
	t.Run("missing folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nothing")
		if err := folderLoadErr(t, dir, FolderOptions{}, dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v is not os.ErrNotExist", err)
		}
	})
}

// TestLoadFolderSkipBad checks that SkipBad leaves out the images that do
// not decode, counts them and logs them.
func TestLoadFolderSkipBad(t *testing.T) {
	good := folderPNG(t, folderRGB(4, 4, folderPattern))
	files := folderFiles{
		"cat/1.png": good, "cat/3.png": []byte("not a png"), "cat/4.png": good[:len(good)-20],
		"dog/1.png": good, "dog/2.gif": []byte("GIF89a"), "dog/9.png": folderPNGHeader(100000, 100000), "eel/1.png": good,
	}
	dir := folderDir(t, files)
	for _, opts := range []FolderOptions{{}, {Height: 2, Width: 3}} {
		var logs bytes.Buffer
		opts.SkipBad = true
		opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		s, rep := folderLoad(t, dir, opts)
		if want := []string{"cat/1.png", "dog/1.png", "eel/1.png"}; !slices.Equal(s.IDs, want) {
			t.Errorf("IDs %q, want %q", s.IDs, want)
		}
		if !slices.Equal(s.Labels, []uint8{0, 1, 2}) || !slices.Equal(s.ClassNames, []string{"cat", "dog", "eel"}) {
			t.Errorf("labels %v of %q, want [0 1 2] of [cat dog eel]", s.Labels, s.ClassNames)
		}
		if rep.Found != 7 || rep.Skipped != 4 || len(rep.Bad) != 4 {
			t.Fatalf("report %+v, want 7 found, 4 skipped", rep)
		}
		for i, id := range []string{"cat/3.png", "cat/4.png", "dog/2.gif", "dog/9.png"} {
			p := filepath.Join(dir, filepath.FromSlash(id))
			if !strings.HasPrefix(rep.Bad[i].Error(), p) {
				t.Errorf("report.Bad[%d] = %v, want one about %s", i, rep.Bad[i], p)
			}
			if !strings.Contains(logs.String(), p) {
				t.Errorf("the log does not name %s:\n%s", p, logs.String())
			}
		}
		if opts.Height == 0 { // the rows left are the good images
			for i := range s.N {
				folderCheckPixels(t, s.IDs[i], s.Row(i), 3, 4, 4, 0, func(c, y, x int) float32 { return folder8(folderPattern(y, x)[c]) })
			}
		}
	}
}

// TestLoadFolderOverBudget checks that images whose headers claim more than
// the memory budget, or than an image may have, are refused before anything
// is allocated for their pixels.
func TestLoadFolderOverBudget(t *testing.T) {
	small := folderPNG(t, folderGrayImg(2, 2, folderGrayPattern))
	t.Run("absurd header", func(t *testing.T) {
		dir := folderDir(t, folderFiles{"a.png": small, "huge.png": folderPNGHeader(100000, 100000)})
		var err error
		allocated := memtest.Allocated(func() { _, _, err = LoadFolder(context.Background(), dir, FolderOptions{Height: 2, Width: 2}) })
		if err == nil || !strings.Contains(err.Error(), "huge.png is 100000×100000") {
			t.Errorf("error %v, want one refusing huge.png", err)
		}
		if allocated > 1<<20 {
			t.Errorf("LoadFolder allocated %d bytes before refusing the header", allocated)
		}
		s, rep := folderLoad(t, dir, FolderOptions{Height: 2, Width: 2, SkipBad: true})
		if s.N != 1 || rep.Skipped != 1 {
			t.Errorf("with SkipBad: %d images, %d skipped; want 1, 1", s.N, rep.Skipped)
		}
	})
	t.Run("set over budget", func(t *testing.T) {
		files := folderFiles{}
		for i := range 5 {
			files[fmt.Sprintf("%d.png", i)] = folderPNGHeader(2000, 1000)
		}
		dir := folderDir(t, files)
		memtest.SetLimit(t, 32<<20)
		var err error
		allocated := memtest.Allocated(func() { _, _, err = LoadFolder(context.Background(), dir, FolderOptions{}) })
		var be *budget.Error
		if !errors.As(err, &be) || !strings.Contains(err.Error(), "loading "+dir+", 5 images of 3×2000×1000 (C×H×W), as 114.4 MiB of float32") {
			t.Errorf("error %v, want a budget error about the 5 images", err)
		}
		if allocated > 1<<20 {
			t.Errorf("LoadFolder allocated %d bytes before refusing the set", allocated)
		}
	})
	t.Run("decoding over budget", func(t *testing.T) {
		// One image resized to little claims more to decode than allowed.
		dir := folderDir(t, folderFiles{"big.png": folderPNGHeader(5000, 4000)})
		memtest.SetLimit(t, 32<<20)
		var err error
		allocated := memtest.Allocated(func() { _, _, err = LoadFolder(context.Background(), dir, FolderOptions{Height: 2, Width: 2}) })
		var be *budget.Error
		if !errors.As(err, &be) {
			t.Errorf("error %v, want a budget error", err)
		}
		if allocated > 1<<20 {
			t.Errorf("LoadFolder allocated %d bytes before refusing the image", allocated)
		}
	})
}

// folderLateCtx is a context that is cancelled once Err has been asked
// a number of times.
type folderLateCtx struct {
	context.Context
	left atomic.Int64
}

func (c *folderLateCtx) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestLoadFolderCanceled checks that cancelling the context stops
// LoadFolder, whenever it comes.
func TestLoadFolderCanceled(t *testing.T) {
	files := folderFiles{}
	for i := range 40 {
		files[fmt.Sprintf("c%d/%d.png", i%3, i)] = folderPNG(t, folderRGB(8, 8, folderPattern))
	}
	dir := folderDir(t, files)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := LoadFolder(ctx, dir, FolderOptions{}); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), dir) {
		t.Errorf("LoadFolder with a cancelled context: %v, want context.Canceled naming %s", err, dir)
	}
	canceled, loaded := 0, 0
	for n := range int64(200) {
		ctx := &folderLateCtx{Context: context.Background()}
		ctx.left.Store(n)
		s, _, err := LoadFolder(ctx, dir, FolderOptions{})
		switch {
		case err == nil:
			if err := s.Check(); err != nil || s.N != 40 {
				t.Fatalf("cancelled after %d checks: %d images, %v", n, s.N, err)
			}
			loaded++
		case errors.Is(err, context.Canceled):
			canceled++
		default:
			t.Fatalf("cancelled after %d checks: %v", n, err)
		}
	}
	t.Logf("%d cancelled, %d loaded", canceled, loaded)
	if canceled < 80 || loaded == 0 {
		t.Errorf("%d loads cancelled, %d complete; want more than 80 cancelled: do the goroutines watch the context?", canceled, loaded)
	}
}

// FuzzLoadFolder loads folders of one image file of fuzzed bytes: whatever
// they are, LoadFolder returns an error or a valid Set, and never panics.
func FuzzLoadFolder(f *testing.F) {
	f.Add(folderPNG(f, folderRGB(3, 2, folderPattern)), false, false)
	f.Add(folderPNG(f, folderGrayImg(3, 2, folderGrayPattern)), false, true)
	f.Add(folderEncode(f, "gif", folderRGB(3, 2, folderPattern)), true, false)
	f.Add(folderEncode(f, "gif", folderRGB(3, 2, folderPattern)), true, true)
	f.Add(folderPNGHeader(100000, 100000), false, false)
	f.Add(folderPNGHeader(300, 200), false, true)
	f.Add([]byte("GIF89a\x02\x00\x02\x00"), true, false)
	f.Add([]byte{}, false, false)
	memtest.SetLimit(f, 64<<20)
	f.Fuzz(func(t *testing.T, data []byte, isGIF, resize bool) {
		name := "x.png"
		if isGIF {
			name = "x.gif"
		}
		dir := folderDir(t, folderFiles{name: data})
		opts := FolderOptions{SkipBad: resize}
		if resize {
			opts.Height, opts.Width = 3, 4
		}
		s, rep, err := LoadFolder(context.Background(), dir, opts)
		if err != nil {
			if s != nil || rep != nil {
				t.Fatalf("a Set or report with the error %v", err)
			}
			return
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if s.N != 1 || !slices.Equal(s.IDs, []string{name}) || rep.Found != 1 {
			t.Fatalf("%d images %q, report %+v; want 1, %s", s.N, s.IDs, rep, name)
		}
		if resize && (s.Rows != 3 || s.Cols != 4) {
			t.Fatalf("resized to %d×%d, want 3×4", s.Rows, s.Cols)
		}
		for i, v := range s.X {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %d is %v, outside [0, 1]", i, v)
			}
		}
	})
}
