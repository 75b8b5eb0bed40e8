// Package voice carries a call's audio: it reads the input (a microphone,
// a file, a tone), encodes it with Opus and sends it as RTP on the call;
// and it puts the peer's packets into a jitter buffer that the output (a
// speaker, a file) drains at its own pace.
//
//	Source ─► Meter ─► Encoder ─► RTP ─► rtc.Call ══► peer
//	peer ══► rtc.Call ─► jitter.Buffer.Push … Pull ◄─ Sink ─► Meter
package voice

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"parley/audio"
	"parley/audio/aec"
	"parley/audio/jitter"
	"parley/rtc"
)

// Config says where a Session's audio comes from and goes, and how it is
// coded.
type Config struct {
	In, Out audio.Spec
	// Audio sets the period, the sound system and the clock.
	Audio audio.Options
	// Encoder sets frame size, bitrate, DTX.
	Encoder audio.EncoderOptions
	// Jitter configures the receive buffer; its Frame defaults to the
	// Encoder's.
	Jitter jitter.Config
	// OnLevels, if set, is called with the levels every 50 ms of audio, on
	// the audio goroutines; it must not block.
	OnLevels func(Levels)
	// Processing cleans up the microphone: echo cancellation, noise
	// suppression and gain control (audio/aec). It applies only where
	// both the input and the output are devices: a file, a tone or "none"
	// has no room for an echo to cross.
	Processing Processing
}

// echoDelay is the echo's delay behind what is handed to the speaker that
// the canceller starts from, erring short: it copes with an echo from
// 10 ms before to 115 ms after it, and finds one beyond that only slowly
// (left at zero, its estimator never latched on to a 104 ms echo in 20 s).
// Through PulseAudio the device path adds about 6 ms (46 ms measured with
// a 40 ms loopback as the room); a laptop's speaker is a millisecond or
// two from its microphone.
const echoDelay = 20 * time.Millisecond

// Processing says which of the microphone's clean-ups are on.
type Processing struct {
	AEC, NS, AGC bool
}

func (p Processing) any() bool { return p.AEC || p.NS || p.AGC }

// Levels are the microphone's and the peer's levels.
type Levels struct {
	Mic, Peer audio.Level
}

// Stats are the receive side's figures, the latest levels, the encoder's
// Opus complexity (adaptive: it may drop on a slow machine), which of the
// microphone's clean-ups run, and the echo delay the canceller found.
type Stats struct {
	jitter.Stats
	Levels
	Complexity int
	Processing Processing
	EchoDelay  time.Duration
}

// Link is what the audio needs of a call: to send RTP, to be given the
// peer's, and the peer's reports of loss. An *rtc.Call is one.
type Link interface {
	WriteAudio(*rtp.Packet) error
	SetAudioReceiver(rtc.AudioReceiver)
	Stats() rtc.MediaStats
}

// Session is one side's audio for one call: the input and output are open
// from Open, and audio flows from Start until Close.
type Session struct {
	cfg Config
	io  *audio.IO
	enc *audio.Encoder
	buf *jitter.Buffer

	mic, peer *audio.Meter
	proc      *aec.Canceller // nil: no clean-up
	procOn    Processing
	procErr   atomic.Bool // a Capture error has been logged

	mu      sync.Mutex
	call    Link
	stop    chan struct{}
	done    chan struct{}
	started bool
	closed  bool

	tx      *Sender // owned by the input's goroutine
	sendErr atomic.Pointer[error]
}

