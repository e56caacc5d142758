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
		if got := Burda.LR(1e-3, tc.epoch, 10); math.Abs(got-want) > 1e-15 {
			t.Errorf("epoch %d: lr %g, want %g (stage %d)", tc.epoch, got, want, tc.i)
		}
	}
	if Constant.LR(0.5, 100, 10) != 0.5 || Schedule("").LR(0.5, 7, 10) != 0.5 {
		t.Error("constant schedule changed the rate")
	}
	if Schedule("step").Validate() == nil || Burda.Validate() != nil || Cosine.Validate() != nil {
		t.Error("Validate")
	}
}

func TestCosineSchedule(t *testing.T) {
	for _, tc := range []struct {
		epoch, epochs int
		want          float64
	}{{0, 100, 1e-3}, {50, 100, 0.5e-3}, {25, 100, 1e-3 * (1 + math.Sqrt2/2) / 2}, {75, 100, 1e-3 * (1 - math.Sqrt2/2) / 2}, {99, 100, 1e-3 * (1 - math.Cos(math.Pi/100)) / 2}, {3, 0, 1e-3}} {
		if got := Cosine.LR(1e-3, tc.epoch, tc.epochs); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("epoch %d of %d: lr %g, want %g", tc.epoch, tc.epochs, got, tc.want)
		}
	}
}
