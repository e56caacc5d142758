package server

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"strconv"

	"golang.org/x/image/draw"
)

// maxImageSide and maxImagePixels bound the size of an uploaded PNG, so that
// a small compressed file cannot ask for gigabytes once decoded.
const (
	maxImageSide   = 4096
	maxImagePixels = 4 << 20
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// imageForm is a multipart/form-data request: the images (parts named
// "image", each a PNG) turned into model inputs, and the other form values.
type imageForm struct {
	x      []float32 // [n, h*w]
	n      int
	values map[string]string
}

// readImageForm reads a multipart body of PNG images. Each is made
// grayscale (luminance times alpha: transparent is black), scaled to h×w
// and turned into pixels in [0, 1]; with the form value invert=true, 1 − that.
// Parts other than "image" must be among the names in values, which they
// fill.
func readImageForm(body []byte, boundary string, h, w, maxImages int, values ...string) (*imageForm, error) {
	f := &imageForm{values: map[string]string{}}
	allowed := map[string]bool{"invert": true}
	for _, v := range values {
		allowed[v] = true
	}
	var images [][]byte
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
			if len(images) == maxImages {
				return nil, tooLarge("image", "more than %d images; send at most %d per request", maxImages, maxImages)
			}
			images = append(images, data)
		case allowed[name]:
			f.values[name] = string(data)
		case name == "":
			return nil, badRequest("body", "a form part without a name")
		default:
			return nil, badRequest(name, "unknown form field; want image (PNG files)")
		}
	}
	if len(images) == 0 {
		return nil, badRequest("image", "missing; want one or more PNG files in form fields named image")
	}
	invert := false
	if v, ok := f.values["invert"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest("invert", "%q, want true or false", v)
		}
		invert = b
	}
	f.n = len(images)
	f.x = make([]float32, 0, f.n*h*w)
	for i, data := range images {
		field := fmt.Sprintf("image[%d]", i)
		img, err := decodePNG(data)
		if err != nil {
			return nil, badRequest(field, "%v", err)
		}
		f.x = appendPixels(f.x, img, h, w, invert)
	}
	return f, nil
}

// decodePNG decodes a PNG file of bounded size.
func decodePNG(data []byte) (image.Image, error) {
	if !bytes.HasPrefix(data, pngMagic) {
		head := data[:min(len(data), 8)]
		return nil, fmt.Errorf("not a PNG file (it starts with %q)", head)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt PNG: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("PNG of %d×%d pixels; want at most %d per side and %d in all", cfg.Width, cfg.Height, maxImageSide, maxImagePixels)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt PNG: %w", err)
	}
	return img, nil
}

// appendPixels appends img as h×w grayscale pixels in [0, 1] to dst.
func appendPixels(dst []float32, img image.Image, h, w int, invert bool) []float32 {
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
