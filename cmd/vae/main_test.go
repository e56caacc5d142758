package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/internal/ctxtest"
	"github.com/govae/vae/run"
)

// tinyData writes an MNIST-like folder of 8×8 images: 300 training and 100
// test examples of four noisy shapes, labelled by shape.
func tinyData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	write := func(name string, dims []int, data []byte) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := dataset.WriteIDX(f, &dataset.IDX{Dims: dims, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	for _, split := range []struct {
		prefix string
		n      int
	}{{"train", 300}, {"t10k", 100}} {
		images, labels := make([]byte, split.n*64), make([]byte, split.n)
		for i := range split.n {
			k := rng.IntN(4)
			labels[i] = byte(k)
			for p := range 64 {
				r, c := p/8, p%8
				on := [4]bool{r < 4, c < 4, r == c || r == 7-c, r%2 == 0}[k]
				v := 20 + rng.IntN(40)
				if on {
					v = 200 + rng.IntN(55)
				}
				images[i*64+p] = byte(v)
			}
		}
		write(split.prefix+"-images-idx3-ubyte", []int{split.n, 8, 8}, images)
		write(split.prefix+"-labels-idx1-ubyte", []int{split.n}, labels)
	}
	return dir
}

// buildVAE builds the vae binary into a folder of t's and returns its path,
// for the tests that signal or kill a real process.
func buildVAE(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vae")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestMain points the user's cache folder at a temporary one, so that no
// test leaves an NLL journal (or anything else) in the real one. Go's build
// cache, which the tests that build the command use, stays where it was.
func TestMain(m *testing.M) {
	if os.Getenv("GOCACHE") == "" {
		if base, err := os.UserCacheDir(); err == nil {
			os.Setenv("GOCACHE", filepath.Join(base, "go-build"))
		}
	}
	cache, err := os.MkdirTemp("", "vae-test-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

// readPNG decodes the PNG file at path, failing the test if it is not one.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	return img
}

// runVAE runs the command in-process and returns its exit status and output.
func runVAE(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = execute(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--no-such-flag"},
		{"train", "extra-arg"},
		{"eval"},
		{"sample", "a", "b"},
		{"train", "--epochs", "many"},
		{"no-such-command"},
	} {
		code, _, stderr := runVAE(context.Background(), args...)
		if code != 2 {
			t.Errorf("vae %v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
	}
}

func TestFailures(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  latnet: 3\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", filepath.Join(dir, "missing.safetensors")}, "missing.safetensors"},
		{[]string{"train", "--config", bad, "--out", filepath.Join(dir, "r")}, "latnet"},
		{[]string{"train", "--data-dir", dir, "--out", filepath.Join(dir, "r2")}, "train-images-idx3-ubyte"},
		{[]string{"train", "--latent", "0", "--data-dir", dir, "--out", filepath.Join(dir, "r3")}, "latent size 0"},
	} {
		code, _, stderr := runVAE(context.Background(), tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 1 || !strings.HasPrefix(last, "vae: ") || !strings.Contains(last, tc.want) {
			t.Errorf("vae %v: exit %d, last line %q; want 1 and a line naming %q", tc.args, code, last, tc.want)
		}
	}
}

func TestTrainInterruptResume(t *testing.T) {
	data := tinyData(t)
	dir := t.TempDir()
	common := []string{"--data-dir", data, "--hidden", "16", "--latent", "2", "--batch", "32", "--epochs", "3"}
	full, cut := filepath.Join(dir, "full"), filepath.Join(dir, "cut")

	if code, stdout, stderr := runVAE(context.Background(), append([]string{"train", "--out", full}, common...)...); code != 0 {
		t.Fatalf("train: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{run.ModelFile, run.CheckpointFile, run.MetricsFile, run.SpecFile,
		run.LatentPNG, run.ManifoldPNG, run.ReconstructionsPNG, run.SamplesPNG, run.LossPNG, run.KLPNG} {
		if _, err := os.Stat(filepath.Join(full, f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
	metrics, err := run.ReadMetrics(filepath.Join(full, run.MetricsFile))
	if err != nil || len(metrics) != 3 {
		t.Fatalf("metrics: %d epochs, err %v; want 3", len(metrics), err)
	}

	// Stop in the middle of epoch 2 (10 steps an epoch), then resume.
	code, _, stderr := runVAE(ctxtest.CancelAfter(15), append([]string{"train", "--out", cut}, common...)...)
	if code != 1 || !strings.Contains(stderr, "--resume "+cut) {
		t.Fatalf("interrupted train: exit %d, stderr %q; want 1 and a hint to resume", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cut, run.ModelFile)); err == nil {
		t.Error("interrupted run wrote the final model")
	}
	if code, stdout, stderr := runVAE(context.Background(), "eval", "--data-dir", data, cut); code != 0 || !strings.Contains(stderr, "checkpoint") {
		t.Errorf("eval of an unfinished run: exit %d, stdout %q, stderr %q; want its checkpoint evaluated", code, stdout, stderr)
	}
	if code, _, stderr := runVAE(context.Background(), "train", "--resume", cut, "--epochs", "3"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(full, run.ModelFile))
	b, _ := os.ReadFile(filepath.Join(cut, run.ModelFile))
	if !bytes.Equal(a, b) {
		t.Error("interrupted and resumed run gives a different model file than an uninterrupted run")
	}

	// The other commands on the trained model.
	model := filepath.Join(full, run.ModelFile)
	code, stdout, stderr := runVAE(context.Background(), "eval", "--data-dir", data, model)
	if code != 0 || !strings.Contains(stdout, "loss") || !strings.Contains(stdout, "KL") {
		t.Errorf("eval: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runVAE(context.Background(), "eval", "--nll", "--k", "50", "--json", "--data-dir", data, model)
	var ev struct {
		N, K        int
		NLL, NLL_SE float64
		ELBO        struct{ Loss float64 }
		Active      int `json:"active_units"`
	}
	if err := json.Unmarshal([]byte(stdout), &ev); code != 0 || err != nil || ev.N != 100 || ev.K != 50 ||
		!(ev.NLL > 0 && ev.NLL < ev.ELBO.Loss) || !(ev.NLL_SE > 0) || ev.Active < 1 {
		t.Errorf("eval --nll --json: exit %d, %+v (%v), stdout %q, stderr %q", code, ev, err, stdout, stderr)
	}
	// An interrupted estimate continues from its journal to the same figures.
	nll := []string{"eval", "--nll", "--k", "50", "--json", "--data-dir", data, model}
	if code, _, stderr := runVAE(ctxtest.CancelAfter(3), nll...); code != 1 || !strings.Contains(stderr, "kept in") {
		t.Errorf("interrupted eval --nll: exit %d, stderr %q; want 1 and the estimates kept", code, stderr)
	}
	if code, again, stderr := runVAE(context.Background(), nll...); code != 0 || again != stdout {
		t.Errorf("eval --nll after an interruption: exit %d, stdout %q, want %q (stderr %q)", code, again, stdout, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "cache", "vae", "nll", "*")); len(left) != 0 {
		t.Errorf("journals left: %v", left)
	}

	scores := filepath.Join(dir, "scores.csv")
	if code, _, stderr := runVAE(context.Background(), "score", "--k", "10", "--data-dir", data, "--out", scores, model); code != 0 {
		t.Errorf("score: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(scores); len(strings.Split(strings.TrimSpace(string(b)), "\n")) != 101 || !strings.HasPrefix(string(b), "index,label,loss,recon,kl,nll\n") {
		t.Errorf("score CSV: %.200q", b)
	}
	csvPath := filepath.Join(dir, "z.csv")
	if code, _, stderr := runVAE(context.Background(), "encode", "--data-dir", data, "--out", csvPath, model); code != 0 {
		t.Errorf("encode: exit %d: %s", code, stderr)
	}
	csv, _ := os.ReadFile(csvPath)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 101 || lines[0] != "index,label,z_mean_0,z_mean_1,z_log_var_0,z_log_var_1" {
		t.Errorf("encode CSV: %d lines, header %q", len(lines), lines[0])
	}
	for _, c := range [][]string{
		{"sample", "-n", "12", "--out", filepath.Join(dir, "s.png"), model},
		{"reconstruct", "--data-dir", data, "--out", filepath.Join(dir, "r.png"), model},
	} {
		if code, _, stderr := runVAE(context.Background(), c...); code != 0 {
			t.Errorf("%v: exit %d: %s", c, code, stderr)
		}
		readPNG(t, c[len(c)-2])
	}
	pics := filepath.Join(dir, "pics")
	if code, _, stderr := runVAE(context.Background(), "plot", "--data-dir", data, "--out", pics, full); code != 0 {
		t.Errorf("plot: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(pics, run.LossPNG)); err != nil {
		t.Error("plot of a run folder drew no loss curves")
	}
}

// vae plot --class decodes a conditional model's manifold given that class,
// and refuses a class the model does not have.
func TestPlotClass(t *testing.T) {
	data := tinyData(t)
	dir := t.TempDir()
	cond := filepath.Join(dir, "c")
	if code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--condition", "label", "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", cond); code != 0 {
		t.Fatalf("train --condition label: %s", stderr)
	}
	manifold := func(class string) image.Image {
		t.Helper()
		out := filepath.Join(dir, "class"+class)
		if code, _, stderr := runVAE(context.Background(), "plot", "--data-dir", data, "--class", class, "--out", out, cond); code != 0 {
			t.Fatalf("plot --class %s: exit %d: %s", class, code, stderr)
		}
		return readPNG(t, filepath.Join(out, run.ManifoldPNG))
	}
	// The titles differ; the grids below them must too.
	a, b := manifold("0"), manifold("3")
	r := a.Bounds()
	differ := 0
	for y := r.Min.Y + r.Dy()/5; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Error("plot --class 3 drew the same grid as class 0")
	}
	plain := filepath.Join(dir, "p")
	if code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", plain); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	for _, c := range []struct {
		class, model, want string
	}{
		{"4", cond, "classes 0 to 3"},
		{"-1", cond, "class -1"},
		{"1", plain, "without classes"},
	} {
		if code, _, stderr := runVAE(context.Background(), "plot", "--data-dir", data, "--class", c.class, "--out", filepath.Join(dir, "bad"), c.model); code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("plot --class %s: exit %d, stderr %q; want 1 and %q", c.class, code, stderr, c.want)
		}
	}
}

func TestConfigFile(t *testing.T) {
	data := tinyData(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte("model:\n  hidden: [10]\n  latent: 3\ntrain:\n  epochs: 1\n  batch_size: 50\n"), 0o644)
	out := filepath.Join(dir, "r")
	if code, _, stderr := runVAE(context.Background(), "train", "--config", cfg, "--data-dir", data, "--latent", "4", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	spec, err := run.LoadSpec(out)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Model.Hidden[0] != 10 || spec.Model.Latent != 4 || spec.Train.BatchSize != 50 || spec.Model.Input != 64 {
		t.Errorf("spec %+v: want hidden [10] from the file, latent 4 from the flag, batch 50, input 64 from the data", spec)
	}
}

// The options of the published recipes, from flags: they reach the spec and
// the run folder holds the best model of the validation set.
func TestRecipeFlags(t *testing.T) {
	data := tinyData(t)
	out := filepath.Join(t.TempDir(), "r")
	code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--out", out, "--hidden", "10,10", "--activation", "tanh,softplus",
		"--epochs", "3", "--batch", "20", "--binarize", "dynamic", "--schedule", "burda", "--validation", "50", "--patience", "5",
		"--likelihood", "bernoulli", "--objective", "iwae", "--samples", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	spec, err := run.LoadSpec(out)
	if err != nil {
		t.Fatal(err)
	}
	tr := spec.Train
	if a := spec.Model.Activations; len(a) != 2 || a[0] != "tanh" || a[1] != "softplus" {
		t.Errorf("activations %v, want [tanh softplus]", a)
	}
	if tr.Binarize != "dynamic" || tr.Schedule != "burda" || tr.Validation != 50 || tr.Patience != 5 || tr.Objective != "iwae" || tr.Samples != 3 {
		t.Errorf("train options %+v", tr)
	}
	if _, err := os.Stat(filepath.Join(out, run.BestFile)); err != nil {
		t.Errorf("no best model: %v", err)
	}
	if !strings.Contains(stderr, "active_units=") || !strings.Contains(stderr, "valid_loss=") {
		t.Errorf("epoch log lacks validation loss or active units:\n%s", stderr)
	}
	// A run folder is evaluated on its own protocol: here the binarised test set.
	code, stdout, stderr := runVAE(context.Background(), "eval", "--data-dir", data, out)
	if code != 0 || !strings.Contains(stdout, "/binarized") {
		t.Errorf("eval of the run folder: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := runVAE(context.Background(), "train", "--data-dir", data, "--out", out+"2", "--schedule", "step"); code != 1 || !strings.Contains(stderr, `"step"`) {
		t.Errorf("unknown schedule: exit %d, %s", code, stderr)
	}
	code, _, stderr = runVAE(context.Background(), "train", "--data-dir", data, "--out", out+"3", "--epochs", "2", "--beta", "0.5", "--warmup-epochs", "1")
	if spec, _ := run.LoadSpec(out + "3"); code != 0 || spec.Train.Beta != 0.5 || spec.Train.WarmupEpochs != 1 {
		t.Errorf("β and warm-up: exit %d, %s", code, stderr)
	}
}

// A real Ctrl-C: the built binary gets SIGINT mid-run, saves a checkpoint,
// exits non-zero, and resumes.
func TestSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildVAE(t)
	data := tinyData(t)
	out := filepath.Join(t.TempDir(), "r")
	cmd := exec.Command(bin, "train", "--data-dir", data, "--hidden", "64", "--batch", "4", "--epochs", "1000", "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(out, run.MetricsFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no epoch finished in 60 s: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("after SIGINT: %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "checkpoint saved") {
		t.Errorf("stderr does not say the checkpoint was saved:\n%s", stderr.String())
	}
	done, err := run.ReadMetrics(filepath.Join(out, run.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	resume := exec.Command(bin, "train", "--resume", out, "--epochs", strconv.Itoa(len(done)+1))
	if b, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(out, run.ModelFile)); err != nil {
		t.Error("resumed run wrote no model")
	}
}

// PyTorch loads a model file through scripts/torch_vae.py and encodes the
// test images to the same latent means as `vae encode`, for a dense and a
// convolutional network.
func TestPyTorchLoadsModel(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("skipped: %s cannot import torch (apt-get install python3-torch)", python)
	}
	data := tinyData(t)
	for _, network := range [][]string{
		{"--hidden", "16,8", "--activation", "tanh"},
		{"--encoder", "conv4s2,conv8k5s2p2,dense8", "--decoder", "dense32,reshape8x2x2,convT4s2,convT1k4s2p1"},
	} {
		dir := t.TempDir()
		out := filepath.Join(dir, "r")
		args := append([]string{"train", "--data-dir", data, "--latent", "3", "--epochs", "2", "--out", out}, network...)
		if code, _, stderr := runVAE(context.Background(), args...); code != 0 {
			t.Fatalf("train %v: %s", network, stderr)
		}
		model, csvPath := filepath.Join(out, run.ModelFile), filepath.Join(dir, "z.csv")
		if code, _, stderr := runVAE(context.Background(), "encode", "--data-dir", data, "--out", csvPath, model); code != 0 {
			t.Fatalf("encode: %s", stderr)
		}
		b, err := exec.Command(python, "../../scripts/torch_vae.py", model, "--data", data, "--check", csvPath).CombinedOutput()
		if err != nil {
			t.Fatalf("torch_vae.py, %v: %v\n%s", network, err, b)
		}
		if !strings.Contains(string(b), "max |Go − PyTorch|") {
			t.Errorf("torch_vae.py printed no comparison:\n%s", b)
		}
		t.Logf("%v:\n%s", network, b)
	}
}
