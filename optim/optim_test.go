package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/govae/vae/nn"
)

// conformer is one optimizer configuration run through the shared
// conformance suite.
type conformer struct {
	name string
	new  func([]*nn.Param) Optimizer
	// wd is the configuration's weight decay, which moves the quadratic's
	// minimum.
	wd float64
	// ref takes one step in float64 for one element, from step count t
	// (before the step), value x, gradient g and the element's buffers, in
	// the order of the optimizer's slots. It updates buf, sets mag to the
	// sum of the magnitudes of the terms of each new buffer, and returns
	// the new value and the magnitude of the update: the scales of the
	// rounding errors that float32 adds.
	ref func(t int64, x, g float64, buf, mag []float64) (x1, updMag float64)
}

func adamRef(c AdamConfig) func(int64, float64, float64, []float64, []float64) (float64, float64) {
	return func(t int64, x, g float64, buf, mag []float64) (float64, float64) {
		t++
		gm := math.Abs(g) + math.Abs(c.WeightDecay*x)
		g += c.WeightDecay * x
		mag[0] = c.Beta1*math.Abs(buf[0]) + (1-c.Beta1)*gm
		buf[0] = c.Beta1*buf[0] + (1-c.Beta1)*g
		mag[1] = c.Beta2*buf[1] + (1-c.Beta2)*gm*gm
		buf[1] = c.Beta2*buf[1] + (1-c.Beta2)*g*g
		bc1 := 1 - math.Pow(c.Beta1, float64(t))
		bc2 := 1 - math.Pow(c.Beta2, float64(t))
		denom := math.Sqrt(buf[1])/math.Sqrt(bc2) + c.Eps
		return x - c.LR/bc1*buf[0]/denom, c.LR / bc1 * mag[0] / denom
	}
}

func rmspropRef(c RMSpropConfig) func(int64, float64, float64, []float64, []float64) (float64, float64) {
	return func(_ int64, x, g float64, buf, mag []float64) (float64, float64) {
		gm := math.Abs(g) + math.Abs(c.WeightDecay*x)
		g += c.WeightDecay * x
		mag[0] = c.Alpha*buf[0] + (1-c.Alpha)*gm*gm
		buf[0] = c.Alpha*buf[0] + (1-c.Alpha)*g*g
		d := math.Sqrt(buf[0]) + c.Eps
		if c.Momentum > 0 {
			mag[1] = c.Momentum*math.Abs(buf[1]) + gm/d
			buf[1] = c.Momentum*buf[1] + g/d
			return x - c.LR*buf[1], c.LR * mag[1]
		}
		return x - c.LR*g/d, c.LR * gm / d
	}
}

func sgdRef(c SGDConfig) func(int64, float64, float64, []float64, []float64) (float64, float64) {
	return func(t int64, x, g float64, buf, mag []float64) (float64, float64) {
		gm := math.Abs(g) + math.Abs(c.WeightDecay*x)
		g += c.WeightDecay * x
		if c.Momentum != 0 {
			if t == 0 {
				buf[0], mag[0] = g, gm
			} else {
				mag[0] = c.Momentum*math.Abs(buf[0]) + gm
				buf[0] = c.Momentum*buf[0] + g
			}
			if c.Nesterov {
				g += c.Momentum * buf[0]
				gm += c.Momentum * mag[0]
			} else {
				g, gm = buf[0], mag[0]
			}
		}
		return x - c.LR*g, c.LR * gm
	}
}

