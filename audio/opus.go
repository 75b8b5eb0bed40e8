package audio

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"gopkg.in/hraban/opus.v2"
)

const (
	// DefaultFrame is the Opus frame duration unless EncoderOptions.Frame
	// says otherwise.
	DefaultFrame = 20 * time.Millisecond
	// DefaultBitrate is the Opus bitrate, in bits per second, unless
	// EncoderOptions.Bitrate says otherwise.
	DefaultBitrate = 32000
	// DefaultComplexity is libopus's complexity unless
	// EncoderOptions.Complexity says otherwise. For speech at 32 kbps, 8
	// to 10 give the same packets; 7 encodes with a quarter less CPU
	// (encoding is most of a call's) for 0.1 dB more spectral distance
	// (TestDefaultComplexity, BenchmarkEncode).
	DefaultComplexity = 7
	// MinComplexity is what the encoder drops to on a machine where
	// encoding costs more than EncodeBudget: libwebrtc's setting on phones.
	// It encodes with 30% less CPU than 7, for 0.2 dB more spectral
	// distance and 0.015 less correlation in the benchmark's calls.
	MinComplexity = 5
	// EncodeBudget is the share of real time that encoding may take, 1% of
	// a core (a third of a call's CPU budget per peer): 200 µs per 20 ms
	// frame. Over it, measured as the median of a window of frames, the
	// encoder drops to MinComplexity.
	EncodeBudget = 0.01
	// costWindow is how much audio each of those medians covers.
	costWindow = 2 * time.Second
	// MinPacketLossPerc is the least expected packet loss the encoder is
	// told, in percent, so that in-band FEC always has room.
	MinPacketLossPerc = 10
	// maxPacket bounds an encoded packet: RFC 6716 §3.4 allows 1275
	// bytes a frame, and a 40 ms packet holds two 20 ms frames.
	maxPacket = 4000
)

// EncoderOptions configure an Encoder. The zero value is parley's default:
// 20 ms frames at 32 kbps, FEC for 10% loss, no DTX, adaptive complexity.
type EncoderOptions struct {
	// Frame is the duration of one Opus frame: 10, 20 or 40 ms; 0 means
	// DefaultFrame.
	Frame time.Duration
	// Bitrate is in bits per second; 0 means DefaultBitrate.
	Bitrate int
	// PacketLossPerc is the packet loss to expect at first, in percent;
	// below MinPacketLossPerc (0 included) it is MinPacketLossPerc.
	PacketLossPerc int
	// DTX turns on discontinuous transmission: during silence the encoder
	// sends almost nothing. See Packet.
	DTX bool
	// Complexity is libopus's complexity, 1 to 10, held for the whole
	// call. 0 means adaptive: DefaultComplexity, dropping to
	// MinComplexity if encoding costs more than EncodeBudget. It never
	// goes back up within a call.
	Complexity int
}

// Packet is one encoded Opus frame.
//
// RTP timestamps (RFC 7587 §4.1): the first packet's timestamp is any
// starting value; every later packet's is the previous one's plus the
// previous Packet's Samples, whether or not that packet was sent. So the
// timestamp keeps advancing across mute and DTX.
//
// DTX (RFC 7587 §3.1.3): in silence libopus returns packets of 1 or 2
// bytes that carry no audio, with a real "comfort noise" packet every
// 400 ms. The Encoder passes on the first of those small packets, so the
// peer's decoder knows silence began, and gives nil Data for the rest:
// the caller sends nothing for them but still advances the timestamp, and
// does not advance the RTP sequence number (a gap in timestamps with
// consecutive sequence numbers is how the peer tells DTX from loss). The
// first packet sent after such a gap has Marker set: the caller sets the
// RTP marker bit (RFC 3551 §4.1, the start of a talkspurt).
type Packet struct {
	// Data is the Opus packet to send, or nil: send nothing this time.
	// It belongs to the caller.
	Data []byte
	// Samples is how many 48 kHz samples the packet covers, 480, 960 or
	// 1920: the amount to add to the RTP timestamp after this packet.
	Samples int
	// Marker is true for the first packet sent after packets were
	// withheld (and for the first packet of all when DTX is on).
	Marker bool
}

