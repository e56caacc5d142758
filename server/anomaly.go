package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"github.com/govae/vae/vae"
	"image/png"
	"net/http"
	"slices"
	"strconv"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/plot"
)

// The anomalies of the test set: its examples of highest score (see
// testPoints), and what in each the model finds unlikely.

// Default and most anomalies of GET /v1/anomalies.
const (
	defaultAnomalies = 20
	maxAnomalies     = 100
)

// Anomaly is one of the test examples GET /v1/anomalies lists.
type Anomaly struct {
	Example
	Score float64 `json:"score"`           // as GET /v1/points gives it
	Input Values  `json:"input,omitempty"` // the example's input, but for a table model
	// Heat, for a model of square images (one likelihood term per pixel),
	// is the path of the PNG of those terms (GET /v1/points/{i}/heat.png).
	Heat string `json:"heat,omitempty"`
	// Blame, for a model of parts (a table's columns), is the
	// reconstruction term of each part, the highest first.
	Blame []Blame `json:"blame,omitempty"`
}

// Blame is the part a column (a model part) takes in the score of a row.
type Blame struct {
	Column string  `json:"column"`
	Term   float32 `json:"term"`  // its reconstruction term, −log p(cell|z), 0 for a missing cell
	Share  float64 `json:"share"` // Term over the row's reconstruction term, the sum of the terms (0 when that is 0)
	// Observed is the row's cell and Expected the reconstruction's, decoded
	// as GET /v1/points/{i} gives a row (null: missing), for a table model.
	Observed json.RawMessage `json:"observed,omitempty"`
	Expected json.RawMessage `json:"expected,omitempty"`
}

// anomalies answers GET /v1/anomalies?n=20: the n test examples of highest
// score, each with what makes it unlikely. The terms come from one draw of
// ε per example, the same for the same example.
func (s *Server) anomalies(c *call) error {
	o, err := c.queryFields("n")
	if err != nil {
		return err
	}
	n := defaultAnomalies
	if err := o.decode("n", &n, "a whole number ≥ 1"); err != nil {
		return err
	}
	switch {
	case n < 1:
		return badRequest("n", "%d, want ≥ 1", n)
	case n > maxAnomalies:
		return tooLarge("n", "%d anomalies, more than the limit of %d per request", n, maxAnomalies)
	case s.test == nil:
		return noTestSet("path")
	}
	t, D := s.test, s.model.Config.Input
	n = min(n, t.set.N)
	if err := s.checkMemory(fmt.Sprintf("explaining %d anomalies with %s", n, s.model.Config), budget.Mul(2, int64(n), int64(D)), budget.Mul(int64(n), int64(D)), s.rowsBytes(2*n)); err != nil {
		return err
	}
	if err := c.work(false, ""); err != nil {
		return err
	}
	idx := t.ranked[:n]
	list := make([]Anomaly, n)
	parts := s.model.Config.Parts
	for k, i := range idx {
		list[k] = Anomaly{Example: t.example(i), Score: t.scores[i]}
		if s.tab == nil {
			list[k].Input = t.set.Row(i)
		}
		if s.images() {
			list[k].Heat = "/v1/points/" + strconv.Itoa(i) + "/heat.png"
		}
	}
	if len(parts) > 0 {
		x := make([]float32, n*D)
		t.set.Gather(x, idx)
		var recon []float32
		if s.tab != nil {
			m := s.model
			if m.Config.Classes > 0 { // given each row's label
				labels := make([]uint8, n)
				for k, i := range idx {
					labels[k] = t.set.Labels[i]
				}
				if m, err = m.Given(labels...); err != nil {
					return err
				}
			}
			if recon, err = m.Reconstruct(x); err != nil {
				return err
			}
		}
		err := eachChunk(c.ctx, n, 1, func(k, _ int) error {
			row := x[k*D : (k+1)*D]
			m, err := s.testModel(idx[k])
			if err != nil {
				return err
			}
			_, terms, err := m.PartScores(row, t.rng(idx[k]))
			if err != nil {
				return err
			}
			var in, out []string
			if s.tab != nil {
				if in, err = s.tab.schema.Decode(nil, row); err == nil {
					out, err = s.tab.schema.Decode(nil, recon[k*D:(k+1)*D])
				}
				if err != nil {
					return fmt.Errorf("test example %d: %w", idx[k], err)
				}
			}
			var sum float64
			for _, v := range terms {
				sum += float64(v)
			}
			blame := make([]Blame, len(parts))
			for j, p := range parts {
				if !finite(float64(terms[j])) {
					return fmt.Errorf("the score of test example %d, column %s, is not finite", idx[k], p.Name)
				}
				blame[j] = Blame{Column: p.Name, Term: terms[j]}
				if sum != 0 {
					blame[j].Share = float64(terms[j]) / sum
				}
				if in != nil {
					typ := s.tab.features[j].Type
					blame[j].Observed, blame[j].Expected = appendCell(nil, typ, in[j]), appendCell(nil, typ, out[j])
				}
			}
			slices.SortStableFunc(blame, func(a, b Blame) int { return cmp.Compare(b.Term, a.Term) })
			list[k].Blame = blame
			return nil
		})
		if err != nil {
			return err
		}
	}
	return c.writeJSON(struct {
		Anomalies []Anomaly `json:"anomalies"`
	}{list})
}

// images reports whether the model's inputs are the pixels of square
// images, each with a likelihood term of its own.
func (s *Server) images() bool {
	return s.h > 1 && len(s.model.Config.Parts) == 0
}

// heatMap answers GET /v1/points/{i}/heat.png: the reconstruction term of
// each input of test example i (one draw of ε, as GET /v1/anomalies), as a
// PNG of the model's image shape, from black (the example's lowest term)
// through red and yellow to white (its highest), as vae score --explain
// draws it (plot.HeatMap).
func (s *Server) heatMap(c *call) error {
	i, err := s.testIndex(c)
	if err != nil {
		return err
	}
	if !s.images() {
		return &apiError{Status: http.StatusNotFound, Field: "path", Message: fmt.Sprintf("the model's %d inputs are not the pixels of an image; GET /v1/anomalies says what to blame", s.model.Config.Input)}
	}
	if err := c.work(false, ""); err != nil {
		return err
	}
	m, err := s.testModel(i)
	if err != nil {
		return err
	}
	_, terms, _, err := m.InputScores(s.test.set.Row(i), s.test.rng(i))
	if err != nil {
		return err
	}
	img := plot.HeatMap(terms, s.h, s.w)
	if img == nil {
		return fmt.Errorf("the heat map of test example %d: %d terms for %d×%d pixels", i, len(terms), s.h, s.w)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("encoding the heat map: %w", err)
	}
	return c.write("image/png", b.Bytes())
}

// testModel returns the model for test example i: given its label, for a
// conditional model.
func (s *Server) testModel(i int) (*vae.Model, error) {
	if s.model.Config.Classes == 0 {
		return s.model, nil
	}
	if s.test.set.Labels == nil {
		return nil, fmt.Errorf("%s: %w", s.test.set.Name, vae.ErrNoClass)
	}
	return s.model.Given(s.test.set.Labels[i])
}
