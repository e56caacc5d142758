package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/govae/vae/safetensors"
)

func Example() {
	var buf bytes.Buffer // or an *os.File
	tensors := []safetensors.Tensor{
		{Name: "encoder.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "encoder.bias", Shape: []int{2}, Data: []float32{0.5, -0.5}},
	}
	if err := safetensors.Write(&buf, tensors, map[string]string{"epoch": "10"}); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Read(&buf)
	if err != nil {
		log.Fatal(err)
	}
	w, err := f.Get("encoder.weight", 2, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w, f.Metadata["epoch"])
	_, err = f.Get("encoder.bias", 3)
	fmt.Println(err)
	// Output:
	// [1 2 3 4 5 6] 10
	// safetensors: tensor encoder.bias: shape [2], want [3]
}
