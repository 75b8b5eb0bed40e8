package jitter

import (
	"fmt"
	"math"
	"testing"
	"time"

	"parley/audio"
)

// checkBounds returns what of the buffer's guarantees does not hold: the
// target within 0 to 1 s, the delay within ±2 s, and every queue within
// its bound.
func checkBounds(b *Buffer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	switch {
	case s.Target < 0 || s.Target > maxTarget:
		return fmt.Errorf("target %v, want 0 to %v", s.Target, maxTarget)
	case s.Delay < -maxDelay || s.Delay > maxDelay:
		return fmt.Errorf("delay %v, want within ±%v", s.Delay, maxDelay)
	case len(b.pkts) > maxPackets:
		return fmt.Errorf("%d packets held, want at most %d", len(b.pkts), maxPackets)
	case len(b.aside) > maxAside:
		return fmt.Errorf("%d packets aside, want at most %d", len(b.aside), maxAside)
	case len(b.arrivals) > maxArrivals:
		return fmt.Errorf("%d arrivals kept, want at most %d", len(b.arrivals), maxArrivals)
	case len(b.losses) > maxLosses:
		return fmt.Errorf("%d losses kept, want at most %d", len(b.losses), maxLosses)
	case len(b.pcm) > maxFrame:
		return fmt.Errorf("%d samples queued, want at most %d", len(b.pcm), maxFrame)
	}
	for i := 1; i < len(b.pkts); i++ {
		if b.pkts[i-1].ts >= b.pkts[i].ts {
			return fmt.Errorf("packets held out of order: %d then %d", b.pkts[i-1].ts, b.pkts[i].ts)
		}
	}
	return nil
}

// push is a packet given to the buffer at a moment of a call.
type push struct {
	when time.Duration // when Push is called, from the call's start
	at   time.Time     // the arrival time it is given; zero means when
	seq  uint16
	ts   uint32
	data []byte
}

// drive makes the pushes at their moments and pulls 10 ms every 10 ms
// until length, on a fake clock, checking the bounds after each call.
func drive(t *testing.T, pushes []push, length time.Duration) Stats {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	b, err := New(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, period)
	check := func(what string) {
		t.Helper()
		if err := checkBounds(b); err != nil {
			t.Fatalf("after %s at %v: %v", what, now.Sub(start), err)
		}
	}
	for tk := time.Duration(0); tk <= length; tk += 10 * time.Millisecond {
		for len(pushes) > 0 && pushes[0].when <= tk {
			p := pushes[0]
			pushes = pushes[1:]
			now = start.Add(p.when)
			at := p.at
			if at.IsZero() {
				at = now
			}
			b.Push(p.seq, p.ts, p.data, at)
			check("a push")
		}
		now = start.Add(tk)
		b.Pull(buf)
		check("a pull")
	}
	return b.Stats()
}

// TestWildTimestamps is the crash of the issue, twelve packets: every
// 20 ms six back to back, each one's timestamp 2^31−1 after the last, the
// payload the one byte 0xF8 (a 20 ms CELT frame with no data), pulled
// every 10 ms. Each packet jumps too far to be the stream before it, so
// each starts a new one; the last of each six is the stream when the next
// pull comes, at once, and plays.
func TestWildTimestamps(t *testing.T) {
	var pushes []push
	ts := uint32(0)
	for i := range 12 {
		pushes = append(pushes, push{when: time.Duration(i/6) * 20 * time.Millisecond, seq: uint16(i), ts: ts, data: []byte{0xf8}})
		ts += math.MaxInt32
	}
	s := drive(t, pushes, 100*time.Millisecond)
	if s.Restarts != 11 {
		t.Errorf("%d restarts, want 11: every packet but the first a new stream", s.Restarts)
	}
	if s.Frames != 2 || s.Delay != 0 || s.Target != 0 {
		t.Errorf("%+v; want 2 frames played as they came", s)
	}
}

// stream returns a second of real Opus as pushes, each 1 ms after it was
// sent, its timestamps moved by step after the first k packets.
func stream(t *testing.T, k int, step uint32) []push {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	var out []push
	for i, p := range pkts {
		if i >= k {
			p.ts += step
		}
		out = append(out, push{when: time.Duration(p.end)*time.Second/rate + time.Millisecond, seq: p.seq, ts: p.ts, data: p.data})
	}
	return out
}

