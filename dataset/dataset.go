// Package dataset provides the data sets the variational autoencoder learns
// from: MNIST, Fashion-MNIST and any other images stored as IDX files.
//
// Open finds a named data set wherever it is (a folder the user names, the
// user's cache, a public mirror, or a copy shipped in a Go module or a Debian
// package) so that nobody has to fetch files by hand. LoadImages reads a pair
// of IDX files directly, and ReadIDX and WriteIDX handle the file format.
package dataset

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/govae/vae/budget"
)

// Set is a data set of N examples of Dim features each, with optional class
// labels.
type Set struct {
	Name   string    // e.g. "mnist/train"
	X      []float32 // [N, Dim] row-major, pixels scaled to [0, 1]
	Labels []uint8   // [N], or nil
	N, Dim int
	// Classes is the number of classes the labels name: each label is
	// below it. It is 0 for a set without labels, and 256 (any byte) for
	// one LoadImages read, which knows of no classes.
	Classes int
	// ClassNames, if set, names each class (len(ClassNames) == Classes),
	// e.g. the class folders of an image folder.
	ClassNames []string
	// Rows, Cols and Channels are the image shape when the examples are
	// images (Rows·Cols·max(1, Channels) == Dim), else 0; a colour image's
	// row holds its channels one after the other (C, H, W, as PyTorch's
	// tensors). Channels 0 means one (gray).
	Rows, Cols, Channels int
	// IDs, if set, names each example (len(IDs) == N): an image's path
	// relative to its folder, a table row's id column. Outputs carry it.
	IDs []string
}

// Check reports a Set whose fields disagree: X not N rows of Dim, labels
// or ids not one per example, a label not below Classes, an image shape
// that does not make Dim.
func (s *Set) Check() error {
	switch {
	case s.N < 0 || s.Dim <= 0:
		return fmt.Errorf("%s: %d examples of %d features, want N ≥ 0 and Dim > 0", s.Name, s.N, s.Dim)
	case len(s.X) != s.N*s.Dim:
		return fmt.Errorf("%s: X holds %d values, want N·Dim = %d·%d = %d", s.Name, len(s.X), s.N, s.Dim, s.N*s.Dim)
	case s.Labels != nil && len(s.Labels) != s.N:
		return fmt.Errorf("%s: %d labels for %d examples", s.Name, len(s.Labels), s.N)
	case s.IDs != nil && len(s.IDs) != s.N:
		return fmt.Errorf("%s: %d ids for %d examples", s.Name, len(s.IDs), s.N)
	case s.ClassNames != nil && len(s.ClassNames) != s.Classes:
		return fmt.Errorf("%s: %d class names for %d classes", s.Name, len(s.ClassNames), s.Classes)
	case s.Rows != 0 && s.Rows*s.Cols*max(1, s.Channels) != s.Dim:
		return fmt.Errorf("%s: images of %d×%d×%d are not %d features", s.Name, s.Rows, s.Cols, max(1, s.Channels), s.Dim)
	}
	if s.Classes > 0 && s.Classes < anyByte {
		for i, l := range s.Labels {
			if int(l) >= s.Classes {
				return fmt.Errorf("%s: label of example %d is %d, outside the %d classes", s.Name, i, l, s.Classes)
			}
		}
	}
	return nil
}

// Row returns the features of example i. The slice shares memory with s.X.
func (s *Set) Row(i int) []float32 {
	return s.X[i*s.Dim : (i+1)*s.Dim : (i+1)*s.Dim]
}

// Subset returns the first n examples of s, sharing memory with s, for quick
// runs and tests. n is clamped to [0, s.N].
func (s *Set) Subset(n int) *Set {
	n = max(0, min(n, s.N))
	sub := *s
	sub.N = n
	sub.X = s.X[: n*s.Dim : n*s.Dim]
	if s.Labels != nil {
		sub.Labels = s.Labels[:n:n]
	}
	if s.IDs != nil {
		sub.IDs = s.IDs[:n:n]
	}
	return &sub
}

// Tail returns the last n examples of s, sharing memory with s: with
// Subset(s.N−n), a split into two parts.
func (s *Set) Tail(n int) *Set {
	n = max(0, min(n, s.N))
	t := *s
	t.N = n
	t.X = s.X[(s.N-n)*s.Dim:]
	if s.Labels != nil {
		t.Labels = s.Labels[s.N-n:]
	}
	if s.IDs != nil {
		t.IDs = s.IDs[s.N-n:]
	}
	return &t
}

// Gather copies the examples idx[0], idx[1], ... into consecutive rows of dst,
// which must hold at least len(idx)*s.Dim values. It panics if dst is too
// short or an index is out of range, as slice indexing does.
func (s *Set) Gather(dst []float32, idx []int) {
	if len(dst) < len(idx)*s.Dim {
		panic(fmt.Sprintf("dataset: Gather of %d rows of %d into %d values", len(idx), s.Dim, len(dst)))
	}
	for k, i := range idx {
		copy(dst[k*s.Dim:(k+1)*s.Dim], s.Row(i))
	}
}

