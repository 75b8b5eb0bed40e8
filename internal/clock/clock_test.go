package clock

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// TestFakeOrder: timers fire in time order, those due together in the
// order they were made, each with Now reading its own time.
func TestFakeOrder(t *testing.T) {
	f := NewFake(t0)
	var got []string
	at := func(name string, d time.Duration) Timer {
		return f.AfterFunc(d, func() {
			if now := f.Now(); !now.Equal(t0.Add(d)) {
				t.Errorf("%s: Now = %v while firing; want %v", name, now, t0.Add(d))
			}
			got = append(got, name)
		})
	}
	at("c", 3*time.Second)
	at("a", time.Second)
	at("b1", 2*time.Second)
	at("b2", 2*time.Second)
	late := at("late", 10*time.Second)
	f.Advance(5 * time.Second)
	if want := []string{"a", "b1", "b2", "c"}; !slices.Equal(got, want) {
		t.Errorf("fired %v; want %v", got, want)
	}
	if now := f.Now(); !now.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("Now = %v after Advance; want %v", now, t0.Add(5*time.Second))
	}
	if !late.Stop() {
		t.Error("the late timer is not armed")
	}
}

// TestFakeSynchronous: an AfterFunc's f has run, on Advance's goroutine,
// by the time Advance returns; timers it makes fire in the same Advance
// if they fall within it.
func TestFakeSynchronous(t *testing.T) {
	f := NewFake(t0)
	var got []time.Duration
	var tick func()
	tick = func() {
		got = append(got, f.Now().Sub(t0))
		f.AfterFunc(250*time.Millisecond, tick)
	}
	f.AfterFunc(250*time.Millisecond, tick)
	f.Advance(time.Second)
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("ticks at %v; want %v", got, want)
	}
	f.Advance(249 * time.Millisecond)
	if len(got) != 4 {
		t.Errorf("a tick before its time: %v", got)
	}
	f.Advance(time.Millisecond)
	if len(got) != 5 {
		t.Errorf("no tick at its time: %v", got)
	}
}

// TestFakeDueNow: a timer of zero or less fires on the next Advance, even
// Advance(0), and not before.
func TestFakeDueNow(t *testing.T) {
	f := NewFake(t0)
	fired := 0
	f.AfterFunc(0, func() { fired++ })
	f.AfterFunc(-time.Second, func() { fired++ })
	if fired != 0 {
		t.Fatal("fired before any Advance")
	}
	f.Advance(0)
	if fired != 2 {
		t.Errorf("%d fired on Advance(0); want 2", fired)
	}
	if !f.Now().Equal(t0) {
		t.Errorf("Now = %v; want the start, unmoved", f.Now())
	}
}

// TestFakeStop: a stopped timer never fires; Stop says whether it stopped
// it; a NewTimer's time, sent and not received, is gone after Stop.
func TestFakeStop(t *testing.T) {
	f := NewFake(t0)
	fired := false
	a := f.AfterFunc(time.Second, func() { fired = true })
	if !a.Stop() {
		t.Error("Stop of an armed timer = false")
	}
	if a.Stop() {
		t.Error("second Stop = true")
	}
	if a.C() != nil {
		t.Error("an AfterFunc has a channel")
	}
	f.Advance(2 * time.Second)
	if fired {
		t.Error("a stopped AfterFunc fired")
	}

	n := f.NewTimer(time.Second)
	f.Advance(time.Second)
	if n.Stop() {
		t.Error("Stop of a fired timer = true")
	}
	select {
	case v := <-n.C():
		t.Errorf("received %v after Stop", v)
	default:
	}

	n = f.NewTimer(time.Second)
	f.Advance(time.Second)
	select {
	case v := <-n.C():
		if !v.Equal(t0.Add(4 * time.Second)) {
			t.Errorf("timer sent %v; want %v", v, t0.Add(4*time.Second))
		}
	default:
		t.Error("nothing on C once due")
	}
}

// TestFakeBlockUntil: BlockUntil returns once enough timers are armed,
// and with ctx's error if ctx ends first.
func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(t0)
	done := make(chan error)
	go func() { done <- f.BlockUntil(context.Background(), 2) }()
	f.NewTimer(time.Second)
	select {
	case <-done:
		t.Fatal("BlockUntil(2) returned with 1 timer armed")
	case <-time.After(20 * time.Millisecond):
	}
	f.AfterFunc(time.Second, func() {})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.BlockUntil(ctx, 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("BlockUntil(3) = %v; want the deadline", err)
	}
}

// TestFakeConcurrent arms, stops and advances from many goroutines at
// once (for the race detector): every timer armed fires or is stopped,
// exactly once.
func TestFakeConcurrent(t *testing.T) {
	f := NewFake(t0)
	var mu sync.Mutex
	fired := map[int]int{}
	stopped := map[int]bool{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := g*1000 + i
				tm := f.AfterFunc(time.Duration(i%7)*time.Millisecond, func() {
					mu.Lock()
					fired[id]++
					mu.Unlock()
				})
				if i%3 == 0 && tm.Stop() {
					mu.Lock()
					stopped[id] = true
					mu.Unlock()
				}
				f.Now()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			f.Advance(time.Millisecond)
		}
	}()
	wg.Wait()
	f.Advance(time.Second)
	for g := range 4 {
		for i := range 200 {
			id := g*1000 + i
			if n := fired[id]; n > 1 || n == 1 && stopped[id] || n == 0 && !stopped[id] {
				t.Fatalf("timer %d fired %d times, stopped %v", id, n, stopped[id])
			}
		}
	}
}

// TestReal: the wall clock's timers fire, and stop.
func TestReal(t *testing.T) {
	c := Real()
	if d := time.Since(c.Now()); d < 0 || d > time.Second {
		t.Errorf("Real().Now() is %v off", d)
	}
	fired := make(chan struct{})
	a := c.AfterFunc(time.Millisecond, func() { close(fired) })
	<-fired
	if a.Stop() {
		t.Error("Stop of a fired AfterFunc = true")
	}
	if a.C() != nil {
		t.Error("an AfterFunc has a channel")
	}
	n := c.NewTimer(time.Millisecond)
	<-n.C()
	n = c.NewTimer(time.Hour)
	if !n.Stop() {
		t.Error("Stop of an armed timer = false")
	}
}
