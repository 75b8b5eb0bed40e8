// Package clock is the time source of parley's own timeouts: the wall
// clock in the program, and a fake one that tests move by hand, so that a
// test of a ten-second bound takes milliseconds.
package clock

import "time"

// Clock tells the time and runs timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once d has passed. How f is called is the
	// clock's: on a goroutine of its own for Real, inside Advance for a
	// Fake. Either way it must not block.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer sends the time on the timer's channel once d has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a single event of a Clock.
type Timer interface {
	// C is the channel of a NewTimer; it is nil for an AfterFunc.
	C() <-chan time.Time
	// Stop keeps the timer from firing. It reports whether it did so:
	// false when the timer had already fired or been stopped. After
	// Stop, no time is received from C.
	Stop() bool
}

// Real returns the wall clock: package time's functions.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
