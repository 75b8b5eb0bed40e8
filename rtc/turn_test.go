package rtc

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/pion/turn/v5"
)

// startTURN runs a TURN server on loopback that relays from 127.0.0.1.
func startTURN(t *testing.T) (addr string) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := turn.NewServer(turn.ServerConfig{
		Realm: "parley.test",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != "alice" {
				return "", nil, false
			}
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, "s3cret"), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return conn.LocalAddr().String()
}

// TestRelayOnly connects two peers through an in-process TURN server
// only; chat flows and the route is relay.
func TestRelayOnly(t *testing.T) {
	srv, err := ParseTURN("turn:alice:s3cret@" + startTURN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := loopbackConfig()
	cfg.TURN, cfg.RelayOnly = []TURNServer{srv}, true
	probe, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	invite, err := probe.Invite(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, _ := ParseCode(invite, KindInvite)
	for _, c := range code.Candidates {
		if c.Type != CandidateRelay {
			t.Errorf("a relay-only invite carries %v candidate %v; the peer must learn no address of ours", c.Type, c.Addr)
		}
	}
	a, b := pair(t, cfg)
	if s := waitConnected(t, a); s.Route != RouteRelay {
		t.Errorf("route = %q; want relay", s.Route)
	}
	waitConnected(t, b)
	a.Send("through the relay")
	if m := next[ChatEvent](t, b); m.Text != "through the relay" {
		t.Errorf("got %q", m.Text)
	}
}

func TestParseTURN(t *testing.T) {
	for _, tc := range []struct {
		in, url, user, pass, err string
	}{
		{in: "turn:u:p@example.org:3478", url: "turn:example.org:3478", user: "u", pass: "p"},
		{in: "turns:u:p:q@example.org:5349?transport=tcp", url: "turns:example.org:5349?transport=tcp", user: "u", pass: "p:q"},
		{in: "turn:u%40x:p%40ss@[::1]:3478", url: "turn:[::1]:3478", user: "u@x", pass: "p@ss"},
		{in: "stun:example.org", err: "should look like"},
		{in: "turn:example.org:3478", err: "no USER:PASS@"},
		{in: "turn:nopass@example.org", err: "USER:PASS"},
	} {
		got, err := ParseTURN(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTURN(%q) = %v; want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != (TURNServer{URL: tc.url, Username: tc.user, Password: tc.pass}) {
			t.Errorf("ParseTURN(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
