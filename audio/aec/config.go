package aec

import (
	"errors"
	"time"
)

// Config says what to run.
type Config struct {
	// Rate is the sample rate: 8000, 16000, 32000 or 48000 (the default,
	// for 0).
	Rate int
	// AEC, NS and AGC turn on acoustic echo cancellation, noise
	// suppression and automatic (digital) gain control.
	AEC, NS, AGC bool
	// Delay is how much later the echo of a sample reaches Capture than
	// the sample reaches Playback, as far as the caller knows (see the
	// package documentation); up to MaxDelay.
	Delay time.Duration
}

// MaxDelay is the largest delay handed in that is honoured.
const MaxDelay = 500 * time.Millisecond

var (
	// ErrFrame means a Capture of a length that is not a whole number of
	// 10 ms frames; nothing was done to it.
	ErrFrame = errors.New("aec: capture length is not a multiple of 10 ms")
	// ErrClosed means the Canceller was closed.
	ErrClosed = errors.New("aec: closed")
	// ErrUnavailable means parley was built without the library (-tags
	// noaec).
	ErrUnavailable = errors.New("aec: built without webrtc-audio-processing (-tags noaec)")
)

func (c *Config) check() error {
	if c.Rate == 0 {
		c.Rate = 48000
	}
	switch c.Rate {
	case 8000, 16000, 32000, 48000:
	default:
		return errors.New("aec: the rate must be 8000, 16000, 32000 or 48000")
	}
	return nil
}
