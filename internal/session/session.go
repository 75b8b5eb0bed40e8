// Package session pairs a call with its sound. A Session starts the
// sound once the call connects, mutes the microphone and tells the peer,
// adds the sound's figures to the call's stats, and reports the sound's
// problems and levels as events: the one place where the rules of "a
// call and its sound" live, for the terminal UI, headless mode and the
// echo test alike.
//
//	rtc.Call ─┬─ events ──► Session.Events ──► a front
//	          └─ RTP ◄───► voice.Session (microphone, speaker)
package session

import (
	"context"
	"sync"

	"parley/internal/event"
	"parley/voice"
)

// Call is what a Session needs of a call; an *rtc.Call is one.
type Call interface {
	voice.Link
	Invite(ctx context.Context) (string, error)
	Accept(answer string) error
	Join(ctx context.Context, invite string) (string, error)
	Send(text string) (uint64, error)
	SetMuted(on bool)
	Verify()
	HangUp()
	HangUpWhenDelivered()
	Close() error
	Events() <-chan event.Event
}

// Sound is what a Session needs of its sound; a *voice.Session is one.
type Sound interface {
	Start(voice.Link) error
	SetMuted(on bool)
	Silent() bool
	Stats() voice.Stats
	Err() error
	Close() error
}

// Session is a call and its sound. Its methods are safe for concurrent
// use; Events must be read until it is closed.
type Session struct {
	call   Call
	sound  Sound // nil: text only
	note   string
	first  []event.Event
	mute   func(on bool)              // mutes instead of SetMuted's own rule, if set
	mic    interface{ Silent() bool } // the microphone, if not the sound's
	events chan event.Event
	levels chan voice.Levels
	quit   chan struct{}
	done   chan struct{}

	soundErr bool // a sound error has been reported; run's

	mu      sync.Mutex
	begun   bool
	started bool // the sound has been started
	closed  bool
}

// New returns a Session for call that has not begun: OnLevels may be
// given to the sound as it opens, and Begin starts the session.
func New(call Call) *Session {
	return &Session{
		call:   call,
		events: make(chan event.Event),
		levels: make(chan voice.Levels, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// OnLevels is the sound's level callback: it never blocks, and drops
// levels the front has not caught up with.
func (s *Session) OnLevels(l voice.Levels) {
	select {
	case s.levels <- l:
	default:
	}
}

// Begin starts the session with its sound, nil for a text-only call;
// note then says why there is no sound, if there is a reason to give.
// The first event is an AudioEvent saying so.
func (s *Session) Begin(sound Sound, note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.begun || s.closed {
		return
	}
	s.begun = true
	s.sound, s.note = sound, note
	go s.run()
}

// Events returns the call's events, with the sound's: first an
// AudioEvent, last a ByeEvent. It is closed once the session is closed.
func (s *Session) Events() <-chan event.Event { return s.events }

// run passes the call's events on until the session is closed, starting
// the sound once the call connects.
func (s *Session) run() {
	defer close(s.done)
	defer close(s.events)
	a := event.AudioEvent{Available: s.sound != nil, Note: s.note}
	if s.mic == nil && s.sound != nil {
		s.mic = s.sound
	}
	a.NoMic = s.mic != nil && s.mic.Silent()
	for _, e := range append([]event.Event{a}, s.first...) {
		if !s.give(e) {
			return
		}
	}
	events := s.call.Events()
	for {
		var e event.Event
		select {
		case <-s.quit:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			e = s.handle(ev)
		case l := <-s.levels:
			e = event.LevelsEvent{MicPeak: l.Mic.Peak, MicRMS: l.Mic.RMS, PeerPeak: l.Peer.Peak, PeerRMS: l.Peer.RMS}
		}
		if e != nil && !s.give(e) {
			return
		}
	}
}

// give hands e to the front, unless the session closes first.
func (s *Session) give(e event.Event) bool {
	select {
	case s.events <- e:
		return true
	case <-s.quit:
		return false
	}
}

// handle applies the session's rules to one of the call's events and
// returns what the front is to see, if anything.
func (s *Session) handle(e event.Event) event.Event {
	switch e := e.(type) {
	case event.StateEvent:
		if e.State == event.StateConnected {
			if err := s.StartSound(); err != nil {
				// The connected state comes first; the error after it.
				if !s.give(e) {
					return nil
				}
				return event.ErrorEvent{Err: soundError{err}}
			}
		}
	case event.StatsEvent:
		if s.sound == nil {
			return e
		}
		st := s.sound.Stats()
		e.Sound = &event.SoundStats{
			Target: st.Target, Delay: st.Delay,
			Frames: st.Frames, Concealed: st.Concealed, FEC: st.FEC, Late: st.Late,
			MicPeak: st.Mic.Peak, MicRMS: st.Mic.RMS, PeerPeak: st.Peer.Peak, PeerRMS: st.Peer.RMS,
			Complexity: st.Complexity,
		}
		if l, ok := s.sound.(linker); ok {
			ls := l.LinkStats()
			e.Sound.Link = &ls
		}
		if err := s.sound.Err(); err != nil && !s.soundErr {
			s.soundErr = true
			if !s.give(e) {
				return nil
			}
			return event.ErrorEvent{Err: soundError{err}}
		}
		return e
	}
	return e
}

// linker is a sound across a link, an audio agent's ('parley ssh').
type linker interface{ LinkStats() event.LinkStats }

// soundError is a problem with the sound, said so that the user knows the
// call goes on.
type soundError struct{ err error }

func (e soundError) Error() string {
	return "audio: " + e.err.Error() + "; the call goes on as text only"
}

func (e soundError) Unwrap() error { return e.err }

// StartSound starts the sound on the call, once; Begin's session does it
// when the call connects. Without sound it does nothing.
func (s *Session) StartSound() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sound == nil || s.started || s.closed {
		return nil
	}
	s.started = true
	return s.sound.Start(s.call)
}

// HasSound reports whether the call has sound.
func (s *Session) HasSound() bool { return s.sound != nil }

// SetMuted mutes or unmutes the microphone and tells the peer; without
// sound there is nothing to mute.
func (s *Session) SetMuted(on bool) {
	switch {
	case s.mute != nil:
		s.mute(on)
	case s.sound != nil:
		s.sound.SetMuted(on)
		s.call.SetMuted(on)
	}
}

// Invite, Accept, Join, Send, Verify, HangUp and HangUpWhenDelivered are
// the call's.

func (s *Session) Invite(ctx context.Context) (string, error) { return s.call.Invite(ctx) }
func (s *Session) Accept(answer string) error                 { return s.call.Accept(answer) }
func (s *Session) Join(ctx context.Context, invite string) (string, error) {
	return s.call.Join(ctx, invite)
}
func (s *Session) Send(text string) (uint64, error) { return s.call.Send(text) }
func (s *Session) Verify()                          { s.call.Verify() }
func (s *Session) HangUp()                          { s.call.HangUp() }
func (s *Session) HangUpWhenDelivered()             { s.call.HangUpWhenDelivered() }

// Close stops the sound and closes the call, and returns once the
// session's goroutine has ended and Events is closed. It is safe to call
// more than once, and before Begin.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	begun := s.begun
	s.mu.Unlock()
	if s.sound != nil {
		s.sound.Close()
	}
	err := s.call.Close()
	close(s.quit)
	if begun {
		<-s.done
	} else {
		close(s.events)
	}
	return err
}
