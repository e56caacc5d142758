package plot

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteSamples writes one picture of each kind from synthetic data into
// the folder named by VAE_PLOT_SAMPLES, for a person to look at. Without the
// variable it is skipped.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("VAE_PLOT_SAMPLES")
	if dir == "" {
		t.Skip("set VAE_PLOT_SAMPLES to a folder to write sample pictures")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))

	// Ten Gaussian blobs around a circle, as a trained 2-D VAE's codes look.
	const n = 10000
	z := make([]float32, 2*n)
	labels := make([]uint8, n)
	for i := range n {
		k := rng.IntN(10)
		cx, cy := classCentre(k)
		labels[i] = uint8(k)
		z[2*i] = float32(cx + 0.55*rng.NormFloat64())
		z[2*i+1] = float32(cy + 0.4*rng.NormFloat64())
	}
	if err := LatentScatter(filepath.Join(dir, "scatter.png"), z, labels, ScatterOptions{
		Title: "Latent codes of the test set",
	}); err != nil {
		t.Fatal(err)
	}
	// Sixty thousand codes, as many as MNIST's training set.
	big := make([]float32, 0, 12*n)
	bigLabels := make([]uint8, 0, 6*n)
	for range 6 {
		big = append(big, z...)
		bigLabels = append(bigLabels, labels...)
	}
	for i := range big {
		big[i] += float32(0.3 * rng.NormFloat64())
	}
	if err := LatentScatter(filepath.Join(dir, "scatter-60k.png"), big, bigLabels, ScatterOptions{
		Title: "60,000 codes",
	}); err != nil {
		t.Fatal(err)
	}
	if err := LatentScatter(filepath.Join(dir, "scatter-small.png"), z[:600], labels[:300], ScatterOptions{
		Title: "300 codes, 480×400", Width: 480, Height: 400,
	}); err != nil {
		t.Fatal(err)
	}
	if err := LatentScatter(filepath.Join(dir, "scatter-big.png"), z, labels, ScatterOptions{
		Title: "Latent codes, 1600×1600", Width: 1600, Height: 1600,
	}); err != nil {
		t.Fatal(err)
	}

	// Seven-segment "digits" with a little jitter, and blurred copies as
	// reconstructions.
	var digits, blurred [][]float32
	for i := range 30 {
		d := segmentDigit(i%10, rng.Float64()-0.5, rng.Float64()-0.5, 0.15*(rng.Float64()-0.5))
		digits = append(digits, d)
		blurred = append(blurred, blur(d))
	}
	if err := ImageGrid(filepath.Join(dir, "grid.png"), digits, 28, 28, 10, GridOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Reconstructions(filepath.Join(dir, "recons.png"), digits[:20], blurred[:20], 28, 28, 10, GridOptions{}); err != nil {
		t.Fatal(err)
	}

	// A manifold: each grid point decodes to a softly weighted mix of the
	// digits whose blobs are near.
	const side = 20
	xs, ys := linspace(-4, 4, side), linspace(4, -4, side)
	var templ [][]float32
	for k := range 10 {
		templ = append(templ, segmentDigit(k, 0, 0, 0))
	}
	var tiles [][]float32
	for _, y := range ys {
		for _, x := range xs {
			tiles = append(tiles, mixDigits(templ, x, y))
		}
	}
	if err := Manifold(filepath.Join(dir, "manifold.png"), tiles, 28, 28, xs, ys, ManifoldOptions{
		Title: "Decoded digits over the latent space",
	}); err != nil {
		t.Fatal(err)
	}
	xs15, ys15 := linspace(-3, 3, 15), linspace(3, -3, 15)
	tiles = tiles[:0]
	for _, y := range ys15 {
		for _, x := range xs15 {
			tiles = append(tiles, mixDigits(templ, x, y))
		}
	}
	if err := Manifold(filepath.Join(dir, "manifold15.png"), tiles, 28, 28, xs15, ys15, ManifoldOptions{}); err != nil {
		t.Fatal(err)
	}

	// Loss curves that look like a VAE's: falling recon, rising then flat KL.
	var ep, train, test, recon, kl []float64
	for e := 1; e <= 30; e++ {
		x := float64(e)
		r := 95 + 60*math.Exp(-x/4) + rng.NormFloat64()
		k := 25 - 8*math.Exp(-x/3)
		ep = append(ep, x)
		recon, kl = append(recon, r), append(kl, k)
		train = append(train, r+k)
		test = append(test, r+k+1.5+0.5*rng.NormFloat64())
	}
	if err := LossCurves(filepath.Join(dir, "loss.png"), []Series{
		{Name: "train loss", X: ep, Y: train},
		{Name: "test loss", X: ep, Y: test},
		{Name: "reconstruction", X: ep, Y: recon},
		{Name: "KL", X: ep, Y: kl},
	}, ChartOptions{Title: "Training"}); err != nil {
		t.Fatal(err)
	}
	if err := LossCurves(filepath.Join(dir, "loss-short.png"), []Series{
		{Name: "train", X: ep[:3], Y: train[:3]},
		{Name: "test", X: ep[:3], Y: test[:3]},
	}, ChartOptions{}); err != nil {
		t.Fatal(err)
	}
}

