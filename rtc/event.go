package rtc

import "time"

// Event is something that happened in a call. Events arrive, in order, on
// Call.Events; the last one is always a ByeEvent.
type Event interface{ isEvent() }

// State is the state of a call's connection.
type State string

// The states of a connection.
const (
	StateConnecting   State = "connecting"
	StateConnected    State = "connected"
	StateDisconnected State = "disconnected"
	StateFailed       State = "failed"
	StateClosed       State = "closed"
)

// Route is how the media travels once connected.
type Route string

// The routes: direct between host addresses, through a NAT's public
// address, to an address of the peer's learnt from its connectivity
// checks rather than from its code (peer-reflexive, RFC 8445, 7.3.1.3:
// a NAT that maps each destination apart, or a code without candidates),
// or through a TURN relay.
const (
	RouteHost  Route = "host"
	RouteSrflx Route = "srflx"
	RoutePrflx Route = "prflx"
	RouteRelay Route = "relay"
)

// StateEvent reports a change of the connection's state. Route is set once
// connected; Detail, when set, says in plain words what is going on.
type StateEvent struct {
	State  State
	Route  Route
	Detail string
}

// ChatEvent is a chat message from the peer.
type ChatEvent struct {
	ID   uint64
	Text string
	At   time.Time
}

// DeliveredEvent says the peer has received the message with this id.
type DeliveredEvent struct{ ID uint64 }

// ErrorEvent reports a problem that does not end the call.
type ErrorEvent struct{ Err error }

// ByeEvent ends every call. Err is nil after a normal hang-up by either
// side. Undelivered lists the ids of messages the peer never received.
type ByeEvent struct {
	Reason      string
	Err         error
	Undelivered []uint64
}

// PeerMutedEvent says the peer has muted or unmuted its microphone.
type PeerMutedEvent struct{ Muted bool }

func (StateEvent) isEvent()     {}
func (PeerMutedEvent) isEvent() {}
func (ChatEvent) isEvent()      {}
func (DeliveredEvent) isEvent() {}
func (ErrorEvent) isEvent()     {}
func (ByeEvent) isEvent()       {}