// suite lists the configurations every conformance test runs. Their
// learning rates suit the quadratics of TestMinimizesQuadratic.
var suite = func() []conformer {
	adam := []AdamConfig{
		{LR: 0.05},
		{LR: 0.02, Beta1: 0.8, Beta2: 0.995, Eps: 1e-4, WeightDecay: 0.1},
	}
	rms := []RMSpropConfig{
		{LR: 0.005},
		{LR: 0.0005, Alpha: 0.9, Eps: 1e-6, Momentum: 0.9, WeightDecay: 0.1},
	}
	sgd := []SGDConfig{
		{LR: 0.1},
		{LR: 0.05, Momentum: 0.9},
		{LR: 0.05, Momentum: 0.5, Nesterov: true, WeightDecay: 0.1},
	}
	var s []conformer
	for _, c := range adam {
		c := c.withDefaults()
		s = append(s, conformer{
			name: fmt.Sprintf("adam%+v", c),
			new:  func(ps []*nn.Param) Optimizer { return NewAdam(ps, c) },
			wd:   c.WeightDecay,
			ref:  adamRef(c),
		})
	}
	for _, c := range rms {
		c := c.withDefaults()
		s = append(s, conformer{
			name: fmt.Sprintf("rmsprop%+v", c),
			new:  func(ps []*nn.Param) Optimizer { return NewRMSprop(ps, c) },
			wd:   c.WeightDecay,
			ref:  rmspropRef(c),
		})
	}
	for _, c := range sgd {
		c := c.withDefaults()
		s = append(s, conformer{
			name: fmt.Sprintf("sgd%+v", c),
			new:  func(ps []*nn.Param) Optimizer { return NewSGD(ps, c) },
			wd:   c.WeightDecay,
			ref:  sgdRef(c),
		})
	}
	return s
}()

// quadratic is f(x) = 1/2 sum a_i (x_i - c_i)^2 over a set of parameters.
type quadratic struct {
	params []*nn.Param
	a, c   [][]float32 // per param, like Value
}

// newQuadratic returns a quadratic over params of the given shapes with
// curvatures a in [0.5, 5], centres c in [-3, 3] and values x in [-1, 1].
func newQuadratic(rng *rand.Rand, shapes ...[]int) *quadratic {
	q := &quadratic{}
	for i, shape := range shapes {
		p := nn.NewParam(fmt.Sprintf("p%d", i), shape...)
		a := make([]float32, len(p.Value))
		c := make([]float32, len(p.Value))
		for j := range p.Value {
			p.Value[j] = float32(2*rng.Float64() - 1)
			a[j] = float32(0.5 + 4.5*rng.Float64())
			c[j] = float32(6*rng.Float64() - 3)
		}
		q.params = append(q.params, p)
		q.a = append(q.a, a)
		q.c = append(q.c, c)
	}
	return q
}

// clone returns a copy of q with its own parameters.
func (q *quadratic) clone() *quadratic {
	r := &quadratic{a: q.a, c: q.c}
	for _, p := range q.params {
		c := nn.NewParam(p.Name, p.Shape...)
		copy(c.Value, p.Value)
		copy(c.Grad, p.Grad)
		r.params = append(r.params, c)
	}
	return r
}

// grad sets every Grad to the gradient of f at the current values.
func (q *quadratic) grad() {
	for i, p := range q.params {
		for j, x := range p.Value {
			p.Grad[j] = q.a[i][j] * (x - q.c[i][j])
		}
	}
}

var shapes = [][]int{{4, 5}, {7}, {1}}

func TestMinimizesQuadratic(t *testing.T) {
	const steps, tol = 1000, 1e-3
	for _, s := range suite {
		t.Run(s.name, func(t *testing.T) {
			q := newQuadratic(rand.New(rand.NewPCG(1, 2)), shapes...)
			opt := s.new(q.params)
			for range steps {
				q.grad()
				opt.Step()
			}
			for i, p := range q.params {
				for j, x := range p.Value {
					// With weight decay the minimum of f + wd/2 |x|^2.
					a, c := float64(q.a[i][j]), float64(q.c[i][j])
					want := a * c / (a + s.wd)
					if d := math.Abs(float64(x) - want); d > tol {
						t.Fatalf("after %d steps %s[%d] = %v, want %v ± %v", steps, p.Name, j, x, want, tol)
					}
				}
			}
		})
	}
}

// randomState returns a state for opt at step count steps whose buffers
// hold random non-negative values (valid for every kind of buffer).
func randomState(rng *rand.Rand, opt Optimizer, steps int64) State {
	s := opt.State()
	s.Steps = steps
	for _, t := range s.Tensors {
		for i := range t {
			t[i] = float32(rng.Float64())
		}
	}
	return s
}

