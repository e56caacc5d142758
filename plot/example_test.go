package plot_test

import (
	"fmt"
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
