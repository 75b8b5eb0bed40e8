// Package jitter is parley's receive buffer: it takes the peer's Opus
// packets as they arrive, in any order, and hands out decoded 48 kHz mono
// PCM at the pace the speaker pulls it.
//
// # Delay
//
// The buffer is time-based and adapts, like WebRTC's NetEQ. For every
// packet it records r = arrival time − RTP timestamp (in seconds); the
// spread of r over the last two seconds (and the last 50 packets) is the
// network's jitter. A packet's relative delay is its r minus the smallest
// r in that window. The target delay, from the quickest packet's arrival
// to the moment its first sample is pulled, is the 95th percentile of
// relative delay, plus one more frame while packets are being lost, so
// that the packet after a lost one, which carries the lost one's FEC, is
// there in time. The delay held is at least the target and, as frames
// start at the speaker's pulls, less than a pull more.
//
// There is no floor of a whole frame: frame n+1 is due a frame after
// frame n and comes a frame after it, give or take the jitter, so the
// jitter is all the delay a frame needs. (NetEQ's floor of one packet
// counts the packet being played; this delay does not.)
//
// Each time a frame is due the buffer compares the current delay with the
// target. Too little: it inserts audio, zeros in silence, and in speech
// Opus concealment where the next frame has not come (a late packet then
// still plays, and a lost one's FEC may yet come), or when two frames
// short. Too much:
// it drops a silent frame, or, when far over, crossfades two frames of
// speech into one. The same mechanism absorbs clock drift between the two
// machines: a few samples a second accumulate until a silence soaks them
// up.
//
// # Loss
//
// A frame whose packet is missing is rebuilt from the next packet's
// in-band FEC when that packet is already here, and otherwise concealed by
// Opus's packet-loss concealment, fading to silence over 100 ms. A jump in
// timestamps with consecutive sequence numbers is a DTX pause and plays as
// silence, as does the time after a DTX packet (one or two bytes) until
// speech resumes. A packet that arrives after its time is counted late
// and dropped.
package jitter

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"gopkg.in/hraban/opus.v2"
)

const (
	rate     = 48000
	maxFrame = rate * 120 / 1000 // the longest Opus packet, 120 ms
	// quantum is the unit of inserted audio: Opus conceals in multiples of
	// 2.5 ms.
	quantum = rate * 25 / 10000
	// minKeep is how many recent arrivals the statistics keep, however
	// old, so that a pause in speech (DTX) does not forget the jitter.
	minKeep = 50
	// maxPackets bounds the packets held.
	maxPackets = 1024
	// maxSkew is how far a packet's timestamp may be from the play point
	// before the stream counts as restarted.
	maxSkew = 2 * rate
	// fadeStart and fadeEnd shape concealment: full level for the first
	// 20 ms of a loss, silence from 100 ms on.
	fadeStart = rate * 20 / 1000
	fadeEnd   = rate * 100 / 1000
	// silentPower is the mean square below which a frame counts as silence
	// (−50 dBFS).
	silentPower = 10737
	// crossfade is the length of the blend when two frames of speech are
	// made one.
	crossfade = rate * 5 / 1000
)

// Config configures a Buffer. The zero value is fine.
type Config struct {
	// Frame is the frame duration to assume before the first packet says
	// otherwise; 0 means 20 ms.
	Frame time.Duration
	// Fixed, if set, makes the target delay this much, whatever the
	// jitter: a plain fixed buffer, for comparison.
	Fixed time.Duration
	// Window is how far back the jitter statistics look; 0 means 2 s.
	Window time.Duration
	// Now is the playback clock, read by Pull; nil means time.Now.
	Now func() time.Time
}

// Stats are a Buffer's counters since it was made.
type Stats struct {
	// Target is the delay the buffer aims for, and Delay the one it has:
	// from the arrival of the quickest recent packet to its playing.
	Target, Delay time.Duration
	// Frames counts frames played from packets; FEC those rebuilt from the
	// next packet's FEC; Concealed those made up by loss concealment; DTX
	// those played as silence during the peer's DTX pauses.
	Frames, FEC, Concealed, DTX uint64
	// Late counts packets that came after their time, Duplicates packets
	// that came twice, Invalid packets that were not Opus.
	Late, Duplicates, Invalid uint64
	// Inserted and Dropped are the audio added and taken away to follow
	// the target delay and the clocks' drift.
	Inserted, Dropped time.Duration
}

