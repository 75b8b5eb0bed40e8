package audio

import (
	"errors"
	"fmt"
	"time"
)

const (
	// SampleRate is the sample rate of all PCM in parley, in Hz.
	SampleRate = 48000
	// DefaultPeriod is how much audio a Source delivers or a Sink pulls at
	// a time unless Options.Period says otherwise: 10 ms, 480 samples.
	DefaultPeriod = 10 * time.Millisecond
	// MinPeriod and MaxPeriod bound Options.Period.
	MinPeriod = 2500 * time.Microsecond
	// MaxPeriod is the longest period Options.Period may ask for.
	MaxPeriod = 100 * time.Millisecond
)

// Errors that callers match with errors.Is.
var (
	// ErrNoDevice means no sound device could be opened at all, so the
	// call can only be text. A caller says so in one line, such as "no
	// microphone or speaker found — text only; see `parley devices`", and
	// logs the wrapped cause.
	ErrNoDevice = errors.New("no sound device could be opened")
	// ErrNotAnswering means a sound system accepted the connection and
	// did not answer within contextWait: the call can only be text, and
	// the message says which server.
	ErrNotAnswering = errors.New("the sound system does not answer")
	// ErrDeviceNotFound means no device matches the name or index the
	// user gave.
	ErrDeviceNotFound = errors.New("no such sound device")
	// ErrDeviceOpen means a device the user named exists but failed to
	// open.
	ErrDeviceOpen = errors.New("sound device failed to open")
	// ErrWAVFormat means a WAV file is not in a format parley reads; the
	// error is a *FormatError whose message names what the file is and
	// what parley needs.
	ErrWAVFormat = errors.New("unsupported WAV format")
	// ErrStarted means Start was called a second time.
	ErrStarted = errors.New("already started")
	// ErrClosed means the Source or Sink was closed.
	ErrClosed = errors.New("closed")
)

// samplesIn returns the number of samples in d at SampleRate, and whether d
// is a whole number of samples.
func samplesIn(d time.Duration) (int, bool) {
	n := int64(d) * SampleRate
	return int(n / int64(time.Second)), n%int64(time.Second) == 0
}

// periodSamples checks a period and returns its length in samples.
func periodSamples(d time.Duration) (int, error) {
	if d == 0 {
		d = DefaultPeriod
	}
	n, whole := samplesIn(d)
	if d < MinPeriod || d > MaxPeriod || !whole {
		return 0, fmt.Errorf("audio period %v: want %v to %v in whole samples at %d Hz", d, MinPeriod, MaxPeriod, SampleRate)
	}
	return n, nil
}

// Logf is the logging function this package takes: printf-style, one line
// per call, safe to call from several goroutines.
type Logf func(format string, args ...any)

func discardf(string, ...any) {}
