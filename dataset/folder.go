package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/govae/vae/budget"
)

// FolderOptions say how LoadFolder reads images.
type FolderOptions struct {
	// Height and Width, if set (both or neither), are the size every image
	// is resized to, stretched to it as torchvision's Resize((h, w)) does,
	// with bilinear interpolation that averages over the source pixels when
	// it shrinks (draw.BiLinear, like PIL's). An image already of that size
	// is taken as it is. 0, 0 keeps the images' sizes, which must then all
	// agree.
	Height, Width int
	// Channels is 1 (gray) or 3 (RGB); 0 chooses 3 if any image is in
	// colour, as its header's colour model says, else 1. Colour images read
	// with 1 are converted to luminance (0.299 R + 0.587 G + 0.114 B, as
	// PIL's convert("L")) only because the caller asked; gray images read
	// with 3 repeat the gray value in each channel.
	Channels int
	// SkipBad skips images that do not decode, or whose header declares
	// more pixels than an image may have, instead of failing: they are
	// counted in FolderReport.Skipped and logged as warnings.
	SkipBad bool
	// Logger receives what LoadFolder does; nil discards it.
	Logger *slog.Logger
}

// FolderReport tells what LoadFolder did besides building its Set.
type FolderReport struct {
	Found   int // image files found, by their extensions
	Resized int // images resized to FolderOptions.Height×Width
	// Skipped counts the images left out with SkipBad, and Bad says why,
	// one error per skipped file, naming it, in the order of their paths.
	Skipped int
	Bad     []error
}

// folderMaxPixels bounds the pixels (height × width) one image may have, as
// PIL's decompression bomb check does: a header that claims more is refused
// before the image is decoded. The memory budget bounds them further.
const folderMaxPixels = 1 << 27

// folderFormat is an image format LoadFolder reads.
type folderFormat struct {
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}

// folderFormats are the formats LoadFolder reads, by the names their
// packages register them under with package image.
var folderFormats = map[string]folderFormat{
	"png":  {png.Decode, png.DecodeConfig},
	"jpeg": {jpeg.Decode, jpeg.DecodeConfig},
	"gif":  {gif.Decode, gif.DecodeConfig}, // Decode returns the first frame
	"bmp":  {bmp.Decode, bmp.DecodeConfig},
	"tiff": {tiff.Decode, tiff.DecodeConfig},
	"webp": {webp.Decode, webp.DecodeConfig},
}

// folderExts maps the file extensions LoadFolder reads, in lower case, to
// the format they promise.
var folderExts = map[string]string{
	".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif",
	".bmp": "bmp", ".tif": "tiff", ".tiff": "tiff", ".webp": "webp",
}

// folderExtList lists folderExts for messages: ".bmp, .gif, ...".
func folderExtList() string {
	exts := make([]string, 0, len(folderExts))
	for e := range folderExts {
		exts = append(exts, e)
	}
	slices.Sort(exts)
	return strings.Join(exts, ", ")
}

