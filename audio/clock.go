package audio

import (
	"sync"
	"time"
)

// Clock tells the time and makes tickers. Files, tones and "none" are paced
// by a Clock; tests use a fake one to run fast and deterministically.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTicker returns a ticker that ticks every d, dropping ticks for a
	// slow reader as time.Ticker does.
	NewTicker(d time.Duration) Ticker
}

// Ticker is the part of time.Ticker that a Clock hands out.
type Ticker interface {
	// C returns the channel the ticks arrive on.
	C() <-chan time.Time
	// Stop turns the ticker off.
	Stop()
}

// WallClock returns the Clock of the real world, backed by package time.
func WallClock() Clock { return wallClock{} }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTicker(d time.Duration) Ticker { return wallTicker{time.NewTicker(d)} }

type wallTicker struct{ t *time.Ticker }

func (t wallTicker) C() <-chan time.Time { return t.t.C }
func (t wallTicker) Stop()               { t.t.Stop() }

// maxCatchUp is how much overdue audio a pacer runs at once after a stall
// (a suspended laptop, a stopped process); beyond it the overdue periods
// are skipped rather than delivered in a burst.
const maxCatchUp = time.Second

// pacer calls step once per period on its own goroutine. It counts periods
// from its start by the clock rather than by ticks, so a late or dropped
// tick delays a period but never loses it, and the average rate is exact.
type pacer struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startPacer starts calling step. The first call comes one period after
// startPacer returns: that is when a device would have a period of audio.
func startPacer(clock Clock, period time.Duration, logf Logf, step func()) *pacer {
	p := &pacer{stop: make(chan struct{}), done: make(chan struct{})}
	t := clock.NewTicker(period)
	start := clock.Now()
	go func() {
		defer close(p.done)
		defer t.Stop()
		var n int64
		for {
			select {
			case <-p.stop:
				return
			case <-t.C():
			}
			due := int64(clock.Now().Sub(start) / period)
			if due-n > int64(maxCatchUp/period) {
				logf("audio: %d periods late; skipping %v", due-n, time.Duration(due-n-1)*period)
				n = due - 1
			}
			for ; n < due; n++ {
				select {
				case <-p.stop:
					return
				default:
				}
				step()
			}
		}
	}()
	return p
}

// close stops the pacer and waits for its goroutine; step is not called
// once close has returned. It is safe to call more than once.
func (p *pacer) close() {
	if p == nil {
		return
	}
	p.once.Do(func() { close(p.stop) })
	<-p.done
}