// Shuffle permutes idx uniformly at random using rng, so that the order
// depends only on the state of rng: a generator seeded the same way gives
// the same order. A nil rng uses the global source of math/rand/v2.
func Shuffle(idx []int, rng *rand.Rand) {
	intN := rand.IntN
	if rng != nil {
		intN = rng.IntN
	}
	for i := len(idx) - 1; i > 0; i-- {
		j := intN(i + 1)
		idx[i], idx[j] = idx[j], idx[i]
	}
}

// LoadImages reads a data set from two IDX files: imagesPath holding N images
// as [N, rows, cols] unsigned bytes and labelsPath holding N labels as [N]
// unsigned bytes. Pixels are scaled to [0, 1]. Labels may take any byte
// value; an empty labelsPath gives a set without labels. The files may be
// gzip-compressed.
//
// The headers of both files are read first: a set whose data and float32
// pixels would need more memory than the budget allows (see package budget)
// is refused before anything is allocated for it.
func LoadImages(imagesPath, labelsPath, name string) (*Set, error) {
	img, err := openIDX(imagesPath, nil)
	if err != nil {
		return nil, err
	}
	defer img.close()
	var lbl *idxFile
	if labelsPath != "" {
		if lbl, err = openIDX(labelsPath, nil); err != nil {
			return nil, err
		}
		defer lbl.close()
	}
	if err := checkPart(img, lbl); err != nil {
		return nil, err
	}
	if err := checkCost(img, lbl); err != nil {
		return nil, err
	}
	return readPart(name, img, lbl, anyByte, (*idxFile).read)
}

// anyByte is the number of classes of labels that may take any byte value.
const anyByte = 256

// checkPart checks what the headers of the files of one part of a data set
// declare: images [N, rows, cols] and, unless lbl is nil, labels [N].
func checkPart(img, lbl *idxFile) error {
	if len(img.dims) != 3 {
		return fmt.Errorf("%s: images: want 3 dimensions [N, rows, cols], got %v", img.path, img.dims)
	}
	if lbl == nil {
		return nil
	}
	if len(lbl.dims) != 1 {
		return fmt.Errorf("%s: labels: want 1 dimension [N], got %v", lbl.path, lbl.dims)
	}
	if n := img.dims[0]; lbl.dims[0] != n {
		return fmt.Errorf("%s holds %d images but %s holds %d labels", img.path, n, lbl.path, lbl.dims[0])
	}
	return nil
}

// checkCost checks the memory that reading files and building Sets of them
// takes, by what their headers declare, against the memory budget: the data
// of every file, and a float32 for each pixel of the images. files alternate
// images and labels; nil files are skipped.
func checkCost(files ...*idxFile) error {
	var raw, pixels int64
	var claims []string
	for i, x := range files {
		if x == nil {
			continue
		}
		raw = budget.Add(raw, int64(x.n))
		kind := "labels"
		if i%2 == 0 {
			kind = "images"
			pixels = budget.Add(pixels, int64(x.n))
		}
		claims = append(claims, fmt.Sprintf("%s (%s %s)", x.path, dimsString(x.dims), kind))
	}
	floats := budget.Mul(pixels, 4)
	what := fmt.Sprintf("reading %s as %s of bytes and %s of float32",
		strings.Join(claims, ", "), budget.Format(raw), budget.Format(floats))
	return budget.Check(what, budget.Add(raw, floats))
}

// readPart reads the images img and the labels lbl (nil for none) of one
// part of a data set, whose headers passed checkPart, with read, and builds
// the Set called name. Labels must be below classes (any byte if classes is
// not positive).
func readPart(name string, img, lbl *idxFile, classes int, read func(*idxFile) (*IDX, error)) (*Set, error) {
	if classes <= 0 || classes > anyByte {
		classes = anyByte
	}
	im, err := read(img)
	if err != nil {
		return nil, err
	}
	var labels []uint8
	if lbl != nil {
		lm, err := read(lbl)
		if err != nil {
			return nil, err
		}
		if err := checkLabels(name, lbl.path, lm.Data, classes); err != nil {
			return nil, err
		}
		labels = lm.Data
	}
	return newSet(name, im, labels, classes), nil
}

// checkLabels returns an error naming the file at path, the first label that
// is not below classes and its value, if there is one. name is the set's.
func checkLabels(name, path string, labels []uint8, classes int) error {
	if classes >= anyByte {
		return nil
	}
	for i, l := range labels {
		if int(l) >= classes {
			return fmt.Errorf("%s: label %d is %d, outside the %d classes 0..%d of %s", path, i, l, classes, classes-1, name)
		}
	}
	return nil
}

// newSet builds a Set from images [N, rows, cols] and, unless labels is
// nil, their N labels, all below classes.
func newSet(name string, img *IDX, labels []uint8, classes int) *Set {
	n, rows, cols := img.Dims[0], img.Dims[1], img.Dims[2]
	var scale [256]float32
	for b := range scale {
		scale[b] = float32(b) / 255
	}
	x := make([]float32, len(img.Data))
	for i, b := range img.Data {
		x[i] = scale[b]
	}
	s := &Set{Name: name, X: x, N: n, Dim: rows * cols, Rows: rows, Cols: cols}
	if labels != nil {
		s.Labels, s.Classes = labels, classes
	}
	return s
}