// LoadFolder reads a folder of images laid out as torchvision's ImageFolder
// expects: either class folders, dir/cat/1.png, dir/dog/7.png, ..., each a
// class labelled by the sorted order of the folders' names (deeper folders
// inside a class folder are walked too, and their images belong to the
// class), or images directly in dir, which then have no labels. A folder
// holding both images and class folders is an error, and so is a class
// folder without images, or more than 256 classes.
//
// Files whose names end in .png, .jpg, .jpeg, .gif (the first frame), .bmp,
// .tif, .tiff or .webp, in any case, are images; other files, and files and
// folders whose names start with '.', are skipped. Symbolic links to files
// are followed, and links to folders directly in dir, but no links to
// folders deeper down.
//
// The rows of the Set are sorted by their IDs, each image's path relative
// to dir with forward slashes. Pixels are float32 in [0, 1] (16-bit images
// are scaled by 65535), channels first (C, H, W) in each row. Alpha is
// dropped: the colour channels are taken un-premultiplied, as if composited
// on nothing: a transparent pixel keeps the colour the file gives it (black
// in formats that store colours premultiplied by alpha, and in a GIF outside
// a first frame that does not cover the screen).
//
// The header of every image is read before anything is decoded: images of
// different sizes when FolderOptions gives none are an error naming two of
// them, a header that claims more than 2²⁷ pixels is refused (or skipped,
// with SkipBad), and the memory the Set and the decoding take, by what the
// headers claim, is checked against the memory budget (see package budget)
// before it is allocated. Images are decoded on GOMAXPROCS goroutines;
// cancelling ctx stops them with an error wrapping ctx.Err().
//
// Errors name the file they concern by its path, dir joined with its ID. An
// image that does not decode fails the load, unless FolderOptions.SkipBad
// says to skip it; the FolderReport, returned with the Set, counts those
// skipped. The Set's Name is dir's base name.
func LoadFolder(ctx context.Context, dir string, opts FolderOptions) (*Set, *FolderReport, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	images, classes, err := folderList(ctx, dir, log)
	if err != nil {
		return nil, nil, err
	}
	report := &FolderReport{Found: len(images)}

	// Read every header, then weigh what they claim.
	if err := folderParallel(ctx, len(images), func(i int) error { return images[i].readHeader() }); err != nil {
		return nil, nil, folderCtxError(ctx, dir, err)
	}
	var good []*folderImage
	for _, im := range images {
		if im.bad == nil {
			im.bad = im.checkSize()
		}
		if im.bad != nil && !opts.SkipBad {
			return nil, nil, im.bad
		}
		if im.bad == nil {
			good = append(good, im)
		}
	}
	if len(good) == 0 {
		return nil, nil, folderAllBad(dir, images)
	}
	c := opts.Channels
	if c == 0 {
		c = 1
		for _, im := range good {
			if !folderGray(im.cfg.ColorModel) {
				c = 3
				break
			}
		}
	}
	h, w := opts.Height, opts.Width
	if h == 0 {
		first := good[0]
		h, w = first.cfg.Height, first.cfg.Width
		for _, im := range good[1:] {
			if im.cfg.Height != h || im.cfg.Width != w {
				return nil, nil, fmt.Errorf("%s is %d×%d but %s is %d×%d: pass --image-size HxW to resize",
					first.path, h, w, im.path, im.cfg.Height, im.cfg.Width)
			}
		}
	}
	n, dim := len(good), h*w*c
	floats := budget.Mul(int64(n), int64(dim), 4)
	var work int64
	for _, im := range good {
		work = max(work, im.cost(h, w))
	}
	workers := int64(min(runtime.GOMAXPROCS(0), n))
	what := fmt.Sprintf("loading %s, %d images of %d×%d×%d (C×H×W), as %s of float32 while decoding %d at a time with up to %s each",
		dir, n, c, h, w, budget.Format(floats), workers, budget.Format(work))
	if err := budget.Check(what, budget.Add(floats, budget.Mul(workers, work))); err != nil {
		return nil, nil, err
	}

	// Decode.
	x := make([]float32, n*dim)
	err = folderParallel(ctx, n, func(i int) error {
		im := good[i]
		im.bad = im.decode(x[i*dim:(i+1)*dim], h, w, c)
		if !opts.SkipBad {
			return im.bad
		}
		return nil
	})
	if err != nil {
		return nil, nil, folderCtxError(ctx, dir, err)
	}

	// Drop the images skipped from the rows.
	s := &Set{Name: folderName(dir), Dim: dim, Rows: h, Cols: w, Channels: c}
	if classes != nil {
		s.Classes, s.ClassNames, s.Labels = len(classes), classes, make([]uint8, 0, n)
	}
	s.IDs = make([]string, 0, n)
	for i, im := range good {
		if im.bad != nil {
			continue
		}
		if k := len(s.IDs); k != i {
			copy(x[k*dim:(k+1)*dim], x[i*dim:(i+1)*dim])
		}
		s.IDs = append(s.IDs, im.id)
		if classes != nil {
			s.Labels = append(s.Labels, im.label)
		}
	}
	s.N = len(s.IDs)
	if s.N == 0 {
		return nil, nil, folderAllBad(dir, images)
	}
	s.X = x[: s.N*dim : s.N*dim]
	for _, im := range images {
		if im.bad != nil {
			report.Skipped++
			report.Bad = append(report.Bad, im.bad)
			log.Warn("skipping a bad image", "file", im.path, "err", im.bad)
		}
	}
	for _, im := range good {
		if im.bad == nil && (im.cfg.Height != h || im.cfg.Width != w) {
			report.Resized++
		}
	}
	if err := s.Check(); err != nil {
		return nil, nil, err
	}
	log.Info("loaded an image folder", "dir", dir, "images", s.N, "classes", s.Classes,
		"size", fmt.Sprintf("%d×%d×%d", c, h, w), "resized", report.Resized, "skipped", report.Skipped)
	return s, report, nil
}

