package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/vae"
)

// testPoints is the test set encoded and scored once, for the explorer's
// map and its anomalies.
type testPoints struct {
	set          *dataset.Set
	mean, logVar []float32 // [N, Latent]
	pca          *PCA
	latent       int
	scores       []float64 // [N], the detector's score, else the negative ELBO
	ranked       []int     // the examples by score, highest first
	seed         uint64    // of the scores' draws, and of those that blame inputs (rng)
}

// scoreSeed is the seed of the negative ELBO of the test set of a model
// without a detector.
const scoreSeed = 1

// scoreKind names what the scores of the test set are: the detector's
// score, or the negative ELBO.
func scoreKind(m *vae.Model) string {
	if m.Detector != nil {
		return m.Detector.Score
	}
	return vae.ScoreELBO
}

// PCA is the projection of the latent means on their first two principal
// components that the explorer maps when the latent space has more than two
// dimensions: a point z is at ((z − Center)·Components[0], (z − Center)·Components[1]).
type PCA struct {
	Center     []float64    `json:"center"`     // [Latent], the mean of the latent means
	Components [2][]float64 `json:"components"` // two unit vectors of [Latent]
	Explained  [2]float64   `json:"explained"`  // the share of the variance each explains
}

func newTestPoints(m *vae.Model, test *dataset.Set) (*testPoints, error) {
	if test.Dim != m.Config.Input {
		return nil, fmt.Errorf("%s has %d features per example, the model's input is %d", test.Name, test.Dim, m.Config.Input)
	}
	if test.N == 0 {
		return nil, fmt.Errorf("%s is empty", test.Name)
	}
	m, err := m.GivenLabels(test.Labels) // a conditional model's posterior is given the labels
	if err != nil {
		return nil, fmt.Errorf("%s: %w", test.Name, err)
	}
	mean, logVar, err := m.Encode(test.X)
	if err != nil {
		return nil, err
	}
	tp := &testPoints{set: test, mean: mean, logVar: logVar, latent: m.Config.Latent, seed: scoreSeed}
	if tp.latent > 2 {
		tp.pca = principalPlane(mean, test.N, tp.latent)
	}
	d := vae.Detector{Score: vae.ScoreELBO, Seed: scoreSeed}
	if m.Detector != nil {
		d = *m.Detector
	}
	tp.seed = d.Seed
	if tp.scores, err = m.AnomalyScores(context.Background(), test.X, d); err != nil {
		return nil, fmt.Errorf("scoring %s: %w", test.Name, err)
	}
	tp.ranked = make([]int, test.N)
	for i := range tp.ranked {
		if !finite(tp.scores[i]) {
			return nil, fmt.Errorf("the %s score of %s's example %d is %v", scoreKind(m), test.Name, i, tp.scores[i])
		}
		tp.ranked[i] = i
	}
	slices.SortStableFunc(tp.ranked, func(a, b int) int { return cmp.Compare(tp.scores[b], tp.scores[a]) })
	return tp, nil
}

// rng returns the source of the draws that blame the inputs of example i
// (GET /v1/anomalies, its heat map): the same for the same example.
func (t *testPoints) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(t.seed, uint64(i)))
}

// example names test example i.
func (t *testPoints) example(i int) Example {
	e := Example{Index: i}
	if t.set.Labels != nil {
		l := int(t.set.Labels[i])
		e.Label = &l
		if l < len(t.set.ClassNames) {
			e.Class = t.set.ClassNames[l]
		}
	}
	if t.set.IDs != nil {
		e.ID = t.set.IDs[i]
	}
	return e
}

