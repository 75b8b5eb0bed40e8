package tui

import (
	"context"

	"parley/internal/event"
)

// Call is what the terminal UI needs of a call and its sound; a
// *session.Session is one. It is defined here, where it is used, so that
// this package needs neither cgo nor a network to build and test.
//
// The UI calls Invite, Accept, Join and Close from commands (off the UI
// goroutine); Send and HangUp are called from Update and must not block.
type Call interface {
	// Invite makes this side the caller and returns the invite code. It may
	// take a second or two while network addresses are gathered.
	Invite(ctx context.Context) (code string, err error)
	// Accept applies the answer pasted by the caller. Its error text is one
	// line a user can read.
	Accept(answer string) error
	// Join makes this side the callee: it applies the pasted invite and
	// returns the answer code. Its error text is one line a user can read.
	Join(ctx context.Context, invite string) (answer string, err error)
	// Send queues a chat message (at most 4096 bytes of UTF-8) and returns
	// its id; a DeliveredEvent with that id follows once the peer has it.
	Send(text string) (id uint64, err error)
	// HangUp ends the call politely; a ByeEvent follows.
	HangUp()
	// Close releases everything the call holds; Events is closed after it.
	// It may be called more than once, and while Invite or Join runs.
	Close() error
	// Events returns the channel on which the call's events arrive, in
	// order. The last event is always a ByeEvent.
	Events() <-chan event.Event
}

// Muter is implemented by a Call that can mute the microphone. The UI
// checks for it with a type assertion; without it, muting is unavailable.
type Muter interface {
	// SetMuted mutes (on) or unmutes the microphone. It must not block.
	SetMuted(on bool)
}

// Verifier is implemented by a Call that can record that the user compared
// the safety words aloud with the peer and found them equal.
type Verifier interface {
	// Verify marks the call as verified. It must not block.
	Verify()
}
