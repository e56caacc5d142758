package vae_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// stripes is a toy data set of 4×4 images: one bright row each.
func stripes(n int) *dataset.Set {
	s := &dataset.Set{Name: "stripes", X: make([]float32, n*16), Labels: make([]uint8, n), N: n, Dim: 16, Rows: 4, Cols: 4}
	for i := range n {
		row := i % 4
		s.Labels[i] = uint8(row)
		for c := range 4 {
			s.X[i*16+row*4+c] = 1
		}
	}
	return s
}

func Example() {
	// The seed's network: input → hidden (ReLU) → z_mean, z_log_var → z → hidden → output.
	cfg := vae.Config{Input: 16, Hidden: []int{32}, Latent: 2}
	m, err := vae.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	train, test := stripes(400), stripes(40)
	opts := vae.TrainOptions{Epochs: 20, BatchSize: 20, Seed: 1}
	opts.Optim.LR = 0.01
	progress, err := m.Train(context.Background(), train, test, opts)
	if err != nil {
		log.Fatal(err)
	}
	first, last := progress.History[0].Test, progress.History[len(progress.History)-1].Test
	fmt.Println("epochs:", len(progress.History))
	fmt.Println("test loss fell by more than half:", last.Total < first.Total/2)

	// Latent means of four images, and the images decoded from them.
	mean, logVar, _ := m.Encode(test.X[:4*16])
	recon, _ := m.Decode(mean)
	fmt.Println("encoded:", len(mean), "means and", len(logVar), "log-variances; decoded:", len(recon), "pixels")
	// Output:
	// epochs: 20
	// test loss fell by more than half: true
	// encoded: 8 means and 8 log-variances; decoded: 64 pixels
}

