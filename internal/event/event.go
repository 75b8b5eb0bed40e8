// Package event defines what happens in a call, once, for every part of
// parley that sees it: the engine (rtc) emits the call's events, the
// session adds its sound's, and the fronts (the terminal UI, headless
// mode) show them. It holds plain types only, so that a front builds and
// tests without cgo or a network.
package event

import "time"

// Event is something that happened in a call. A call's events arrive in
// order; the last one is always a ByeEvent.
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

// PeerMutedEvent says the peer has muted or unmuted its microphone.
type PeerMutedEvent struct{ Muted bool }

// VerifyEvent carries the safety words that both sides should read aloud
// and compare; Verified once the user has said they match.
type VerifyEvent struct {
	Words    string
	Verified bool
}

// StatsEvent reports the transport's figures once a second while
// connected: loss is a fraction over the last interval (LossOut as the
// peer reported it), bitrates count every byte on the wire, in bits per
// second. In a call with sound, the session adds the sound's.
type StatsEvent struct {
	RTT                   time.Duration
	LossIn, LossOut       float64
	Jitter                time.Duration
	BitrateIn, BitrateOut int
	Sound                 *SoundStats // nil in a text-only call
}

// SoundStats are the figures of a call's sound: the jitter buffer's target
// and delay, its frame counts, the latest levels, the encoder's Opus
// complexity (adaptive: it drops on a slow machine) and the microphone's
// clean-ups.
type SoundStats struct {
	Target, Delay          time.Duration
	Frames, Concealed, FEC uint64
	Late                   uint64
	MicPeak, MicRMS        float64 // dBFS
	PeerPeak, PeerRMS      float64 // dBFS
	Complexity             int
	// AEC, NS and AGC say which of the microphone's clean-ups run;
	// EchoDelay is the echo's delay the canceller found.
	AEC, NS, AGC bool
	EchoDelay    time.Duration
	// Link is set when the sound is an audio agent's on another computer
	// ('parley ssh'): the link to it adds its delay each way.
	Link *LinkStats
}

// LinkStats are the figures of the link to an audio agent: its one-way
// delay (half a ping's round trip), which adds to mouth-to-ear, and what
// it carried.
type LinkStats struct {
	Delay                 time.Duration
	BytesIn, BytesOut     uint64
	PacketsIn, PacketsOut uint64
	Dropped               uint64 // audio packets dropped: the link was too slow
}

// LevelsEvent reports the levels of the microphone and of the peer's
// voice, in dBFS (0 is full scale, more negative is quieter), every 50 ms
// of audio at most.
type LevelsEvent struct {
	MicPeak, MicRMS   float64
	PeerPeak, PeerRMS float64
}

// AudioEvent says whether the call has sound; Note says why not, in plain
// words (for example "no microphone or speaker found — text only"). NoMic
// says that there is sound but no microphone (--audio-in none, or none
// found): the peer is heard, and there is nothing to mute. In and Out
// name the devices. Fault, when set, says that the sound failed mid-call
// and what happened (the call goes on as text only); Back, that it came
// back after a fault; Found, that a text-only call that kept looking
// (in an SSH session, for 'parley ssh --attach') found one; Switched,
// that other devices were asked for and are in use now.
type AudioEvent struct {
	Available bool
	Note      string
	NoMic     bool
	In, Out   string
	Fault     string
	Back      bool
	Found     bool
	Switched  bool
}

func (StateEvent) isEvent()     {}
func (ChatEvent) isEvent()      {}
func (DeliveredEvent) isEvent() {}
func (ErrorEvent) isEvent()     {}
func (ByeEvent) isEvent()       {}
func (PeerMutedEvent) isEvent() {}
func (VerifyEvent) isEvent()    {}
func (StatsEvent) isEvent()     {}
func (LevelsEvent) isEvent()    {}
func (AudioEvent) isEvent()     {}
