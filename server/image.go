package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"strconv"

	"golang.org/x/image/draw"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/dataset"
)

// maxImageSide and maxImagePixels bound the size of an uploaded PNG, so that
// a small compressed file cannot ask for gigabytes once decoded. The pixels
// of all the images of a request are bounded by Options.MaxPixels.
const (
	maxImageSide   = 4096
	maxImagePixels = 4 << 20
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// imageForm is a multipart/form-data request: the images (parts named
// "image", each a PNG) whose headers were read, to be decoded into model
// inputs, and the other form values.
type imageForm struct {
	files  [][]byte
	sizes  []image.Config
	pixels int64 // of all the images, as their headers say
	invert bool
	values map[string]string
}

// readImageForm reads a multipart body of PNG images and the headers of the
// images, not their pixels (see decode). Parts other than "image" must be
// among the names in values, which they fill, or "invert".
func readImageForm(body []byte, boundary string, maxImages int, values ...string) (*imageForm, error) {
	f := &imageForm{values: map[string]string{}}
	allowed := map[string]bool{"invert": true}
	for _, v := range values {
		allowed[v] = true
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("body", "malformed multipart/form-data: %v", err)
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, badRequest(or(name, "body"), "malformed multipart/form-data: %v", err)
		}
		switch {
		case name == "image":
			if len(f.files) == maxImages {
				return nil, tooLarge("image", "more than %d images; send at most %d per request (raise it with --max-batch)", maxImages, maxImages)
			}
			cfg, err := pngConfig(data)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("image[%d]", len(f.files)), "%v", err)
			}
			f.files = append(f.files, data)
			f.sizes = append(f.sizes, cfg)
			f.pixels = budget.Add(f.pixels, int64(cfg.Width)*int64(cfg.Height))
		case allowed[name]:
			f.values[name] = string(data)
		case name == "":
			return nil, badRequest("body", "a form part without a name")
		default:
			return nil, badRequest(name, "unknown form field; want image (PNG files)")
		}
	}
	if len(f.files) == 0 {
		return nil, badRequest("image", "missing; want one or more PNG files in form fields named image")
	}
	if v, ok := f.values["invert"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest("invert", "%q, want true or false", v)
		}
		f.invert = b
	}
	return f, nil
}

// pngConfig reads the header of a PNG file and checks its size.
func pngConfig(data []byte) (image.Config, error) {
	if !bytes.HasPrefix(data, pngMagic) {
		head := data[:min(len(data), 8)]
		return image.Config{}, fmt.Errorf("not a PNG file (it starts with %q)", head)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return image.Config{}, fmt.Errorf("corrupt PNG: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width*cfg.Height > maxImagePixels {
		return image.Config{}, fmt.Errorf("PNG of %d×%d pixels; want at most %d per side and %d in all", cfg.Width, cfg.Height, maxImageSide, maxImagePixels)
	}
	return cfg, nil
}

// decodeBytes estimates the memory decoding an image of cfg takes: the
// decoded image and its grayscale copy.
func decodeBytes(cfg image.Config) int64 {
	perPixel := int64(8) // 16-bit RGBA
	switch cfg.ColorModel {
	case color.GrayModel:
		perPixel = 1
	case color.Gray16Model:
		perPixel = 2
	case color.NRGBAModel, color.RGBAModel:
		perPixel = 4
	}
	if _, ok := cfg.ColorModel.(color.Palette); ok {
		perPixel = 1
	}
	return budget.Mul(int64(cfg.Width), int64(cfg.Height), perPixel+1)
}

// decode decodes the images, one at a time, each made grayscale (luminance
// times alpha: transparent is black) for c = 1 or RGB for c = 3 (as an image
// folder's examples are read, dataset.Pixels), scaled to h×w and turned into
// pixels in [0, 1], or 1 − that with invert. It stops between two images
// when ctx is done.
func (f *imageForm) decode(ctx context.Context, c, h, w int) ([]float32, error) {
	x := make([]float32, 0, len(f.files)*c*h*w)
	err := eachChunk(ctx, len(f.files), 1, func(i, _ int) error {
		img, err := png.Decode(bytes.NewReader(f.files[i]))
		if err != nil {
			return badRequest(fmt.Sprintf("image[%d]", i), "corrupt PNG: %v", err)
		}
		x = appendPixels(x, img, c, h, w, f.invert)
		return nil
	})
	return x, err
}

// appendPixels appends img as h×w pixels in [0, 1] to dst: grayscale for
// c = 1, else c planes as an image folder's examples are read
// (dataset.Pixels); 1 − each with invert.
func appendPixels(dst []float32, img image.Image, c, h, w int, invert bool) []float32 {
	if c != 1 {
		row := dst[len(dst) : len(dst)+c*h*w]
		dataset.Pixels(row, img, c, h, w)
		if invert {
			for j, v := range row {
				row[j] = 1 - v
			}
		}
		return dst[:len(dst)+len(row)]
	}
	// image.Gray takes luminance of alpha-premultiplied colour: a
	// transparent pixel is black, as MNIST's background.
	b := img.Bounds()
	gray := image.NewGray(b)
	draw.Draw(gray, b, img, b.Min, draw.Src)
	small := gray
	if b.Dx() != w || b.Dy() != h {
		small = image.NewGray(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(small, small.Bounds(), gray, b, draw.Src, nil)
	}
	for y := range h {
		for x := range w {
			v := float32(small.Pix[y*small.Stride+x]) / 255
			if invert {
				v = 1 - v
			}
			dst = append(dst, v)
		}
	}
	return dst
}
