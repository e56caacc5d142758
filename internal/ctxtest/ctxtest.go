// Package ctxtest has contexts for tests that stop long-running work at a
// chosen point.
package ctxtest

import (
	"context"
	"sync"
	"sync/atomic"
)

// CancelAfter returns a context whose Err reports context.Canceled once it
// has been asked n times; the trainer asks before every step, so training
// stops after n steps. Its Done channel closes when Err first reports the
// cancellation (the n+1-th call), so that work which waits on Done, and
// contexts derived from it, stop too. It is safe for concurrent use.
func CancelAfter(n int) context.Context {
	c := &cancelAfter{Context: context.Background(), done: make(chan struct{})}
	c.left.Store(int64(n))
	return c
}

type cancelAfter struct {
	context.Context
	left  atomic.Int64
	done  chan struct{}
	close sync.Once
}

func (c *cancelAfter) Done() <-chan struct{} { return c.done }

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		c.close.Do(func() { close(c.done) })
		return context.Canceled
	}
	return nil
}
