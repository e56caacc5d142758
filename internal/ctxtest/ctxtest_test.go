package ctxtest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Done closes exactly when Err first reports the cancellation, and a
// context derived from it is cancelled with it.
func TestCancelAfterDone(t *testing.T) {
	ctx := CancelAfter(2)
	child, stop := context.WithCancel(ctx)
	defer stop()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for i := range 2 {
		if err := ctx.Err(); err != nil {
			t.Fatalf("call %d: Err = %v, want nil", i+1, err)
		}
		if closed(ctx.Done()) {
			t.Fatalf("Done closed after %d calls of Err, want open until the 3rd", i+1)
		}
	}
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("3rd call: Err = %v, want context.Canceled", err)
	}
	if !closed(ctx.Done()) {
		t.Fatal("Done still open after Err reported the cancellation")
	}
	select { // a derived context follows its parent's Done, on a goroutine of its own
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a context derived from it was not cancelled")
	}
	if err := child.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("derived context: Err = %v, want context.Canceled", err)
	}
	ctx.Err() // later calls close nothing twice
}
