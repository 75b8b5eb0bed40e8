package rtc

import "parley/internal/event"

// A call's events are package event's, named here too so that a user of
// rtc need not import both.
type (
	Event          = event.Event
	State          = event.State
	Route          = event.Route
	StateEvent     = event.StateEvent
	ChatEvent      = event.ChatEvent
	DeliveredEvent = event.DeliveredEvent
	ErrorEvent     = event.ErrorEvent
	ByeEvent       = event.ByeEvent
	PeerMutedEvent = event.PeerMutedEvent
	VerifyEvent    = event.VerifyEvent
	StatsEvent     = event.StatsEvent
)

// The states of a connection.
const (
	StateConnecting   = event.StateConnecting
	StateConnected    = event.StateConnected
	StateDisconnected = event.StateDisconnected
	StateFailed       = event.StateFailed
	StateClosed       = event.StateClosed
)

// The routes media can take.
const (
	RouteHost  = event.RouteHost
	RouteSrflx = event.RouteSrflx
	RoutePrflx = event.RoutePrflx
	RouteRelay = event.RouteRelay
)