// slotKeys returns the keys of s's tensors for param, in slot order (the
// order the reference steps take them in).
func slotKeys(s State, param string) []string {
	var keys []string
	for k := range s.Tensors {
		if strings.HasSuffix(k, "/"+param) {
			keys = append(keys, k)
		}
	}
	// Slot order: adam.m < adam.v, rmsprop.square_avg before
	// rmsprop.momentum_buffer.
	sort.Slice(keys, func(i, j int) bool {
		rank := func(k string) int {
			if strings.HasPrefix(k, "rmsprop.square_avg") {
				return 0
			}
			return 1
		}
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	return keys
}

func TestStepMatchesFormula(t *testing.T) {
	for _, s := range suite {
		for _, steps := range []int64{0, 4, 1000} {
			t.Run(fmt.Sprintf("%s/steps=%d", s.name, steps), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, uint64(steps)))
				q := newQuadratic(rng, shapes...)
				for _, p := range q.params {
					for j := range p.Grad {
						p.Grad[j] = float32(rng.NormFloat64())
					}
				}
				opt := s.new(q.params)
				before := randomState(rng, opt, steps)
				if err := opt.SetState(before); err != nil {
					t.Fatal(err)
				}
				x0 := make([][]float32, len(q.params))
				for i, p := range q.params {
					x0[i] = slices.Clone(p.Value)
				}
				opt.Step()
				after := opt.State()
				if after.Steps != steps+1 {
					t.Errorf("Steps = %d after one step from %d", after.Steps, steps)
				}
				for i, p := range q.params {
					keys := slotKeys(before, p.Name)
					for j, x := range x0[i] {
						buf := make([]float64, len(keys))
						mag := make([]float64, len(keys))
						for k, key := range keys {
							buf[k] = float64(before.Tensors[key][j])
						}
						want, updMag := s.ref(steps, float64(x), float64(p.Grad[j]), buf, mag)
						// Float32 rounds the new value, and the update
						// within some units of its terms' magnitude.
						tol := 1.2e-7*math.Abs(want) + 1e-6*updMag
						if math.Abs(float64(p.Value[j])-want) > tol {
							t.Errorf("%s[%d] = %v, want %v ± %.3g (from %v)", p.Name, j, p.Value[j], want, tol, x)
						}
						for k, key := range keys {
							got := after.Tensors[key][j]
							if tol := 1e-6 * mag[k]; math.Abs(float64(got)-buf[k]) > tol {
								t.Errorf("%s[%d] = %v, want %v ± %.3g", key, j, got, buf[k], tol)
							}
						}
					}
				}
			})
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	for _, s := range suite {
		t.Run(s.name, func(t *testing.T) {
			q := newQuadratic(rand.New(rand.NewPCG(5, 6)), shapes...)
			a := s.new(q.params)
			for range 5 {
				q.grad()
				a.Step()
			}
			st := a.State()
			r := q.clone()
			b := s.new(r.params)
			if err := b.SetState(st); err != nil {
				t.Fatal(err)
			}
			// Neither optimizer may keep st's slices.
			for _, v := range st.Tensors {
				for i := range v {
					v[i] = float32(math.NaN())
				}
			}
			for step := range 10 {
				q.grad()
				a.Step()
				r.grad()
				b.Step()
				for i, p := range q.params {
					if !slices.Equal(bits(p.Value), bits(r.params[i].Value)) {
						t.Fatalf("step %d after restore: %s differs", step, p.Name)
					}
				}
			}
			sa, sb := a.State(), b.State()
			if sa.Steps != sb.Steps || sa.Steps != 15 {
				t.Errorf("Steps = %d and %d, want 15", sa.Steps, sb.Steps)
			}
			for k, v := range sa.Tensors {
				if !slices.Equal(bits(v), bits(sb.Tensors[k])) {
					t.Errorf("tensor %s differs", k)
				}
			}
		})
	}
}

// A step spread over parts, run concurrently, is bit-identical to Step.
func TestUpdateInPartsEqualsStep(t *testing.T) {
	for _, s := range suite {
		t.Run(s.name, func(t *testing.T) {
			whole := newQuadratic(rand.New(rand.NewPCG(3, 4)), []int{40, 13}, []int{7}, []int{1})
			parts := whole.clone()
			a, b := s.new(whole.params), s.new(parts.params)
			for range 5 {
				whole.grad()
				parts.grad()
				a.Step()
				b.Advance()
				const n = 3
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { b.Update(i, n) })
				}
				wg.Wait()
			}
			for i, p := range whole.params {
				if !slices.Equal(bits(p.Value), bits(parts.params[i].Value)) {
					t.Errorf("%s: in parts %v, whole %v", p.Name, parts.params[i].Value, p.Value)
				}
			}
		})
	}
}

