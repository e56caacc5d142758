package dataset

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/internal/memtest"
)

func TestLoadImages(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pixels := []byte{0, 51, 102, 153, 204, 255, 255, 0}
	images := write("images", idxBytes(t, []int{2, 2, 2}, pixels))
	imagesGz := write("images.gz", gzipBytes(t, idxBytes(t, []int{2, 2, 2}, pixels)))
	labels := write("labels", idxBytes(t, []int{2}, []byte{3, 200}))
	threeLabels := write("three-labels", idxBytes(t, []int{3}, []byte{1, 2, 3}))
	flat := write("flat", idxBytes(t, []int{8}, pixels))
	square := write("square", idxBytes(t, []int{2, 1}, []byte{1, 2}))
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name           string
		images, labels string
		wantLabels     []uint8
		wantErr        []string // substrings of the error; nil for success
	}{
		{name: "plain", images: images, labels: labels, wantLabels: []uint8{3, 200}},
		{name: "gzip", images: imagesGz, labels: labels, wantLabels: []uint8{3, 200}},
		{name: "no labels", images: images},
		{name: "count mismatch", images: images, labels: threeLabels, wantErr: []string{images, "2 images", threeLabels, "3 labels"}},
		{name: "images not 3-D", images: flat, labels: labels, wantErr: []string{flat, "want 3 dimensions"}},
		{name: "labels not 1-D", images: images, labels: square, wantErr: []string{square, "want 1 dimension"}},
		{name: "missing images", images: missing, labels: labels, wantErr: []string{missing}},
		{name: "missing labels", images: images, labels: missing, wantErr: []string{missing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadImages(tc.images, tc.labels, "tiny/train")
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("LoadImages succeeded, want an error")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != "tiny/train" || s.N != 2 || s.Dim != 4 || s.Rows != 2 || s.Cols != 2 {
				t.Errorf("got %s N=%d Dim=%d %dx%d, want tiny/train N=2 Dim=4 2x2", s.Name, s.N, s.Dim, s.Rows, s.Cols)
			}
			want := []float32{0, 0.2, 0.4, 0.6, 0.8, 1, 1, 0}
			for i := range want {
				if d := s.X[i] - want[i]; d < -1e-6 || d > 1e-6 {
					t.Errorf("X = %v, want %v", s.X, want)
					break
				}
			}
			if !slices.Equal(s.Labels, tc.wantLabels) || (s.Labels == nil) != (tc.wantLabels == nil) {
				t.Errorf("Labels = %v, want %v", s.Labels, tc.wantLabels)
			}
			if want := map[bool]int{false: 0, true: 256}[s.Labels != nil]; s.Classes != want {
				t.Errorf("Classes = %d, want %d", s.Classes, want)
			}
		})
	}
}

// TestLoadImagesOverBudget checks that LoadImages weighs the set it would
// build against the memory budget before reading any data.
func TestLoadImagesOverBudget(t *testing.T) {
	dir := t.TempDir()
	images, labels := filepath.Join(dir, "images.gz"), filepath.Join(dir, "labels.gz")
	writeZeroIDXGz(t, images, 100, 10, 10)
	writeZeroIDXGz(t, labels, 100)
	memtest.SetLimit(t, 40000)
	_, err := LoadImages(images, labels, "big")
	want := "reading " + images + " (100×10×10 images), " + labels + " (100 labels) as 9.9 KiB of bytes and 39.1 KiB of float32 needs 48.9 KiB of memory, over the limit of 39.1 KiB"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("LoadImages error = %v, want one containing %q", err, want)
	}
	memtest.SetLimit(t, 50100)
	if s, err := LoadImages(images, labels, "big"); err != nil || s.N != 100 {
		t.Fatalf("LoadImages within the budget: %v", err)
	}
}

// seqSet returns a set of n examples of dim features whose values count up
// from 0, with labels i%10.
func seqSet(n, dim int) *Set {
	s := &Set{Name: "seq", N: n, Dim: dim, X: make([]float32, n*dim), Labels: make([]uint8, n)}
	for i := range s.X {
		s.X[i] = float32(i)
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(i % 10)
	}
	return s
}

func TestRow(t *testing.T) {
	s := seqSet(4, 3)
	r := s.Row(2)
	if !slices.Equal(r, []float32{6, 7, 8}) {
		t.Errorf("Row(2) = %v, want [6 7 8]", r)
	}
	if cap(r) != 3 {
		t.Errorf("cap(Row(2)) = %d, want 3 so that appending cannot overwrite row 3", cap(r))
	}
}

func TestSubset(t *testing.T) {
	s := seqSet(5, 2)
	tests := []struct{ n, want int }{{3, 3}, {0, 0}, {5, 5}, {9, 5}, {-1, 0}}
	for _, tc := range tests {
		sub := s.Subset(tc.n)
		if sub.N != tc.want || len(sub.X) != tc.want*2 || len(sub.Labels) != tc.want || sub.Dim != 2 {
			t.Errorf("Subset(%d): N=%d len(X)=%d len(Labels)=%d, want N=%d", tc.n, sub.N, len(sub.X), len(sub.Labels), tc.want)
		}
	}
	sub := s.Subset(2)
	sub.X[0] = -1
	if s.X[0] != -1 {
		t.Error("Subset does not share memory with the set")
	}
	if s.N != 5 {
		t.Errorf("Subset changed the set: N = %d", s.N)
	}
	if noLabels := (&Set{N: 2, Dim: 1, X: []float32{1, 2}}).Subset(1); noLabels.Labels != nil {
		t.Errorf("Subset of a set without labels has labels %v", noLabels.Labels)
	}
}

func TestGather(t *testing.T) {
	s := seqSet(4, 2)
	dst := make([]float32, 3*2)
	s.Gather(dst, []int{3, 0, 3})
	if want := []float32{6, 7, 0, 1, 6, 7}; !slices.Equal(dst, want) {
		t.Errorf("Gather = %v, want %v", dst, want)
	}
}

func TestShuffle(t *testing.T) {
	perm := func(seed uint64) []int {
		idx := make([]int, 50)
		for i := range idx {
			idx[i] = i
		}
		Shuffle(idx, rand.New(rand.NewPCG(seed, 7)))
		return idx
	}
	a, b, c := perm(1), perm(1), perm(2)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different orders:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("different seeds, same order %v", a)
	}
	sorted := slices.Sorted(slices.Values(a))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("Shuffle lost or duplicated elements: %v", a)
		}
	}

	// Every position receives every value with about equal frequency.
	const trials = 6000
	var count [3][3]int
	rng := rand.New(rand.NewPCG(3, 4))
	for range trials {
		idx := []int{0, 1, 2}
		Shuffle(idx, rng)
		for pos, v := range idx {
			count[pos][v]++
		}
	}
	for pos := range count {
		for v, n := range count[pos] {
			if n < trials/3-300 || n > trials/3+300 {
				t.Errorf("value %d landed at position %d %d times in %d trials, want about %d", v, pos, n, trials, trials/3)
			}
		}
	}

	Shuffle(nil, nil)      // no elements: nothing to do
	Shuffle([]int{1}, nil) // nil rng: the global source
}
