package run

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/plot"
	"github.com/govae/vae/vae"
)

// The pictures a run folder holds, by file name.
const (
	LatentPNG          = "latent.png"          // test-set latent means coloured by class
	ManifoldPNG        = "manifold.png"        // digits decoded over a grid of the latent space
	ReconstructionsPNG = "reconstructions.png" // test images above their reconstructions
	SamplesPNG         = "samples.png"         // decoded draws from the prior
	ClassesPNG         = "classes.png"         // a conditional model's draws of z (rows) decoded given each class (columns)
	LossPNG            = "loss.png"            // loss per epoch
	KLPNG              = "kl.png"              // KL per latent dimension per epoch
)

// ManifoldSize is the number of rows and columns of the manifold grid.
const ManifoldSize = 20

// PictureOptions says how Pictures draws. The zero value is ready to use.
type PictureOptions struct {
	// Seed seeds the samples; each picture draws from its own stream of it.
	Seed uint64
	// Class is the class a conditional model's manifold is decoded given;
	// it must be 0 for a model without classes.
	Class int
}

// Pictures draws what m learned from test into dir: the latent scatter,
// for images (gray or colour) the manifold grid, reconstructions and
// samples, for a conditional model every class from the same draws of z,
// and, when history is not empty, the loss curves.
func Pictures(dir string, m *vae.Model, test *dataset.Set, history []vae.EpochStats, opt PictureOptions) error {
	seed := opt.Seed
	if C := m.Config.Classes; opt.Class < 0 || opt.Class >= max(C, 1) {
		if C == 0 {
			return fmt.Errorf("pictures: class %d asked of a model without classes", opt.Class)
		}
		return fmt.Errorf("pictures: class %d, the model has classes 0 to %d", opt.Class, C-1)
	}
	if test.Dim != m.Config.Input {
		return fmt.Errorf("pictures: %s has %d features, model input is %d", test.Name, test.Dim, m.Config.Input)
	}
	if test.N == 0 {
		return fmt.Errorf("pictures: %s is empty", test.Name)
	}
	h, w := test.Rows, test.Cols
	L := m.Config.Latent
	given, err := m.GivenLabels(test.Labels) // a conditional model's posterior is given the labels
	if err != nil {
		return fmt.Errorf("pictures: %s: %w", test.Name, err)
	}
	mean, _, err := given.Encode(test.X)
	if err != nil {
		return fmt.Errorf("pictures: %w", err)
	}

	// The latent scatter: the means themselves for a 2-D latent space, else
	// their projection on the first two principal components.
	z, xl, yl, title := mean, "z[0]", "z[1]", fmt.Sprintf("%s: latent means of the test set", test.Name)
	if L > 2 {
		z = project2(mean, test.N, L)
		xl, yl = "principal component 1", "principal component 2"
		title = fmt.Sprintf("%s: latent means (%d-D) projected on their first two principal components", test.Name, L)
	}
	labels := test.Labels
	if slices.Max(append([]uint8{0}, labels...)) >= 10 { // more classes than the scatter has colours
		labels = nil
	}
	if err := plot.LatentScatter(filepath.Join(dir, LatentPNG), z, labels, plot.ScatterOptions{Title: title, XLabel: xl, YLabel: yl, ClassNames: test.ClassNames}); err != nil {
		return err
	}
	ch := max(1, test.Channels)
	if h*w*ch != m.Config.Input { // not images: a table, an array
		return curves(dir, history)
	}

	// The manifold: decode a grid over the Gaussian quantiles 0.05…0.95 of
	// z[0] and z[1], the other dimensions held at 0, as the Keras example does.
	n := ManifoldSize
	q := make([]float64, n)
	for i := range q {
		q[i] = distuv.UnitNormal.Quantile(0.05 + 0.9*float64(i)/float64(n-1))
	}
	ys := make([]float64, n)
	for i := range ys {
		ys[i] = q[n-1-i] // top row holds the highest z[1]
	}
	grid := make([]float32, n*n*L)
	for r := range n {
		for c := range n {
			grid[(r*n+c)*L] = float32(q[c])
			if L > 1 {
				grid[(r*n+c)*L+1] = float32(ys[r])
			}
		}
	}
	gm, mtitle := m, "decoded over a grid of z[0], z[1]"
	if m.Config.Classes > 0 {
		gm, _ = m.Given(uint8(opt.Class))
		mtitle += fmt.Sprintf(" given class %d", opt.Class)
		if opt.Class < len(test.ClassNames) {
			mtitle += fmt.Sprintf(" (%s)", test.ClassNames[opt.Class])
		}
	}
	decoded, err := gm.Decode(grid)
	if err != nil {
		return fmt.Errorf("pictures: %w", err)
	}
	if L > 2 {
		mtitle += fmt.Sprintf(" (z[2…%d] = 0)", L-1)
	}
	if err := plot.Manifold(filepath.Join(dir, ManifoldPNG), plot.Split(decoded, m.Config.Input), h, w, q, ys, plot.ManifoldOptions{Title: mtitle, Channels: ch}); err != nil {
		return err
	}

	// Reconstructions of the first test images, and samples from the prior.
	k := min(20, test.N)
	rm, err := m.GivenLabels(test.Labels[:min(k, len(test.Labels))])
	if err != nil {
		return fmt.Errorf("pictures: %w", err)
	}
	recon, err := rm.Reconstruct(test.X[:k*m.Config.Input])
	if err != nil {
		return fmt.Errorf("pictures: %w", err)
	}
	if err := plot.Reconstructions(filepath.Join(dir, ReconstructionsPNG), plot.Split(test.X[:k*m.Config.Input], m.Config.Input), plot.Split(recon, m.Config.Input), h, w, 10, plot.GridOptions{Channels: ch}); err != nil {
		return err
	}
	samples := m.Sample(64, rand.New(rand.NewPCG(seed, 4<<32)))
	if err := plot.ImageGrid(filepath.Join(dir, SamplesPNG), plot.Split(samples, m.Config.Input), h, w, 8, plot.GridOptions{Channels: ch}); err != nil {
		return err
	}
	if C := m.Config.Classes; C > 0 { // every class from the same draws of z
		z := make([]float32, 8*L)
		rng := rand.New(rand.NewPCG(seed, 5<<32))
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		each, err := m.EachClass(z)
		if err != nil {
			return fmt.Errorf("pictures: %w", err)
		}
		if err := plot.ImageGrid(filepath.Join(dir, ClassesPNG), plot.Split(each, m.Config.Input), h, w, C, plot.GridOptions{Channels: ch}); err != nil {
			return err
		}
	}

	return curves(dir, history)
}

