package jitter

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/audio"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz/FuzzPush")

// A program drives a buffer on a fake clock. It is a sequence of
// operations, each an opcode (the byte's value mod 5) and its operands,
// big-endian:
//
//	0 push   sequence number (2 bytes), timestamp (4), arrival time (8:
//	         signed nanoseconds from the clock), payload (1: below 128
//	         the real Opus packet of that number, mod their count; else
//	         that many bytes less 128, which follow)
//	1 pull   n (1): n+1 pulls of 10 ms, the clock 10 ms on after each
//	2 wait   ms (2): the clock that much on, with no pull
//	3 pull   n (2): one pull of n mod 4·maxFrame + 1 samples, the clock
//	         as much on after it
//	4 burst  n (2), then a push's operands but the arrival time, and a
//	         timestamp step (4): n pushes at once, the sequence number
//	         going up by one, the timestamp by the step, a real payload
//	         going up by one too
//
// A truncated operation ends the program, and so does a total of maxWork
// pushes and 10 ms of pulled audio: a short program can ask for millions,
// and the fuzzer has no time limit per input (a slow one also makes its
// minimizing slow, a minute with no execs shown). Each push and pull must
// return within callLimit, or the run panics, so that the fuzzer saves
// the input.
type program []byte

const (
	maxWork   = 50_000
	callLimit = 2 * time.Second
)

func (p program) push(seq uint16, ts uint32, at time.Duration, real int) program {
	p = append(p, 0)
	p = binary.BigEndian.AppendUint16(p, seq)
	p = binary.BigEndian.AppendUint32(p, ts)
	p = binary.BigEndian.AppendUint64(p, uint64(at))
	return append(p, byte(real))
}

func (p program) pushData(seq uint16, ts uint32, at time.Duration, data []byte) program {
	p = p.push(seq, ts, at, 128+len(data))
	return append(p, data...)
}

// pulls appends n pulls of 10 ms.
func (p program) pulls(n int) program {
	for ; n > 0; n -= 256 {
		p = append(p, 1, byte(min(n, 256)-1))
	}
	return p
}

func (p program) burst(n int, seq uint16, ts, step uint32, real int) program {
	p = binary.BigEndian.AppendUint16(append(p, 4), uint16(n))
	p = binary.BigEndian.AppendUint16(p, seq)
	p = binary.BigEndian.AppendUint32(p, ts)
	p = append(p, byte(real))
	return binary.BigEndian.AppendUint32(p, step)
}

func (p program) wait(d time.Duration) program {
	return binary.BigEndian.AppendUint16(append(p, 2), uint16(d/time.Millisecond))
}

// run runs a program on a new buffer, with the real Opus packets real,
// checking the buffer's bounds after every operation, and that no packet
// counts twice.
func run(t *testing.T, real [][]byte, prog program) *Buffer {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	b, err := New(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, 4*maxFrame)
	var pushes uint64
	work := 0
	// call runs one push or pull, worth cost, under the watchdog, and
	// reports whether the program may go on.
	call := func(cost int, f func()) bool {
		work += cost
		w := time.AfterFunc(callLimit, func() {
			panic(fmt.Sprintf("a push or pull ran for over %v at %v", callLimit, now.Sub(start)))
		})
		f()
		w.Stop()
		return work < maxWork
	}
	check := func(op byte) {
		t.Helper()
		if err := checkBounds(b); err != nil {
			t.Fatalf("after op %d at %v: %v", op, now.Sub(start), err)
		}
		if s := b.Stats(); s.Frames+s.Late+s.Duplicates+s.Invalid > pushes {
			t.Fatalf("after op %d at %v: %d pushes, yet %+v", op, now.Sub(start), pushes, s)
		}
	}
	take := func(n int) []byte {
		if len(prog) < n {
			prog = nil
			return nil
		}
		v := prog[:n]
		prog = prog[n:]
		return v
	}
	for len(prog) > 0 {
		op := take(1)[0] % 5
		switch op {
		case 0:
			h := take(15)
			if h == nil {
				return b
			}
			seq, ts := binary.BigEndian.Uint16(h), binary.BigEndian.Uint32(h[2:])
			at := now.Add(time.Duration(binary.BigEndian.Uint64(h[6:])))
			data := real[int(h[14])%len(real)]
			if h[14] >= 128 {
				if data = take(int(h[14] - 128)); data == nil {
					return b
				}
			}
			pushes++
			if !call(1, func() { b.Push(seq, ts, data, at) }) {
				return b
			}
		case 1:
			h := take(1)
			if h == nil {
				return b
			}
			for range int(h[0]) + 1 {
				more := call(1, func() { b.Pull(buf[:period]) })
				check(op)
				if !more {
					return b
				}
				now = now.Add(10 * time.Millisecond)
			}
		case 2:
			h := take(2)
			if h == nil {
				return b
			}
			now = now.Add(time.Duration(binary.BigEndian.Uint16(h)) * time.Millisecond)
		case 3:
			h := take(2)
			if h == nil {
				return b
			}
			n := int(binary.BigEndian.Uint16(h))%len(buf) + 1
			more := call(n/period+1, func() { b.Pull(buf[:n]) })
			check(op)
			if !more {
				return b
			}
			now = now.Add(duration(int64(n)))
		case 4:
			h := take(13)
			if h == nil {
				return b
			}
			n, seq, ts := int(binary.BigEndian.Uint16(h)), binary.BigEndian.Uint16(h[2:]), binary.BigEndian.Uint32(h[4:])
			sel, step := h[8], binary.BigEndian.Uint32(h[9:])
			var data []byte
			if sel >= 128 {
				if data = take(int(sel - 128)); data == nil {
					return b
				}
			}
			for i := range n {
				d := data
				if sel < 128 {
					d = real[(int(sel)+i)%len(real)]
				}
				pushes++
				if !call(1, func() { b.Push(seq+uint16(i), ts+uint32(i)*step, d, now) }) {
					return b
				}
			}
		}
		check(op)
	}
	return b
}

