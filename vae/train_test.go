package vae

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/govae/vae/nn"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/internal/ctxtest"
	"github.com/govae/vae/optim"
	"github.com/govae/vae/safetensors"
)

// blobs returns a small data set of n examples of dim features in [0, 1]:
// noisy copies of four prototypes (the same for every seed), labelled by
// prototype.
func blobs(n, dim int, seed uint64) *dataset.Set {
	rng := rand.New(rand.NewPCG(0, 0))
	protos := make([][]float32, 4)
	for k := range protos {
		protos[k] = make([]float32, dim)
		for j := range protos[k] {
			if rng.IntN(2) == 0 {
				protos[k][j] = 0.9
			} else {
				protos[k][j] = 0.1
			}
		}
	}
	rng = rand.New(rand.NewPCG(seed, 0))
	s := &dataset.Set{Name: "blobs", X: make([]float32, n*dim), Labels: make([]uint8, n), N: n, Dim: dim}
	for i := range n {
		k := rng.IntN(4)
		s.Labels[i] = uint8(k)
		for j := range dim {
			s.X[i*dim+j] = min(1, max(0, protos[k][j]+float32(rng.NormFloat64()*0.05)))
		}
	}
	return s
}

func trainTiny(t *testing.T, epochs int, ctx context.Context, resume *Progress, m *Model) (*Model, *Progress, error) {
	t.Helper()
	if m == nil {
		var err error
		m, err = New(Config{Input: 16, Hidden: []int{12}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
		if err != nil {
			t.Fatal(err)
		}
	}
	opts := TrainOptions{Epochs: epochs, BatchSize: 10, Seed: 3}
	opts.Optim.LR = 1e-2
	opts.Resume = resume
	p, err := m.Train(ctx, blobs(95, 16, 1), blobs(40, 16, 2), opts)
	return m, p, err
}

func weights(m *Model) []float32 {
	var w []float32
	for _, p := range m.Params() {
		w = append(w, p.Value...)
	}
	return w
}

func TestTrainLowersLoss(t *testing.T) {
	_, p, err := trainTiny(t, 30, context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.History) != 30 {
		t.Fatalf("history has %d epochs, want 30", len(p.History))
	}
	first, last := p.History[0], p.History[29]
	if last.Test.Total >= 0.9*first.Test.Total {
		t.Errorf("test loss went from %.3f to %.3f; want a drop of more than 10%%", first.Test.Total, last.Test.Total)
	}
	for _, s := range p.History {
		if s.SamplesPerSec <= 0 || s.Seconds <= 0 || s.LR != 1e-2 {
			t.Errorf("epoch %d: implausible stats %+v", s.Epoch, s)
		}
	}
}

func TestTrainDeterministic(t *testing.T) {
	a, _, err := trainTiny(t, 2, context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := trainTiny(t, 2, context.Background(), nil, nil)
	if !slices.Equal(weights(a), weights(b)) {
		t.Fatal("two runs with the same seed gave different weights")
	}
}

// trainBlobs trains a small model on n blobs, tests it on n/5 others, and
// returns its weights and progress.
func trainBlobs(t *testing.T, opts TrainOptions, n int) ([]float32, *Progress) {
	t.Helper()
	m, _ := New(Config{Input: 16, Hidden: []int{12}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
	p, err := m.Train(context.Background(), blobs(n, 16, 1), blobs(n/5, 16, 2), opts)
	if err != nil {
		t.Fatal(err)
	}
	return weights(m), p
}

// With a batch cut into shards, one per thread, training is still
// reproducible, and it learns as the one-shard step does.
func TestTrainShardedDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	const bs = 96
	if s := shards(bs, 1); s != 3 {
		t.Fatalf("shards(%d) = %d at GOMAXPROCS 3, want 3", bs, s)
	}
	opts := TrainOptions{Epochs: 20, BatchSize: bs, Seed: 3, Optim: optim.Config{LR: 1e-2}}
	a, p := trainBlobs(t, opts, 500)
	b, _ := trainBlobs(t, opts, 500)
	if !slices.Equal(a, b) {
		t.Fatal("two sharded runs with the same seed gave different weights")
	}
	if first, last := p.History[0].Test.Total, p.History[19].Test.Total; last >= 0.9*first {
		t.Errorf("test loss went from %.3f to %.3f; want a drop of more than 10%%", first, last)
	}
}

// Interrupting mid-epoch, saving, loading and resuming gives the same
// weights and history as an uninterrupted run.
func TestResumeBitIdentical(t *testing.T) {
	want, wantP, err := trainTiny(t, 3, context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stopAt := range []int{0, 7, 10, 23} { // 10 steps an epoch: mid-epoch and on the edge
		m, p, err := trainTiny(t, 3, ctxtest.CancelAfter(stopAt), nil, nil)
		if !errors.Is(err, context.Canceled) || p == nil {
			t.Fatalf("stop at %d: err = %v, progress %v; want context.Canceled and progress", stopAt, err, p)
		}
		path := filepath.Join(t.TempDir(), "ckpt.safetensors")
		if err := SaveCheckpoint(path, m, p, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		m2, p2, _, err := LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		got, gotP, err := trainTiny(t, 3, context.Background(), p2, m2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(weights(got), weights(want)) {
			t.Errorf("stop at step %d: resumed weights differ from an uninterrupted run", stopAt)
		}
		for i := range wantP.History {
			if gotP.History[i].Train != wantP.History[i].Train || *gotP.History[i].Test != *wantP.History[i].Test {
				t.Errorf("stop at step %d, epoch %d: resumed %+v, uninterrupted %+v", stopAt, i+1, gotP.History[i], wantP.History[i])
			}
		}
	}
}

// Dynamic binarisation and KL warm-up draw from and depend on the progress
// only: a run interrupted and resumed ends bit-identical, and β climbs to
// its value over the warm-up epochs.
func TestBinarizeWarmupResume(t *testing.T) {
	opts := TrainOptions{Epochs: 3, BatchSize: 16, Seed: 5, Binarize: "dynamic", Beta: 2, WarmupEpochs: 2}
	run := func(ctx context.Context, m *Model, resume *Progress) (*Model, *Progress, error) {
		if m == nil {
			m, _ = New(Config{Input: 16, Hidden: []int{12}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
		}
		o := opts
		o.Resume = resume
		p, err := m.Train(ctx, blobs(100, 16, 1), blobs(40, 16, 2), o)
		return m, p, err
	}
	want, wantP, err := run(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := []float64{wantP.History[0].Beta, wantP.History[1].Beta, wantP.History[2].Beta}; b[0] != 1 || b[1] != 2 || b[2] != 2 {
		t.Errorf("β after each epoch %v, want [1 2 2]", b)
	}
	m, p, err := run(ctxtest.CancelAfter(9), nil, nil) // mid-epoch 2
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := SaveCheckpoint(path, m, p, opts); err != nil {
		t.Fatal(err)
	}
	m2, p2, _, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := run(context.Background(), m2, p2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(weights(got), weights(want)) {
		t.Error("resumed weights differ from an uninterrupted run")
	}
	grey, _, _ := trainTiny(t, 3, context.Background(), nil, nil)
	if slices.Equal(weights(grey), weights(want)) {
		t.Error("binarised training gave the same weights as grayscale")
	}
	for _, bad := range []TrainOptions{{Binarize: "static"}, {Beta: -1}, {Beta: math.NaN()}, {WarmupEpochs: -2}} {
		if _, err := want.Train(context.Background(), blobs(10, 16, 1), nil, bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

// The schedule sets each epoch's rate; validation picks the best epoch and,
// with patience, stops training once it has not improved for that long;
// every epoch reports the KL of each latent dimension.
func TestScheduleValidationEarlyStopping(t *testing.T) {
	m, _ := New(Config{Input: 16, Hidden: []int{12}, Latent: 3}, rand.New(rand.NewPCG(1, 0)))
	opts := TrainOptions{Epochs: 5, BatchSize: 10, Seed: 3, Optim: optim.Config{LR: 1e-2}, Schedule: optim.Burda, Validation: 20}
	p, err := m.Train(context.Background(), blobs(100, 16, 1), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1e-2, 1e-2 * math.Pow(10, -1.0/7), 1e-2 * math.Pow(10, -1.0/7), 1e-2 * math.Pow(10, -1.0/7), 1e-2 * math.Pow(10, -2.0/7)} {
		if s := p.History[i]; s.LR != want || s.Valid == nil || s.Test != nil || len(s.KLPerDim) != 3 {
			t.Errorf("epoch %d: lr %v (want %v), valid %v, test %v, KL per dim %v", i+1, s.LR, want, s.Valid, s.Test, s.KLPerDim)
		}
		if s := p.History[i]; math.Abs(s.KLPerDim[0]+s.KLPerDim[1]+s.KLPerDim[2]-s.Valid.KL) > 1e-3*s.Valid.KL {
			t.Errorf("epoch %d: KL per dimension %v does not add up to %v", i+1, s.KLPerDim, s.Valid.KL)
		}
	}
	// A rate too small to learn leaves the validation loss to the noise:
	// patience must end it.
	opts = TrainOptions{Epochs: 200, BatchSize: 10, Seed: 3, Optim: optim.Config{LR: 1e-12}, Validation: 20, Patience: 3}
	p, err = m.Train(context.Background(), blobs(100, 16, 1), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Stopped || len(p.History) != p.Best+3 {
		t.Fatalf("stopped %v after %d epochs, best %d; want a stop 3 epochs after the best", p.Stopped, len(p.History), p.Best)
	}
	for _, s := range p.History {
		if s.Valid.Total < p.History[p.Best-1].Valid.Total {
			t.Errorf("epoch %d has validation loss %v below the best epoch %d's %v", s.Epoch, s.Valid.Total, p.Best, p.History[p.Best-1].Valid.Total)
		}
	}
	p, err = m.Train(context.Background(), blobs(100, 16, 1), nil, TrainOptions{})
	if err != nil || p.History[0].LR != 1e-3 {
		t.Errorf("default options: lr %v, err %v; want Adam's default 1e-3", p.History[0].LR, err)
	}
	if _, err := m.Train(context.Background(), blobs(100, 16, 1), nil, TrainOptions{Patience: 2}); err == nil {
		t.Error("patience without validation accepted")
	}
}

// Training on the importance-weighted bound, and on the ELBO of several
// draws, learns, also with the batch cut into shards, reproducibly.
func TestIWAETrains(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, opts := range []TrainOptions{
		{Objective: "iwae", Samples: 5},
		{Objective: "elbo", Samples: 3},
	} {
		opts.Epochs, opts.BatchSize, opts.Seed, opts.Optim = 15, 32, 3, optim.Config{LR: 1e-2}
		if s := shards(32, opts.Samples); s != 2 {
			t.Fatalf("shards(32, %d) = %d at GOMAXPROCS 2, want 2", opts.Samples, s)
		}
		a, p := trainBlobs(t, opts, 200)
		b, _ := trainBlobs(t, opts, 200)
		if !slices.Equal(a, b) {
			t.Errorf("%s k=%d: two runs gave different weights", opts.Objective, opts.Samples)
		}
		if first, last := p.History[0].Test.Total, p.History[14].Test.Total; last >= 0.95*first {
			t.Errorf("%s k=%d: test loss went from %.3f to %.3f", opts.Objective, opts.Samples, first, last)
		}
	}
	m, _ := New(Config{Input: 16, Hidden: []int{12}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
	for _, bad := range []TrainOptions{{Objective: "iwae", Beta: 2}, {Objective: "iwae", WarmupEpochs: 1}, {Objective: "vi"}, {Samples: -1}} {
		if _, err := m.Train(context.Background(), blobs(10, 16, 1), nil, bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

func TestTrainNotFinite(t *testing.T) {
	m, _ := New(Config{Input: 16, Hidden: []int{12}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
	outputLayer(m).W.Value[3] = float32(posInf())
	_, err := m.Train(context.Background(), blobs(20, 16, 1), nil, TrainOptions{BatchSize: 10})
	if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), "epoch 1, step 1") {
		t.Fatalf("err = %v, want ErrNotFinite naming epoch 1, step 1", err)
	}
}

func posInf() float64 { return 1 / zero }

var zero float64

func TestTrainBadInput(t *testing.T) {
	m, _ := New(Config{Input: 16, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
	for _, tc := range []struct {
		train *dataset.Set
		opts  TrainOptions
		want  string
	}{
		{blobs(10, 8, 1), TrainOptions{}, "8 features"},
		{nil, TrainOptions{}, "empty"},
		{blobs(10, 16, 1), TrainOptions{BatchSize: -1}, "batch size -1"},
		{blobs(10, 16, 1), TrainOptions{Optimizer: "adagrad"}, "adagrad"},
	} {
		_, err := m.Train(context.Background(), tc.train, nil, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want one containing %q", err, tc.want)
		}
	}
}

func TestSaveLoadIdentical(t *testing.T) {
	m, _, err := trainTiny(t, 1, context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	x := blobs(7, 16, 9).X
	r1, _ := m.Reconstruct(x)
	r2, _ := m2.Reconstruct(x)
	if !slices.Equal(r1, r2) {
		t.Error("loaded model reconstructs differently")
	}
	if l1, l2 := mustLoss(t, m, x), mustLoss(t, m2, x); l1 != l2 {
		t.Errorf("loss %v before save, %v after load", l1, l2)
	}
	if _, _, _, err := LoadCheckpoint(path); err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Errorf("LoadCheckpoint of a plain model: err = %v", err)
	}
}

// A Gaussian model with a learned variance trains (the variance too), and
// its file, of format version 2, loads back to the same model.
func TestGaussianTrainSaveLoad(t *testing.T) {
	m, err := New(Config{Input: 16, Hidden: []int{12}, Latent: 2, Likelihood: Gaussian}, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	opts := TrainOptions{Epochs: 20, BatchSize: 10, Seed: 3, Optim: optim.Config{LR: 1e-2}}
	p, err := m.Train(context.Background(), blobs(95, 16, 1), blobs(40, 16, 2), opts)
	if err != nil {
		t.Fatal(err)
	}
	if first, last := p.History[0].Test.Total, p.History[19].Test.Total; last >= first-1 {
		t.Errorf("test loss went from %.3f to %.3f; want a drop of more than a nat", first, last)
	}
	if lv := m.OutputLogVar.Value; lv[0] >= -0.5 {
		t.Errorf("learned log-variance %v: want it well below its start at 0 for data of spread ~0.1", lv[:4])
	}
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	if f := readMeta(t, path); f != "2" {
		t.Errorf("format_version %q, want 2", f)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	x := blobs(7, 16, 9).X
	if l1, l2 := mustLoss(t, m, x), mustLoss(t, m2, x); l1 != l2 || m2.Config.Likelihood != Gaussian {
		t.Errorf("loss %v before save, %v after load (config %+v)", l1, l2, m2.Config)
	}
	d1, _ := m.Decode([]float32{0.5, -1})
	d2, _ := m2.Decode([]float32{0.5, -1})
	if !slices.Equal(d1, d2) {
		t.Error("loaded model decodes differently")
	}
}

func readMeta(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := safetensors.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return st.Metadata["format_version"]
}

func mustLoss(t *testing.T, m *Model, x []float32) Loss {
	l, err := m.Loss(x, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoadBadFiles(t *testing.T) {
	m, _ := New(Config{Input: 6, Hidden: []int{4}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, m); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	// Another model's file under the first one's config: shapes mismatch.
	other, _ := New(Config{Input: 6, Hidden: []int{5}, Latent: 2}, rand.New(rand.NewPCG(1, 0)))
	otherPath := filepath.Join(dir, "other.safetensors")
	Save(otherPath, other)
	swapped := strings.Replace(string(mustRead(otherPath)), `\"hidden\":[5]`, `\"hidden\":[4]`, 1)
	// A model whose weights went NaN or infinite, saved as it was.
	nonFinite := func(name string, v float32) string {
		bad, _ := New(m.Config, rand.New(rand.NewPCG(1, 0)))
		bad.ZMean.W.Value[3] = v
		p := filepath.Join(dir, name)
		if err := Save(p, bad); err != nil {
			t.Fatal(err)
		}
		return p
	}

	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.safetensors"), "no such file"},
		{"truncated", write("trunc.safetensors", data[:len(data)-10]), "trunc.safetensors"},
		{"header cut", write("cut.safetensors", data[:20]), "cut.safetensors"},
		{"not safetensors", write("junk.safetensors", []byte("hello, world, this is not a model")), "junk.safetensors"},
		{"shape mismatch", write("swapped.safetensors", []byte(swapped)), "shape"},
		{"NaN weight", nonFinite("nan.safetensors", float32(math.NaN())), `"z_mean.weight" holds NaN at index 3`},
		{"infinite weight", nonFinite("inf.safetensors", float32(math.Inf(-1))), `"z_mean.weight" holds -Inf at index 3`},
		{"newer version", write("v9.safetensors", []byte(strings.Replace(string(data), `"format_version":"1"`, `"format_version":"9"`, 1))), "format version"},
	} {
		_, err := Load(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

// A fresh model's first Train starts a learned variance at the data's, per
// input (at least minStartVariance), before its first step; a loaded model,
// a second Train and a fixed σ keep theirs.
func TestTrainStartsVariance(t *testing.T) {
	set := blobs(50, 16, 1)
	for j := range 50 { // input 3 constant: the floor
		set.X[j*16+3] = 0.25
	}
	var want [16]float64
	for j := range 16 {
		var s, sq float64
		for i := range 50 {
			v := float64(set.X[i*16+j])
			s, sq = s+v, sq+v*v
		}
		want[j] = math.Log(max(sq/50-s*s/2500, minStartVariance))
	}
	opts := TrainOptions{Epochs: 1, BatchSize: 50, Optimizer: "sgd", Optim: optim.Config{LR: 1e-9}}
	m, _ := New(Config{Input: 16, Hidden: []int{8}, Latent: 2, Likelihood: Gaussian}, rand.New(rand.NewPCG(1, 0)))
	if _, err := m.Train(t.Context(), set, nil, opts); err != nil {
		t.Fatal(err)
	}
	for j, lv := range m.OutputLogVar.Value {
		if math.Abs(float64(lv)-want[j]) > 1e-5 {
			t.Fatalf("input %d: log-variance %v after one tiny step, want the data's %v", j, lv, want[j])
		}
	}
	copy(m.OutputLogVar.Value, make([]float32, 16))
	if _, err := m.Train(t.Context(), set, nil, opts); err != nil {
		t.Fatal(err)
	}
	if lv := m.OutputLogVar.Value[0]; math.Abs(float64(lv)) > 1e-6 {
		t.Errorf("second Train moved the log-variance to %v, want it left at 0", lv)
	}
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loaded.Train(t.Context(), set, nil, opts); err != nil {
		t.Fatal(err)
	}
	if lv := loaded.OutputLogVar.Value[0]; math.Abs(float64(lv)) > 1e-6 {
		t.Errorf("Train of a loaded model moved the log-variance to %v, want it left at 0", lv)
	}
}

// outputLayer returns the dense output layer of m.
func outputLayer(m *Model) *nn.Dense { return m.Decoder[len(m.Decoder)-1].(*nn.Dense) }
