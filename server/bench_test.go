package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/server"
	"github.com/govae/vae/vae"
)

var loadClients = flag.Int("clients", 16, "concurrent clients of BenchmarkLoad")

// BenchmarkLoad is the load test: -clients concurrent clients (16 by
// default) send requests over loopback to a server of the default network
// (784-512-2, random weights: the cost of a trained one) for the benchmark
// time. Besides ns/op it reports requests per second, the 50th and 99th
// percentile latency seen by the clients, and the largest Go heap (server
// and clients together) sampled every 20 ms.
//
//	go test ./server -run XXX -bench Load -benchtime 3s
func BenchmarkLoad(b *testing.B) {
	m, err := vae.New(vae.Config{Input: 784, Hidden: []int{512}, Latent: 2, Init: nn.InitGlorot}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	h, err := server.New(server.Options{Model: m})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *loadClients, MaxConnsPerHost: *loadClients}}

	rng := rand.New(rand.NewPCG(5, 6))
	matrix := func(n, cols int, scale float32) [][]float32 {
		x := make([][]float32, n)
		for i := range x {
			x[i] = make([]float32, cols)
			for j := range x[i] {
				x[i][j] = scale * rng.Float32()
			}
		}
		return x
	}
	body := func(v any) []byte {
		b, _ := json.Marshal(v)
		return b
	}
	for _, c := range []struct {
		name, path string
		body       []byte
	}{
		{"encode/batch=1", "/v1/encode", body(map[string]any{"inputs": matrix(1, 784, 1)})},
		{"encode/batch=64", "/v1/encode", body(map[string]any{"inputs": matrix(64, 784, 1)})},
		{"decode/batch=1", "/v1/decode", body(map[string]any{"latents": matrix(1, 2, 3)})},
		{"decode/batch=64", "/v1/decode", body(map[string]any{"latents": matrix(64, 2, 3)})},
	} {
		b.Run(c.name, func(b *testing.B) {
			var mu sync.Mutex
			var latencies []time.Duration
			stop := make(chan struct{})
			peak := make(chan uint64)
			go func() {
				var ms runtime.MemStats
				var most uint64
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					runtime.ReadMemStats(&ms)
					most = max(most, ms.HeapAlloc)
					select {
					case <-stop:
						peak <- most
						return
					case <-tick.C:
					}
				}
			}()
			b.SetParallelism(max(1, *loadClients/runtime.GOMAXPROCS(0)))
			b.SetBytes(int64(len(c.body)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					resp, err := client.Post(ts.URL+c.path, "application/json", bytes.NewReader(c.body))
					if err != nil {
						b.Error(err)
						return
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						b.Errorf("status %d, %v", resp.StatusCode, err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			close(stop)
			heap := <-peak
			if len(latencies) == 0 {
				return
			}
			slices.Sort(latencies)
			q := func(f float64) float64 {
				return float64(latencies[min(len(latencies)-1, int(f*float64(len(latencies))))]) / 1e6
			}
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}
