package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"parley/audio"
	"parley/internal/agent"
	"parley/internal/session"
	"parley/voice"
)

// textOnly is said, on one line, when there is no sound card.
const textOnly = "no microphone or speaker found — text only; see 'parley devices'"

// textOnlySSH is textOnly in an SSH session: it says how to talk through
// the user's own computer instead. A call that looks for an agent
// (looking: not --agent none) can be lent one as it goes.
func textOnlySSH(looking bool) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "HOST"
	}
	ssh := "run 'parley ssh " + host + "' on your own computer to talk through its, "
	if looking {
		ssh = "run 'parley ssh --attach " + host + "' on your own computer to lend this call its microphone and speaker, "
	}
	return "no microphone or speaker here — text only; " + ssh +
		"or log in with ssh -R /tmp/pulse.sock:/run/user/UID/pulse/native " + host + " and run PULSE_SERVER=unix:/tmp/pulse.sock parley"
}

// inSSH reports whether parley runs in an SSH session.
func inSSH() bool { return os.Getenv("SSH_CONNECTION") != "" }

// openSound opens the call's audio as the flags ask: an audio agent's
// ('parley ssh') if --agent names one, or, in an SSH session without
// --agent, if one is found; the local devices otherwise. It returns nil,
// with no error, for a text-only call: no sound card, or --audio-in none
// with --audio-out none. note is then the reason to tell the user, if
// any.
func openSound(cfg config, log io.Writer, onLevels func(voice.Levels)) (s session.Sound, note string, err error) {
	logf := func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }
	if cfg.agent != "none" && (cfg.agent != "" || inSSH()) {
		a, note := openAgent(cfg, logf, onLevels)
		if a != nil {
			return a, "", nil
		}
		if note != "" {
			return nil, note, nil
		}
	}
	if cfg.in.Kind == audio.KindNone && cfg.out.Kind == audio.KindNone {
		return nil, "", nil
	}
	v, err := voice.Open(voice.Config{
		In: cfg.in, Out: cfg.out,
		Audio:      audio.Options{Logf: logf},
		Encoder:    cfg.encoder,
		OnLevels:   onLevels,
		Processing: cfg.processing,
	})
	if errors.Is(err, audio.ErrNoDevice) {
		logf("audio: %v", err)
		if inSSH() {
			return nil, textOnlySSH(cfg.agent != "none"), nil
		}
		return nil, textOnly, nil
	}
	if errors.Is(err, audio.ErrNotAnswering) {
		fmt.Fprintf(log, "audio: %v\n", err)
		return nil, err.Error() + " — text only", nil
	}
	if err != nil {
		return nil, "", err
	}
	in, out := v.Names()
	logf("audio: in %s, out %s", in, out)
	return v, "", nil
}

// openAgent connects to the audio agent of --agent, or looks for one in
// agent.RemoteDir. It returns nil and no note when none was asked for
// or found: the local devices are then tried. An agent asked for that
// cannot be used makes the call text only, with a note saying why.
func openAgent(cfg config, logf func(string, ...any), onLevels func(voice.Levels)) (*agent.Sound, string) {
	o := agent.Options{Encoder: cfg.encoder, OnLevels: onLevels, Who: agentWho()}
	var s *agent.Sound
	var err error
	if cfg.agent != "" {
		// Those of connections that have ended, killed with them.
		agent.Clean(agent.RemoteDir)
		if err = agent.Check(cfg.agent); err == nil {
			s, err = agent.Dial(cfg.agent, o)
		}
		if errors.Is(err, fs.ErrNotExist) {
			// Its SSH connection has ended (the session reopens a lost
			// sound every second): a later 'parley ssh' to this host
			// forwards another, under another name.
			if s2, _ := agent.DialAny(agent.RemoteDir, o); s2 != nil {
				s, err = s2, nil
			}
		}
	} else if s, err = agent.DialAny(agent.RemoteDir, o); s == nil && err == nil {
		return nil, ""
	}
	if err != nil {
		logf("audio: the audio agent: %v", err)
		if cfg.agent == "" {
			return nil, "" // one found but unusable: try the local devices
		}
		if errors.Is(err, audio.ErrNoDevice) {
			return nil, "no microphone or speaker " + err.Error() + " — text only"
		}
		return nil, "the audio agent of 'parley ssh' cannot be used: " + err.Error() + " — text only"
	}
	in, out := s.Names()
	logf("audio: the audio agent at %s: in %s, out %s", s.Path(), in, out)
	return s, ""
}

// agentWho says which parley this is, for the user of the agent on the
// other computer ('parley ssh --attach' says whose call took its sound).
func agentWho() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "the host"
	}
	w := fmt.Sprintf("parley (pid %d) on %s", os.Getpid(), host)
	if os.Getenv("TMUX") != "" {
		w += ", in tmux"
	} else if os.Getenv("STY") != "" {
		w += ", in screen"
	}
	return w
}

// opener opens the call's sound as the flags ask, for a session to run
// off the call's path. say, if set, is told in one line why the call is
// text only, when it is for a reason the user should hear.
func opener(cfg config, log io.Writer, say func(string)) session.Opener {
	var tries atomic.Int64
	r := &retries{w: log}
	return func(onLevels func(voice.Levels)) (session.Sound, string, error) {
		say, log := say, log
		var try *tryLog
		if tries.Add(1) > 1 {
			say = nil // reopening after a fault: the session says how it goes
			try = &tryLog{w: log, buf: new(bytes.Buffer)}
			log = try
		}
		s, note, err := openSound(cfg, log, onLevels)
		if try != nil {
			r.done(try.end(), err != nil || s == nil)
		}
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
// libraries may print on file descriptor 2: not with --agent, whose
// devices are on the other computer.
func (c config) usesDevice() bool {
	return (c.agent == "" || c.agent == "none") && (c.in.Kind == audio.KindDevice || c.out.Kind == audio.KindDevice)
}

// retries logs what each try to reopen a lost sound logged, but only once
// while it is the same: the sound is reopened every second while its
// server is down.
type retries struct {
	mu      sync.Mutex
	w       io.Writer
	last    string // what the last failed try logged
	skipped int
}

// done logs what a try logged, unless it failed as the last one did.
func (r *retries) done(logged string, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed && logged == r.last {
		r.skipped++
		return
	}
	if r.skipped > 0 {
		fmt.Fprintf(r.w, "audio: %d more tries to reopen the sound failed the same way\n", r.skipped)
	}
	io.WriteString(r.w, logged)
	r.last, r.skipped = "", 0
	if failed {
		r.last = logged
	}
}

// tryLog holds what one try to open the sound logs until it ends, then
// passes lines straight on: the sound keeps it to log with.
type tryLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf *bytes.Buffer // nil once the try has ended
}

func (t *tryLog) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buf != nil {
		return t.buf.Write(p)
	}
	return t.w.Write(p)
}

// end returns what the try logged; what comes later is written at once.
func (t *tryLog) end() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.buf.String()
	t.buf = nil
	return s
}
