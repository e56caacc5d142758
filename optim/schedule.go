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
)

// Validate reports an unknown schedule; the empty one is Constant.
func (s Schedule) Validate() error {
	switch s {
	case "", Constant, Burda:
		return nil
	}
	return fmt.Errorf("optim: unknown schedule %q (want %q or %q)", s, Constant, Burda)
}

// LR returns the learning rate of epoch (counted from 0) under schedule s
// with base rate lr.
func (s Schedule) LR(lr float64, epoch int) float64 {
	if s != Burda {
		return lr
	}
	i, end := 0, 1
	for epoch >= end && i < 7 {
		i++
		end += int(math.Pow(3, float64(i)))
	}
	return lr * math.Pow(10, -float64(i)/7)
}
