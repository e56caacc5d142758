package plot_test

import (
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/govae/vae/plot"
)

func ExampleImageGrid() {
	dir, err := os.MkdirTemp("", "plot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Six 28×28 images: a dark-to-light ramp, one level per image.
	var images [][]float32
	for k := range 6 {
		im := make([]float32, 28*28)
		for i := range im {
			im[i] = float32(k) / 5
		}
		images = append(images, im)
	}
	path := filepath.Join(dir, "grid.png")
	if err := plot.ImageGrid(path, images, 28, 28, 3, plot.GridOptions{Scale: 2, Border: 2}); err != nil {
		log.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds()) // 2 + 3×(56+2) by 2 + 2×(56+2)
	// Output: (0,0)-(176,118)
}

func ExampleGrid_rgb() {
	// Two 2×2 colour images, channels first: the red plane, then the green,
	// then the blue, each row by row. The first has red and green on top,
	// blue and white below; the second is the first with its colours
	// inverted.
	a := []float32{
		1, 0, 0, 1, // red
		0, 1, 0, 1, // green
		0, 0, 1, 1, // blue
	}
	b := make([]float32, len(a))
	for i, v := range a {
		b[i] = 1 - v
	}
	img, err := plot.Grid([][]float32{a, b}, 2, 2, 2, plot.GridOptions{Scale: 1, Border: 1, Channels: 3})
	if err != nil {
		log.Fatal(err)
	}
	rgb := img.(*image.RGBA)
	fmt.Println(rgb.Bounds())               // 1 + 2×(2+1) by 1 + 1×(2+1)
	fmt.Println(rgb.At(0, 0), rgb.At(1, 1)) // border, then a's red pixel
	fmt.Println(rgb.At(2, 2), rgb.At(4, 1)) // a's white pixel, b's cyan one
	// Output:
	// (0,0)-(7,4)
	// {128 128 128 255} {255 0 0 255}
	// {255 255 255 255} {0 255 255 255}
}
