package jitter

import (
	"fmt"
	"testing"
	"time"

	"parley/audio"
)

// restamp returns pkts with each timestamp moved by step(i, p).
func restamp(pkts []sent, step func(i int, p sent) int) []sent {
	out := make([]sent, len(pkts))
	for i, p := range pkts {
		p.ts += uint32(step(i, p))
		out[i] = p
	}
	return out
}

// after returns a step of n samples for every packet from 2 s on.
func after(n int) func(int, sent) int {
	return func(_ int, p sent) int {
		if p.end > 2*rate {
			return n
		}
		return 0
	}
}

// preSkip is GStreamer webrtcbin's stamping: the first packet 312 samples
// (its Opus pre-skip) late, the rest on the grid.
func preSkip(i int, _ sent) int {
	if i == 0 {
		return 312
	}
	return 0
}

var steps = []struct {
	name string
	step func(int, sent) int
}{
	{"first packet 312 late", preSkip},
	{"1 back after 2 s", after(-1)},
	{"312 back after 2 s", after(-312)},
	{"10 ms back after 2 s", after(-480)},
	{"1 s back after 2 s", after(-rate)},
	{"1 forward after 2 s", after(1)},
	{"5 forward after 2 s", after(5)},
}

// TestRealignIsExact: on a perfect network, a stream whose timestamps step
// off the grid plays every packet, in order and nothing else, bit for
// bit: the buffer realigns to the step instead of calling every later
// packet late (a step back) or filling a few samples with silence (a step
// forward). With 40 ms held, the packet at a step comes while the one
// before it waits, and the packets after it before it is played.
func TestRealignIsExact(t *testing.T) {
	clean := encode(t, speech(5*rate), audio.EncoderOptions{})
	ref := offline(t, clean)
	for _, fixed := range []time.Duration{0, 40 * time.Millisecond} {
		for _, c := range steps {
			t.Run(fmt.Sprintf("%s/fixed %v", c.name, fixed), func(t *testing.T) {
				pkts := restamp(clean, c.step)
				// The last packet arrives at 5.001 s and has played 20 ms
				// and the delay held later.
				length := 5*time.Second + 20*time.Millisecond + fixed
				res := simulateLoop(t, pkts, 0, length, 0, perfect, Config{Fixed: fixed})
				s := res.stats
				if k := offsetOf(res.out, ref); k < 0 {
					t.Errorf("the played audio is not the offline decode, bit for bit: %+v", s)
				}
				if s.Frames != uint64(len(pkts)) || s.Concealed+s.FEC+s.Late+s.DTX != 0 {
					t.Errorf("%d packets; played %+v, want each once and nothing made up", len(pkts), s)
				}
				if s.Realigned != 1 {
					t.Errorf("realigned %d times, want once", s.Realigned)
				}
				if s.Target > fixed+time.Millisecond {
					t.Errorf("target %v, want the jitter, none, or the fixed %v", s.Target, fixed)
				}
			})
		}
	}
}

// TestRealignJitter: with jitter, a step costs under 5 concealed frames
// more than the same call without it, and the audio after it plays.
func TestRealignJitter(t *testing.T) {
	clean := encode(t, speech(10*rate), audio.EncoderOptions{})
	length := 10*time.Second + 200*time.Millisecond
	base := simulateLoop(t, clean, 0, length, 0, jittery(3, 30*time.Millisecond), Config{}).stats
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			pkts := restamp(clean, c.step)
			s := simulateLoop(t, pkts, 0, length, 0, jittery(3, 30*time.Millisecond), Config{}).stats
			if s.Concealed > base.Concealed+4 {
				t.Errorf("%d frames concealed, %d without the step", s.Concealed, base.Concealed)
			}
			if s.Frames+4 < base.Frames {
				t.Errorf("%d frames played, %d without the step", s.Frames, base.Frames)
			}
			t.Logf("%+v", s)
		})
	}
}

// TestRealignLostStep: when the packet at a step back is lost, the next
// straddles the play point (a step of less than a frame) and plays, or it
// and the packets after it come late by as much, in sequence, and the
// buffer realigns to the third.
func TestRealignLostStep(t *testing.T) {
	clean := encode(t, speech(5*rate), audio.EncoderOptions{})
	first := 0 // the first packet after 2 s
	for clean[first].end <= 2*rate {
		first++
	}
	for _, c := range []struct {
		name string
		step int
		want uint64 // frames made up at most
	}{
		{"312 back", -312, 1},
		{"10 ms back", -480, 1},
		{"1 s back", -rate, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			pkts := restamp(clean, after(c.step))
			lost := func(i int) bool { return i == first }
			res := simulateLoop(t, pkts, 0, 5*time.Second+20*time.Millisecond, 0, lossy(lost), Config{})
			s := res.stats
			if s.Concealed+s.FEC > c.want {
				t.Errorf("%d frames concealed, %d from FEC, for one lost packet; want at most %d", s.Concealed, s.FEC, c.want)
			}
			if want := uint64(len(pkts)) - c.want; s.Frames < want {
				t.Errorf("%d frames played, want at least %d", s.Frames, want)
			}
		})
	}
}

// TestSpikeIsNotAStep: the packets held up by a 200 ms stall arrive
// together, each late by a frame less than the one before: a burst
// catching up, not a stream that moved back, so they are late and the
// play point stays.
func TestSpikeIsNotAStep(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	net := func(_ int, sentAt time.Duration) (time.Duration, bool) {
		if sentAt >= 2*time.Second && sentAt < 2200*time.Millisecond {
			return 2201 * time.Millisecond, true
		}
		return sentAt + time.Millisecond, true
	}
	s := simulate(t, pkts, 6*time.Second, 0, net, Config{}).stats
	if s.Realigned != 0 || s.Late == 0 || s.Concealed > 10 {
		t.Errorf("%+v; want the stall's packets late, at most its 10 frames concealed, nothing realigned", s)
	}
}
