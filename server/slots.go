package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/govae/vae/budget"
)

// How a /v1 request goes through the server: its body is read first,
// within Options.BodyTimeout, into memory counted against
// Options.MaxBodyMemory, holding no slot; then it takes one of the
// MaxInFlight slots to parse and check; an expensive one (see
// Options.MaxHeavyInFlight) then trades its slot for one of the heavy pool,
// so that it cannot keep cheap requests waiting; the work stops, between
// chunks of rows or images, when the client goes away.

// call is one /v1 request on its way through the server.
type call struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context

	kind     contentKind
	boundary string // of a multipart body
	body     []byte

	held     int64         // bytes of s.bodies held for the body
	slot     chan struct{} // the pool it holds a slot of, or nil
	admitted bool          // holds a place in s.heavyAdmit
}

// release gives back the slot and the memory the call holds.
func (c *call) release() {
	if c.slot != nil {
		<-c.slot
		c.slot = nil
	}
	if c.admitted {
		<-c.s.heavyAdmit
		c.admitted = false
	}
	c.s.bodies.release(c.held)
	c.held = 0
}

// take waits for a slot of pool.
func (c *call) take(pool chan struct{}) error {
	select {
	case pool <- struct{}{}:
		c.slot = pool
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// work is called by an endpoint once it has checked its request, before
// the computation: an expensive one (heavy) gives back its slot and waits
// for one of the heavy pool. what names the request in the error of a busy
// server.
func (c *call) work(heavy bool, what string) error {
	if heavy && c.slot != c.s.heavy {
		select {
		case c.s.heavyAdmit <- struct{}{}:
			c.admitted = true
		default:
			return &apiError{Status: http.StatusServiceUnavailable, Field: "request", Message: fmt.Sprintf(
				"%s is expensive and %d expensive requests are running or waiting, the most this server queues; retry later", what, cap(c.s.heavyAdmit))}
		}
		<-c.slot
		c.slot = nil
		if err := c.take(c.s.heavy); err != nil {
			return err
		}
	}
	if h := c.s.testHookWork; h != nil {
		h(c)
	}
	return c.ctx.Err()
}

// rowsPerChunk is how many rows an endpoint computes between two looks at
// whether its client is still there. The model's results for a row depend,
// in their last bits, on the rows computed with it, so a batch of up to
// DefaultMaxBatch rows is computed in one call of the model: bit for bit
// what the model gives for it. Only a larger batch (MaxBatch raised) is cut.
const rowsPerChunk = DefaultMaxBatch

// eachChunk calls f for the chunks [lo, hi) of size rows (the last may be
// shorter) of n, and stops with ctx's error when ctx is done before one.
func eachChunk(ctx context.Context, n, size int, f func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f(lo, min(n, lo+size)); err != nil {
			return err
		}
	}
	return nil
}

// readBody reads the request body, at most Options.MaxBodyBytes, within
// Options.BodyTimeout, into memory taken from s.bodies as it arrives, so that
// a client that sends slowly holds no more than it sent.
func (c *call) readBody() error {
	s, r := c.s, c.r
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return tooLarge("body", "Content-Length %d bytes, more than the limit of %d per request (raise it with --max-body)", r.ContentLength, limit)
	}
	rc := http.NewResponseController(c.w)
	deadline := time.Now().Add(s.opts.BodyTimeout)
	if rc.SetReadDeadline(deadline) == nil {
		// Once the body is in, the connection is read only to notice that
		// the client went away, which must not time out while the
		// request computes.
		defer rc.SetReadDeadline(time.Time{})
	}
	ctx, cancel := context.WithDeadline(c.ctx, deadline)
	defer cancel()

	most := limit + 1 // room to see the end of a body of limit bytes
	if r.ContentLength >= 0 {
		most = r.ContentLength + 1
	}
	body := http.MaxBytesReader(c.w, r.Body, limit)
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			size := min(most, max(2*int64(cap(buf)), 4<<10))
			if size <= int64(cap(buf)) { // cannot happen: the reader stops at most-1
				return tooLarge("body", "larger than the limit of %d bytes per request (raise it with --max-body)", limit)
			}
			if err := s.bodies.acquire(ctx, size-int64(cap(buf))); err != nil {
				if c.ctx.Err() != nil {
					return c.ctx.Err()
				}
				return &apiError{Status: http.StatusServiceUnavailable, Field: "body", Message: fmt.Sprintf(
					"the server holds %s of request bodies, its limit (Options.MaxBodyMemory), and none was freed within %v; retry later",
					budget.Format(s.bodies.size), s.opts.BodyTimeout)}
			}
			c.held += size - int64(cap(buf))
			buf = append(make([]byte, 0, size), buf...)
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		var tooBig *http.MaxBytesError
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &tooBig):
			return tooLarge("body", "larger than the limit of %d bytes per request (raise it with --max-body)", limit)
		case errors.As(err, &ne) && ne.Timeout():
			c.w.Header().Set("Connection", "close")
			return &apiError{Status: http.StatusRequestTimeout, Field: "body", Message: fmt.Sprintf(
				"%d bytes of it arrived in %v, the time a client has to send its body (Options.BodyTimeout)", len(buf), s.opts.BodyTimeout)}
		default:
			return badRequest("body", "reading it: %v", err)
		}
	}
	c.body = buf
	return nil
}

// bytePool counts the bytes of request bodies held at once.
type bytePool struct {
	size int64
	mu   sync.Mutex
	free int64
	wake chan struct{} // closed when bytes are given back
}

func newBytePool(size int64) *bytePool {
	return &bytePool{size: size, free: size, wake: make(chan struct{})}
}

// acquire takes n bytes, waiting until they are free or ctx is done.
func (p *bytePool) acquire(ctx context.Context, n int64) error {
	for {
		p.mu.Lock()
		if n <= p.free {
			p.free -= n
			p.mu.Unlock()
			return nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back n bytes.
func (p *bytePool) release(n int64) {
	if n == 0 {
		return
	}
	p.mu.Lock()
	p.free += n
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}
