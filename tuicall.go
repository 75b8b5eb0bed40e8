package main

import (
	"parley/rtc"
	"parley/tui"
	"parley/voice"
)

// tuiCall adapts an rtc.Call, and its audio, to the terminal UI's Call
// interface.
type tuiCall struct {
	*rtc.Call
	sound  *voice.Session // nil: text only
	note   string         // why there is no audio, if there is none
	noMic  bool           // audio, but silence for a microphone: nothing to mute
	mute   func(on bool)  // mutes the microphone, where it is not sound's (the echo test)
	first  []tui.Event    // events to give before the call's own
	done   func()         // also run by Close, if set
	events chan tui.Event
	levels chan voice.Levels
}

// newTUICall wraps c; start must be called once sound and note are set.
func newTUICall(c *rtc.Call) *tuiCall {
	return &tuiCall{Call: c, events: make(chan tui.Event), levels: make(chan voice.Levels, 1)}
}

func (t *tuiCall) start() { go t.convert() }

// onLevels is the audio's level callback: it never blocks, and drops
// levels the UI has not caught up with.
func (t *tuiCall) onLevels(l voice.Levels) {
	select {
	case t.levels <- l:
	default:
	}
}

// convert translates events until the call's channel closes, which Close
// guarantees. It starts the audio once the call connects.
func (t *tuiCall) convert() {
	defer close(t.events)
	t.events <- tui.AudioEvent{Available: t.sound != nil, Note: t.note, NoMic: t.noMic}
	for _, e := range t.first {
		t.events <- e
	}
	events := t.Call.Events()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			if s, ok := e.(rtc.StateEvent); ok && s.State == rtc.StateConnected && t.sound != nil {
				if err := t.sound.Start(t.Call); err != nil {
					t.events <- tui.ErrorEvent{Err: err}
				}
			}
			if te := t.tuiEvent(e); te != nil {
				t.events <- te
			}
		case l := <-t.levels:
			t.events <- tui.LevelsEvent{MicPeak: l.Mic.Peak, MicRMS: l.Mic.RMS, PeerPeak: l.Peer.Peak, PeerRMS: l.Peer.RMS}
		}
	}
}

func (t *tuiCall) Events() <-chan tui.Event { return t.events }

// SetMuted mutes the microphone and tells the peer; without audio there
// is nothing to mute.
func (t *tuiCall) SetMuted(on bool) {
	switch {
	case t.mute != nil:
		t.mute(on)
	case t.sound != nil:
		t.sound.SetMuted(on)
		t.Call.SetMuted(on)
	}
}

// Close stops the audio and closes the call, then drains what the UI no
// longer reads so that convert ends.
func (t *tuiCall) Close() error {
	if t.sound != nil {
		t.sound.Close()
	}
	err := t.Call.Close()
	if t.done != nil {
		t.done()
	}
	go func() {
		for range t.events {
		}
	}()
	return err
}

func (t *tuiCall) tuiEvent(e rtc.Event) tui.Event {
	switch e := e.(type) {
	case rtc.StateEvent:
		return tui.StateEvent{State: string(e.State), Route: string(e.Route), Detail: e.Detail}
	case rtc.ChatEvent:
		return tui.ChatEvent{ID: e.ID, Text: e.Text, At: e.At}
	case rtc.DeliveredEvent:
		return tui.DeliveredEvent{ID: e.ID}
	case rtc.ErrorEvent:
		return tui.ErrorEvent{Err: e.Err}
	case rtc.StatsEvent:
		s := tui.StatsEvent{RTT: e.RTT, LossIn: e.LossIn, LossOut: e.LossOut, BitrateIn: e.BitrateIn, BitrateOut: e.BitrateOut}
		if t.sound != nil {
			s.JitterBuffer = t.sound.Stats().Delay
		}
		return s
	case rtc.VerifyEvent:
		return tui.VerifyEvent{Words: e.Words}
	case rtc.PeerMutedEvent:
		return tui.PeerMutedEvent{Muted: e.Muted}
	case rtc.ByeEvent:
		return tui.ByeEvent{Reason: e.Reason, Err: e.Err, Undelivered: e.Undelivered}
	}
	return nil
}
