package optim

import (
	"fmt"
	"math"
)

// Schedule names a learning-rate schedule: how the rate of each epoch
// follows from the base rate lr.
type Schedule string

// The schedules Schedule.LR knows.
const (
	// Constant keeps lr throughout.
	Constant Schedule = "constant"
	// Burda is the schedule of Burda, Grosse & Salakhutdinov (2016): 3ⁱ
	// epochs at lr·10^(−i/7) for i = 0…7, 3280 epochs in all, and the last
	// rate after that.
	Burda Schedule = "burda"
	// Cosine anneals the rate along half a cosine over the run's epochs,
	// lr·(1 + cos(π·epoch/epochs))/2, from lr at the first epoch towards 0
	// at the last (Loshchilov & Hutter 2017, without restarts).
	Cosine Schedule = "cosine"
)

// Validate reports an unknown schedule; the empty one is Constant.
func (s Schedule) Validate() error {
	switch s {
	case "", Constant, Burda, Cosine:
		return nil
	}
	return fmt.Errorf("optim: unknown schedule %q (want %q, %q or %q)", s, Constant, Burda, Cosine)
}

// LR returns the learning rate of epoch (counted from 0) of a run of
// epochs under schedule s with base rate lr.
func (s Schedule) LR(lr float64, epoch, epochs int) float64 {
	switch {
	case s == Cosine && epochs > 0:
		return lr * (1 + math.Cos(math.Pi*float64(epoch)/float64(epochs))) / 2
	case s != Burda:
		return lr
	}
	i, end := 0, 1
	for epoch >= end && i < 7 {
		i++
		end += int(math.Pow(3, float64(i)))
	}
	return lr * math.Pow(10, -float64(i)/7)
}