// check checks the options for what LoadFolder can do.
func (o *FolderOptions) check() error {
	switch {
	case o.Height < 0 || o.Width < 0 || (o.Height == 0) != (o.Width == 0):
		return fmt.Errorf("image size %d×%d: want a positive height and width, or neither", o.Height, o.Width)
	case int64(o.Height)*int64(o.Width) > folderMaxPixels:
		return fmt.Errorf("image size %d×%d: more than the %d pixels an image may have", o.Height, o.Width, folderMaxPixels)
	case o.Channels != 0 && o.Channels != 1 && o.Channels != 3:
		return fmt.Errorf("%d channels: want 1 (gray), 3 (RGB) or 0 (3 if any image is in colour, else 1)", o.Channels)
	}
	return nil
}

// folderName names the Set of the folder dir: its base name.
func folderName(dir string) string {
	name := filepath.Base(dir)
	if name == "." || name == ".." || name == string(filepath.Separator) {
		if abs, err := filepath.Abs(dir); err == nil {
			name = filepath.Base(abs)
		}
	}
	return name
}

// folderCtxError returns err, or, if ctx is done, an error saying that the
// load of dir stopped, wrapping ctx.Err().
func folderCtxError(ctx context.Context, dir string, err error) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		return fmt.Errorf("loading %s: %w", dir, cerr)
	}
	return err
}

// folderAllBad is the error of a folder none of whose images decodes.
func folderAllBad(dir string, images []*folderImage) error {
	for _, im := range images {
		if im.bad != nil {
			return fmt.Errorf("%s: none of the %d images decodes, e.g. %w", dir, len(images), im.bad)
		}
	}
	return fmt.Errorf("%s: none of the %d images decodes", dir, len(images))
}

// folderImage is an image file of a folder.
type folderImage struct {
	id     string // the path relative to the folder, with forward slashes
	path   string // the path to open: the folder joined with id
	label  uint8
	size   int64        // the file's length
	cfg    image.Config // what its header says
	format string       // as package image names it
	bad    error        // why the image cannot be read, naming it
}