// principalPlane returns the first two principal components of the n rows
// of x [n, d], or nil when they are not defined.
func principalPlane(x []float32, n, d int) *PCA {
	if n < 2 {
		return nil
	}
	data := mat.NewDense(n, d, nil)
	center := make([]float64, d)
	for i := range n {
		for j := range d {
			v := float64(x[i*d+j])
			data.Set(i, j, v)
			center[j] += v / float64(n)
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(data, nil) {
		return nil
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	vars := pc.VarsTo(nil)
	total := 0.0
	for _, v := range vars {
		total += v
	}
	p := &PCA{Center: center}
	for k := range 2 {
		p.Components[k] = mat.Col(nil, k, &vecs)
		if total > 0 {
			p.Explained[k] = vars[k] / total
		}
	}
	return p
}

// pointsJSON makes the body of GET /v1/points.
func (s *Server) pointsJSON() ([]byte, error) {
	L := s.model.Config.Latent
	b := []byte(`{"latent":` + strconv.Itoa(L))
	b = append(b, `,"score_kind":`...)
	b = strconv.AppendQuote(b, scoreKind(s.model))
	b = append(b, `,"threshold":`...)
	if d := s.model.Detector; d != nil {
		b = strconv.AppendFloat(b, d.Threshold, 'g', -1, 64)
	} else {
		b = append(b, "null"...)
	}
	if s.test == nil {
		return append(b, `,"n":0,"data":"","labels":[],"classes":[],"mean":[],"pca":null,"scores":[]}`+"\n"...), nil
	}
	t := s.test
	b = append(b, `,"n":`...)
	b = strconv.AppendInt(b, int64(t.set.N), 10)
	b = append(b, `,"data":`...)
	b = strconv.AppendQuote(b, t.set.Name)
	b = append(b, `,"labels":[`...)
	for i, l := range t.set.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(l), 10)
	}
	b = append(b, `],"classes":`...)
	classes, err := json.Marshal(t.set.ClassNames)
	if err != nil {
		return nil, err
	}
	if t.set.ClassNames == nil {
		classes = []byte("[]")
	}
	b = append(b, classes...)
	b = append(b, `,"mean":`...)
	if b, err = appendMatrix(b, t.mean, L); err != nil {
		return nil, fmt.Errorf("the latent means of %s: %w", t.set.Name, err)
	}
	b = append(b, `,"pca":`...)
	pca, err := json.Marshal(t.pca)
	if err != nil {
		return nil, err
	}
	b = append(b, pca...)
	b = append(b, `,"scores":[`...)
	for i, v := range t.scores {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, "]}\n"...), nil
}

// pointList answers GET /v1/points: the latent means of the test set, its
// labels (if any), for more than two latent dimensions the principal plane
// of the means, and the score of each example ("scores": the detector's
// "score_kind", "threshold" its threshold, or the negative ELBO, "elbo",
// with no threshold).
func (s *Server) pointList(c *call) error {
	return c.writeBody(s.points)
}

// Example names a test example.
type Example struct {
	Index int    `json:"index"`
	Label *int   `json:"label,omitempty"`
	Class string `json:"class,omitempty"` // the label's name, when the test set names its classes
	ID    string `json:"id,omitempty"`    // the example's id (a table row's id cell), when it has one
}

// Point is the body of GET /v1/points/{i}: one test example.
type Point struct {
	Example
	Input  Values    `json:"input"`
	Row    any       `json:"row,omitempty"` // a table model's example: its cells, column → value, decoded from Input
	Mean   []float32 `json:"mean"`
	LogVar []float32 `json:"log_var"`
}

// Values are numbers written to JSON with null for NaN: a missing cell of
// a table's encoded row.
type Values []float32

// MarshalJSON writes v as a JSON array, NaN as null.
func (v Values) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2+12*len(v))
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(x)) {
			b = append(b, "null"...)
			continue
		}
		var err error
		if b, err = appendFloat(b, x); err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

// noTestSet is the error of a request about the test set when none is
// loaded.
func noTestSet(field string) error {
	return &apiError{Status: http.StatusNotFound, Field: field, Message: "no test set is loaded (start the server with --data)"}
}

// testIndex returns the index of the test example that the path names ({i}).
func (s *Server) testIndex(c *call) (int, error) {
	if s.test == nil {
		return 0, noTestSet("i")
	}
	i, err := strconv.Atoi(c.r.PathValue("i"))
	if err != nil || i < 0 || i >= s.test.set.N {
		return 0, &apiError{Status: http.StatusNotFound, Field: "i", Message: fmt.Sprintf("%q, want a test example index in [0, %d)", c.r.PathValue("i"), s.test.set.N)}
	}
	return i, nil
}

func (s *Server) point(c *call) error {
	i, err := s.testIndex(c)
	if err != nil {
		return err
	}
	t, L := s.test, s.test.latent
	p := Point{Example: t.example(i), Input: t.set.Row(i), Mean: t.mean[i*L : (i+1)*L], LogVar: t.logVar[i*L : (i+1)*L]}
	if s.tab != nil {
		row, err := s.tab.decodeRow(p.Input)
		if err != nil {
			return err
		}
		p.Row = row
	}
	return c.writeJSON(p)
}
