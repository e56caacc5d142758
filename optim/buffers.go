package optim

import (
	"fmt"
	"sort"

	"github.com/govae/vae/nn"
)

// buffers holds an optimizer's per-parameter float32 buffers and its step
// count, and moves them in and out of a State.
type buffers struct {
	params []*nn.Param
	steps  int64
	slots  []string      // buffer kinds, e.g. "adam.m"
	data   [][][]float32 // data[slot][param], len(params[i].Value) each
}

func newBuffers(params []*nn.Param, slots ...string) buffers {
	b := buffers{params: params, slots: slots, data: make([][][]float32, len(slots))}
	for s := range slots {
		b.data[s] = make([][]float32, len(params))
		for i, p := range params {
			b.data[s][i] = make([]float32, len(p.Value))
		}
	}
	return b
}

// part returns the elements [i·len/n, (i+1)·len/n) of v.
func part(v []float32, i, n int) []float32 {
	return v[i*len(v)/n : (i+1)*len(v)/n]
}

func (b *buffers) key(slot, param int) string {
	return b.slots[slot] + "/" + b.params[param].Name
}

func (b *buffers) state() State {
	s := State{Steps: b.steps, Tensors: make(map[string][]float32, len(b.slots)*len(b.params))}
	for slot := range b.slots {
		for i := range b.params {
			s.Tensors[b.key(slot, i)] = append([]float32(nil), b.data[slot][i]...)
		}
	}
	return s
}

func (b *buffers) setState(s State) error {
	if s.Steps < 0 {
		return fmt.Errorf("optim: state: Steps = %d, want >= 0", s.Steps)
	}
	want := make(map[string]bool, len(b.slots)*len(b.params))
	for slot := range b.slots {
		for i, p := range b.params {
			k := b.key(slot, i)
			want[k] = true
			t, ok := s.Tensors[k]
			if !ok {
				return fmt.Errorf("optim: state: tensor %s missing", k)
			}
			if len(t) != len(p.Value) {
				return fmt.Errorf("optim: state: tensor %s has length %d, want %d (shape %v)", k, len(t), len(p.Value), p.Shape)
			}
		}
	}
	if len(s.Tensors) != len(want) {
		var extra []string
		for k := range s.Tensors {
			if !want[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		return fmt.Errorf("optim: state: unexpected tensor %s", extra[0])
	}
	b.steps = s.Steps
	for slot := range b.slots {
		for i := range b.params {
			copy(b.data[slot][i], s.Tensors[b.key(slot, i)])
		}
	}
	return nil
}