// curves draws the loss and KL curves of a history that is not empty.
func curves(dir string, history []vae.EpochStats) error {
	if len(history) == 0 {
		return nil
	}
	if err := LossCurves(filepath.Join(dir, LossPNG), history); err != nil {
		return err
	}
	return KLCurves(filepath.Join(dir, KLPNG), history)
}

// KLCurves draws the KL of each latent dimension per epoch, the eight
// largest at the end on their own and the others' mean, with the active
// units in the title: a dimension that falls to zero has collapsed onto the
// prior. It draws nothing when the history has no per-dimension KL.
func KLCurves(path string, history []vae.EpochStats) error {
	last := history[len(history)-1]
	L := len(last.KLPerDim)
	if L == 0 {
		return nil
	}
	dims := make([]int, L)
	for u := range dims {
		dims[u] = u
	}
	slices.SortStableFunc(dims, func(a, b int) int { return cmp.Compare(last.KLPerDim[b], last.KLPerDim[a]) })
	shown, rest := dims, []int(nil)
	if L > 9 {
		shown, rest = dims[:8], dims[8:]
	}
	var series []plot.Series
	for _, u := range shown {
		series = append(series, plot.Series{Name: fmt.Sprintf("z[%d]", u)})
	}
	if rest != nil {
		series = append(series, plot.Series{Name: fmt.Sprintf("mean of the other %d", len(rest))})
	}
	for _, s := range history {
		if len(s.KLPerDim) != L {
			continue
		}
		y := make([]float64, 0, len(series))
		for _, u := range shown {
			y = append(y, s.KLPerDim[u])
		}
		if rest != nil {
			var sum float64
			for _, u := range rest {
				sum += s.KLPerDim[u]
			}
			y = append(y, sum/float64(len(rest)))
		}
		for i := range series {
			series[i].X = append(series[i].X, float64(s.Epoch))
			series[i].Y = append(series[i].Y, y[i])
		}
	}
	title := fmt.Sprintf("KL per latent dimension: %d of %d units active after epoch %d", last.ActiveUnits, L, last.Epoch)
	return plot.LossCurves(path, series, plot.ChartOptions{Title: title, YLabel: "KL(q(z|x) ‖ p(z)) per sample (nats)"})
}

// LossCurves draws train and test loss, reconstruction and KL per epoch.
func LossCurves(path string, history []vae.EpochStats) error {
	series := []plot.Series{{Name: "train loss"}, {Name: "test loss"}, {Name: "train recon"}, {Name: "train KL"}}
	for _, s := range history {
		x := float64(s.Epoch)
		add := func(i int, y float64) {
			series[i].X = append(series[i].X, x)
			series[i].Y = append(series[i].Y, y)
		}
		add(0, s.Train.Total)
		if s.Test != nil {
			add(1, s.Test.Total)
		}
		add(2, s.Train.Recon)
		add(3, s.Train.KL)
	}
	if len(series[1].X) == 0 {
		series = append(series[:1], series[2:]...)
	}
	return plot.LossCurves(path, series, plot.ChartOptions{Title: "negative ELBO per sample"})
}

// project2 returns the n rows of x [n, d] projected on their first two
// principal components.
func project2(x []float32, n, d int) []float32 {
	data := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			data.Set(i, j, float64(x[i*d+j]))
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(data, nil) {
		out := make([]float32, 2*n) // degenerate input: first two dimensions
		for i := range n {
			out[2*i], out[2*i+1] = x[i*d], x[i*d+1]
		}
		return out
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	var proj mat.Dense
	proj.Mul(data, vecs.Slice(0, d, 0, 2))
	out := make([]float32, 2*n)
	for i := range n {
		out[2*i], out[2*i+1] = float32(proj.At(i, 0)), float32(proj.At(i, 1))
	}
	return out
}

// ImageShape returns the height and width of an image of n pixels: the
// square root when n is a square, else one row of n.
func ImageShape(n int) (h, w int) {
	for s := 1; s*s <= n; s++ {
		if s*s == n {
			return s, s
		}
	}
	return 1, n
}