func bits(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, x := range v {
		b[i] = math.Float32bits(x)
	}
	return b
}

func TestSetStateErrors(t *testing.T) {
	for _, s := range suite {
		q := newQuadratic(rand.New(rand.NewPCG(7, 8)), shapes...)
		opt := s.new(q.params)
		valid := randomState(rand.New(rand.NewPCG(9, 10)), opt, 3)
		var key string // the first tensor, if any
		for k := range valid.Tensors {
			if key == "" || k < key {
				key = k
			}
		}
		cases := []struct {
			name   string
			edit   func(*State)
			substr []string
		}{
			{"negative steps", func(s *State) { s.Steps = -1 }, []string{"Steps = -1"}},
			{"unexpected tensor", func(s *State) { s.Tensors["sgd.velocity/p0"] = make([]float32, 20) }, []string{"unexpected", "sgd.velocity/p0"}},
		}
		if key != "" {
			cases = append(cases,
				struct {
					name   string
					edit   func(*State)
					substr []string
				}{"short tensor", func(s *State) { s.Tensors[key] = s.Tensors[key][1:] }, []string{key, "length"}},
				struct {
					name   string
					edit   func(*State)
					substr []string
				}{"missing tensor", func(s *State) { delete(s.Tensors, key) }, []string{key, "missing"}},
			)
		}
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				before := opt.State()
				bad := State{Steps: valid.Steps, Tensors: make(map[string][]float32)}
				for k, v := range valid.Tensors {
					bad.Tensors[k] = slices.Clone(v)
				}
				tc.edit(&bad)
				err := opt.SetState(bad)
				if err == nil {
					t.Fatal("SetState succeeded")
				}
				for _, sub := range tc.substr {
					if !strings.Contains(err.Error(), sub) {
						t.Errorf("error %q does not contain %q", err, sub)
					}
				}
				after := opt.State()
				if after.Steps != before.Steps {
					t.Errorf("failed SetState changed Steps from %d to %d", before.Steps, after.Steps)
				}
				for k, v := range before.Tensors {
					if !slices.Equal(bits(v), bits(after.Tensors[k])) {
						t.Errorf("failed SetState changed %s", k)
					}
				}
			})
		}
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, s := range suite {
		t.Run(s.name, func(t *testing.T) {
			q := newQuadratic(rand.New(rand.NewPCG(11, 12)), shapes...)
			opt := s.new(q.params)
			q.grad()
			if n := testing.AllocsPerRun(20, opt.Step); n != 0 {
				t.Errorf("Step allocates %v times", n)
			}
		})
	}
}

func TestSetLR(t *testing.T) {
	for _, s := range suite {
		t.Run(s.name, func(t *testing.T) {
			q := newQuadratic(rand.New(rand.NewPCG(13, 14)), shapes...)
			opt := s.new(q.params)
			opt.SetLR(0)
			if lr := opt.LR(); lr != 0 {
				t.Errorf("LR() = %v after SetLR(0)", lr)
			}
			before := slices.Clone(q.params[0].Value)
			q.grad()
			opt.Step()
			if !slices.Equal(before, q.params[0].Value) {
				t.Error("a step with learning rate 0 moved the parameters")
			}
			defer func() {
				if recover() == nil {
					t.Error("SetLR(-1) did not panic")
				}
			}()
			opt.SetLR(-1)
		})
	}
}

