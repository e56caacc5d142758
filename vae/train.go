package vae

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/nn"
	"github.com/govae/vae/optim"
	"gonum.org/v1/gonum/blas/blas32"
)

// TrainOptions says how to train. The zero value of a field takes the
// default in its comment.
type TrainOptions struct {
	Epochs    int          `json:"epochs" yaml:"epochs"`         // passes over the training set; default 10, as `vae train`
	BatchSize int          `json:"batch_size" yaml:"batch_size"` // default 128
	Optimizer string       `json:"optimizer" yaml:"optimizer"`   // "adam" (default), "rmsprop" or "sgd"
	Optim     optim.Config `json:"optim" yaml:"optim"`           // hyperparameters; zero fields take the optimizer's defaults
	Seed      uint64       `json:"seed" yaml:"seed"`             // seeds the weights, shuffling and ε

	// Binarize, if "dynamic", trains on binary images drawn anew for every
	// minibatch, pixel i being 1 with probability x_i: the protocol of the
	// published MNIST log-likelihoods (evaluate such a model on a fixed
	// binarisation of the test set, dataset.Set.Binarized). Empty or "none":
	// the values in [0, 1] are the targets as they are.
	Binarize string `json:"binarize,omitempty" yaml:"binarize,omitempty"`
	// Beta weighs the KL term of the objective, recon + β·KL (the β-VAE of
	// Higgins et al. 2017); default 1, the ELBO.
	Beta float64 `json:"beta,omitempty" yaml:"beta,omitempty"`
	// WarmupEpochs, if positive, ramps β linearly from 0 to Beta over that
	// many epochs, step by step (KL annealing, Bowman et al. 2016), against
	// the collapse of the posterior onto the prior early in training.
	WarmupEpochs int `json:"warmup_epochs,omitempty" yaml:"warmup_epochs,omitempty"`
	// Schedule sets the learning rate of each epoch from Optim.LR:
	// "constant" (default), "burda" (optim.Burda) or "cosine" (optim.Cosine,
	// over Epochs).
	Schedule optim.Schedule `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	// Validation, if positive, holds out that many examples from the end of
	// the training set: they are not trained on, and their loss after every
	// epoch picks the best epoch (Progress.Best).
	Validation int `json:"validation,omitempty" yaml:"validation,omitempty"`
	// Patience, if positive, stops training when the validation loss has
	// not improved for that many epochs (early stopping); it needs
	// Validation.
	Patience int `json:"patience,omitempty" yaml:"patience,omitempty"`
	// Objective is what training minimises: "elbo" (default), the negative
	// ELBO averaged over Samples draws of z per input, or "iwae", the
	// negative importance-weighted bound of Burda et al. (2016) with
	// Samples draws, which is tighter for Samples > 1 and equals the ELBO
	// (with a sampled KL) for 1. The training loss reported is the ELBO of
	// the draws either way.
	Objective string `json:"objective,omitempty" yaml:"objective,omitempty"`
	// Samples is the number of draws of z per input and step; default 1.
	Samples int `json:"samples,omitempty" yaml:"samples,omitempty"`

	// OnBatch, if set, is called after every training step.
	OnBatch func(epoch, batch, batches int, l Loss) `json:"-" yaml:"-"`
	// OnEpoch, if set, is called after every epoch with the progress so
	// far; its last History entry is the epoch just finished. An error
	// stops training and is returned.
	OnEpoch func(p *Progress) error `json:"-" yaml:"-"`
	// Resume, if set, is the progress of an interrupted run to continue
	// (from LoadCheckpoint); with the same options the result is
	// bit-identical to an uninterrupted run.
	Resume *Progress `json:"-" yaml:"-"`
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Epochs == 0 {
		o.Epochs = 10
	}
	if o.BatchSize == 0 {
		o.BatchSize = 128
	}
	if o.Optimizer == "" {
		o.Optimizer = "adam"
	}
	if o.Beta == 0 {
		o.Beta = 1
	}
	if o.Samples == 0 {
		o.Samples = 1
	}
	return o
}

// Validate reports options that Train cannot use. Zero fields, which take
// defaults, are valid.
func (o TrainOptions) Validate() error {
	switch {
	case o.Epochs < 0:
		return fmt.Errorf("epochs %d, want ≥ 1", o.Epochs)
	case o.BatchSize < 1:
		return fmt.Errorf("batch size %d, want ≥ 1", o.BatchSize)
	case o.Binarize != "" && o.Binarize != "none" && o.Binarize != "dynamic":
		return fmt.Errorf("binarize %q, want dynamic or none", o.Binarize)
	case !(o.Beta >= 0) || math.IsInf(o.Beta, 0):
		return fmt.Errorf("beta %v, want a positive number", o.Beta)
	case o.WarmupEpochs < 0:
		return fmt.Errorf("warmup epochs %d, want ≥ 0", o.WarmupEpochs)
	case o.Objective != "" && o.Objective != "elbo" && o.Objective != "iwae":
		return fmt.Errorf("objective %q, want elbo or iwae", o.Objective)
	case o.Samples < 0:
		return fmt.Errorf("samples %d, want ≥ 1", o.Samples)
	case o.Objective == "iwae" && (o.Beta != 0 && o.Beta != 1 || o.WarmupEpochs != 0):
		return fmt.Errorf("the iwae objective has no β and no warm-up")
	case o.Validation < 0:
		return fmt.Errorf("validation %d, want ≥ 0", o.Validation)
	case o.Patience < 0 || (o.Patience > 0 && o.Validation == 0):
		return fmt.Errorf("patience %d needs a validation set (validation > 0)", o.Patience)
	}
	return o.Schedule.Validate()
}

// beta returns β for the given step of training, counted from 0 over all
// epochs, with batches steps an epoch.
func (o TrainOptions) beta(step, batches int) float64 {
	if o.WarmupEpochs <= 0 {
		return o.Beta
	}
	return o.Beta * min(1, float64(step+1)/float64(o.WarmupEpochs*batches))
}

// EpochStats is what one epoch of training measured.
type EpochStats struct {
	Epoch int   `json:"epoch"` // 1-based
	Train Loss  `json:"train"` // mean over the epoch's steps, weighted by batch size
	Valid *Loss `json:"valid,omitempty"`
	Test  *Loss `json:"test,omitempty"`

	// KL(q(z|x) ‖ p(z)) of each latent dimension and the active units
	// (variance of E_q[z] above 0.01), on the validation set if there is
	// one, else the test set: a dimension whose KL falls to zero has
	// collapsed onto the prior.
	KLPerDim      []float64 `json:"kl_per_dim,omitempty"`
	ActiveUnits   int       `json:"active_units,omitempty"`
	LR            float64   `json:"lr"`
	Beta          float64   `json:"beta,omitempty"`  // β of the epoch's last step
	Seconds       float64   `json:"seconds"`         // wall-clock of the epoch, test evaluation included
	SamplesPerSec float64   `json:"samples_per_sec"` // training samples per second of training steps
}

// Progress is where training stands: enough to continue it bit-identically
// after an interruption, and the history so far.
type Progress struct {
	Epoch   int          `json:"epoch"` // epochs completed
	Batch   int          `json:"batch"` // steps completed in the epoch under way
	History []EpochStats `json:"history"`
	Best    int          `json:"best,omitempty"`    // epoch (1-based) of the lowest validation loss so far; 0 without validation
	Stopped bool         `json:"stopped,omitempty"` // early stopping ended training before Epochs

	// sums over the epoch under way
	Recon        float64 `json:"recon_sum"`
	KL           float64 `json:"kl_sum"`
	Samples      int     `json:"samples"`
	TrainSeconds float64 `json:"train_seconds"`

	NoiseState []byte      `json:"noise_state"` // the ε stream's PCG state
	Optim      optim.State `json:"-"`           // stored as tensors in a checkpoint
}

// check reports the first field of p, by its name in a checkpoint, that no
// interrupted Train could have left: a run whose epochs have batches steps
// of bs examples each (the last one maybe fewer), which picks its best
// epoch on a validation set if validation is set. With batches 0 it checks
// what does not depend on the data set, as LoadCheckpoint does.
func (p *Progress) check(batches, bs int, validation bool) error {
	switch {
	case p.Epoch < 0:
		return fmt.Errorf("epoch %d, want ≥ 0", p.Epoch)
	case p.Batch < 0:
		return fmt.Errorf("batch %d, want ≥ 0", p.Batch)
	case batches > 0 && p.Batch >= batches:
		return fmt.Errorf("batch %d, want 0 to %d (an epoch has %d steps)", p.Batch, batches-1, batches)
	case len(p.History) != p.Epoch:
		return fmt.Errorf("history holds %d epochs, want one per epoch done (%d)", len(p.History), p.Epoch)
	case p.Best < 0 || p.Best > p.Epoch:
		return fmt.Errorf("best %d, want 0 to the epochs done (%d)", p.Best, p.Epoch)
	case validation && p.Best > 0 && p.History[p.Best-1].Valid == nil:
		return fmt.Errorf("best %d names an epoch without a validation loss", p.Best)
	case p.Samples < 0:
		return fmt.Errorf("samples %d, want ≥ 0", p.Samples)
	case p.TrainSeconds < 0:
		return fmt.Errorf("train_seconds %v, want ≥ 0", p.TrainSeconds)
	case p.Batch == 0 && (p.Samples != 0 || p.Recon != 0 || p.KL != 0 || p.TrainSeconds != 0):
		return fmt.Errorf("samples %d, recon_sum %v, kl_sum %v, train_seconds %v before the first step of an epoch, want 0", p.Samples, p.Recon, p.KL, p.TrainSeconds)
	case p.Samples < p.Batch:
		return fmt.Errorf("samples %d after %d steps, want at least one a step", p.Samples, p.Batch)
	case batches > 0 && p.Samples != p.Batch*bs:
		return fmt.Errorf("samples %d after %d steps of %d, want %d", p.Samples, p.Batch, bs, p.Batch*bs)
	case batches > 0 && p.Optim.Steps != int64(p.Epoch)*int64(batches)+int64(p.Batch):
		return fmt.Errorf("optim_steps %d, want %d (%d epochs of %d steps, and %d)", p.Optim.Steps, p.Epoch*batches+p.Batch, p.Epoch, batches, p.Batch)
	}
	for i, s := range p.History {
		if s.Epoch != i+1 {
			return fmt.Errorf("history[%d] is of epoch %d, want %d", i, s.Epoch, i+1)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"recon_sum", p.Recon}, {"kl_sum", p.KL}, {"train_seconds", p.TrainSeconds}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s %v, want a finite number", f.name, f.v)
		}
	}
	var noise rand.PCG
	if err := noise.UnmarshalBinary(p.NoiseState); err != nil {
		return fmt.Errorf("noise_state %q: %w", p.NoiseState, err)
	}
	return nil
}

// ErrNotFinite is wrapped by the error Train returns when the loss or a
// weight becomes NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

// Streams of the seeded source, one per use, so that each is reproducible on
// its own.
const (
	streamNoise   = 1
	streamShuffle = 2 << 32
	streamTest    = 3 << 32
	streamValid   = 4 << 32

	streamBinarize = 1 << 48 // + the row's place in the run
)

// Train fits m to train by minimising the per-sample negative ELBO (or the
// objective opts names) with minibatch stochastic gradients, evaluating on
// test (which may be nil) after every epoch, and continues from opts.Resume
// when that is set. The work of a step is spread over GOMAXPROCS threads.
//
// The first Train of a model made by New with a learned Gaussian variance
// of its inputs (Config.Sigma 0, no parts) starts that variance at each
// input's variance over the training examples (at least 10⁻³) instead of
// New's 1.
//
// When ctx is cancelled, Train stops before the next step and returns the
// progress so far with an error wrapping ctx.Err(); save it with
// SaveCheckpoint to resume later.
func (m *Model) Train(ctx context.Context, train, test *dataset.Set, opts TrainOptions) (*Progress, error) {
	opts = opts.withDefaults()
	D, L, bs := m.Config.Input, m.Config.Latent, opts.BatchSize
	if train == nil || train.N == 0 {
		return nil, errors.New("train: empty training set")
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := m.Config.CheckTraining(train.N, opts); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	for _, set := range []*dataset.Set{train, test} {
		if set == nil {
			continue
		}
		if err := set.Check(); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if set.Dim != D {
			return nil, fmt.Errorf("train: %s has %d features per example, model input is %d", set.Name, set.Dim, D)
		}
		if err := m.checkInput(set.Name, set.X); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if C := m.Config.Classes; C > 0 {
		for _, set := range []*dataset.Set{train, test} {
			if set == nil {
				continue
			}
			if set.Labels == nil {
				return nil, fmt.Errorf("train: %s has no labels for the conditional model", set.Name)
			}
			if i := slices.IndexFunc(set.Labels, func(c uint8) bool { return int(c) >= C }); i >= 0 {
				return nil, fmt.Errorf("train: %s: example %d has label %d, the conditional model has classes 0 to %d", set.Name, i, set.Labels[i], C-1)
			}
		}
	}
	data, valid, err := splitBatches(train, opts)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if m.Config.Classes > 0 {
		data.labels = make([]uint8, bs)
	}
	batches := data.count()
	if m.fresh && opts.Resume == nil {
		m.startVariance(data.set)
	}
	m.fresh = false
	params := m.Params()
	opt, err := optim.New(opts.Optimizer, params, opts.Optim)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	baseLR := opt.LR() // with the optimizer's default filled in
	noiseSrc := rand.NewPCG(opts.Seed, streamNoise)
	pr := &Progress{}
	if opts.Resume != nil {
		pr = opts.Resume
		if err := pr.check(batches, bs, valid != nil); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if err := opt.SetState(pr.Optim); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if err := noiseSrc.UnmarshalBinary(pr.NoiseState); err != nil {
			return nil, fmt.Errorf("train: resume: noise state: %w", err)
		}
	}
	noise := rand.New(noiseSrc)
	snapshot := func() {
		pr.Optim = opt.State()
		pr.NoiseState, _ = noiseSrc.MarshalBinary()
	}

	K, obj := opts.Samples, objective{iwae: opts.Objective == "iwae"}
	if obj.iwae && m.OutputLogVar != nil {
		return nil, errors.New("train: the iwae objective does not support a learned output variance yet; set the model's sigma")
	}
	// The models that score the test and validation sets each epoch: a
	// conditional model given their labels (checked above), made once so
	// that their passes are kept from epoch to epoch.
	scorer := map[*dataset.Set]*Model{}
	for _, set := range []*dataset.Set{test, valid} {
		if set != nil {
			scorer[set], _ = m.GivenLabels(set.Labels)
		}
	}
	st := m.newStepper(bs, K, shards(bs, K), opt)
	defer st.close()
	eps := make([]float32, bs*K*L) // [bs·K, L]
	for pr.Epoch < opts.Epochs && !pr.Stopped {
		epochStart := time.Now()
		opt.SetLR(opts.Schedule.LR(baseLR, pr.Epoch, opts.Epochs))
		data.shuffle(pr.Epoch)
		for ; pr.Batch < batches; pr.Batch++ {
			if err := ctx.Err(); err != nil {
				snapshot()
				return pr, fmt.Errorf("train: stopped at epoch %d, step %d of %d: %w", pr.Epoch+1, pr.Batch, batches, err)
			}
			stepStart := time.Now()
			x, labels, n := data.batch(pr.Epoch, pr.Batch)
			fillNormal(eps[:n*K*L], noise)
			obj.beta = float32(opts.beta(pr.Epoch*batches+pr.Batch, batches))

			recon, kl, err := st.step(x, labels, eps, n, K, obj)
			recon, kl = recon/float64(K), kl/float64(K)
			if err != nil {
				return nil, fmt.Errorf("train: epoch %d, step %d: %w", pr.Epoch+1, pr.Batch+1, err)
			}

			pr.Recon += recon
			pr.KL += kl
			pr.Samples += n
			pr.TrainSeconds += time.Since(stepStart).Seconds()
			if opts.OnBatch != nil {
				opts.OnBatch(pr.Epoch+1, pr.Batch+1, batches, Loss{Total: (recon + kl) / float64(n), Recon: recon / float64(n), KL: kl / float64(n)})
			}
		}
		for _, prm := range params {
			if nonFinite(prm.Value) >= 0 {
				return nil, fmt.Errorf("train: epoch %d: %w: parameter %s", pr.Epoch+1, ErrNotFinite, prm.Name)
			}
		}

		s := EpochStats{
			Epoch: pr.Epoch + 1,
			Train: Loss{
				Total: (pr.Recon + pr.KL) / float64(pr.Samples),
				Recon: pr.Recon / float64(pr.Samples),
				KL:    pr.KL / float64(pr.Samples),
			},
			LR:            opt.LR(),
			Beta:          opts.beta(pr.Epoch*batches+pr.Batch-1, batches),
			SamplesPerSec: float64(pr.Samples) / pr.TrainSeconds,
		}
		// The loss of the validation and test sets; the posterior of the
		// validation set if there is one, else the test set's, gives the
		// KL per dimension and the active units.
		var mean, logVar []float32
		evaluate := func(set *dataset.Set, stream uint64) (*Loss, error) {
			scores, mu, lv, err := scorer[set].score(set.X, nil, nil, rand.New(rand.NewPCG(opts.Seed, stream+uint64(pr.Epoch))))
			if err != nil {
				return nil, fmt.Errorf("train: %s loss: %w", set.Name, err)
			}
			l := meanLoss(scores)
			mean, logVar = mu, lv
			return &l, nil
		}
		if test != nil {
			if s.Test, err = evaluate(test, streamTest); err != nil {
				return nil, err
			}
		}
		if valid != nil {
			if s.Valid, err = evaluate(valid, streamValid); err != nil {
				return nil, err
			}
			if pr.Best == 0 || s.Valid.Total < pr.History[pr.Best-1].Valid.Total {
				pr.Best = s.Epoch
			}
			pr.Stopped = opts.Patience > 0 && s.Epoch-pr.Best >= opts.Patience
		}
		if mean != nil {
			s.KLPerDim = klPerDim(mean, logVar, L)
			s.ActiveUnits, _ = ActiveUnits(mean, L, 0.01)
		}
		s.Seconds = time.Since(epochStart).Seconds()
		pr.History = append(pr.History, s)
		pr.Epoch++
		pr.Batch, pr.Recon, pr.KL, pr.Samples, pr.TrainSeconds = 0, 0, 0, 0, 0
		if opts.OnEpoch != nil {
			snapshot()
			if err := opts.OnEpoch(pr); err != nil {
				return nil, err
			}
		}
	}
	snapshot()
	return pr, nil
}

// stepper takes the training steps of a model. It cuts each batch into
// shards, one per thread (GOMAXPROCS), that run forward and backward at the
// same time on their rows, each into gradients of its own; the shards'
// gradients are then summed in a fixed order and the optimizer takes one
// step. With one shard this is plain minibatch SGD on one goroutine; with
// the same thread count the result is bit-identical run after run.
type stepper struct {
	opt    optim.Optimizer
	shards []*shard
}

// shard is one thread's part of a step: a copy of the model that shares the
// weights but not their gradients (shard 0 uses the model itself), the
// buffers of its pass, and the rows it works on.
type shard struct {
	m      *Model
	params []*nn.Param
	p      *pass
	work   chan shardJob
	done   chan struct{}

	recon, kl float64 // of its rows in the last step
}

// shardJob is what a shard's goroutine does next: run forward and backward
// on inputs [lo, hi) of a batch of n, whose k samples each are rows
// [lo·k, hi·k) of x and eps, or, with update set, add part lo of hi of every
// other shard's gradients to the model's and take the optimizer's step on
// that part.
type shardJob struct {
	x, eps []float32
	labels []uint8 // of the batch's inputs, for a conditional model
	lo, hi int
	n, k   int
	obj    objective
	update bool
}

// objective is what a training step minimises: the mean over the k
// samples of each input of recon + β·KL (the ELBO for β = 1), or the
// negative importance-weighted bound of Burda et al. (2016) of the k
// samples; either averaged over the batch.
type objective struct {
	iwae bool
	beta float32
}

// forward runs m's forward pass over rows inputs of a batch of n, with k
// samples each, and leaves in p the gradients of the objective that
// backward takes.
func (o objective) forward(m *Model, p *pass, x []float32, rows, n, k int) (recon, kl float64) {
	if !o.iwae {
		return m.forward(p, x, rows, k, 1/float32(n*k), o.beta)
	}
	recon, kl = m.forward(p, x, rows, k, 1/float32(n), 0)
	p.importanceWeights(rows*k, k, m.Config.Latent, 1/float32(n))
	return recon, kl
}

// minShardRows is the least number of rows worth a shard of its own.
const minShardRows = 32

// shards returns how many shards a batch of bs inputs with k samples each
// is cut into.
func shards(bs, k int) int {
	return max(1, min(runtime.GOMAXPROCS(0), bs*k/minShardRows, bs))
}

// newStepper returns a stepper for batches of up to bs inputs with k
// samples each, cut into up to threads shards.
func (m *Model) newStepper(bs, k, threads int, opt optim.Optimizer) *stepper {
	threads = max(1, min(threads, bs))
	st := &stepper{opt: opt}
	for s := range threads {
		sh := &shard{m: m, p: m.newPass((bs+threads-1)/threads, k, true)}
		if s > 0 {
			sh.m = m.sharingWeights()
			sh.work, sh.done = make(chan shardJob, 1), make(chan struct{}, 1)
			go sh.serve(st)
		}
		sh.params = sh.m.Params()
		st.shards = append(st.shards, sh)
	}
	return st
}

// sharingWeights returns a model whose parameters are m's weights with
// gradients of their own.
func (m *Model) sharingWeights() *Model {
	c, _ := newZero(m.Config)
	own := m.Params()
	for i, prm := range c.Params() {
		prm.Value = own[i].Value
	}
	return c
}

// close ends the shards' goroutines.
func (st *stepper) close() {
	for _, sh := range st.shards[1:] {
		close(sh.work)
	}
}

func (sh *shard) serve(st *stepper) {
	for {
		j, ok := receive(sh.work)
		if !ok {
			return
		}
		st.do(sh, j)
		sh.done <- struct{}{}
	}
}

// run computes the shard's loss and gradients on its rows of a batch.
func (sh *shard) run(j shardJob) {
	nn.ZeroGrad(sh.params)
	sh.recon, sh.kl = 0, 0
	n := j.hi - j.lo
	if n == 0 {
		return
	}
	D, L := sh.m.Config.Input, sh.m.Config.Latent
	x := j.x[j.lo*D : j.hi*D]
	copy(sh.p.eps, j.eps[j.lo*j.k*L:j.hi*j.k*L])
	if j.labels != nil {
		sh.p.labels = j.labels[j.lo:j.hi]
	}
	sh.recon, sh.kl = j.obj.forward(sh.m, sh.p, x, n, j.n, j.k)
	sh.m.backward(sh.p, x, n, j.k)
}

// spin is how long receive polls before it blocks. Waking a blocked
// goroutine takes tens of microseconds on a virtual machine (a futex wake
// and an inter-processor interrupt), as long as a small shard's work; the
// shards hand each other work several times a step, so they poll first.
const spin = 200 * time.Microsecond

// receive returns the next value from ch (buffered, so that senders never
// wait), polling for up to spin before it blocks, and false once ch is
// closed.
func receive[T any](ch <-chan T) (T, bool) {
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case v, ok := <-ch:
			return v, ok
		default:
		}
		if i%64 == 63 {
			if time.Since(start) > spin {
				v, ok := <-ch
				return v, ok
			}
			runtime.Gosched()
		}
	}
}

// do runs job j on shard sh.
func (st *stepper) do(sh *shard, j shardJob) {
	if !j.update {
		sh.run(j)
		return
	}
	// the elements [i·len/n, (i+1)·len/n) of each gradient, as Update cuts them
	i, n := j.lo, j.hi
	for k, prm := range st.shards[0].params {
		a, b := i*len(prm.Grad)/n, (i+1)*len(prm.Grad)/n
		for _, other := range st.shards[1:] {
			blas32.Axpy(1, vec(other.params[k].Grad[a:b]), vec(prm.Grad[a:b]))
		}
	}
	st.opt.Update(i, n)
}

func vec(v []float32) blas32.Vector { return blas32.Vector{N: len(v), Inc: 1, Data: v} }

// all runs job(s) for every shard s, shard 0 on the calling goroutine, and
// waits for them.
func (st *stepper) all(job func(s int) shardJob) {
	for s, sh := range st.shards[1:] {
		sh.work <- job(s + 1)
	}
	st.do(st.shards[0], job(0))
	for _, sh := range st.shards[1:] {
		receive(sh.done)
	}
}

// step takes one optimizer step on the batch x [n, Input] with k samples
// of z per input, from the noise eps [n·k, Latent] (rows i·k … i·k+k−1 for
// input i), minimising obj. It returns the reconstruction and KL terms
// summed over the rows, before the update.
func (st *stepper) step(x []float32, labels []uint8, eps []float32, n, k int, obj objective) (recon, kl float64, err error) {
	S := len(st.shards)
	st.all(func(s int) shardJob {
		return shardJob{x: x, labels: labels, eps: eps, lo: s * n / S, hi: (s + 1) * n / S, n: n, k: k, obj: obj}
	})
	for _, sh := range st.shards {
		recon += sh.recon
		kl += sh.kl
	}
	if math.IsNaN(recon+kl) || math.IsInf(recon+kl, 0) {
		return recon, kl, fmt.Errorf("%w (recon %v, KL %v)", ErrNotFinite, recon, kl)
	}
	if S == 1 {
		st.opt.Step()
		return recon, kl, nil
	}
	st.opt.Advance()
	st.all(func(s int) shardJob { return shardJob{lo: s, hi: S, update: true} })
	return recon, kl, nil
}

// klPerDim returns the mean over the rows of mean and logVar [n, latent]
// of each dimension's KL(q(z|x) ‖ p(z)).
func klPerDim(mean, logVar []float32, latent int) []float64 {
	kl := make([]float64, latent)
	n := len(mean) / latent
	for i := range mean {
		m, lv := float64(mean[i]), float64(logVar[i])
		kl[i%latent] += -0.5 * (1 + lv - m*m - math.Exp(lv)) / float64(n)
	}
	return kl
}

// minStartVariance is the least variance startVariance starts an input's
// Gaussian at: that of an input constant in the training data.
const minStartVariance = 1e-3

// startVariance sets the learned log-variance of a Gaussian p(x|z) of
// inputs (not parts) to the log of each input's variance over the training
// set, at least minStartVariance: where the variance would have to travel
// from 0 (σ = 1, far above the spread of inputs in [0, 1]), an optimizer
// moving it by about the learning rate a step would need thousands of steps.
func (m *Model) startVariance(train *dataset.Set) {
	if m.OutputLogVar == nil || m.parts != nil {
		return
	}
	D := train.Dim
	mean, sq := make([]float64, D), make([]float64, D)
	for i := range train.N {
		for j, v := range train.X[i*D : (i+1)*D] {
			mean[j] += float64(v)
			sq[j] += float64(v) * float64(v)
		}
	}
	n := float64(train.N)
	for j := range D {
		mu := mean[j] / n
		m.OutputLogVar.Value[j] = float32(math.Log(max(sq[j]/n-mu*mu, minStartVariance)))
	}
}