// folderList lists the images of dir and, if they are in class folders,
// the names of the classes, each image's label indexing them.
func folderList(ctx context.Context, dir string, log *slog.Logger) ([]*folderImage, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err // *fs.PathError names the folder
	}
	var top []*folderImage
	var subdirs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		isDir, isFile := folderKind(e, filepath.Join(dir, name))
		switch {
		case isDir:
			subdirs = append(subdirs, name)
		case isFile && folderExts[strings.ToLower(filepath.Ext(name))] != "":
			top = append(top, &folderImage{id: name, path: filepath.Join(dir, name)})
		default:
			log.Debug("skipping a file that is no image", "file", filepath.Join(dir, name))
		}
	}
	var images []*folderImage
	var classes []string
	for _, sub := range subdirs {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("loading %s: %w", dir, err)
		}
		before := len(images)
		if err := folderWalk(ctx, dir, sub, uint8(len(classes)), &images, log); err != nil {
			return nil, nil, err
		}
		switch {
		case len(images) > before:
			if len(top) > 0 {
				return nil, nil, fmt.Errorf("%s holds both images (%s) and class folders holding images (%s): put all images in class folders, or none",
					dir, top[0].path, filepath.Join(dir, sub))
			}
			classes = append(classes, sub)
		case len(top) == 0:
			classes = append(classes, sub) // reported below, if others hold images
		default:
			log.Debug("skipping a folder without images", "folder", filepath.Join(dir, sub))
		}
		if len(classes) > anyByte {
			return nil, nil, fmt.Errorf("%s holds more than %d class folders: a label names at most %d classes", dir, anyByte, anyByte)
		}
	}
	if len(top) > 0 {
		slices.SortFunc(top, func(a, b *folderImage) int { return strings.Compare(a.id, b.id) })
		return top, nil, nil
	}
	if len(images) == 0 {
		return nil, nil, fmt.Errorf("%s: no images in the folder or its sub-folders: looked for files named %s", dir, folderExtList())
	}
	var count [anyByte]int
	for _, im := range images {
		count[im.label]++
	}
	for i, name := range classes {
		if count[i] == 0 {
			return nil, nil, fmt.Errorf("class folder %s holds no images (%s), but other class folders of %s do",
				filepath.Join(dir, name), folderExtList(), dir)
		}
	}
	slices.SortFunc(images, func(a, b *folderImage) int { return strings.Compare(a.id, b.id) })
	return images, classes, nil
}

// folderWalk appends to images the images in the folder rel of dir and in
// its sub-folders, labelled label.
func folderWalk(ctx context.Context, dir, rel string, label uint8, images *[]*folderImage, log *slog.Logger) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("loading %s: %w", dir, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		id := rel + "/" + name
		p := filepath.Join(dir, filepath.FromSlash(id))
		if e.IsDir() { // a real folder: links to folders are not followed, so there are no cycles
			if err := folderWalk(ctx, dir, id, label, images, log); err != nil {
				return err
			}
			continue
		}
		if _, isFile := folderKind(e, p); isFile && folderExts[strings.ToLower(filepath.Ext(name))] != "" {
			*images = append(*images, &folderImage{id: id, path: p, label: label})
		} else {
			log.Debug("skipping a file that is no image", "file", p)
		}
	}
	return nil
}

// folderKind says whether the entry e at path p is, or links to, a folder
// or a regular file.
func folderKind(e fs.DirEntry, p string) (isDir, isFile bool) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir(), e.Type().IsRegular()
	}
	fi, err := os.Stat(p)
	if err != nil {
		return false, false // a dangling link
	}
	return fi.IsDir(), fi.Mode().IsRegular()
}

// readHeader reads the header of the image into im.cfg and im.format, or
// sets im.bad to why it does not decode. It returns an error only if the
// file cannot be opened.
func (im *folderImage) readHeader() error {
	f, err := os.Open(im.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		im.size = fi.Size()
	}
	im.cfg, im.format, err = image.DecodeConfig(bufio.NewReader(f))
	if errors.Is(err, image.ErrFormat) {
		// No format knows the file: say what the decoder its name
		// promises thinks of it.
		format := folderExts[strings.ToLower(filepath.Ext(im.path))]
		if _, serr := f.Seek(0, io.SeekStart); serr == nil {
			var cerr error
			if im.cfg, cerr = folderFormats[format].config(bufio.NewReader(f)); cerr == nil {
				im.format, err = format, nil
			} else {
				err = cerr
			}
		}
	}
	if err != nil {
		im.bad = fmt.Errorf("%s: %w", im.path, err)
	}
	return nil
}

// checkSize returns an error if the header of im, which was read, declares
// no pixels or more than an image may have.
func (im *folderImage) checkSize() error {
	h, w := im.cfg.Height, im.cfg.Width
	switch {
	case h <= 0 || w <= 0:
		return fmt.Errorf("%s: the %s header declares %d×%d pixels", im.path, im.format, h, w)
	case int64(h)*int64(w) > folderMaxPixels:
		return fmt.Errorf("%s is %d×%d, more than the %d pixels an image may have", im.path, h, w, folderMaxPixels)
	}
	return nil
}

