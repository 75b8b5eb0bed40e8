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
	"errors"
	"fmt"
	"sync"
	"time"

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
	// Names says what the input and the output are, for the user.
	Names() (in, out string)
}

// Opener opens a session's sound, giving it onLevels as its level
// callback. A nil Sound with no error is a text-only call; note then says
// why, if there is a reason to give.
type Opener func(onLevels func(voice.Levels)) (sound Sound, note string, err error)

// The session's timings.
const (
	// openCloseWait bounds how long Close waits for a sound still
	// opening: a sound system that does not answer holds the opener up.
	openCloseWait = 2 * time.Second
	// faultPoll is how often a started sound is asked whether it failed.
	faultPoll = 250 * time.Millisecond
	// reopenEvery is how often a lost sound is opened again, until it
	// opens: it comes back within about this of the device or server.
	reopenEvery = time.Second
)

// Session is a call and its sound. Its methods are safe for concurrent
// use; Events must be read until it is closed.
type Session struct {
	call   Call
	first  []event.Event
	mute   func(on bool)              // mutes instead of SetMuted's own rule, if set
	mic    interface{ Silent() bool } // the microphone, if not the sound's
	events chan event.Event
	levels chan voice.Levels
	quit   chan struct{}
	done   chan struct{}
	opened chan opened    // a sound, opened, reopened or switched to
	opener Opener         // nil: the sound is not reopened when lost
	openWG sync.WaitGroup // the goroutines that open the sound

	// run's own
	connected bool // the call has connected
	lost      bool // the sound was lost and is being reopened
	looked    bool // the call was text only, and kept looking

	mu      sync.Mutex
	sound   Sound // nil: text only, lost, or not open yet
	muted   bool
	begun   bool
	started bool // the sound has been started
	closed  bool
	looking bool // a text-only call looks for a sound every reopenEvery
}

type opened struct {
	sound    Sound
	note     string
	err      error
	switched Opener // the opener switched to, for a switch
	looking  bool   // text only for now: the session goes on looking
}

