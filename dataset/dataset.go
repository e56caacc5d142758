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
)

// Set is a data set of N examples of Dim features each, with optional class
// labels.
type Set struct {
	Name   string    // e.g. "mnist/train"
	X      []float32 // [N, Dim] row-major, pixels scaled to [0, 1]
	Labels []uint8   // [N], or nil
	N, Dim int
	// Rows and Cols are the image shape when the examples are images
	// (Rows*Cols == Dim), else 0.
	Rows, Cols int
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
func LoadImages(imagesPath, labelsPath, name string) (*Set, error) {
	img, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	var lbl *IDX
	if labelsPath != "" {
		if lbl, err = ReadIDXFile(labelsPath); err != nil {
			return nil, err
		}
	}
	return newSet(name, img, lbl, imagesPath, labelsPath)
}

// newSet builds a Set from parsed image and label files; the paths only
// serve the error messages.
func newSet(name string, img, lbl *IDX, imagesPath, labelsPath string) (*Set, error) {
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("%s: images: want 3 dimensions [N, rows, cols], got %v", imagesPath, img.Dims)
	}
	n, rows, cols := img.Dims[0], img.Dims[1], img.Dims[2]
	if lbl != nil {
		if len(lbl.Dims) != 1 {
			return nil, fmt.Errorf("%s: labels: want 1 dimension [N], got %v", labelsPath, lbl.Dims)
		}
		if lbl.Dims[0] != n {
			return nil, fmt.Errorf("%s holds %d images but %s holds %d labels", imagesPath, n, labelsPath, lbl.Dims[0])
		}
	}
	var scale [256]float32
	for b := range scale {
		scale[b] = float32(b) / 255
	}
	x := make([]float32, len(img.Data))
	for i, b := range img.Data {
		x[i] = scale[b]
	}
	s := &Set{Name: name, X: x, N: n, Dim: rows * cols, Rows: rows, Cols: cols}
	if lbl != nil {
		s.Labels = lbl.Data
	}
	return s, nil
}
