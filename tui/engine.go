package tui

import (
	"context"
	"time"
)

// Call is what the terminal UI needs from the call engine. It mirrors the
// methods of parley/rtc.Call so that an adapter can wrap it, and it is
// defined here, where it is used, so that this package needs neither cgo
// nor a network to build and test.
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
	Events() <-chan Event
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

// Event is something that happened in a call: one of StateEvent,
// ChatEvent, DeliveredEvent, ErrorEvent, ByeEvent, LevelsEvent,
// StatsEvent, VerifyEvent or AudioEvent.
type Event interface{ isEvent() }

// The states a StateEvent reports.
const (
	StateConnecting   = "connecting"
	StateConnected    = "connected"
	StateDisconnected = "disconnected"
	StateFailed       = "failed"
	StateClosed       = "closed"
)

// The routes a connected StateEvent reports: between host addresses,
// through a NAT's public (server-reflexive) address, to a peer's address
// found while connecting (peer-reflexive), or through a relay.
const (
	RouteHost  = "host"
	RouteSrflx = "srflx"
	RoutePrflx = "prflx"
	RouteRelay = "relay"
)

// StateEvent reports a change of the connection's state (one of the
// State… constants). Route (one of the Route… constants) is set once
// connected; Detail, when set, says in plain words what is going on.
type StateEvent struct {
	State  string
	Route  string
	Detail string
}

// ChatEvent is a chat message from the peer, received at At.
type ChatEvent struct {
	ID   uint64
	Text string
	At   time.Time
}

// DeliveredEvent says the peer has received the message with this id.
type DeliveredEvent struct{ ID uint64 }

// ErrorEvent reports a problem that does not end the call.
type ErrorEvent struct{ Err error }

// ByeEvent ends every call. Reason is "hung up", "peer hung up" or a
// sentence saying what failed; Err is nil after a normal hang-up by either
// side. Undelivered lists the ids of messages the peer never received.
type ByeEvent struct {
	Reason      string
	Err         error
	Undelivered []uint64
}

// LevelsEvent reports the audio levels of the microphone and of the peer's
// voice, in dBFS (0 is full scale, more negative is quieter).
type LevelsEvent struct {
	MicPeak, MicRMS   float64
	PeerPeak, PeerRMS float64
}

// StatsEvent reports the transport's statistics: round-trip time, the
// fraction of packets lost each way, the jitter buffer's delay and the
// bitrates in bits per second.
type StatsEvent struct {
	RTT                   time.Duration
	LossIn, LossOut       float64
	JitterBuffer          time.Duration
	BitrateIn, BitrateOut int
}

// VerifyEvent carries the safety words that both sides should read aloud
// and compare.
type VerifyEvent struct{ Words string }

// PeerMutedEvent says the peer has muted or unmuted its microphone.
type PeerMutedEvent struct{ Muted bool }

// AudioEvent says whether audio is available; Note says why not, in plain
// words (for example "no microphone or speaker found — text only"). NoMic
// says that there is audio but no microphone (--audio-in none, or none
// found): the peer is heard, and there is nothing to mute.
type AudioEvent struct {
	Available bool
	Note      string
	NoMic     bool
}

func (StateEvent) isEvent()     {}
func (ChatEvent) isEvent()      {}
func (DeliveredEvent) isEvent() {}
func (ErrorEvent) isEvent()     {}
func (ByeEvent) isEvent()       {}
func (LevelsEvent) isEvent()    {}
func (StatsEvent) isEvent()     {}
func (VerifyEvent) isEvent()    {}
func (AudioEvent) isEvent()     {}
func (PeerMutedEvent) isEvent() {}