// cost estimates the bytes that decoding im and resizing it to h×w takes,
// by what its header says.
func (im *folderImage) cost(h, w int) int64 {
	pixels := int64(im.cfg.Height) * int64(im.cfg.Width)
	per := folderModelBytes(im.cfg.ColorModel)
	switch im.format {
	case "jpeg":
		per += 16 // a progressive JPEG's coefficients: up to 4 components of int32
	case "gif":
		per += 4 // a canvas for a first frame that does not cover the screen
	}
	c := budget.Add(budget.Mul(pixels, per), im.size)
	if im.cfg.Height != h || im.cfg.Width != w {
		// The resized image, and draw's buffer of the source's rows
		// resized to w.
		c = budget.Add(c, budget.Mul(int64(h), int64(w), 8), budget.Mul(int64(im.cfg.Height), int64(w), 32))
	}
	return c
}

// folderModelBytes is the bytes per pixel of a decoded image of model m.
func folderModelBytes(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// folderGray reports whether images of model m are gray.
func folderGray(m color.Model) bool {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return true
	}
	p, ok := m.(color.Palette)
	if !ok || len(p) == 0 {
		return false
	}
	for _, c := range p {
		if r, g, b, _ := c.RGBA(); r != g || g != b {
			return false
		}
	}
	return true
}

// decode decodes im, whose header was read, resizes it to h×w if it is not
// of that size, and writes its pixels into row as c channels of h×w. It
// returns why it cannot, naming the file.
func (im *folderImage) decode(row []float32, h, w, c int) error {
	f, err := os.Open(im.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var img image.Image
	if ff, ok := folderFormats[im.format]; ok {
		var r io.Reader = bufio.NewReader(f)
		if im.format == "tiff" {
			r = f // TIFF is read at offsets: a file can be, a stream is copied whole
		}
		img, err = ff.decode(r)
	} else {
		img, _, err = image.Decode(bufio.NewReader(f))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", im.path, err)
	}
	if img, err = folderCanvas(img, im.cfg.Height, im.cfg.Width, im.format); err != nil {
		return fmt.Errorf("%s: %w", im.path, err)
	}
	Pixels(row, img, c, h, w)
	return nil
}

// Pixels writes img into row as an image folder's example is read: resized
// to h×w (bilinear) where it is not, as c channels (1: luminance, 3: RGB),
// one plane after the other, each in [0, 1], a transparent pixel black. row
// holds c·h·w values.
func Pixels(row []float32, img image.Image, c, h, w int) {
	if b := img.Bounds(); b.Dy() != h || b.Dx() != w {
		img = folderResize(img, h, w)
	}
	folderPixels(row, img, c)
}

// folderCanvas returns img, decoded from a file of format whose header
// declares h×w pixels, as h×w pixels: the first frame of a GIF may cover
// only part of its screen, and is put on a canvas of the screen's size,
// transparent black elsewhere; an image of another format must have the
// size of its header.
func folderCanvas(img image.Image, h, w int, format string) (image.Image, error) {
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return img, nil
	}
	screen := image.Rect(0, 0, w, h)
	if format != "gif" || !b.In(screen) {
		return nil, fmt.Errorf("%s: decodes to %d×%d pixels, not the %d×%d of its header", format, b.Dy(), b.Dx(), h, w)
	}
	canvas := image.NewNRGBA(screen)
	draw.Draw(canvas, b, img, b.Min, draw.Src)
	return canvas, nil
}

// folderResize resizes img to h×w with draw.BiLinear, keeping 16 bits of
// precision for images that have them.
func folderResize(img image.Image, h, w int) image.Image {
	r := image.Rect(0, 0, w, h)
	var dst draw.Image
	switch img.(type) {
	case *image.Gray16, *image.RGBA64, *image.NRGBA64, *image.Alpha16:
		dst = image.NewRGBA64(r)
	default:
		dst = image.NewRGBA(r)
	}
	draw.BiLinear.Scale(dst, r, img, img.Bounds(), draw.Src, nil)
	return dst
}

