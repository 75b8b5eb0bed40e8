package ref

import (
	"testing"
	"time"
)

// ramp returns n samples counting up from start (so each sample says
// where it came from), wrapping at 30000.
func ramp(start, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16((start+i)%30000 + 1)
	}
	return s
}

func newRing() *Ring { return New(48000, 480, 500*time.Millisecond, 150*time.Millisecond) }

// check reads a frame and says which played sample it starts with (0 for
// silence), failing unless the frame is contiguous.
func check(t *testing.T, r *Ring) int {
	t.Helper()
	f := make([]int16, 480)
	r.Next(f)
	for i := 1; i < len(f); i++ {
		if f[i] != 0 && f[i] != f[i-1]+1 && !(f[i] == 1 && f[i-1] == 30000) {
			t.Fatalf("frame not contiguous at %d: %d then %d", i, f[i-1], f[i])
		}
	}
	return int(f[0])
}

func TestAligned(t *testing.T) {
	r := newRing()
	for k := range 10 {
		r.Write(ramp(k*480, 480))
		if got := check(t, r); got != k*480+1 {
			t.Fatalf("frame %d: starts with sample %d, want %d", k, got-1, k*480)
		}
	}
}

// TestOddPieces: written in pieces of any size, and read before or after
// the write, the frames are still the ones played with them.
func TestOddPieces(t *testing.T) {
	r := newRing()
	played := 0
	for k := range 50 {
		for played < (k+1)*480 {
			n := []int{7, 333, 1000}[k%3]
			r.Write(ramp(played, n))
			played += n
		}
		got := check(t, r)
		if got != k*480+1 {
			t.Fatalf("frame %d: starts with sample %d, want %d", k, got-1, k*480)
		}
	}
}

func TestHold(t *testing.T) {
	r := newRing()
	r.SetHold(1000)
	if r.Hold() != 1000 {
		t.Fatalf("hold %d", r.Hold())
	}
	f := make([]int16, 480)
	for k := range 10 {
		r.Write(ramp(k*480, 480))
		r.Next(f)
		want := k*480 - 1000 // the sample the frame starts with
		for i, v := range f {
			if w := want + i; (w < 0 && v != 0) || (w >= 0 && int(v) != w+1) {
				t.Fatalf("frame %d sample %d: %d, want sample %d", k, i, v, w)
			}
		}
	}
	// Less hold: the next frame jumps ahead by the change.
	r.SetHold(520)
	r.Write(ramp(4800, 480))
	if got := check(t, r); got != 4800-520+1 {
		t.Errorf("after SetHold(520): starts with sample %d, want %d", got-1, 4800-520)
	}
	r.SetHold(-5)
	if r.Hold() != 0 {
		t.Errorf("SetHold(-5): hold %d", r.Hold())
	}
}

// TestUnderrun: Capture ahead of Playback by less than the slip reads
// silence for what was not played yet, and does not read it again later.
func TestUnderrun(t *testing.T) {
	r := newRing()
	if got := check(t, r); got != 0 {
		t.Fatalf("nothing played: %d", got)
	}
	r.Write(ramp(0, 480)) // late: counts as the frame already read
	r.Write(ramp(480, 480))
	if got := check(t, r); got != 481 {
		t.Errorf("after the late frame: starts with sample %d, want 480", got-1)
	}
}

// TestSlip: one side running ahead of the other by more than the slip
// lines them up again.
func TestSlip(t *testing.T) {
	r := newRing()
	// Playback 300 ms ahead (Capture stalled): skip to the newest.
	r.Write(ramp(0, 48000*3/10))
	if got := check(t, r); got != 48000*3/10-480+1 {
		t.Errorf("playback ahead: starts with sample %d, want %d", got-1, 48000*3/10-480)
	}
	// Capture 300 ms ahead (Playback stopped): the next played frame is
	// the one for the next captured frame.
	for range 30 {
		check(t, r)
	}
	r.Write(ramp(25000, 480))
	if got := check(t, r); got != 25001 {
		t.Errorf("capture ahead: starts with sample %d, want 25000", got-1)
	}
}
