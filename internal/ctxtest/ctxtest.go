// Package ctxtest has contexts for tests that stop long-running work at a
// chosen point.
package ctxtest

import "context"

// CancelAfter returns a context whose Err reports context.Canceled once it
// has been asked n times; the trainer asks before every step, so training
// stops after n steps. Its Done channel never closes.
func CancelAfter(n int) context.Context {
	return &cancelAfter{Context: context.Background(), n: n}
}

type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}