// Encoder turns periods of PCM into Opus packets: VoIP application, in-band
// FEC on, DTX off unless asked for. Write is for one goroutine at a time;
// SetMuted, SetDTX, SetPacketLossPerc and SetBitrate may be called from
// any goroutine and take effect from the next frame.
type Encoder struct {
	enc     *opus.Encoder
	frame   []int16 // the frame being filled
	fill    int
	out     [maxPacket]byte
	silence []int16
	gap     bool // packets were withheld since the last one sent
	sentDTX bool // the first small DTX packet of this silence was sent

	muted   atomic.Bool
	dtx     atomic.Bool
	loss    atomic.Int32
	bitrate atomic.Int32
	curLoss int32
	curRate int32
	curDTX  bool // DTX is on in libopus: asked for, or muted

	cost       cost
	complexity atomic.Int32
}

// cost follows what encoding a frame takes, for the adaptive complexity.
type cost struct {
	adapt  bool
	now    func() time.Time // time.Now; tests fake it
	budget time.Duration    // per frame
	window []time.Duration  // the latest frames' costs, up to cap
}

// NewEncoder returns an Encoder for 48 kHz mono.
func NewEncoder(o EncoderOptions) (*Encoder, error) {
	if o.Frame == 0 {
		o.Frame = DefaultFrame
	}
	switch o.Frame {
	case 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond:
	default:
		return nil, fmt.Errorf("opus frame %v: want 10, 20 or 40 ms", o.Frame)
	}
	if o.Bitrate == 0 {
		o.Bitrate = DefaultBitrate
	}
	if o.Bitrate < 6000 || o.Bitrate > 510000 {
		return nil, fmt.Errorf("opus bitrate %d: want 6000 to 510000 bits/s", o.Bitrate)
	}
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("new opus encoder: %w", err)
	}
	n, _ := samplesIn(o.Frame)
	e := &Encoder{enc: enc, frame: make([]int16, n), silence: make([]int16, n), gap: o.DTX}
	e.dtx.Store(o.DTX)
	if err := enc.SetInBandFEC(true); err != nil {
		return nil, fmt.Errorf("opus: turn on FEC: %w", err)
	}
	if o.Complexity == 0 {
		o.Complexity = DefaultComplexity
		e.cost = cost{
			adapt:  true,
			now:    time.Now,
			budget: time.Duration(EncodeBudget * float64(o.Frame)),
			window: make([]time.Duration, 0, costWindow/o.Frame),
		}
	}
	if err := enc.SetComplexity(o.Complexity); err != nil {
		return nil, fmt.Errorf("opus: set complexity %d: %w", o.Complexity, err)
	}
	e.complexity.Store(int32(o.Complexity))
	if err := enc.SetDTX(o.DTX); err != nil {
		return nil, fmt.Errorf("opus: set DTX: %w", err)
	}
	e.curDTX = o.DTX
	e.SetBitrate(o.Bitrate)
	e.SetPacketLossPerc(o.PacketLossPerc)
	if err := e.apply(); err != nil {
		return nil, err
	}
	return e, nil
}

// FrameSamples returns the number of samples in one frame: 480, 960 or
// 1920.
func (e *Encoder) FrameSamples() int { return len(e.frame) }

// Complexity returns libopus's complexity now; with adaptive complexity
// it may have dropped since the start.
func (e *Encoder) Complexity() int { return int(e.complexity.Load()) }

// SetMuted mutes or unmutes. Muted, the encoder encodes silence in place
// of its input with DTX on, so that after a few frames it sends almost
// nothing; Samples keep counting at the same pace, and the first packet
// after unmuting carries the marker.
func (e *Encoder) SetMuted(m bool) { e.muted.Store(m) }

// SetDTX turns DTX on or off, as EncoderOptions.DTX does from the start.
func (e *Encoder) SetDTX(on bool) { e.dtx.Store(on) }

// Muted reports whether the encoder is muted.
func (e *Encoder) Muted() bool { return e.muted.Load() }

