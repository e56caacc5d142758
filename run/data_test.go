package run

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeImages writes n gray images of 8×8 pixels in two class folders
// under dir/img, and the same images, in the folder's sorted order, as an
// .npz-free .npy of uint8 [n, 8, 8]; it returns the folder and the .npy.
func writeImages(t *testing.T, dir string, n int) (folder, npy string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	folder = filepath.Join(dir, "img")
	var pixels []byte
	// class folders a and b; names sort as the loop writes them
	for i := range n {
		class := []string{"a", "b"}[i*2/n]
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		for j := range img.Pix {
			img.Pix[j] = uint8(rng.IntN(256))
		}
		path := filepath.Join(folder, class, fmt.Sprintf("%03d.png", i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		pixels = append(pixels, img.Pix...)
	}
	header := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 8, 8), }", n)
	header += strings.Repeat(" ", 63-(10+len(header))%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(pixels)
	npy = filepath.Join(dir, "img.npy")
	if err := os.WriteFile(npy, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return folder, npy
}

// An image folder and a .npy of the same images, in the same order, train
// the same model, byte for byte; pictures are drawn from the folder's.
func TestFolderAndNPYTrainAlike(t *testing.T) {
	dir := t.TempDir()
	folder, npy := writeImages(t, dir, 100)
	quiet := Hooks{Logger: slog.New(slog.DiscardHandler)}
	models := map[string][]byte{}
	for _, data := range []string{folder, npy} {
		spec := DefaultSpec()
		spec.Data = data
		spec.Model.Hidden = []int{16}
		spec.Train.Epochs, spec.Train.BatchSize = 2, 16
		out := filepath.Join(dir, "run-"+filepath.Base(data))
		if _, err := Train(context.Background(), out, spec, quiet); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		models[data] = b
		if _, err := os.Stat(filepath.Join(out, ManifoldPNG)); err != nil {
			t.Errorf("%s: %v", data, err)
		}
		saved, err := LoadSpec(out)
		if err != nil {
			t.Fatal(err)
		}
		if !filepath.IsAbs(saved.Data) {
			t.Errorf("spec.json names the data %q, want an absolute path", saved.Data)
		}
	}
	if !bytes.Equal(models[folder], models[npy]) {
		t.Error("the folder's model and the .npy's differ")
	}
}

// The test fraction holds out rows drawn from the seed, at least one and
// never all.
func TestTestRows(t *testing.T) {
	for _, tc := range []struct {
		n    int
		frac float64
		held int
	}{{10, 0.1, 1}, {10, 0.25, 3}, {1000, 0.1, 100}, {3, 0.01, 1}, {2, 0.99, 1}} {
		order, held, err := testRows(tc.n, tc.frac, 1)
		if err != nil || held != tc.held || len(order) != tc.n {
			t.Errorf("testRows(%d, %v) = %d of %d, %v; want %d held", tc.n, tc.frac, held, len(order), err, tc.held)
		}
	}
	for _, frac := range []float64{0, 1, -0.5, 2} {
		if _, _, err := testRows(10, frac, 1); err == nil {
			t.Errorf("test fraction %v: no error", frac)
		}
	}
	if _, _, err := testRows(1, 0.5, 1); err == nil || !strings.Contains(err.Error(), "--test") {
		t.Errorf("one row: %v, want an error suggesting --test", err)
	}
}

// Classes keeps the training examples of the classes named (by number or
// name, a table's label cell) and leaves the test set whole; a class no
// example has, or data without labels, is an error naming it.
func TestClasses(t *testing.T) {
	dir := t.TempDir()
	folder, npy := writeImages(t, dir, 40) // classes a (0) and b (1)
	csvPath := filepath.Join(dir, "t.csv")
	var b strings.Builder
	b.WriteString("v,kind\n")
	for i := range 40 {
		fmt.Fprintf(&b, "%.1f,%s\n", float64(i%7)*1.5, []string{"x", "y"}[i%2])
	}
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data, label string
		classes     []string
		want        uint8  // the label every training example has
		err         string // part of the error, if one
	}{
		{data: folder, classes: []string{"a"}, want: 0},
		{data: folder, classes: []string{"1"}, want: 1},
		{data: csvPath, label: "kind", classes: []string{"y"}, want: 1},
		{data: folder, classes: []string{"c"}, err: `no class "c" (classes 0 to 1: a, b)`},
		{data: npy, classes: []string{"0"}, err: "has no labels"},
		{data: csvPath, label: "kind", classes: []string{"z"}, err: `no row has kind "z"`},
		{data: csvPath, classes: []string{"x"}, err: "needs the label column"},
	} {
		spec := DefaultSpec()
		spec.Data, spec.Classes, spec.DataOptions.Label = tc.data, tc.classes, tc.label
		spec.DataOptions.TestFraction = 0.25
		d, err := loadData(context.Background(), spec, nil, Hooks{Logger: slog.New(slog.DiscardHandler)})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %v: error %v, want one with %q", filepath.Base(tc.data), tc.classes, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s %v: %v", filepath.Base(tc.data), tc.classes, err)
		}
		spec.Classes = nil
		all, err := loadData(context.Background(), spec, nil, Hooks{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(all.train.Labels, []byte{tc.want}); d.train.N != n || d.test.N != 10 {
			t.Errorf("%s %v: %d training and %d test examples, want %d of the 30 and all 10", filepath.Base(tc.data), tc.classes, d.train.N, d.test.N, n)
		}
		for _, l := range d.train.Labels {
			if l != tc.want {
				t.Fatalf("%s %v: a training example of class %d", filepath.Base(tc.data), tc.classes, l)
			}
		}
		if got := slices.Compact(slices.Sorted(slices.Values(d.test.Labels))); len(got) != 2 {
			t.Errorf("%s %v: test classes %v, want both", filepath.Base(tc.data), tc.classes, got)
		}
	}
}