func TestNew(t *testing.T) {
	ps := func() []*nn.Param { return []*nn.Param{nn.NewParam("w", 2, 3), nn.NewParam("b", 3)} }
	for _, tc := range []struct {
		name   string
		opt    string
		cfg    Config
		params []*nn.Param
		err    string // substring; "" for success
	}{
		{"adam defaults", "adam", Config{}, ps(), ""},
		{"rmsprop momentum", "rmsprop", Config{Momentum: 0.9, Alpha: 0.9}, ps(), ""},
		{"sgd nesterov", "sgd", Config{LR: 0.1, Momentum: 0.9, Nesterov: true}, ps(), ""},
		{"unknown", "adamw", Config{}, ps(), `unknown optimizer "adamw", want one of adam, rmsprop, sgd`},
		{"case matters", "Adam", Config{}, ps(), "unknown optimizer"},
		{"adam momentum", "adam", Config{Momentum: 0.9}, ps(), "adam does not use Momentum"},
		{"sgd eps", "sgd", Config{Eps: 1e-7}, ps(), "sgd does not use Eps"},
		{"rmsprop beta", "rmsprop", Config{Beta2: 0.9}, ps(), "rmsprop does not use Beta2"},
		{"negative lr", "sgd", Config{LR: -1}, ps(), "LR = -1"},
		{"nan eps", "adam", Config{Eps: math.NaN()}, ps(), "Eps = NaN"},
		{"beta1 one", "adam", Config{Beta1: 1}, ps(), "Beta1 = 1, want 0 <= Beta1 < 1"},
		{"alpha negative", "rmsprop", Config{Alpha: -0.1}, ps(), "Alpha = -0.1"},
		{"inf weight decay", "sgd", Config{WeightDecay: math.Inf(1)}, ps(), "WeightDecay = +Inf"},
		{"nesterov alone", "sgd", Config{Nesterov: true}, ps(), "Nesterov needs Momentum"},
		{"duplicate names", "adam", Config{}, []*nn.Param{nn.NewParam("w", 2), nn.NewParam("w", 3)}, "param name w used twice"},
		{"nil param", "adam", Config{}, []*nn.Param{nn.NewParam("w", 2), nil}, "param 1 is nil"},
		{"grad length", "sgd", Config{}, []*nn.Param{{Name: "w", Shape: []int{2}, Value: make([]float32, 2), Grad: make([]float32, 1)}}, "param w: len(Grad) = 1, len(Value) = 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := New(tc.opt, tc.params, tc.cfg)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if opt == nil {
					t.Fatal("nil optimizer")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	ps := []*nn.Param{nn.NewParam("w", 3)}
	if got, want := NewAdam(ps, AdamConfig{}).Config(), (AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}); got != want {
		t.Errorf("Adam defaults %+v, want %+v", got, want)
	}
	if got, want := NewAdam(ps, AdamConfig{Eps: 1e-7}).Config().Eps, 1e-7; got != want {
		t.Errorf("Adam Eps %v, want %v", got, want)
	}
	if got, want := NewRMSprop(ps, RMSpropConfig{}).Config(), (RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8}); got != want {
		t.Errorf("RMSprop defaults %+v, want %+v", got, want)
	}
	if got, want := NewSGD(ps, SGDConfig{}).Config(), (SGDConfig{LR: 1e-3}); got != want {
		t.Errorf("SGD defaults %+v, want %+v", got, want)
	}
	opt, err := New("rmsprop", ps, Config{Eps: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	if got := opt.(*RMSprop).Config().Eps; got != 1e-4 {
		t.Errorf("RMSprop Eps %v, want 1e-4", got)
	}
}

func TestConstructorPanics(t *testing.T) {
	ps := []*nn.Param{nn.NewParam("w", 3)}
	for name, f := range map[string]func(){
		"adam beta":       func() { NewAdam(ps, AdamConfig{Beta2: 1.5}) },
		"rmsprop lr":      func() { NewRMSprop(ps, RMSpropConfig{LR: -1}) },
		"sgd nesterov":    func() { NewSGD(ps, SGDConfig{Nesterov: true}) },
		"duplicate names": func() { NewSGD([]*nn.Param{ps[0], ps[0]}, SGDConfig{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			f()
		})
	}
}

func BenchmarkAdamStep(b *testing.B) {
	w := nn.NewParam("w", 400, 784)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range w.Grad {
		w.Value[i] = float32(rng.NormFloat64())
		w.Grad[i] = float32(rng.NormFloat64())
	}
	opt := NewAdam([]*nn.Param{w}, AdamConfig{})
	b.SetBytes(int64(4 * len(w.Value)))
	b.ReportAllocs()
	for b.Loop() {
		opt.Step()
	}
}
