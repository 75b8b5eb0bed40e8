package tui

import "testing"

func TestRouteWords(t *testing.T) {
	for _, tc := range []struct{ route, want string }{
		{RouteHost, "direct (local network)"},
		{RouteSrflx, "direct (through NAT)"},
		{RoutePrflx, "direct (an address found while connecting)"},
		{RouteRelay, "relayed (through a TURN server)"},
		{"", "direct"},
	} {
		if got := routeWords(tc.route); got != tc.want {
			t.Errorf("routeWords(%q) = %q; want %q", tc.route, got, tc.want)
		}
	}
}