type packet struct {
	ts, seq int64 // extended: they do not wrap
	data    []byte
	samples int
}

type arrival struct {
	at time.Time
	r  time.Duration
}

// Buffer is an adaptive jitter buffer and Opus decoder for one stream.
// Push and Pull may be called from different goroutines.
type Buffer struct {
	mu     sync.Mutex
	cfg    Config
	dec    *opus.Decoder
	window time.Duration

	begun    bool      // a packet has come
	base     time.Time // the origin of r
	lastTS   int64     // the newest extended timestamp seen
	lastSeq  int64     // the newest extended sequence number seen
	pkts     []packet  // waiting, sorted by ts, all at or after next
	arrivals []arrival // oldest first
	losses   []time.Time

	playing  bool  // frames are being played
	next     int64 // timestamp of the next frame to play
	seq      int64 // sequence number of the last packet played, or -1
	dtx      bool  // the last packet played was a DTX packet
	silent   bool  // the last frame played was silence
	frame    int   // samples per frame, from the latest packet
	lossRun  int   // samples concealed in a row
	pull     int   // samples per Pull, from the latest
	played   [64]int64
	nplayed  int
	pcm      []int16 // decoded, not yet pulled
	pcmStore []int16
	scratch  [2 * maxFrame]int16
	rs       []time.Duration

	stats Stats
}

// New returns a Buffer with its own Opus decoder.
func New(cfg Config) (*Buffer, error) {
	if cfg.Frame == 0 {
		cfg.Frame = 20 * time.Millisecond
	}
	if cfg.Frame < 2500*time.Microsecond || cfg.Frame > 120*time.Millisecond {
		return nil, fmt.Errorf("jitter: frame %v: want 2.5 to 120 ms", cfg.Frame)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("jitter: opus decoder: %w", err)
	}
	b := &Buffer{cfg: cfg, dec: dec, window: cfg.Window, seq: -1}
	if b.window == 0 {
		b.window = 2 * time.Second
	}
	b.frame = samples(cfg.Frame)
	b.pull = rate / 100
	b.pcmStore = make([]int16, 0, 4*maxFrame)
	return b, nil
}

func samples(d time.Duration) int { return int(d * rate / time.Second) }

func duration(n int64) time.Duration { return time.Duration(n) * time.Second / rate }

