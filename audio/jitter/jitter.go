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
//
// # Steps and jumps
//
// Some senders step their timestamps: GStreamer's webrtcbin stamps its
// first packet 312 samples (the Opus pre-skip) after the grid the rest
// follow, and a clock may slip a sample. The play point then realigns to
// the stream, and the statistics of the packets played move with it, so
// that the delay stays as it was. It does so when the packet after the
// last one played starts before that one's end; when a packet's audio
// straddles the play point; when the next packet is off the 2.5 ms grid
// of Opus frames from it (a step forward, which would otherwise play as a
// few samples of silence); and when three late packets in a row, in
// sequence and behind by about as much, show that the stream has moved
// back (a burst catching up is not that). A late packet alone is still
// late.
//
// A timestamp more than 2 s from the play point (or, before playing, from
// the earliest packet) is a new stream: the buffer forgets the old one
// and starts over, as it does when the delay strays beyond 2 s either way
// (the speaker stopped pulling, say). An arrival time more than 100 ms
// from the clock is taken to be the clock's time. So the target is at
// most 1 s, the delay within ±2 s, and no timestamps, sequence numbers or
// arrival times overflow the arithmetic.
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
	// maxPackets bounds the packets held, maxArrivals the statistics and
	// maxLosses the losses noted.
	maxPackets  = 1024
	maxArrivals = 1024
	maxLosses   = 256
	// maxAside bounds the late packets kept in case the stream stepped.
	maxAside = 16
	// maxSkew is how far a packet's timestamp may be from the play point
	// before the stream counts as restarted.
	maxSkew = 2 * rate
	// maxTarget caps the target delay, and maxDelay the delay either way:
	// beyond it the stream is lost and the buffer starts over.
	maxTarget = time.Second
	maxDelay  = 2 * time.Second
	// arrivalSlack is how far from the clock an arrival time may be;
	// further, Push takes the clock's time instead.
	arrivalSlack = 100 * time.Millisecond
	// lateRun is how many late packets in sequence, behind by about as
	// much, show that the stream's timestamps have moved back.
	lateRun = 3
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
	// jitter: a plain fixed buffer, for comparison. At most 1 s.
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
	// Realigned counts the times the play point followed a step in the
	// stream's timestamps, and Restarts the times the buffer started over
	// with a new stream.
	Realigned, Restarts uint64
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
	at  time.Time
	seq int64
	r   time.Duration
}

type played struct{ seq, ts int64 }

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
	aside    []packet  // late but after the last played in sequence
	arrivals []arrival // oldest first
	losses   []time.Time

	playing bool  // frames are being played
	next    int64 // timestamp of the next frame to play
	end     int64 // where the last packet played ended
	seq     int64 // sequence number of the last packet played, if any
	dtx     bool  // the last packet played was a DTX packet
	silent  bool  // the last frame played was silence
	frame   int   // samples per frame, from the latest packet
	lossRun int   // samples concealed in a row
	pull    int   // samples per Pull, from the latest
	played  [64]played
	nplayed int // packets played in this stream
	// A run of late packets in sequence: how many, the last one's
	// sequence number and how far behind the first one was.
	lateN          int
	lateSeq, late0 int64
	pcm            []int16 // decoded, not yet pulled
	pcmStore       []int16
	scratch        [2 * maxFrame]int16
	rs             []time.Duration
	// The smallest r and the spread to its 95th percentile, worked out
	// from arrivals; stale once arrivals change. Sorting them once per
	// change, not once per frame played, keeps a flood cheap.
	spreadOK  bool
	minR, p95 time.Duration

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
	if cfg.Fixed < 0 || cfg.Fixed > maxTarget {
		return nil, fmt.Errorf("jitter: fixed delay %v: want at most %v", cfg.Fixed, maxTarget)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("jitter: opus decoder: %w", err)
	}
	b := &Buffer{cfg: cfg, dec: dec, window: cfg.Window}
	if b.window == 0 {
		b.window = 2 * time.Second
	}
	b.frame = samples(cfg.Frame)
	b.pull = rate / 100
	b.pcmStore = make([]int16, 0, 4*maxFrame)
	return b, nil
}

// samples converts a duration to samples, rounding towards zero. It does
// not overflow.
func samples(d time.Duration) int {
	return int(d/time.Second)*rate + int(d%time.Second)*rate/int(time.Second)
}

