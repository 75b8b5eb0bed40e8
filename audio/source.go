package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Source is where the audio we send comes from: a microphone, a WAV file, a
// tone or nothing. Every kind is paced in real time, one period per period.
type Source interface {
	// Name says what the source is, for the UI and the log: a device
	// name, a file name, "tone (440 Hz)", "none".
	Name() string
	// Start begins calling deliver with one period of PCM per period, on
	// a goroutine the Source owns, until Close. pcm is valid only during
	// the call. deliver must return well within a period and never block
	// on the network or the UI. Nothing is delivered before Start.
	Start(deliver func(pcm []int16)) error
	// Finished returns a channel closed once a file has delivered its
	// last sample (silence follows); it is nil, never ready, for a source
	// that never ends.
	Finished() <-chan struct{}
	// Err returns what stopped the source producing real audio (a read
	// error, a device that stopped), or nil. It may be called from any
	// goroutine.
	Err() error
	// Close stops the source and waits for its goroutine: deliver is not
	// called after Close returns. It is safe to call more than once.
	Close() error
}

// Sink is where the audio we receive goes: a speaker, a WAV file or
// nowhere. Every kind is paced in real time, one period per period.
type Sink interface {
	// Name says what the sink is, for the UI and the log.
	Name() string
	// Start begins calling pull once per period, on a goroutine the Sink
	// owns, until Close; pull fills dst (one period) with the PCM to play.
	// A jitter buffer's Pull fits here. pull must return well within a
	// period and never block on the network or the UI. Before Start a
	// device plays silence.
	Start(pull func(dst []int16)) error
	// Err returns what stopped the sink (a write error such as a full
	// disk, a device that stopped), or nil. A sink whose output failed
	// keeps pulling at the same pace, so whatever feeds it is drained as
	// usual. It may be called from any goroutine.
	Err() error
	// Close stops the sink and waits for its goroutine: pull is not
	// called after Close returns. A WAV file is finished and its header
	// written. Close returns the first write error, if any. It is safe to
	// call more than once.
	Close() error
}

// pacedOpts are what a clock-paced source or sink needs.
type pacedOpts struct {
	clock  Clock
	period time.Duration
	n      int // samples in a period
	logf   Logf
}

// paced is the common part of the sources and sinks a Clock paces: the
// start-once, the pacer, the error and the close.
type paced struct {
	pacedOpts
	mu      sync.Mutex
	started bool
	closed  bool
	p       *pacer
	err     atomic.Pointer[error]
}

// start starts the pacer with step, once.
func (s *paced) start(step func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return ErrStarted
	}
	s.started = true
	s.p = startPacer(s.clock, s.period, s.logf, step)
	return nil
}

// stop stops the pacer and waits for it; it reports whether this was the
// first call.
func (s *paced) stop() bool {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	p := s.p
	s.mu.Unlock()
	p.close()
	return first
}

// setErr records the first error.
func (s *paced) setErr(err error) { s.err.CompareAndSwap(nil, &err) }

// Err returns the first error recorded.
func (s *paced) Err() error {
	if e := s.err.Load(); e != nil {
		return *e
	}
	return nil
}

// silenceSource delivers silence: the "none" input, and what a default
// microphone that failed to open turns into.
type silenceSource struct {
	paced
	name string
	buf  []int16
}

func newSilenceSource(o pacedOpts, name string) *silenceSource {
	return &silenceSource{paced: paced{pacedOpts: o}, name: name, buf: make([]int16, o.n)}
}

// Silent reports whether src is silence: the "none" input, or what a
// default microphone that failed to open became.
func Silent(src Source) bool {
	_, ok := src.(*silenceSource)
	return ok
}

func (s *silenceSource) Name() string              { return s.name }
func (s *silenceSource) Finished() <-chan struct{} { return nil }
func (s *silenceSource) Close() error              { s.stop(); return nil }
func (s *silenceSource) Start(deliver func(pcm []int16)) error {
	return s.start(func() {
		clear(s.buf) // deliver may have written to it
		deliver(s.buf)
	})
}

// Tone parameters: a 440 Hz sine at a quarter of full scale (-12 dBFS
// peak, about -15 dBFS RMS). 1200 samples at 48 kHz hold exactly 11
// cycles of 440 Hz, so one table repeats without a seam.
const (
	toneHz        = 440
	toneAmplitude = 0.25
	toneTableLen  = 1200
)