// realPackets is a second of speech, encoded as parley sends it.
func realPackets(t testing.TB) [][]byte {
	var out [][]byte
	for _, p := range encode(t, speech(rate), audio.EncoderOptions{}) {
		out = append(out, p.data)
	}
	return out
}

// stream0 is the first timestamp of encode's streams.
const stream0 = math.MaxUint32 - rate

// seeds are the seed corpus, committed in testdata/fuzz/FuzzPush, with
// what each must do.
var seeds = []struct {
	name string
	prog func(n int) program // n is the number of real packets
	want func(Stats) bool
}{
	{"twelve-wild-packets", func(int) program {
		// The crash: every 20 ms six packets back to back, each
		// timestamp 2^31−1 after the last, the payload 0xF8.
		var p program
		for i := range 12 {
			p = p.pushData(uint16(i), uint32(i)*math.MaxInt32, 0, []byte{0xf8})
			if i%6 == 5 {
				p = p.pulls(2)
			}
		}
		return p
	}, func(s Stats) bool { return s.Restarts == 11 }},
	{"gstreamer-pre-skip", func(n int) program {
		// webrtcbin's first packet 312 samples late, the rest on the grid.
		var p program
		for i := range n {
			ts := uint32(stream0 + i*960)
			if i == 0 {
				ts += 312
			}
			p = p.push(uint16(65500+i), ts, 0, i).pulls(2)
		}
		return p
	}, func(s Stats) bool { return s.Realigned == 1 && s.Concealed == 0 && s.Late == 0 }},
	{"one-sample-back", func(n int) program {
		// From packet 25 on, every timestamp a sample early.
		var p program
		for i := range n {
			ts := uint32(stream0 + i*960)
			if i >= 25 {
				ts--
			}
			p = p.push(uint16(65500+i), ts, 0, i).pulls(2)
		}
		return p
	}, func(s Stats) bool { return s.Realigned == 1 && s.Concealed == 0 && s.Late == 0 }},
	{"clean-then-stall", func(n int) program {
		// A clean stream with reordering, then the speaker stalls for 3 s
		// while packets keep coming.
		var p program
		for i := range 5 * n {
			j := i
			if i%7 == 3 {
				j++
			} else if i%7 == 4 {
				j--
			}
			p = p.push(uint16(65500+j), uint32(stream0+j*960), 0, j%n)
			if i < n || i >= 4*n {
				p = p.pulls(2)
			} else {
				p = p.wait(20 * time.Millisecond)
			}
		}
		return p
	}, func(s Stats) bool { return s.Restarts == 1 }},
	{"found-wild-arrival", func(int) program {
		// Found by FuzzPush on the buffer before arrival times were
		// bounded: one packet that arrived 152 years ago, one pull of
		// 300 ms. The delay was 152 years; now the packet plays at once.
		return program("2000000\xbd0000000080")
	}, func(s Stats) bool { return s.Frames == 1 && s.Delay <= 20*time.Millisecond }},
	{"flood-then-extremes", func(n int) program {
		// 1500 packets at once, then arrival times and timestamps at
		// their extremes.
		p := program{}.burst(1500, 0, 0, 61, 0).pulls(3)
		for i, at := range []time.Duration{math.MinInt64, math.MaxInt64, -time.Hour, time.Hour} {
			p = p.push(uint16(2000+i), uint32(1500*61+i*960), at, i).pulls(1)
		}
		for i, ts := range []uint32{0, math.MaxUint32, 1 << 31, math.MaxInt32} {
			p = p.push(uint16(3000+i), ts, 0, i).pulls(1)
		}
		return p
	}, func(s Stats) bool { return s.Restarts > 0 && s.Duplicates == 0 }},
}

func corpusFile(prog program) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", []byte(prog))
}

// TestFuzzCorpus checks that the committed seed corpus holds the seeds
// (-update rewrites it), and that each does what it is there for.
func TestFuzzCorpus(t *testing.T) {
	real := realPackets(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzPush")
	for _, c := range seeds {
		t.Run(c.name, func(t *testing.T) {
			prog := c.prog(len(real))
			path := filepath.Join(dir, c.name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, corpusFile(prog), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, corpusFile(prog)) {
				t.Errorf("%s does not hold the seed; go test -run TestFuzzCorpus -update rewrites it", path)
			}
			if s := run(t, real, prog).Stats(); !c.want(s) {
				t.Errorf("%+v", s)
			}
		})
	}
}

// FuzzPush drives a buffer with programs of pushes, with any sequence
// numbers, timestamps, arrival times and payloads, pulls of any size and
// waits, and checks after every operation that it keeps its bounds: the
// target within 0 to 1 s, the delay within ±2 s, the packets held, set
// aside, arrivals, losses and samples queued within theirs. Its seeds are
// in testdata/fuzz/FuzzPush.
func FuzzPush(f *testing.F) {
	real := realPackets(f)
	f.Fuzz(func(t *testing.T, prog []byte) {
		run(t, real, prog)
	})
}
