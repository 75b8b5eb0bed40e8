//go:build noaec

package aec

import "time"

// Available says whether parley was built with the library.
const Available = false

// Canceller is unavailable in this build.
type Canceller struct{}

// New returns ErrUnavailable.
func New(cfg Config) (*Canceller, error) { return nil, ErrUnavailable }

func (a *Canceller) Playback(pcm []int16) error { return ErrUnavailable }
func (a *Canceller) Capture(pcm []int16) error  { return ErrUnavailable }
func (a *Canceller) SetDelay(d time.Duration)   {}
func (a *Canceller) Delay() time.Duration       { return 0 }
func (a *Canceller) Close() error               { return nil }
func (a *Canceller) EchoFound() bool            { return false }
