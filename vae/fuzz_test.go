package vae

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/govae/vae/safetensors"
)

// FuzzDecode feeds arbitrary bytes to the model-file decoder: it must return
// a model or an error, never panic, and a model it returns must work.
func FuzzDecode(f *testing.F) {
	m, _ := New(Config{Input: 4, Hidden: []int{3}, Latent: 2}, rand.New(rand.NewPCG(1, 1)))
	var buf bytes.Buffer
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	meta := map[string]string{metaFormat: "govae", metaVersion: "1", metaConfig: mustJSON(m.Config)}
	safetensors.Write(io.Writer(&buf), ts, meta)
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:40])
	meta[metaConfig] = `{"input":4,"hidden":[3],"latent":-2}`
	buf.Reset()
	safetensors.Write(&buf, ts, meta)
	f.Add(buf.Bytes())
	meta[metaConfig] = `{"input":100000000,"hidden":[100000000],"latent":2}`
	buf.Reset()
	safetensors.Write(&buf, nil, meta)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := decode("fuzz", data)
		if err != nil {
			return
		}
		if _, _, err := m.Encode(make([]float32, m.Config.Input)); err != nil {
			t.Fatalf("decoded model cannot encode: %v", err)
		}
	})
}