// classCentre places class k's blob on a circle of radius 2.5.
func classCentre(k int) (x, y float64) {
	a := 2 * math.Pi * float64(k) / 10
	return 2.5 * math.Cos(a), 2.5 * math.Sin(a)
}

// mixDigits blends the ten templates by closeness of (x, y) to each class
// centre.
func mixDigits(templ [][]float32, x, y float64) []float32 {
	var wsum float64
	ws := make([]float64, len(templ))
	for k := range templ {
		cx, cy := classCentre(k)
		ws[k] = math.Exp(-((x-cx)*(x-cx) + (y-cy)*(y-cy)) / 0.8)
		wsum += ws[k]
	}
	out := make([]float32, len(templ[0]))
	for k, t := range templ {
		for i, v := range t {
			out[i] += float32(ws[k]/(wsum+1e-300)) * v
		}
	}
	return out
}

// segments of a seven-segment display, lit per digit: a (top), b (top
// right), c (bottom right), d (bottom), e (bottom left), f (top left), g
// (middle).
var sevenSegments = [10]string{"abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"}

// segmentDigit draws digit d as a soft seven-segment figure in 28×28
// pixels, shifted by (dx, dy) pixels and slanted by slant.
func segmentDigit(d int, dx, dy, slant float64) []float32 {
	ends := map[rune][4]float64{ // x0, y0, x1, y1 in a 0..1 box, y down
		'a': {0, 0, 1, 0}, 'b': {1, 0, 1, 0.5}, 'c': {1, 0.5, 1, 1},
		'd': {0, 1, 1, 1}, 'e': {0, 0.5, 0, 1}, 'f': {0, 0, 0, 0.5}, 'g': {0, 0.5, 1, 0.5},
	}
	img := make([]float32, 28*28)
	for _, s := range sevenSegments[d] {
		e := ends[s]
		for y := range 28 {
			for x := range 28 {
				// Map the pixel into the box (9..19 wide, 5..23 tall).
				bx := (float64(x) - dx - 9 + slant*(float64(y)-14)) / 10
				by := (float64(y) - dy - 5) / 18
				dist := segDist(bx*10, by*18, e[0]*10, e[1]*18, e[2]*10, e[3]*18)
				v := float32(math.Max(0, math.Min(1, 2.2-dist)))
				img[y*28+x] = max(img[y*28+x], v)
			}
		}
	}
	return img
}

// segDist is the distance from (px, py) to the segment (x0,y0)-(x1,y1).
func segDist(px, py, x0, y0, x1, y1 float64) float64 {
	vx, vy := x1-x0, y1-y0
	t := ((px-x0)*vx + (py-y0)*vy) / (vx*vx + vy*vy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(px-x0-t*vx, py-y0-t*vy)
}

// blur is a 3×3 box blur, standing in for a reconstruction.
func blur(img []float32) []float32 {
	out := make([]float32, len(img))
	for y := range 28 {
		for x := range 28 {
			var s float32
			var c int
			for j := -1; j <= 1; j++ {
				for i := -1; i <= 1; i++ {
					if xx, yy := x+i, y+j; xx >= 0 && xx < 28 && yy >= 0 && yy < 28 {
						s += img[yy*28+xx]
						c++
					}
				}
			}
			out[y*28+x] = 0.9 * s / float32(c)
		}
	}
	return out
}

// linspace returns n evenly spaced values from a to b.
func linspace(a, b float64, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	return v
}
