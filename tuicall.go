package main

import (
	"parley/rtc"
	"parley/tui"
)

// tuiCall adapts an rtc.Call to the terminal UI's Call interface.
type tuiCall struct {
	*rtc.Call
	events chan tui.Event
}

func newTUICall(c *rtc.Call) *tuiCall {
	t := &tuiCall{Call: c, events: make(chan tui.Event)}
	go t.convert()
	return t
}

// convert translates events until the call's channel closes, which Close
// guarantees.
func (t *tuiCall) convert() {
	defer close(t.events)
	for e := range t.Call.Events() {
		if te := tuiEvent(e); te != nil {
			t.events <- te
		}
	}
}

func (t *tuiCall) Events() <-chan tui.Event { return t.events }

// Close closes the call, then drains what the UI no longer reads so that
// convert ends.
func (t *tuiCall) Close() error {
	err := t.Call.Close()
	go func() {
		for range t.events {
		}
	}()
	return err
}

func tuiEvent(e rtc.Event) tui.Event {
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
		return tui.StatsEvent{RTT: e.RTT, LossIn: e.LossIn, LossOut: e.LossOut, BitrateIn: e.BitrateIn, BitrateOut: e.BitrateOut}
	case rtc.VerifyEvent:
		return tui.VerifyEvent{Words: e.Words}
	case rtc.ByeEvent:
		return tui.ByeEvent{Reason: e.Reason, Err: e.Err, Undelivered: e.Undelivered}
	}
	return nil
}