// duration converts samples to a duration, rounding towards zero. It does
// not overflow below 292 years.
func duration(n int64) time.Duration {
	return time.Duration(n/rate)*time.Second + time.Duration(n%rate)*time.Second/rate
}

// Push adds a packet that arrived at the given time. It keeps a copy of
// payload.
func (b *Buffer) Push(seq uint16, ts uint32, payload []byte, at time.Time) {
	n := packetSamples(payload)
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if n == 0 {
		b.stats.Invalid++
		return
	}
	if d := at.Sub(now); d < -arrivalSlack || d > arrivalSlack {
		at = now // not the clock's time: the clock's is better
	}
	if !b.begun {
		b.begin(seq, ts, at)
	}
	ext := b.lastTS + int64(int32(ts-uint32(b.lastTS)))
	eseq := b.lastSeq + int64(int16(seq-uint16(b.lastSeq)))
	if ext > b.next+maxSkew || ext+maxSkew < b.next {
		b.restart()
		b.begin(seq, ts, at)
		ext, eseq = b.lastTS, b.lastSeq
	}
	b.lastTS = max(b.lastTS, ext)
	b.lastSeq = max(b.lastSeq, eseq)
	if !b.playing && ext < b.next {
		b.next = ext // reordered before the start: begin with the earliest
	}
	b.arrivals = append(b.arrivals, arrival{at, eseq, at.Sub(b.base) - duration(ext)})
	b.spreadOK = false
	b.trim(at)

	if slices.Contains(b.played[:min(b.nplayed, len(b.played))], played{eseq, ext}) {
		b.stats.Duplicates++
		return
	}
	p := packet{ts: ext, seq: eseq, data: payload, samples: n}
	if ext < b.next && !b.realignBack(ext, eseq, n) && !b.lateRun(ext, eseq) {
		// It was concealed, but it was late, not lost: no reason to wait
		// for FEC. One after the last packet played is set aside: the
		// stream may have stepped back, and the packet at the step, still
		// to come, may realign the play point to it.
		b.stats.Late++
		if n := len(b.losses); n > 0 {
			b.losses = b.losses[:n-1]
		}
		if b.nplayed > 0 && eseq > b.seq {
			if len(b.aside) == maxAside {
				b.aside = slices.Delete(b.aside, 0, 1)
			}
			p.data = slices.Clone(payload)
			b.aside = append(b.aside, p)
		}
		return
	}
	b.hold(p)
}

// hold queues a packet at or after the play point, unless it is there
// already or the queue is full.
func (b *Buffer) hold(p packet) {
	i, found := slices.BinarySearchFunc(b.pkts, p.ts, func(p packet, ts int64) int {
		return cmpInt(p.ts, ts)
	})
	if found {
		b.stats.Duplicates++
		return
	}
	if len(b.pkts) >= maxPackets {
		return
	}
	p.data = slices.Clone(p.data)
	b.pkts = slices.Insert(b.pkts, i, p)
}

