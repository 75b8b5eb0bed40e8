package tui

import (
	"testing"

	"parley/internal/event"
)

func TestRouteWords(t *testing.T) {
	for _, tc := range []struct {
		route event.Route
		want  string
	}{
		{event.RouteHost, "direct (local network)"},
		{event.RouteSrflx, "direct (through NAT)"},
		{event.RoutePrflx, "direct (an address found while connecting)"},
		{event.RouteRelay, "relayed (through a TURN server)"},
		{"", "direct"},
	} {
		if got := routeWords(tc.route); got != tc.want {
			t.Errorf("routeWords(%q) = %q; want %q", tc.route, got, tc.want)
		}
	}
}
