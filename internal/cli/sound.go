package cli

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"parley/audio"
	"parley/internal/session"
	"parley/voice"
)

// textOnly is said, on one line, when there is no sound card.
const textOnly = "no microphone or speaker found — text only; see 'parley devices'"

// openSound opens the call's audio as the flags ask. It returns nil, with
// no error, for a text-only call: no sound card, or --audio-in none with
// --audio-out none. note is then the reason to tell the user, if any.
func openSound(cfg config, log io.Writer, onLevels func(voice.Levels)) (s *voice.Session, note string, err error) {
	if cfg.in.Kind == audio.KindNone && cfg.out.Kind == audio.KindNone {
		return nil, "", nil
	}
	s, err = voice.Open(voice.Config{
		In: cfg.in, Out: cfg.out,
		Audio:      audio.Options{Logf: func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }},
		Encoder:    cfg.encoder,
		OnLevels:   onLevels,
		Processing: cfg.processing,
	})
	if errors.Is(err, audio.ErrNoDevice) {
		fmt.Fprintf(log, "audio: %v\n", err)
		return nil, textOnly, nil
	}
	if errors.Is(err, audio.ErrNotAnswering) {
		fmt.Fprintf(log, "audio: %v\n", err)
		return nil, err.Error() + " — text only", nil
	}
	if err != nil {
		return nil, "", err
	}
	in, out := s.Names()
	fmt.Fprintf(log, "audio: in %s, out %s\n", in, out)
	return s, "", nil
}

// opener opens the call's sound as the flags ask, for a session to run
// off the call's path. say, if set, is told in one line why the call is
// text only, when it is for a reason the user should hear.
func opener(cfg config, log io.Writer, say func(string)) session.Opener {
	var tries atomic.Int64
	return func(onLevels func(voice.Levels)) (session.Sound, string, error) {
		say := say
		if tries.Add(1) > 1 {
			say = nil // reopening after a fault: the session says how it goes
		}
		s, note, err := openSound(cfg, log, onLevels)
		if err != nil {
			if say != nil {
				say("audio: " + err.Error() + "; the call goes on as text only")
			}
			return nil, "", err
		}
		if note != "" && say != nil {
			say(note)
		}
		if s == nil {
			return nil, note, nil // not a nil *voice.Session in the interface
		}
		return s, note, nil
	}
}

// usesDevice reports whether the flags ask for a sound device, whose
// libraries may print on file descriptor 2.
func (c config) usesDevice() bool {
	return c.in.Kind == audio.KindDevice || c.out.Kind == audio.KindDevice
}
