package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/server"
	"github.com/govae/vae/vae"
)

// A server for a model, asked to decode a latent point and then given a
// request it refuses.
func ExampleNew() {
	m, err := vae.New(vae.Config{Input: 4, Hidden: []int{8}, Latent: 2, Init: nn.InitPyTorch}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	h, err := server.New(server.Options{Model: m})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(h) // or server.ListenAndServe(ctx, "127.0.0.1:8080", h, 30*time.Second, nil)
	defer ts.Close()

	for _, body := range []string{
		`{"latents": [[0, 0]]}`,
		`{"latents": [[0, NaN]]}`,
	} {
		resp, err := http.Post(ts.URL+"/v1/decode", "application/json", strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Print(resp.StatusCode, " ", string(b))
			continue
		}
		var out struct{ Outputs [][]float32 }
		if err := json.Unmarshal(b, &out); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d %.2f\n", resp.StatusCode, out.Outputs)
	}
	// Output:
	// 200 [[0.44 0.49 0.52 0.56]]
	// 400 {"error":"latents[0][1]: got NaN (not JSON), want a number in [-1000, 1000]","field":"latents[0][1]"}
}
