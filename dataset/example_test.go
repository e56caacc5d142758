package dataset_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/govae/vae/dataset"
)

// writeIDX writes an IDX file of the given shape, filled with a pattern.
func writeIDX(path string, dims ...int) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i % 10)
	}
	var buf bytes.Buffer
	if err := dataset.WriteIDX(&buf, &dataset.IDX{Dims: dims, Data: data}); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func ExampleLoadImages() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	writeIDX(filepath.Join(dir, "images"), 3, 4, 5) // 3 images of 4x5 pixels
	writeIDX(filepath.Join(dir, "labels"), 3)

	s, err := dataset.LoadImages(filepath.Join(dir, "images"), filepath.Join(dir, "labels"), "example")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: N=%d Dim=%d (%dx%d) labels=%v\n", s.Name, s.N, s.Dim, s.Rows, s.Cols, s.Labels)
	// Output:
	// example: N=3 Dim=20 (4x5) labels=[0 1 2]
}

func ExampleOpen() {
	// A folder holding the four files, as --data DIR names it.
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	writeIDX(filepath.Join(dir, "train-images-idx3-ubyte"), 6, 28, 28)
	writeIDX(filepath.Join(dir, "train-labels-idx1-ubyte"), 6)
	writeIDX(filepath.Join(dir, "t10k-images-idx3-ubyte"), 2, 28, 28)
	writeIDX(filepath.Join(dir, "t10k-labels-idx1-ubyte"), 2)

	opt := dataset.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)}
	train, test, _, err := dataset.Open(context.Background(), "mnist", opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: N=%d Dim=%d\n", train.Name, train.N, train.Dim)
	fmt.Printf("%s: N=%d Dim=%d\n", test.Name, test.N, test.Dim)
	// Output:
	// mnist/train: N=6 Dim=784
	// mnist/test: N=2 Dim=784
}
