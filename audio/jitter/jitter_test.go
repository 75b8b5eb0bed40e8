package jitter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"parley/audio"
	sp "parley/internal/speech"
)

const period = 480 // 10 ms pulls, as a device would

// speech returns a voice-like signal of n samples: 700 ms of a buzzy
// vowel with a gliding pitch, then 300 ms of silence, over and over.
func speech(n int) []int16 { return sp.Synthetic(n) }

type sent struct {
	seq  uint16
	ts   uint32
	data []byte
	end  int // samples from the stream's start to the packet's last one
}

// encode encodes pcm with real Opus as parley's sender does.
func encode(t testing.TB, pcm []int16, o audio.EncoderOptions) []sent {
	t.Helper()
	enc, err := audio.NewEncoder(o)
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	seq, ts := uint16(65500), uint32(math.MaxUint32-48000) // both wrap early on
	end := 0
	err = enc.Write(pcm, func(p audio.Packet) {
		end += p.Samples
		if p.Data != nil {
			out = append(out, sent{seq: seq, ts: ts, data: p.Data, end: end})
			seq++
		}
		ts += uint32(p.Samples)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// offline decodes packets in order with a fresh decoder: what a perfect
// network would play.
func offline(t testing.TB, pkts []sent) []int16 {
	t.Helper()
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	buf := make([]int16, maxFrame)
	for _, p := range pkts {
		n, err := dec.Decode(p.data, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

// network says when packet i, sent at the given time, arrives, and
// whether it arrives at all.
type network func(i int, sentAt time.Duration) (time.Duration, bool)

// result is what a simulated call played and counted.
type result struct {
	out   []int16
	stats Stats
	// delays holds Stats.Delay once a second; warm the counters after
	// the first few seconds.
	delays []time.Duration
	warm   Stats
	lost   int // packets the network lost
	// grew is when audio was first inserted.
	grew time.Duration
}

// simulate plays a call of the given length, looping pkts as the stream,
// with the sender's clock off by ppm, on a fake clock: packets are pushed
// in arrival order, and the buffer is pulled every 10 ms.
func simulate(t testing.TB, pkts []sent, length time.Duration, ppm float64, net network, cfg Config) result {
	return simulateLoop(t, pkts, pkts[len(pkts)-1].end, length, ppm, net, cfg)
}

// simulateLoop is simulate for a stream of loop samples, which may end
// in a pause with no packets; with loop 0 the stream is sent once.
func simulateLoop(t testing.TB, pkts []sent, loop int, length time.Duration, ppm float64, net network, cfg Config) result {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	cfg.Now = func() time.Time { return now }
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type arrival struct {
		at time.Duration
		p  sent
	}
	var queue []arrival
	var res result
	sentSamples := 0
	i := 0
	var next *sent
	nextPacket := func() {
		if loop == 0 && i == len(pkts) {
			next = nil
			return
		}
		p := pkts[i%len(pkts)]
		rounds := i / len(pkts)
		p.seq += uint16(rounds * len(pkts))
		p.ts += uint32(rounds * loop)
		sentSamples = rounds*loop + p.end
		next = &p
	}
	nextPacket()
	sentAt := func() time.Duration {
		return time.Duration(float64(sentSamples) / (rate * (1 + ppm*1e-6)) * float64(time.Second))
	}
	buf := make([]int16, period)
	for k := 1; time.Duration(k)*10*time.Millisecond <= length; k++ {
		tk := time.Duration(k) * 10 * time.Millisecond
		for next != nil && sentAt() <= tk {
			if at, ok := net(i, sentAt()); ok {
				queue = append(queue, arrival{at, *next})
			} else {
				res.lost++
			}
			i++
			nextPacket()
		}
		slices.SortStableFunc(queue, func(a, b arrival) int { return cmpInt(int64(a.at), int64(b.at)) })
		for len(queue) > 0 && queue[0].at <= tk {
			a := queue[0]
			queue = queue[1:]
			b.Push(a.p.seq, a.p.ts, a.p.data, start.Add(a.at))
		}
		now = start.Add(tk)
		b.Pull(buf)
		res.out = append(res.out, buf...)
		if res.grew == 0 && b.Stats().Inserted > 0 {
			res.grew = tk
		}
		if k%100 == 0 {
			s := b.Stats()
			res.delays = append(res.delays, s.Delay)
			if k == 300 {
				res.warm = s
			}
		}
	}
	res.stats = b.Stats()
	return res
}

func perfect(_ int, sentAt time.Duration) (time.Duration, bool) {
	return sentAt + time.Millisecond, true
}

// offsetOf returns where ref appears, whole and bit for bit, in out.
func offsetOf(out, ref []int16) int {
	for k := 0; k+len(ref) <= len(out); k++ {
		if slices.Equal(out[k:k+len(ref)], ref) {
			return k
		}
	}
	return -1
}

func TestInOrderIsExact(t *testing.T) {
	for _, frame := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		t.Run(frame.String(), func(t *testing.T) {
			pkts := encode(t, speech(5*rate), audio.EncoderOptions{Frame: frame})
			res := simulate(t, pkts, 5*time.Second+200*time.Millisecond, 0, perfect, Config{Frame: frame})
			ref := offline(t, pkts)
			k := offsetOf(res.out, ref)
			if k < 0 {
				t.Fatal("the played audio is not the offline decode, bit for bit")
			}
			if slices.ContainsFunc(res.out[:k], func(s int16) bool { return s != 0 }) {
				t.Error("something played before the first frame")
			}
			s := res.stats
			if s.Concealed+s.FEC+s.Late+s.DTX != 0 || s.Inserted+s.Dropped != 0 {
				t.Errorf("a perfect network changed the audio: %+v", s)
			}
			if s.Target > time.Millisecond {
				t.Errorf("target %v, want the jitter: none", s.Target)
			}
			// The first sample plays a frame after its packet came, which
			// was a frame after it was spoken; give or take a pull.
			if lead := time.Duration(k) * time.Second / rate; lead > 2*frame+10*time.Millisecond {
				t.Errorf("the first sample played after %v", lead)
			}
			t.Logf("delay %v, first sample after %v", s.Delay, time.Duration(k)*time.Second/rate)
		})
	}
}

func TestReordered(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	// Every fifth packet overtakes the one before it.
	net := func(i int, sentAt time.Duration) (time.Duration, bool) {
		if i%5 == 3 {
			return sentAt + 25*time.Millisecond, true
		}
		return sentAt + time.Millisecond, true
	}
	res := simulate(t, pkts, 30*time.Second, 0, net, Config{})
	s := res.stats
	if s.Concealed+s.FEC != res.warm.Concealed+res.warm.FEC || s.Late != res.warm.Late {
		t.Errorf("frames lost after the first 3 s: at 3 s %+v, at the end %+v", res.warm, s)
	}
	if s.Concealed+s.FEC > 3 {
		t.Errorf("%d frames concealed, %d from FEC, for reordering alone", s.Concealed, s.FEC)
	}
	if s.Target < 24*time.Millisecond || s.Target > 40*time.Millisecond {
		t.Errorf("target %v, want about the reordering's 24 ms", s.Target)
	}
	t.Logf("%+v", s)
}

// lossy drops the packets for which drop says so.
func lossy(drop func(i int) bool) network {
	return func(i int, sentAt time.Duration) (time.Duration, bool) {
		return sentAt + time.Millisecond, !drop(i)
	}
}

func TestRandomLoss(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	rng := rand.New(rand.NewPCG(1, 2))
	res := simulate(t, pkts, 60*time.Second, 0, lossy(func(int) bool { return rng.Float64() < 0.10 }), Config{})
	s := res.stats
	missing := int(s.Concealed + s.FEC)
	// Every lost packet is made up for once, and nothing else is (a loss
	// in the last moments may not have been due yet).
	if missing > res.lost || missing < res.lost-3 {
		t.Errorf("%d frames made up for %d lost packets", missing, res.lost)
	}
	if s.Late != 0 {
		t.Errorf("%d late on a network without jitter", s.Late)
	}
	// Most single losses come back from the next packet's FEC.
	if s.FEC < uint64(missing)*7/10 {
		t.Errorf("only %d of %d lost frames came back from FEC", s.FEC, missing)
	}
	t.Logf("lost %d (%.1f%%): %+v", res.lost, 100*float64(res.lost)/float64(s.Frames+uint64(res.lost)), s)
}

// TestFECIsExact: with room for the next packet, each lost frame plays as
// the next packet's FEC decodes it, bit for bit. (opus.v2 decodes as many
// samples as the slice's capacity, so a roomy buffer once made this PLC.)
func TestFECIsExact(t *testing.T) {
	pkts := encode(t, speech(5*rate), audio.EncoderOptions{})
	lost := func(i int) bool { return i%7 == 3 }
	res := simulate(t, pkts, 5*time.Second+200*time.Millisecond, 0, lossy(lost), Config{Fixed: 40 * time.Millisecond})
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ref []int16
	for i, p := range pkts {
		buf := make([]int16, 960)
		if lost(i) {
			err = dec.DecodeFEC(pkts[i+1].data, buf)
		} else {
			_, err = dec.Decode(p.data, buf)
		}
		if err != nil {
			t.Fatal(err)
		}
		ref = append(ref, buf...)
	}
	if offsetOf(res.out, ref) < 0 {
		t.Errorf("the played audio is not the decode with FEC, bit for bit: %+v", res.stats)
	}
	if s := res.stats; s.FEC != uint64(res.lost) || s.Concealed != 0 {
		t.Errorf("%d lost, %d from FEC, %d concealed; want all from FEC", res.lost, s.FEC, s.Concealed)
	}
}

// TestGrowsAtALoss: when losses raise the target in the middle of speech,
// the delay grows at the next missing frame, whose concealment plays
// anyway, and that frame then comes back from FEC.
func TestGrowsAtALoss(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	lost := func(i int) bool { return i == 3 || i == 10 || i == 25 }
	res := simulate(t, pkts, 700*time.Millisecond, 0, lossy(lost), Config{})
	s := res.stats
	// Frame 25 plays at about 25×20 + 20 ms; frame 11, right after the
	// second loss, at 240 ms.
	if res.grew < 500*time.Millisecond {
		t.Errorf("the delay grew at %v, in the middle of speech; want it at the loss at 520 ms", res.grew)
	}
	if s.Inserted != 20*time.Millisecond || s.FEC != 1 || s.Concealed != 2 {
		t.Errorf("%+v; want 20 ms inserted, then the third loss from FEC", s)
	}
}

func TestBurstLoss(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	// Bursts of 1 to 5 packets, every 37 packets.
	res := simulate(t, pkts, 30*time.Second, 0, lossy(func(i int) bool { return i%37 < 1+(i/37)%5 }), Config{})
	s := res.stats
	missing := int(s.Concealed + s.FEC)
	if missing > res.lost || missing < res.lost-5 {
		t.Errorf("%d frames made up for %d lost packets", missing, res.lost)
	}
	bursts := int(30 * time.Second / (37 * 20 * time.Millisecond))
	// FEC can only bring back the last frame of each burst.
	if s.FEC > uint64(bursts)+1 || s.FEC < uint64(bursts)-3 {
		t.Errorf("%d frames from FEC for %d bursts", s.FEC, bursts)
	}
	t.Logf("lost %d in %d bursts: %+v", res.lost, bursts, s)
}

// jittery delays each packet by a uniform random amount below j.
func jittery(seed uint64, j time.Duration) network {
	rng := rand.New(rand.NewPCG(seed, 7))
	return func(_ int, sentAt time.Duration) (time.Duration, bool) {
		return sentAt + 5*time.Millisecond + time.Duration(rng.Int64N(int64(j))), true
	}
}

func TestJitter(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	res := simulate(t, pkts, 60*time.Second, 0, jittery(3, 30*time.Millisecond), Config{})
	s := res.stats
	checkFewLate(t, res)
	if s.Target < 25*time.Millisecond || s.Target > 45*time.Millisecond {
		t.Errorf("target %v for 30 ms of jitter", s.Target)
	}
	checkNoCreep(t, res, 0)
	t.Logf("%+v", s)
}

// checkFewLate checks that after the first 3 s nothing was lost but a
// few late packets: the target is the 95th percentile of the jitter, so
// the slowest packets may miss their time, but once in a few hundred.
func checkFewLate(t *testing.T, res result) {
	t.Helper()
	s, w := res.stats, res.warm
	late := s.Late - w.Late
	if s.FEC != w.FEC || s.Concealed-w.Concealed != late {
		t.Errorf("frames lost after the first 3 s: at 3 s %+v, at the end %+v", w, s)
	}
	if limit := (s.Frames - w.Frames) / 200; late > limit {
		t.Errorf("%d packets late after the first 3 s, of %d; want at most %d", late, s.Frames-w.Frames, limit)
	}
}

// checkNoCreep checks that the delay stays near the target from 3 s on,
// allowing for slack samples of drift not yet soaked up by a silence.
func checkNoCreep(t *testing.T, res result, slack time.Duration) {
	t.Helper()
	lo, hi := res.stats.Target-10*time.Millisecond, res.stats.Target+20*time.Millisecond+slack
	for i, d := range res.delays[3:] {
		if d < lo || d > hi {
			t.Errorf("at %d s the delay was %v, target %v", i+4, d, res.stats.Target)
		}
	}
}

func TestDTX(t *testing.T) {
	// A second of speech, then a second of silence.
	pcm := append(speech(rate)[:rate*7/10], make([]int16, rate*13/10)...)
	pkts := encode(t, pcm, audio.EncoderOptions{DTX: true})
	if len(pkts) > 60 {
		t.Fatalf("DTX on, yet %d packets for 2 s", len(pkts))
	}
	res := simulateLoop(t, pkts, len(pcm), 30*time.Second, 0, perfect, Config{})
	s := res.stats
	if s.Concealed+s.FEC+s.Late != 0 {
		t.Errorf("DTX pauses taken for loss: %+v", s)
	}
	if s.DTX == 0 {
		t.Error("no DTX silence played")
	}
	// The speech itself comes through whole: every talkspurt decodes as
	// offline.
	ref := offline(t, pkts[:10])
	if offsetOf(res.out[:rate], ref) < 0 {
		t.Error("the first talkspurt is not the offline decode")
	}
	t.Logf("%+v", s)
}

func TestDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("ten simulated minutes")
	}
	pkts := encode(t, speech(10*rate), audio.EncoderOptions{})
	for _, ppm := range []float64{200, -200} {
		t.Run(fmt.Sprintf("%+.0fppm", ppm), func(t *testing.T) {
			t.Parallel()
			res := simulate(t, pkts, 10*time.Minute, ppm, jittery(5, 10*time.Millisecond), Config{})
			s := res.stats
			checkFewLate(t, res)
			checkNoCreep(t, res, 0)
			// 200 ppm of 10 minutes is 120 ms, to be dropped or inserted.
			moved := s.Dropped - s.Inserted
			if ppm < 0 {
				moved = -moved
			}
			if moved < 100*time.Millisecond || moved > 140*time.Millisecond {
				t.Errorf("%v net dropped or inserted for %v ppm over 10 min, want 120 ms", moved, ppm)
			}
			t.Logf("%+v", s)
		})
	}
}

func TestFixed(t *testing.T) {
	pkts := encode(t, speech(rate), audio.EncoderOptions{})
	res := simulate(t, pkts, 5*time.Second, 0, perfect, Config{Fixed: 80 * time.Millisecond})
	if res.stats.Target != 80*time.Millisecond {
		t.Errorf("target %v, want 80 ms", res.stats.Target)
	}
	if d := res.stats.Delay; d < 70*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("delay %v with a fixed 80 ms", d)
	}
}

func TestPacketSamples(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want int
	}{
		{nil, 0},
		{[]byte{0 << 3}, 480},              // SILK 10 ms
		{[]byte{1 << 3}, 960},              // SILK 20 ms
		{[]byte{3 << 3}, 2880},             // SILK 60 ms
		{[]byte{3<<3 | 1}, 5760},           // two of them: 120 ms
		{[]byte{13 << 3}, 960},             // hybrid 20 ms
		{[]byte{16 << 3}, 120},             // CELT 2.5 ms
		{[]byte{31<<3 | 2}, 1920},          // two CELT 20 ms
		{[]byte{31<<3 | 3, 3}, 2880},       // three CELT 20 ms
		{[]byte{31<<3 | 3, 7}, 0},          // seven: 140 ms, too long
		{[]byte{31<<3 | 3}, 0},             // count byte missing
		{[]byte{31<<3 | 3, 0}, 0},          // no frames
		{[]byte{3<<3 | 3, 0x80 | 2}, 5760}, // VBR flag ignored
	} {
		if got := packetSamples(c.p); got != c.want {
			t.Errorf("packetSamples(% x) = %d, want %d", c.p, got, c.want)
		}
	}
}
