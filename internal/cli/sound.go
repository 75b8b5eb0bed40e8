package cli

import (
	"errors"
	"fmt"
	"io"

	"parley/audio"
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
		Audio:    audio.Options{Logf: func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }},
		Encoder:  cfg.encoder,
		OnLevels: onLevels,
	})
	if errors.Is(err, audio.ErrNoDevice) {
		fmt.Fprintf(log, "audio: %v\n", err)
		return nil, textOnly, nil
	}
	if err != nil {
		return nil, "", err
	}
	in, out := s.Names()
	fmt.Fprintf(log, "audio: in %s, out %s\n", in, out)
	return s, "", nil
}

// usesDevice reports whether the flags ask for a sound device, whose
// libraries may print on file descriptor 2.
func (c config) usesDevice() bool {
	return c.in.Kind == audio.KindDevice || c.out.Kind == audio.KindDevice
}