// folderScale8 maps a byte to [0, 1].
var folderScale8 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// folderLuma is the luminance of the colour r, g, b in [0, 1], as PIL's
// convert("L") and color.GrayModel compute it; a gray is its own.
func folderLuma(r, g, b float32) float32 {
	if r == g && g == b {
		return r
	}
	return min(1, float32(0.299*float64(r)+0.587*float64(g)+0.114*float64(b)))
}

// folderUnpremul un-premultiplies a colour value v of alpha a, both in the
// same units, to [0, 1]: a transparent pixel is black.
func folderUnpremul(v, a uint32) float32 {
	if a == 0 {
		return 0
	}
	return min(1, float32(v)/float32(a))
}

// folderPixels writes the pixels of img into row as c channels (1 or 3),
// one plane after the other, each of the rows of img one after the other.
func folderPixels(row []float32, img image.Image, c int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	gray := func(i int, v float32) {
		row[i] = v
		if c == 3 {
			row[plane+i], row[2*plane+i] = v, v
		}
	}
	rgb := func(i int, r, g, bl float32) {
		if c == 1 {
			row[i] = folderLuma(r, g, bl)
			return
		}
		row[i], row[plane+i], row[2*plane+i] = r, g, bl
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			p := m.Pix[y*m.Stride:]
			for x := range w {
				gray(y*w+x, folderScale8[p[x]])
			}
		}
	case *image.Gray16:
		for y := range h {
			p := m.Pix[y*m.Stride:]
			for x := range w {
				gray(y*w+x, float32(uint32(p[2*x])<<8|uint32(p[2*x+1]))/0xffff)
			}
		}
	case *image.NRGBA:
		for y := range h {
			p := m.Pix[y*m.Stride:]
			for x := range w {
				q := p[4*x : 4*x+3 : 4*x+3]
				rgb(y*w+x, folderScale8[q[0]], folderScale8[q[1]], folderScale8[q[2]])
			}
		}
	case *image.RGBA:
		for y := range h {
			p := m.Pix[y*m.Stride:]
			for x := range w {
				q := p[4*x : 4*x+4 : 4*x+4]
				if q[3] == 0xff {
					rgb(y*w+x, folderScale8[q[0]], folderScale8[q[1]], folderScale8[q[2]])
					continue
				}
				a := uint32(q[3])
				rgb(y*w+x, folderUnpremul(uint32(q[0]), a), folderUnpremul(uint32(q[1]), a), folderUnpremul(uint32(q[2]), a))
			}
		}
	case *image.YCbCr: // JPEG, lossy WebP
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				rgb(y*w+x, folderScale8[r], folderScale8[g], folderScale8[bl])
			}
		}
	case *image.Paletted:
		var pal [256][3]float32
		for i, col := range m.Palette[:min(len(m.Palette), 256)] {
			n := color.NRGBA64Model.Convert(col).(color.NRGBA64)
			pal[i] = [3]float32{float32(n.R) / 0xffff, float32(n.G) / 0xffff, float32(n.B) / 0xffff}
		}
		for y := range h {
			p := m.Pix[y*m.Stride:]
			for x := range w {
				v := &pal[p[x]] // an index outside the palette is black
				rgb(y*w+x, v[0], v[1], v[2])
			}
		}
	default: // 16-bit colour, YCbCr, CMYK, ...
		for y := range h {
			for x := range w {
				n := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				rgb(y*w+x, float32(n.R)/0xffff, float32(n.G)/0xffff, float32(n.B)/0xffff)
			}
		}
	}
}

// folderParallel calls f(i) for each i in [0, n) on GOMAXPROCS goroutines
// until ctx is done or f fails. It returns ctx.Err() or the error of the
// least i for which f failed: the goroutines take the indices in order and
// stop at the first above a failure, so all those below it were tried.
func folderParallel(ctx context.Context, n int, f func(i int) error) error {
	var next, failed atomic.Int64
	failed.Store(int64(n))
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= failed.Load() {
					return
				}
				if err := f(int(i)); err != nil {
					mu.Lock()
					if i < failed.Load() {
						failed.Store(i)
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return first
}
