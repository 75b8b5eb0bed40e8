package rtc

import (
	"context"
	"testing"
	"time"

	"parley/internal/clock"
)

// Helpers for tests on a fake clock: the call's own timers wait for the
// test to move the clock, while pion's run on the wall clock as ever.

// onFake returns cfg on a new fake clock, and the clock.
func onFake(cfg Config) (Config, *clock.Fake) {
	fc := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = fc
	return cfg, fc
}

// on runs f on c's goroutine and returns what it returns: the zero value
// if the call has ended.
func on[T any](c *Call, f func() T) T {
	got := make(chan T, 1)
	c.post(func() { got <- f() })
	select {
	case v := <-got:
		return v
	case <-c.done:
		var zero T
		return zero
	}
}

// flush waits until c's goroutine has run everything posted to it so far:
// the work of each timer fired, once the Advance that fired it returns.
func flush(c *Call) { on(c, func() bool { return true }) }

// advance moves fc on by d and waits until each call has handled what
// that fired.
func advance(fc *clock.Fake, d time.Duration, calls ...*Call) {
	fc.Advance(d)
	for _, c := range calls {
		flush(c)
	}
}

// until waits until cond, run on c's goroutine, holds: what real time,
// the network's, brings before the test moves the clock.
func until(t *testing.T, c *Call, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !on(c, cond); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s", what)
		}
	}
}

// blockUntil waits until n timers are armed on fc.
func blockUntil(t *testing.T, fc *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fc.BlockUntil(ctx, n); err != nil {
		t.Fatalf("%d timers armed within 20 s: %v", n, err)
	}
}

// pendingEvents is how many events c has for Events' reader.
func pendingEvents(c *Call) int { return on(c, func() int { return len(c.pending) }) }

// nextAdvancing is next for a call whose clock is fc: whenever c has no
// event waiting and its goroutine is idle, the clock moves on by step.
// Use it once what the test waits for hangs on the call's timers alone.
func nextAdvancing[T Event](t *testing.T, fc *clock.Fake, step time.Duration, c *Call) T {
	t.Helper()
	var zero T
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		select {
		case <-c.done: // the events channel is closed, or about to be
		default:
			if pendingEvents(c) == 0 {
				advance(fc, step, c)
				time.Sleep(time.Millisecond) // a moment for the network
				continue
			}
		}
		e, ok := <-c.Events()
		if !ok {
			t.Fatalf("events closed while waiting for %T", zero)
		}
		if v, ok := e.(T); ok {
			return v
		}
		if b, ok := e.(ByeEvent); ok {
			t.Fatalf("call ended (%q, %v) while waiting for %T", b.Reason, b.Err, zero)
		}
	}
	t.Fatalf("no %T within 20 s", zero)
	return zero
}