// Push adds a packet that arrived at the given time. It keeps a copy of
// payload.
func (b *Buffer) Push(seq uint16, ts uint32, payload []byte, at time.Time) {
	n := packetSamples(payload)
	b.mu.Lock()
	defer b.mu.Unlock()
	if n == 0 {
		b.stats.Invalid++
		return
	}
	if !b.begun {
		b.begun = true
		b.base = at
		b.lastTS, b.lastSeq = int64(ts), int64(seq)
		b.next = int64(ts)
	}
	ext := b.lastTS + int64(int32(ts-uint32(b.lastTS)))
	eseq := b.lastSeq + int64(int16(seq-uint16(b.lastSeq)))
	b.lastTS = max(b.lastTS, ext)
	b.lastSeq = max(b.lastSeq, eseq)

	if b.playing && (ext > b.next+maxSkew || ext+maxSkew < b.next) {
		b.restart(ext)
	}
	if !b.playing && ext < b.next {
		b.next = ext // reordered before the start: begin with the earliest
	}
	b.arrivals = append(b.arrivals, arrival{at, at.Sub(b.base) - duration(ext)})
	b.trim(at)

	if ext < b.next {
		if slices.Contains(b.played[:min(b.nplayed, len(b.played))], ext) {
			b.stats.Duplicates++
		} else {
			// It was concealed, but it was late, not lost: no reason to
			// wait for FEC.
			b.stats.Late++
			if n := len(b.losses); n > 0 {
				b.losses = b.losses[:n-1]
			}
		}
		return
	}
	i, found := slices.BinarySearchFunc(b.pkts, ext, func(p packet, ts int64) int {
		return cmpInt(p.ts, ts)
	})
	if found {
		b.stats.Duplicates++
		return
	}
	if len(b.pkts) >= maxPackets {
		return
	}
	b.pkts = slices.Insert(b.pkts, i, packet{ts: ext, seq: eseq, data: slices.Clone(payload), samples: n})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// restart forgets the stream: its timestamps jumped too far to be the
// same one.
func (b *Buffer) restart(ts int64) {
	b.pkts = b.pkts[:0]
	b.arrivals = b.arrivals[:0]
	b.losses = b.losses[:0]
	b.playing = false
	b.next = ts
	b.seq = -1
	b.dtx, b.lossRun = false, 0
}

// trim drops statistics older than the window.
func (b *Buffer) trim(now time.Time) {
	drop := 0
	for drop < len(b.arrivals)-minKeep && now.Sub(b.arrivals[drop].at) > b.window {
		drop++
	}
	b.arrivals = slices.Delete(b.arrivals, 0, drop)
	drop = 0
	for drop < len(b.losses) && now.Sub(b.losses[drop]) > b.window {
		drop++
	}
	b.losses = slices.Delete(b.losses, 0, drop)
}

// target returns the delay to aim for, and the smallest r in the window.
func (b *Buffer) target() (target, minR time.Duration) {
	if len(b.arrivals) == 0 {
		return duration(int64(b.frame)), 0
	}
	rs := b.rs[:0]
	for _, a := range b.arrivals {
		rs = append(rs, a.r)
	}
	b.rs = rs
	slices.Sort(rs)
	minR = rs[0]
	if b.cfg.Fixed > 0 {
		return b.cfg.Fixed, minR
	}
	p95 := rs[(len(rs)*95+99)/100-1] - minR
	frame := duration(int64(b.frame))
	target = p95
	if len(b.losses) >= 2 {
		target += frame
	}
	return min(target, time.Second), minR
}

// Pull fills dst with the next samples to play.
func (b *Buffer) Pull(dst []int16) {
	if len(dst) == 0 {
		return
	}
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pull = len(dst)
	if b.begun {
		b.trim(now)
	}
	for len(dst) > 0 {
		if len(b.pcm) == 0 && !b.produce(now) {
			clear(dst)
			return
		}
		n := copy(dst, b.pcm)
		dst, b.pcm = dst[n:], b.pcm[n:]
	}
}

// produce decodes, conceals or stretches the next piece of audio into
// b.pcm. It returns false if nothing is to be played yet.
func (b *Buffer) produce(now time.Time) bool {
	target, minR := b.target()
	delay := now.Sub(b.base) - duration(b.next) - minR
	b.stats.Target = target
	if !b.playing {
		if len(b.pkts) == 0 || delay < target {
			return false
		}
		b.playing = true
		b.next = b.pkts[0].ts
		delay = now.Sub(b.base) - duration(b.next) - minR
	}
	b.stats.Delay = delay
	b.pcmStore = b.pcmStore[:0]

	excess := delay - target
	frame := duration(int64(b.frame))
	// Short of the target, the delay grows in silence, or in speech where
	// the next frame is missing: concealment would play anyway, and the
	// frame, or its FEC in the next packet, may still come in time. Only
	// far short does it grow in the middle of speech.
	ready := len(b.pkts) > 0 && b.pkts[0].ts == b.next
	switch {
	case excess < 0 && (b.silent || !ready || excess <= -2*frame):
		b.insert(-excess)
		return true
	case excess >= duration(int64(b.pull)) && b.silent || excess >= 2*frame:
		if b.drop(excess) {
			return true
		}
	}
	b.decodeNext(b.scratch[:0])
	return true
}

// insert adds about d of audio without moving on in the stream: zeros in
// silence, concealment in speech.
func (b *Buffer) insert(d time.Duration) {
	n := min(max(quantum, (samples(d)+quantum-1)/quantum*quantum), b.frame)
	out := b.scratch[:n:n] // opus.v2 decodes cap(out) samples
	if b.silent {
		clear(out)
	} else if b.dec.DecodePLC(out) != nil {
		clear(out)
	}
	b.stats.Inserted += duration(int64(n))
	b.emit(out)
}

// drop plays the next frame only in part to take about excess off the
// delay. In silence it drops what it can of a silent frame; in speech it
// blends two frames into one. It returns false if it played nothing.
func (b *Buffer) drop(excess time.Duration) bool {
	if len(b.pkts) == 0 || b.pkts[0].ts != b.next {
		return false
	}
	first := b.decodePacket(b.scratch[:0])
	if first == nil {
		return false
	}
	if silence(first) {
		n := min(samples(excess)/quantum*quantum, len(first))
		b.stats.Dropped += duration(int64(n))
		b.emit(first[n:])
		return true
	}
	if len(b.pkts) == 0 || b.pkts[0].ts != b.next || len(first) < crossfade {
		b.emit(first)
		return true
	}
	second := b.decodePacket(b.scratch[len(first):len(first)])
	if second == nil || len(second) < crossfade {
		b.emit(first)
		return true
	}
	for i := range crossfade {
		w := int32(i)
		second[i] = int16((int32(first[i])*(crossfade-w) + int32(second[i])*w) / crossfade)
	}
	b.stats.Dropped += duration(int64(len(first)))
	b.emit(second)
	return true
}

// decodeNext plays the frame at b.next: from its packet, from the next
// packet's FEC, as DTX silence or by concealment.
func (b *Buffer) decodeNext(buf []int16) {
	for len(b.pkts) > 0 && b.pkts[0].ts < b.next {
		b.pkts = b.pkts[1:]
		b.stats.Late++
	}
	if len(b.pkts) > 0 && b.pkts[0].ts == b.next {
		if pcm := b.decodePacket(buf); pcm != nil {
			b.emit(pcm)
			return
		}
	}
	if len(b.pkts) > 0 {
		q := b.pkts[0]
		gap := int(q.ts - b.next)
		if b.seq >= 0 && q.seq == b.seq+1 {
			b.playSilence(buf, min(gap, b.frame))
			return
		}
		if gap <= b.frame && gap%quantum == 0 {
			out := buf[:gap:gap]
			if b.dec.DecodeFEC(q.data, out) == nil {
				b.stats.FEC++
				b.lost()
				b.next += int64(gap)
				b.lossRun = 0
				b.dtx = false
				b.emit(out)
				return
			}
		}
		b.conceal(buf, min(gap, b.frame))
		return
	}
	if b.dtx {
		b.playSilence(buf, b.frame)
		return
	}
	b.conceal(buf, b.frame)
}

// decodePacket decodes the packet at b.next into buf's free space and moves
// on. It returns nil, having dropped the packet, if it would not decode.
func (b *Buffer) decodePacket(buf []int16) []int16 {
	p := b.pkts[0]
	b.pkts = b.pkts[1:]
	out := buf[len(buf) : len(buf)+p.samples]
	n, err := b.dec.Decode(p.data, out)
	if err != nil || n != p.samples {
		b.stats.Invalid++
		return nil
	}
	b.next = p.ts + int64(n)
	b.seq = p.seq
	b.frame = n
	b.dtx = len(p.data) <= 2
	b.lossRun = 0
	b.played[b.nplayed%len(b.played)] = p.ts
	b.nplayed++
	b.stats.Frames++
	return out
}

func (b *Buffer) playSilence(buf []int16, n int) {
	out := buf[:n]
	clear(out)
	b.next += int64(n)
	b.stats.DTX++
	b.emit(out)
}

// conceal makes up n samples for a missing packet, fading out as the loss
// goes on.
func (b *Buffer) conceal(buf []int16, n int) {
	n = max(quantum, n/quantum*quantum)
	out := buf[:n:n]
	if b.lossRun >= fadeEnd || b.dec.DecodePLC(out) != nil {
		clear(out)
	}
	for i := range out {
		k := b.lossRun + i
		if k > fadeStart {
			g := int32(max(0, fadeEnd-k))
			out[i] = int16(int32(out[i]) * g / (fadeEnd - fadeStart))
		}
	}
	b.lossRun += n
	b.next += int64(n)
	b.stats.Concealed++
	b.lost()
	b.emit(out)
}

func (b *Buffer) lost() { b.losses = append(b.losses, b.cfg.Now()) }

// emit queues pcm to be pulled, and notes whether it is silence.
func (b *Buffer) emit(pcm []int16) {
	b.silent = silence(pcm)
	b.pcmStore = append(b.pcmStore, pcm...)
	b.pcm = b.pcmStore
}

func silence(pcm []int16) bool {
	if len(pcm) == 0 {
		return true
	}
	var sum int64
	for _, s := range pcm {
		sum += int64(s) * int64(s)
	}
	return sum/int64(len(pcm)) < silentPower
}

// Stats returns the counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}
