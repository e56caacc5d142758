package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/govae/vae/nn"
)

// torchGolden is testdata/torch_golden.json, written by torch_golden.py.
type torchGolden struct {
	TorchVersion string `json:"torch_version"`
	Cases        []struct {
		Name      string `json:"name"`
		Optimizer string `json:"optimizer"`
		Config    Config `json:"config"`
		Steps     int    `json:"steps"`
		Params    []struct {
			Name  string    `json:"name"`
			Shape []int     `json:"shape"`
			Value []float32 `json:"value"`
			A     []float32 `json:"a"`
			C     []float32 `json:"c"`
		} `json:"params"`
		AfterFirst [][]float32          `json:"after_first"`
		AfterLast  [][]float32          `json:"after_last"`
		State      map[string][]float32 `json:"state"`
	} `json:"cases"`
}

// TestTorchGolden runs every optimizer on the quadratics of
// testdata/torch_golden.json and checks the parameters and buffers, bit for
// bit, against those torch.optim produced.
func TestTorchGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden torchGolden
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	for _, tc := range golden.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			var params []*nn.Param
			for _, gp := range tc.Params {
				p := nn.NewParam(gp.Name, gp.Shape...)
				copy(p.Value, gp.Value)
				params = append(params, p)
			}
			opt, err := New(tc.Optimizer, params, tc.Config)
			if err != nil {
				t.Fatal(err)
			}
			for step := 1; step <= tc.Steps; step++ {
				for i, p := range params {
					a, c := tc.Params[i].A, tc.Params[i].C
					for j, x := range p.Value {
						p.Grad[j] = a[j] * (x - c[j]) // as torch: sub, then mul
					}
				}
				opt.Step()
				if step == 1 {
					for i, p := range params {
						checkBits(t, "after step 1: "+p.Name, p.Value, tc.AfterFirst[i])
					}
				}
			}
			for i, p := range params {
				checkBits(t, "after last step: "+p.Name, p.Value, tc.AfterLast[i])
			}
			st := opt.State()
			if len(st.Tensors) != len(tc.State) {
				t.Errorf("state has %d tensors, torch's has %d", len(st.Tensors), len(tc.State))
			}
			for k, want := range tc.State {
				checkBits(t, "state "+k, st.Tensors[k], want)
			}
		})
	}
}

// checkBits reports the elements of got whose bits differ from want's.
func checkBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: length %d, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if bad < 3 {
				t.Errorf("%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}