// toneSource delivers a continuous 440 Hz sine.
type toneSource struct {
	paced
	table []int16
	pos   int
	buf   []int16
}

func newToneSource(o pacedOpts) *toneSource {
	t := make([]int16, toneTableLen)
	for i := range t {
		t[i] = int16(math.Round(toneAmplitude * 32767 * math.Sin(2*math.Pi*toneHz*float64(i)/SampleRate)))
	}
	return &toneSource{paced: paced{pacedOpts: o}, table: t, buf: make([]int16, o.n)}
}

func (s *toneSource) Name() string              { return fmt.Sprintf("tone (%d Hz)", toneHz) }
func (s *toneSource) Finished() <-chan struct{} { return nil }
func (s *toneSource) Close() error              { s.stop(); return nil }
func (s *toneSource) Start(deliver func(pcm []int16)) error {
	return s.start(func() {
		s.fill(s.buf)
		deliver(s.buf)
	})
}

// fill writes the next len(dst) samples of the tone.
func (s *toneSource) fill(dst []int16) {
	for i := range dst {
		dst[i] = s.table[s.pos]
		if s.pos++; s.pos == len(s.table) {
			s.pos = 0
		}
	}
}

// fileSource plays a WAV file once, then silence.
type fileSource struct {
	paced
	name     string
	r        *WAVReader
	buf      []int16
	eof      bool
	finished chan struct{}
}

func openFileSource(o pacedOpts, path string) (*fileSource, error) {
	r, err := OpenWAV(path)
	if err != nil {
		return nil, err
	}
	return &fileSource{paced: paced{pacedOpts: o}, name: path, r: r, buf: make([]int16, o.n), finished: make(chan struct{})}, nil
}

func (s *fileSource) Name() string              { return s.name }
func (s *fileSource) Finished() <-chan struct{} { return s.finished }

func (s *fileSource) Start(deliver func(pcm []int16)) error {
	return s.start(func() {
		n := 0
		for !s.eof && n < len(s.buf) {
			m, err := s.r.Read(s.buf[n:])
			n += m
			if err != nil {
				if !errors.Is(err, io.EOF) {
					s.setErr(err)
					s.logf("audio: %s: %v; playing silence", s.name, err)
				}
				s.eof = true
			}
		}
		if !s.eof && s.r.atEnd() {
			s.eof = true
		}
		clear(s.buf[n:])
		deliver(s.buf)
		if s.eof {
			s.finish()
		}
	})
}

// finish closes finished once.
func (s *fileSource) finish() {
	select {
	case <-s.finished:
	default:
		close(s.finished)
	}
}

func (s *fileSource) Close() error {
	if s.stop() {
		return s.r.Close()
	}
	return nil
}

// discardSink pulls and throws away: the "none" output, and what a
// default speaker that failed to open turns into. Pulling keeps whatever
// feeds it (the jitter buffer) drained at the pace of a real speaker.
type discardSink struct {
	paced
	name string
	buf  []int16
}

func newDiscardSink(o pacedOpts, name string) *discardSink {
	return &discardSink{paced: paced{pacedOpts: o}, name: name, buf: make([]int16, o.n)}
}

func (s *discardSink) Name() string { return s.name }
func (s *discardSink) Close() error { s.stop(); return nil }
func (s *discardSink) Start(pull func(dst []int16)) error {
	return s.start(func() {
		clear(s.buf)
		pull(s.buf)
	})
}

// fileSink records to a WAV file.
type fileSink struct {
	paced
	name string
	w    *WAVWriter
	buf  []int16
}

func createFileSink(o pacedOpts, path string) (*fileSink, error) {
	w, err := CreateWAV(path)
	if err != nil {
		return nil, err
	}
	return &fileSink{paced: paced{pacedOpts: o}, name: path, w: w, buf: make([]int16, o.n)}, nil
}

func (s *fileSink) Name() string { return s.name }
func (s *fileSink) Start(pull func(dst []int16)) error {
	return s.start(func() {
		clear(s.buf)
		pull(s.buf)
		if s.Err() != nil {
			return
		}
		if err := s.w.Write(s.buf); err != nil {
			s.setErr(err)
			s.logf("audio: %v; no longer recording", err)
		}
	})
}

func (s *fileSink) Close() error {
	if !s.stop() {
		return s.Err()
	}
	if err := s.w.Close(); err != nil {
		s.setErr(err)
	}
	return s.Err()
}