func ExampleLoad() {
	m, _ := vae.New(vae.Config{Input: 16, Hidden: []int{8}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	path := filepath.Join(os.TempDir(), "example.safetensors")
	defer os.Remove(path)
	if err := vae.Save(path, m); err != nil {
		log.Fatal(err)
	}
	loaded, err := vae.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Config)
	// Output: 16-8-2
}

func ExampleModel_Sample() {
	m, _ := vae.New(vae.Config{Input: 16, Hidden: []int{8}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	images := m.Sample(3, rand.New(rand.NewPCG(3, 4)))
	fmt.Println(len(images), "pixels, all in (0, 1):", inUnit(images))
	// Output: 48 pixels, all in (0, 1): true
}

func inUnit(v []float32) bool {
	for _, x := range v {
		if x <= 0 || x >= 1 {
			return false
		}
	}
	return true
}

// How good a model is, in the field's unit: the importance-weighted test
// log-likelihood, beside the ELBO and the active units.
func ExampleModel_Evaluate() {
	m, _ := vae.New(vae.Config{Input: 16, Hidden: []int{32}, Latent: 3}, rand.New(rand.NewPCG(1, 2)))
	train, test := stripes(400), stripes(40)
	opts := vae.TrainOptions{Epochs: 20, BatchSize: 20, Seed: 1, Binarize: "dynamic"}
	opts.Optim.LR = 0.01
	if _, err := m.Train(context.Background(), train, nil, opts); err != nil {
		log.Fatal(err)
	}
	e, err := m.Evaluate(context.Background(), test.X, vae.NLLOptions{K: 1000, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("images:", e.N, "samples each:", e.K)
	fmt.Println("NLL below the negative ELBO:", e.NLL < e.Loss.Total)
	fmt.Println("latent units:", len(e.Variance), "active:", e.Active >= 1)

	// Per image, for anomaly detection: the negative ELBO of each.
	scores, _ := m.Scores(test.X[:2*16], rand.New(rand.NewPCG(1, 1)))
	fmt.Println("scores:", len(scores))
	// Output:
	// images: 40 samples each: 1000
	// NLL below the negative ELBO: true
	// latent units: 3 active: true
	// scores: 2
}

// A model of a table: its schema, inferred and fitted on the rows, turns
// records into inputs with missing values (NaN); the model fills them in.
func ExampleModel_Impute() {
	var csv strings.Builder
	csv.WriteString("height,weight,member\n")
	rng := rand.New(rand.NewPCG(1, 1))
	for range 2000 { // one cell in five missing, as in real tables
		u := rng.NormFloat64()
		cells := []string{fmt.Sprintf("%.1f", 170+10*u), fmt.Sprintf("%.1f", 70+8*u+rng.NormFloat64()), fmt.Sprint(u > 0)}
		for j := range cells {
			if rng.Float64() < 0.2 {
				cells[j] = ""
			}
		}
		csv.WriteString(strings.Join(cells, ",") + "\n")
	}
	r, err := table.NewReader(strings.NewReader(csv.String()), "people.csv", table.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rows, err := table.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	schema, err := table.Infer(rows, table.Hints{})
	if err != nil {
		log.Fatal(err)
	}
	if err := schema.Fit(rows); err != nil {
		log.Fatal(err)
	}
	x, err := schema.Encode(rows)
	if err != nil {
		log.Fatal(err)
	}
	set := &dataset.Set{Name: "people", X: x, N: len(rows.Records), Dim: schema.Width()}

	cfg := vae.Config{Input: schema.Width(), Hidden: []int{16}, Latent: 1, Parts: vae.TableParts(schema)}
	m, err := vae.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	m.Table = schema // saved with the model: vae score and impute read raw rows with it
	if _, err := m.Train(context.Background(), set, nil, vae.TrainOptions{Epochs: 300, Seed: 1}); err != nil {
		log.Fatal(err)
	}

	// A tall person whose weight and membership are missing.
	nan := float32(math.NaN())
	tall := []float32{(190 - float32(schema.Columns[0].Mean)) / float32(schema.Columns[0].Std), nan, nan}
	filled, err := m.Impute(tall, 50, rand.New(rand.NewPCG(1, 3)))
	if err != nil {
		log.Fatal(err)
	}
	cells, err := schema.Decode(nil, filled)
	if err != nil {
		log.Fatal(err)
	}
	weight, _ := strconv.ParseFloat(cells[1], 64)
	fmt.Println("height", cells[0], "weight above 80:", weight > 80, "member:", cells[2])
	// Output:
	// height 190 weight above 80: true member: true
}

// The README's library example: the PyTorch example's network on MNIST.
func Example_mnist() {
	ctx := context.Background()
	train, test, _, err := dataset.Open(ctx, "mnist", dataset.Options{}) // the third result says where the data came from
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := vae.New(vae.Config{Input: 784, Hidden: []int{400}, Latent: 20}, rng)
	if err != nil {
		log.Fatal(err)
	}
	progress, err := m.Train(ctx, train.Subset(6000), test, vae.TrainOptions{Epochs: 2, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs:", len(progress.History), "test loss below 200:", progress.History[1].Test.Total < 200)

	mean, logVar, _ := m.Encode(test.X)                           // [n, Latent] each
	images, _ := m.Decode(mean)                                   // means of p(x|z), [n, Input]
	recon, _ := m.Reconstruct(test.X)                             // the same, from x
	samples := m.Sample(64, rng)                                  // decoded draws from the prior
	scores, _ := m.Scores(test.X, rng)                            // one vae.Loss per image: Total, Recon, KL
	nll, _ := m.NLL(ctx, test.X[:10*784], vae.NLLOptions{K: 100}) // −log p(x) per image
	fmt.Println(len(mean), len(logVar), len(images), len(recon), len(samples), len(scores), len(nll))

	path := filepath.Join(os.TempDir(), "mnist-example.safetensors")
	defer os.Remove(path)
	if err := vae.Save(path, m); err != nil {
		log.Fatal(err)
	}
	if m, err = vae.Load(path); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Config)
	// Output:
	// epochs: 2 test loss below 200: true
	// 200000 200000 7840000 7840000 50176 10000 10
	// 784-400-20
}

// A convolutional, conditional VAE: the Keras example's network for 4×4
// images, given the class of each image (its bright row), trained on the
// stripes and then asked for each class from the same draws of z.
func ExampleModel_Given() {
	train := stripes(256)
	enc, dec, err := vae.ConvNetwork(1, 4, 4)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc, dec)
	cfg := vae.Config{Input: 16, Image: []int{1, 4, 4}, Latent: 2, Encoder: enc, Decoder: dec, Classes: 4}
	m, err := vae.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Train(context.Background(), train, nil, vae.TrainOptions{Epochs: 40, Seed: 1}); err != nil {
		log.Fatal(err)
	}
	if _, _, err := m.Encode(train.X[:16]); err != nil {
		fmt.Println(err) // a conditional model needs the classes of its rows
	}
	third, _ := m.Given(2)                              // every row of class 2
	img := third.Sample(1, rand.New(rand.NewPCG(3, 4))) // [1, 16]
	brightest := 0
	for i, v := range img {
		if v > img[brightest] {
			brightest = i
		}
	}
	fmt.Println("brightest pixel in row", brightest/4)
	each, _ := m.EachClass(make([]float32, 2*2)) // two draws of z, each decoded given every class
	fmt.Println(len(each) / 16)
	// Output:
	// [conv32s2 conv64s2 dense16] [dense64 reshape64x1x1 convT64s2 convT32s2 convT1]
	// encode: a conditional model needs the classes of its rows: call Given first
	// brightest pixel in row 2
	// 8
}
