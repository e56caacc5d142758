package optim

import (
	"math"
	"testing"
)

func TestBurdaSchedule(t *testing.T) {
	for _, tc := range []struct {
		epoch int
		i     int // stage: lr·10^(−i/7)
	}{{0, 0}, {1, 1}, {3, 1}, {4, 2}, {12, 2}, {13, 3}, {39, 3}, {40, 4}, {1092, 6}, {1093, 7}, {3279, 7}, {5000, 7}} {
		want := 1e-3 * math.Pow(10, -float64(tc.i)/7)
		if got := Burda.LR(1e-3, tc.epoch); math.Abs(got-want) > 1e-15 {
			t.Errorf("epoch %d: lr %g, want %g (stage %d)", tc.epoch, got, want, tc.i)
		}
	}
	if Constant.LR(0.5, 100) != 0.5 || Schedule("").LR(0.5, 7) != 0.5 {
		t.Error("constant schedule changed the rate")
	}
	if Schedule("cosine").Validate() == nil || Burda.Validate() != nil {
		t.Error("Validate")
	}
}