// SetPacketLossPerc tells the encoder how much loss to expect, in percent,
// so FEC can spend bits to match; the caller drives it from the peer's
// RTCP reports. Values are kept within MinPacketLossPerc and 100.
func (e *Encoder) SetPacketLossPerc(p int) {
	e.loss.Store(int32(min(max(p, MinPacketLossPerc), 100)))
}

// PacketLossPerc returns the loss the encoder is told to expect.
func (e *Encoder) PacketLossPerc() int { return int(e.loss.Load()) }

// SetBitrate sets the target bitrate in bits per second, kept within
// 6000 and 510000.
func (e *Encoder) SetBitrate(bps int) {
	e.bitrate.Store(int32(min(max(bps, 6000), 510000)))
}

// apply passes changed settings to libopus, between frames.
func (e *Encoder) apply() error {
	if l := e.loss.Load(); l != e.curLoss {
		if err := e.enc.SetPacketLossPerc(int(l)); err != nil {
			return fmt.Errorf("opus: set packet loss: %w", err)
		}
		e.curLoss = l
	}
	if r := e.bitrate.Load(); r != e.curRate {
		if err := e.enc.SetBitrate(int(r)); err != nil {
			return fmt.Errorf("opus: set bitrate: %w", err)
		}
		e.curRate = r
	}
	// Muted, there is nothing to send: DTX whether asked for or not.
	if dtx := e.dtx.Load() || e.muted.Load(); dtx != e.curDTX {
		if err := e.enc.SetDTX(dtx); err != nil {
			return fmt.Errorf("opus: set DTX: %w", err)
		}
		e.curDTX = dtx
	}
	return nil
}

// Write adds PCM, any length, and calls emit for each frame it completes,
// on the caller's goroutine. It returns the first error from libopus.
func (e *Encoder) Write(pcm []int16, emit func(Packet)) error {
	for len(pcm) > 0 {
		c := copy(e.frame[e.fill:], pcm)
		e.fill += c
		pcm = pcm[c:]
		if e.fill < len(e.frame) {
			return nil
		}
		e.fill = 0
		p, err := e.encode()
		if err != nil {
			return err
		}
		emit(p)
	}
	return nil
}

// encode encodes the full frame.
func (e *Encoder) encode() (Packet, error) {
	if err := e.apply(); err != nil {
		return Packet{}, err
	}
	in := e.frame
	if e.muted.Load() {
		in = e.silence
	}
	var t0 time.Time
	if e.cost.adapt {
		t0 = e.cost.now()
	}
	n, err := e.enc.Encode(in, e.out[:])
	if err != nil {
		return Packet{}, fmt.Errorf("opus encode: %w", err)
	}
	if e.cost.adapt {
		if err := e.adapt(e.cost.now().Sub(t0)); err != nil {
			return Packet{}, err
		}
	}
	p := Packet{Samples: len(e.frame)}
	if e.curDTX && n <= 2 {
		// A DTX frame: no audio in it. Send the first one only.
		if e.sentDTX {
			e.gap = true
			return p, nil
		}
		e.sentDTX = true
	} else {
		e.sentDTX = false
	}
	p.Data = append([]byte(nil), e.out[:n]...)
	if e.gap && n > 2 {
		if inDTX, _ := e.enc.InDTX(); !inDTX {
			// Speech again, not a comfort-noise update within the
			// silence: the start of a talkspurt.
			p.Marker = true
			e.gap = false
		}
	}
	return p, nil
}

// adapt notes what a frame cost to encode. Once a window is full, it drops
// to MinComplexity if the window's median is over budget: the median, so
// that a frame or two held up by the scheduler do not count. (Complexity 6
// costs nearly what 7 does; the saving is at 5.)
func (e *Encoder) adapt(took time.Duration) error {
	c := &e.cost
	c.window = append(c.window, took)
	if len(c.window) < cap(c.window) {
		return nil
	}
	slices.Sort(c.window)
	median := c.window[len(c.window)/2]
	c.window = c.window[:0]
	if median <= c.budget {
		return nil
	}
	c.adapt = false
	if err := e.enc.SetComplexity(MinComplexity); err != nil {
		return fmt.Errorf("opus: set complexity %d: %w", MinComplexity, err)
	}
	e.complexity.Store(MinComplexity)
	return nil
}
