package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a Clock that moves only when Advance moves it. Its timers fire
// inside Advance, on Advance's goroutine, in time order (in the order they
// were made when due at the same instant), with Now reading the timer's
// time while each fires. An AfterFunc's f is called there synchronously,
// with no lock held: it may make or stop timers, but must not block or
// call Advance. A timer for a duration of zero or less is due at once and
// fires on the next Advance, Advance(0) included.
//
// A Fake is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64        // timers made, to order those due together
	armed   []*fakeTimer  // in no order
	changed chan struct{} // closed, and replaced, when a timer is armed
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// AfterFunc calls fn inside the Advance that reaches d from now.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.arm(d, fn, nil)
}

// NewTimer sends the time on C in the Advance that reaches d from now. C
// holds one time; nothing blocks on it.
func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.arm(d, nil, make(chan time.Time, 1))
}

func (f *Fake) arm(d time.Duration, fn func(), c chan time.Time) *fakeTimer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	t := &fakeTimer{f: f, when: f.now.Add(d), seq: f.seq, fn: fn, c: c}
	f.armed = append(f.armed, t)
	close(f.changed)
	f.changed = make(chan struct{})
	return t
}

// Advance moves the clock on by d, firing each timer due by then, those
// that firing makes included.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	end := f.now.Add(d)
	f.mu.Unlock()
	for {
		f.mu.Lock()
		t := f.due(end)
		if t == nil {
			if end.After(f.now) {
				f.now = end
			}
			f.mu.Unlock()
			return
		}
		f.remove(t)
		if t.when.After(f.now) {
			f.now = t.when
		}
		if t.fn == nil {
			// Sent under the lock, so that a Stop either comes first or
			// drains it. There is room: a timer fires once.
			t.c <- f.now
			f.mu.Unlock()
			continue
		}
		f.mu.Unlock()
		t.fn()
	}
}

// due returns the first timer due by end, or nil.
func (f *Fake) due(end time.Time) *fakeTimer {
	var first *fakeTimer
	for _, t := range f.armed {
		if t.when.After(end) {
			continue
		}
		if first == nil || t.when.Before(first.when) || t.when.Equal(first.when) && t.seq < first.seq {
			first = t
		}
	}
	return first
}

// remove disarms t and reports whether it was armed.
func (f *Fake) remove(t *fakeTimer) bool {
	for i, a := range f.armed {
		if a == t {
			f.armed = append(f.armed[:i], f.armed[i+1:]...)
			return true
		}
	}
	return false
}

// BlockUntil waits until at least n timers are waiting to fire, so that
// a test advances the clock only once the code under test has armed what
// it means to. It returns ctx's error if ctx ends first.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		armed, changed := len(f.armed), f.changed
		f.mu.Unlock()
		if armed >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type fakeTimer struct {
	f    *Fake
	when time.Time
	seq  uint64
	fn   func()
	c    chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.c != nil {
		select {
		case <-t.c: // fired and not received: received never
		default:
		}
	}
	return t.f.remove(t)
}