// begin starts a stream at a packet.
func (b *Buffer) begin(seq uint16, ts uint32, at time.Time) {
	b.begun = true
	b.base = at
	b.lastTS, b.lastSeq = int64(ts), int64(seq)
	b.next, b.end = int64(ts), int64(ts)
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
// same one, or the delay strayed too far. The next packet begins a new
// one.
func (b *Buffer) restart() {
	b.pkts = b.pkts[:0]
	b.aside = b.aside[:0]
	b.arrivals = b.arrivals[:0]
	b.spreadOK = false
	b.losses = b.losses[:0]
	b.begun, b.playing = false, false
	b.nplayed, b.lateN = 0, 0
	b.dtx, b.lossRun = false, 0
	b.stats.Restarts++
}

// follows reports whether seq is the packet after the last one played.
func (b *Buffer) follows(seq int64) bool { return b.nplayed > 0 && seq == b.seq+1 }

// realignBack realigns the play point to a packet that starts before it
// when the stream has stepped back: the packet follows the last one played
// but starts before its end, or its audio straddles the play point. It
// reports whether the packet is then due.
func (b *Buffer) realignBack(ts, seq int64, n int) bool {
	switch {
	case b.follows(seq) && ts < b.end:
		b.realign(b.end - ts)
	case ts+int64(n) > b.next:
		b.realign(b.next - ts)
	}
	return ts >= b.next
}

// lateRun notes a late packet and, at the third in a row in sequence,
// each behind by about as much as the first (not a burst catching up),
// realigns the play point to it. It reports whether it did.
func (b *Buffer) lateRun(ts, seq int64) bool {
	if b.nplayed == 0 || seq <= b.seq {
		b.lateN = 0
		return false
	}
	by := b.next - ts
	if b.lateN > 0 && seq == b.lateSeq+1 && by+int64(b.frame) >= b.late0 {
		b.lateN++
	} else {
		b.lateN, b.late0 = 1, by
	}
	b.lateSeq = seq
	if b.lateN < lateRun {
		return false
	}
	b.lateN = 0
	b.realign(by)
	return true
}

// realign moves the play point back by x samples (forward if x < 0), as
// the stream's timestamps moved, and the statistics of the packets played
// with it, so that the delay stays as it was. The packets set aside as
// late that are now due are queued after all.
func (b *Buffer) realign(x int64) {
	b.next -= x
	b.end -= x
	d := duration(x)
	for i := range b.arrivals {
		if b.nplayed > 0 && b.arrivals[i].seq <= b.seq {
			b.arrivals[i].r += d
		}
	}
	b.spreadOK = false
	b.stats.Realigned++
	for _, p := range b.aside {
		if p.seq > b.seq && p.ts >= b.next {
			b.stats.Late--
			b.hold(p)
		}
	}
	b.aside = b.aside[:0]
}

// align readies the head of the queue: it realigns to a packet that
// starts before the play point or off the 2.5 ms grid from it, or drops
// it as late. A packet set aside as late that follows the last one played
// (it came before that one was played) may show a step back too.
func (b *Buffer) align() {
	for _, p := range b.aside {
		if b.follows(p.seq) {
			b.realignBack(p.ts, p.seq, p.samples)
			break
		}
	}
	for len(b.pkts) > 0 && b.pkts[0].ts < b.next {
		if p := b.pkts[0]; b.realignBack(p.ts, p.seq, p.samples) {
			return
		}
		b.pkts = b.pkts[1:]
		b.stats.Late++
	}
	if len(b.pkts) > 0 {
		if off := (b.pkts[0].ts - b.next) % quantum; off != 0 {
			b.realign(-off)
		}
	}
}

// trim drops statistics older than the window.
func (b *Buffer) trim(now time.Time) {
	drop := 0
	for drop < len(b.arrivals)-minKeep && now.Sub(b.arrivals[drop].at) > b.window || len(b.arrivals)-drop > maxArrivals {
		drop++
	}
	if drop > 0 {
		b.arrivals = slices.Delete(b.arrivals, 0, drop)
		b.spreadOK = false
	}
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
	if !b.spreadOK {
		rs := b.rs[:0]
		for _, a := range b.arrivals {
			rs = append(rs, a.r)
		}
		b.rs = rs
		slices.Sort(rs)
		b.minR, b.p95 = rs[0], rs[(len(rs)*95+99)/100-1]-rs[0]
		b.spreadOK = true
	}
	minR = b.minR
	if b.cfg.Fixed > 0 {
		return b.cfg.Fixed, minR
	}
	frame := duration(int64(b.frame))
	target = b.p95
	if len(b.losses) >= 2 {
		target += frame
	}
	return min(target, maxTarget), minR
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
	if b.playing {
		b.align()
	}
	target, minR := b.target()
	delay := now.Sub(b.base) - duration(b.next) - minR
	b.stats.Target = target
	if !b.playing {
		if len(b.pkts) == 0 || delay < target {
			return false
		}
		b.playing = true
		b.next, b.end = b.pkts[0].ts, b.pkts[0].ts
		delay = now.Sub(b.base) - duration(b.next) - minR
	}
	if delay > maxDelay || delay < -maxDelay {
		b.restart()
		return false
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
	if len(b.pkts) > 0 && b.pkts[0].ts == b.next {
		if pcm := b.decodePacket(buf); pcm != nil {
			b.emit(pcm)
			return
		}
	}
	if len(b.pkts) > 0 {
		q := b.pkts[0]
		gap := int(q.ts - b.next)
		if b.follows(q.seq) {
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
	b.end = b.next
	b.seq = p.seq
	b.frame = n
	b.dtx = len(p.data) <= 2
	b.lossRun, b.lateN = 0, 0
	b.played[b.nplayed%len(b.played)] = played{p.seq, p.ts}
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

func (b *Buffer) lost() {
	if len(b.losses) == maxLosses {
		b.losses = slices.Delete(b.losses, 0, 1)
	}
	b.losses = append(b.losses, b.cfg.Now())
}

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