// New returns a Session for call that has not begun: Begin or Open
// starts it.
func New(call Call) *Session {
	return &Session{
		call:   call,
		events: make(chan event.Event),
		levels: make(chan voice.Levels, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		opened: make(chan opened, 1),
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

// Begin starts the session with its sound, already open; nil is a
// text-only call, and note then says why, if there is a reason to give.
// The first event is an AudioEvent saying so. A sound that fails is said
// once, and not opened again.
func (s *Session) Begin(sound Sound, note string) {
	s.mu.Lock()
	if !s.begun && !s.closed {
		s.sound = sound
		s.opened <- opened{sound: sound, note: note}
	}
	s.mu.Unlock()
	s.start(nil)
}

// KeepLooking has a call that opens text only (no sound found, and no
// error) look again every reopenEvery, quietly, until a sound opens; an
// AudioEvent with Found set says so. It is for a parley in an SSH session,
// whose sound 'parley ssh --attach' may lend it later. Call it before
// Open.
func (s *Session) KeepLooking() {
	s.mu.Lock()
	s.looking = true
	s.mu.Unlock()
}

// Open starts the session and opens its sound off the call's path, so
// that the invite, the answer and hanging up never wait for a sound
// system. An AudioEvent says what there is once open returns: until then
// the call is text only. If open fails, the call goes on as text only and
// the AudioEvent's note says why. A sound that fails later (the sound
// server gone, the device unplugged) is said in an AudioEvent, and opened
// again every reopenEvery until it opens, which another AudioEvent says.
func (s *Session) Open(open Opener) {
	s.start(open)
}

func (s *Session) start(open Opener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.begun || s.closed {
		return
	}
	s.begun = true
	s.opener = open
	if open != nil {
		s.openWG.Add(1)
		go s.opening(nil)
	}
	go s.run()
}

// opening closes the sound that failed, if any, and opens one: once, or
// for a lost sound every reopenEvery until one opens or the session
// closes. It hands the result to run; a sound opened once the session has
// closed it closes itself.
func (s *Session) opening(failed Sound) {
	defer s.openWG.Done()
	if failed != nil {
		failed.Close()
	}
	told := false // looking: the text-only call has been said
	for {
		s.mu.Lock()
		open := s.opener // a Switch may change it meanwhile
		switchedIn := told && s.sound != nil
		s.mu.Unlock()
		if switchedIn {
			return // looking, and a Switch found a sound meanwhile
		}
		sound, note, err := open(s.OnLevels)
		reopen := failed != nil && (err != nil || sound == nil)
		s.mu.Lock()
		look := failed == nil && s.looking && err == nil && sound == nil
		closed := s.closed
		if !closed && !reopen && !look && err == nil {
			s.sound = sound // for Close to close from now on
			if sound != nil && s.muted {
				sound.SetMuted(true)
			}
		}
		s.mu.Unlock()
		if closed {
			if err == nil && sound != nil {
				sound.Close()
			}
			return
		}
		if look && !told {
			told = true
			s.hand(opened{note: note, looking: true})
		}
		if !reopen && !look {
			s.hand(opened{sound: sound, note: note, err: err})
			return
		}
		select {
		case <-s.quit:
			return
		case <-time.After(reopenEvery):
		}
	}
}

// Switch opens the sound again with open (other devices, say), off the
// call's path, and swaps it in for the sound there is: an AudioEvent with
// Switched set says what there is then. If open fails, an ErrorEvent says
// so and the sound stays as it was. Later faults reopen with open.
func (s *Session) Switch(open Opener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.begun || s.closed {
		return
	}
	s.openWG.Add(1)
	go func() {
		defer s.openWG.Done()
		sound, _, err := open(s.OnLevels)
		if err == nil && sound == nil {
			err = errors.New("no microphone or speaker there")
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			if err == nil {
				sound.Close()
			}
			return
		}
		s.hand(opened{sound: sound, err: err, switched: open})
	}()
}

// hand gives run a sound opened; one the session closed before run took
// it is closed here.
func (s *Session) hand(o opened) {
	select {
	case s.opened <- o:
	case <-s.quit:
		if o.err == nil && o.sound != nil {
			o.sound.Close()
		}
	}
}

// Events returns the call's events, with the sound's: an AudioEvent once
// the sound is open, and whenever it is lost or back; last a ByeEvent. It
// is closed once the session is closed.
func (s *Session) Events() <-chan event.Event { return s.events }

// run passes the call's events on until the session is closed, starting
// the sound once the call connects and the sound is open, and watching it
// for faults.
func (s *Session) run() {
	defer close(s.done)
	defer close(s.events)
	for _, e := range s.first {
		if !s.give(e) {
			return
		}
	}
	poll := time.NewTicker(faultPoll)
	defer poll.Stop()
	events := s.call.Events()
	for {
		var e event.Event
		select {
		case <-s.quit:
			return
		case o := <-s.opened:
			e = s.open(o)
		case <-poll.C:
			e = s.checkSound()
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

// open takes a sound opened or reopened, says what there is, and starts
// it if the call has connected already.
func (s *Session) open(o opened) event.Event {
	if o.switched != nil {
		if o.err != nil {
			return event.ErrorEvent{Err: fmt.Errorf("audio: %w; the sound stays as it was", o.err)}
		}
		s.mu.Lock()
		old, muted := s.sound, s.muted
		s.sound, s.started, s.opener = o.sound, false, o.switched
		s.mu.Unlock()
		if muted {
			o.sound.SetMuted(true)
		}
		if old != nil {
			// Closed before the new one starts, since closing takes the
			// call's audio receiver away: at most a second for a device
			// that does not answer.
			old.Close()
		}
	}
	if o.err != nil {
		return event.AudioEvent{Note: soundError{o.err}.Error()}
	}
	a := event.AudioEvent{Available: o.sound != nil, Note: o.note, Back: s.lost && o.switched == nil, Switched: o.switched != nil}
	if o.sound != nil {
		a.In, a.Out = o.sound.Names()
		a.Found = s.looked && !a.Back && !a.Switched
		s.looked = false
	}
	if o.looking {
		s.looked = true
	}
	s.lost = false
	mic := s.mic
	if mic == nil && o.sound != nil {
		mic = o.sound
	}
	a.NoMic = mic != nil && mic.Silent()
	if s.connected {
		if err := s.StartSound(); err != nil {
			if !s.give(a) {
				return nil
			}
			return event.ErrorEvent{Err: soundError{err}}
		}
	}
	return a
}

// checkSound notices a started sound that has failed: it says so, once,
// and has it opened again, where the session has an opener.
func (s *Session) checkSound() event.Event {
	s.mu.Lock()
	sound, started := s.sound, s.started
	s.mu.Unlock()
	if sound == nil || !started || s.lost {
		return nil
	}
	err := sound.Err()
	if err == nil {
		return nil
	}
	s.lost = true
	s.mu.Lock()
	if s.opener != nil {
		s.sound, s.started = nil, false
		if !s.closed {
			s.openWG.Add(1)
			go s.opening(sound)
		}
	}
	s.mu.Unlock()
	a := event.AudioEvent{Fault: err.Error() + "; the call goes on as text only"}
	if s.opener != nil {
		a.Fault = err.Error() + "; the call goes on as text only until it is back"
	}
	return a
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
			s.connected = true
			if err := s.StartSound(); err != nil {
				// The connected state comes first; the error after it.
				if !s.give(e) {
					return nil
				}
				return event.ErrorEvent{Err: soundError{err}}
			}
		}
	case event.StatsEvent:
		if sound := s.getSound(); sound != nil {
			st := sound.Stats()
			e.Sound = &event.SoundStats{
				Target: st.Target, Delay: st.Delay,
				Frames: st.Frames, Concealed: st.Concealed, FEC: st.FEC, Late: st.Late,
				MicPeak: st.Mic.Peak, MicRMS: st.Mic.RMS, PeerPeak: st.Peer.Peak, PeerRMS: st.Peer.RMS,
				Complexity: st.Complexity,
				AEC:        st.Processing.AEC, NS: st.Processing.NS, AGC: st.Processing.AGC,
				EchoDelay: st.EchoDelay,
			}
			if l, ok := sound.(linker); ok {
				ls := l.LinkStats()
				e.Sound.Link = &ls
			}
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

// StartSound starts the sound on the call, once; the session does it
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

func (s *Session) getSound() Sound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sound
}

// Sound returns the call's sound: nil while it is text only, lost or not
// open yet.
func (s *Session) Sound() Sound { return s.getSound() }

// HasSound reports whether the call has sound (open, and not lost).
func (s *Session) HasSound() bool { return s.getSound() != nil }

// SetMuted mutes or unmutes the microphone and tells the peer; without
// sound there is nothing to mute. A sound opened again after a fault
// keeps the mute.
func (s *Session) SetMuted(on bool) {
	if s.mute != nil {
		s.mute(on)
		return
	}
	s.mu.Lock()
	sound := s.sound
	if sound != nil {
		s.muted = on
	}
	s.mu.Unlock()
	if sound != nil {
		sound.SetMuted(on)
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
// session's goroutine has ended and Events is closed; it waits at most
// openCloseWait for a sound still opening, which closes what it opens
// once it sees the session closed. It is safe to call more than once,
// and before Begin.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	begun, sound := s.begun, s.sound
	s.mu.Unlock()
	if sound != nil {
		sound.Close()
	}
	err := s.call.Close()
	close(s.quit)
	opened := make(chan struct{})
	go func() {
		s.openWG.Wait()
		close(opened)
	}()
	select {
	case <-opened:
	case <-time.After(openCloseWait):
	}
	if begun {
		<-s.done
	} else {
		close(s.events)
	}
	return err
}