// TestJumpIsNewStream: a jump of more than 2 s in the timestamps, either
// way or by half their range, before playing starts or during it, starts
// a new stream, which plays: the frames lost are the buffer's worth at the
// jump.
func TestJumpIsNewStream(t *testing.T) {
	for _, c := range []struct {
		name string
		k    int
		step uint32
	}{
		{"+3 s at 0.5 s", 25, 3 * rate},
		{"-3 s at 0.5 s", 25, math.MaxUint32 - 3*rate + 1},
		{"+2^31-1 at 0.5 s", 25, math.MaxInt32},
		{"2^31 at 0.5 s", 25, 1 << 31},
		{"+2^31-1 before playing", 1, math.MaxInt32},
	} {
		t.Run(c.name, func(t *testing.T) {
			pushes := stream(t, c.k, c.step)
			if c.k == 1 {
				pushes[0].when = pushes[1].when // both come before the first pull
			}
			s := drive(t, pushes, time.Second+20*time.Millisecond)
			if s.Restarts != 1 {
				t.Errorf("%d restarts, want 1", s.Restarts)
			}
			if want := uint64(len(pushes) - 1); s.Frames < want || s.Concealed > 1 {
				t.Errorf("%+v; want at least %d frames played, at most one concealed", s, want)
			}
		})
	}
}

// TestWildArrivals: arrival times far from the clock are taken to be the
// clock's, and the call plays as if they were right.
func TestWildArrivals(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		at   func(i int, when time.Duration) time.Time
	}{
		{"zero time, one in ten", func(i int, when time.Duration) time.Time {
			if i%10 == 5 {
				return time.Time{}.Add(1) // not zero, so drive keeps it
			}
			return start.Add(when)
		}},
		{"100 years on, one in ten", func(i int, when time.Duration) time.Time {
			if i%10 == 5 {
				return start.AddDate(100, 0, 0)
			}
			return start.Add(when)
		}},
		{"the extremes, by turns", func(i int, _ time.Duration) time.Time {
			return [2]time.Time{time.Unix(math.MinInt64, 0), time.Unix(math.MaxInt64, 999999999)}[i%2]
		}},
		{"going back 1 s a packet", func(i int, _ time.Duration) time.Time {
			return start.Add(-time.Duration(i) * time.Second)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pushes := stream(t, 0, 0)
			for i := range pushes {
				pushes[i].at = c.at(i, pushes[i].when)
			}
			s := drive(t, pushes, time.Second+200*time.Millisecond)
			if want := uint64(len(pushes)); s.Frames != want || s.Restarts != 0 {
				t.Errorf("%+v; want all %d frames played in one stream", s, want)
			}
		})
	}
}

// TestLimits: a flood of packets at one moment fills the queue to its
// bound and no further, and a speaker that stops pulling for 3 s finds
// the stream started over (its timestamps ran 2 s ahead of the play
// point) and no more than the last second held, which it drops to get
// back to its target within 2 s.
func TestLimits(t *testing.T) {
	var pushes []push
	for i := range 3 * maxPackets {
		// CELT 2.5 ms frames, a few samples apart, within 2 s.
		pushes = append(pushes, push{when: 0, seq: uint16(i), ts: uint32(i * 31), data: []byte{16 << 3, 0}})
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	b, err := New(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pushes {
		b.Push(p.seq, p.ts, p.data, now)
	}
	if err := checkBounds(b); err != nil {
		t.Fatal(err)
	}
	if n := len(b.pkts); n != maxPackets {
		t.Errorf("%d packets held, want the bound, %d", n, maxPackets)
	}

	// A stream of 20 ms packets, pulled but for 3 s from 1 s on.
	b, err = New(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	buf := make([]int16, period)
	var delay time.Duration
	for k := range 700 {
		now = start.Add(time.Duration(k) * 10 * time.Millisecond)
		if k%2 == 0 {
			p := pkts[k/2%len(pkts)]
			b.Push(p.seq+uint16(k/2/len(pkts)*len(pkts)), p.ts+uint32(k/2/len(pkts)*rate), p.data, now)
		}
		if k < 100 || k >= 400 {
			b.Pull(buf)
			delay = max(delay, b.Stats().Delay)
		}
		if k == 600 && b.Stats().Delay > 30*time.Millisecond {
			t.Errorf("delay %v 2 s after the stall, want back at the target", b.Stats().Delay)
		}
		if err := checkBounds(b); err != nil {
			t.Fatalf("at %v: %v", now.Sub(start), err)
		}
	}
	if s := b.Stats(); s.Restarts != 1 || delay > 1050*time.Millisecond {
		t.Errorf("%+v, largest delay %v; want one restart and at most the last second held", s, delay)
	}
}

func TestNewConfig(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Frame: 2500 * time.Microsecond}, true},
		{Config{Frame: 120 * time.Millisecond, Fixed: time.Second}, true},
		{Config{Frame: time.Millisecond}, false},
		{Config{Frame: 121 * time.Millisecond}, false},
		{Config{Fixed: -time.Millisecond}, false},
		{Config{Fixed: time.Second + 1}, false},
	} {
		if _, err := New(c.cfg); (err == nil) != c.ok {
			t.Errorf("New(%+v) = %v; want ok %v", c.cfg, err, c.ok)
		}
	}
}
