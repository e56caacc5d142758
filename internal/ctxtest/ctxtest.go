// Package ctxtest has contexts for tests that stop long-running work at a
// chosen point.
package ctxtest

import (
	"context"
	"sync/atomic"
)

// CancelAfter returns a context whose Err reports context.Canceled once it
// has been asked n times; the trainer asks before every step, so training
// stops after n steps. Its Err is safe for concurrent use; its Done channel
// never closes.
func CancelAfter(n int) context.Context {
	c := &cancelAfter{Context: context.Background()}
	c.left.Store(int64(n))
	return c
}

type cancelAfter struct {
	context.Context
	left atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}