// Open opens the input and the output; nothing moves until Start. With
// no sound card at all it returns an error matching audio.ErrNoDevice:
// the call can go on as text only.
func Open(cfg Config) (*Session, error) {
	if cfg.Jitter.Frame == 0 {
		cfg.Jitter.Frame = orDefault(cfg.Encoder.Frame, audio.DefaultFrame)
	}
	enc, err := audio.NewEncoder(cfg.Encoder)
	if err != nil {
		return nil, err
	}
	buf, err := jitter.New(cfg.Jitter)
	if err != nil {
		return nil, err
	}
	if cfg.Audio.OutputPeriod == 0 {
		cfg.Audio.OutputPeriod = audio.OutputPeriodFor(cfg.Jitter.Frame)
	}
	if cfg.Audio.Frame == 0 {
		cfg.Audio.Frame = orDefault(cfg.Encoder.Frame, audio.DefaultFrame)
	}
	io, err := audio.Open(cfg.In, cfg.Out, cfg.Audio)
	if err != nil {
		return nil, err
	}
	if audio.Silent(io.In) {
		// Nothing to say ("none", or no microphone): with DTX the peer
		// gets a few packets a second instead of fifty.
		enc.SetDTX(true)
	}
	s := &Session{cfg: cfg, io: io, enc: enc, buf: buf}
	if cfg.Processing.any() && cfg.In.Kind == audio.KindDevice && cfg.Out.Kind == audio.KindDevice && !audio.Silent(io.In) {
		p := cfg.Processing
		c, err := aec.New(aec.Config{Rate: audio.SampleRate, AEC: p.AEC, NS: p.NS, AGC: p.AGC, Delay: echoDelay})
		switch {
		case err != nil:
			s.logf("audio: no echo cancellation, noise suppression or gain control: %v", err)
		default:
			s.proc, s.procOn = c, p
		}
	}
	window := 50 * time.Millisecond
	s.mic = audio.NewMeter(window, func(audio.Level) { s.levels() })
	s.peer = audio.NewMeter(window, nil)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Names returns what the input and the output are, for the user.
func (s *Session) Names() (in, out string) { return s.io.In.Name(), s.io.Out.Name() }

// Start starts sending the input on call and playing what the peer sends.
// Call it once the call is connected, so that nothing of a file is lost;
// later calls do nothing.
func (s *Session) Start(call Link) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return nil
	}
	s.started = true
	s.call = call
	s.tx = NewSender(s.enc, call)
	call.SetAudioReceiver(func(pkt *rtp.Packet, at time.Time) {
		s.buf.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, at)
	})
	if err := s.io.Out.Start(func(dst []int16) {
		s.buf.Pull(dst)
		s.peer.Write(dst)
		if s.proc != nil {
			s.proc.Playback(dst) // the far end, as it goes to the speaker
		}
	}); err != nil {
		return fmt.Errorf("start the output: %w", err)
	}
	if err := s.io.In.Start(s.send); err != nil {
		return fmt.Errorf("start the input: %w", err)
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.followLoss(call)
	return nil
}

// followLoss tells the encoder, once a second, how much of our audio the
// peer loses, from its receiver reports, so that in-band FEC covers it.
// It also logs a drop in the encoder's adaptive complexity.
func (s *Session) followLoss(call Link) {
	defer close(s.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	cx := s.enc.Complexity()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.enc.SetPacketLossPerc(int(call.Stats().PeerFractionLost*100 + 0.5))
			if now := s.enc.Complexity(); now != cx && s.cfg.Audio.Logf != nil {
				s.cfg.Audio.Logf("audio: Opus encoding took more than %g%% of a core: complexity %d, from %d",
					100*audio.EncodeBudget, now, cx)
				cx = now
			}
		}
	}
}

// send encodes one period of input and sends what the encoder gives.
func (s *Session) send(pcm []int16) {
	if s.proc != nil {
		if err := s.proc.Capture(pcm); err != nil && s.procErr.CompareAndSwap(false, true) {
			s.logf("audio: echo cancellation: %v", err)
		}
	}
	s.mic.Write(pcm)
	if err := s.tx.Write(pcm); err != nil {
		s.sendErr.CompareAndSwap(nil, &err)
	}
}

func (s *Session) logf(format string, args ...any) {
	if s.cfg.Audio.Logf != nil {
		s.cfg.Audio.Logf(format, args...)
	}
}

func (s *Session) levels() {
	if s.cfg.OnLevels != nil {
		s.cfg.OnLevels(Levels{Mic: s.mic.Last(), Peer: s.peer.Last()})
	}
}

// Silent reports whether the input is silence: "none", or a default
// microphone that failed to open. There is then nothing to mute.
func (s *Session) Silent() bool { return audio.Silent(s.io.In) }

// SetMuted mutes or unmutes the microphone; timestamps keep running.
func (s *Session) SetMuted(on bool) { s.enc.SetMuted(on) }

// Finished returns a channel closed once a file input has played through;
// nil for an input that never ends.
func (s *Session) Finished() <-chan struct{} { return s.io.In.Finished() }

// Stats returns the receive side's counters, the latest levels and the
// encoder's complexity.
func (s *Session) Stats() Stats {
	st := Stats{Stats: s.buf.Stats(), Levels: Levels{Mic: s.mic.Last(), Peer: s.peer.Last()}, Complexity: s.enc.Complexity(), Processing: s.procOn}
	if s.proc != nil && s.procOn.AEC {
		st.EchoDelay = s.proc.Delay()
	}
	return st
}

// Err returns the first error in sending, or of the input or output.
func (s *Session) Err() error {
	if e := s.sendErr.Load(); e != nil {
		return *e
	}
	if err := s.io.In.Err(); err != nil {
		return err
	}
	return s.io.Out.Err()
}

// Close stops the audio and closes the input and output. It is safe to
// call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	call, stop, done := s.call, s.stop, s.done
	s.mu.Unlock()
	if call != nil {
		call.SetAudioReceiver(nil)
	}
	err := s.io.Close()
	if stop != nil {
		close(stop)
		<-done
	}
	if s.proc != nil {
		s.proc.Close() // after the input and output, which call it
	}
	return err
}
