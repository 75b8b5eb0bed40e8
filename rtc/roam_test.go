package rtc

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"parley/internal/relay"
)

func hostCand(t *testing.T, addr string, port int) ice.Candidate {
	t.Helper()
	c, err := ice.NewCandidateHost(&ice.CandidateHostConfig{Network: "udp", Address: addr, Port: port, Component: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRoamerHandle checks when an authenticated check from a new address
// takes the path over: only once connected, only from another address of
// the peer's, only while the pair in use is quiet, and no more than
// roamBurst times at once, however many the peer sends.
func TestRoamerHandle(t *testing.T) {
	local := hostCand(t, "10.0.0.1", 1000)
	old := hostCand(t, "10.0.0.2", 2000)
	var moves []netip.AddrPort
	r := newRoamer(func(_ int, to netip.AddrPort) { moves = append(moves, to) })
	oldPair := &ice.CandidatePair{Local: local, Remote: old}

	// Not connected: pion chooses.
	if r.handle(nil, local, old, oldPair) {
		t.Fatal("switched before any pair was selected")
	}
	k := candKey(local, old)
	r.selected.Store(&k)
	// A check on the pair in use is only noted.
	if r.handle(nil, local, old, oldPair) || r.cur != oldPair {
		t.Fatal("a check on the selected pair must be noted, not switched to")
	}
	// The pair in use has heard nothing (LastReceived is zero): checks
	// from new addresses take over, roamBurst times, then no more.
	for i := range roamBurst + 5 {
		to := hostCand(t, "10.0.0.3", 3000+i)
		got := r.handle(nil, local, to, &ice.CandidatePair{Local: local, Remote: to})
		if want := i < roamBurst; got != want {
			t.Fatalf("check %d from a new address: switched %v; want %v", i, got, want)
		}
	}
	if len(moves) != roamBurst || moves[0] != netip.MustParseAddrPort("10.0.0.3:3000") {
		t.Errorf("moves reported = %v; want %d, from 10.0.0.3:3000", moves, roamBurst)
	}
	if q := r.quiet(); q < time.Hour {
		t.Errorf("quiet = %v for a pair that never heard anything", q)
	}
}

// TestReconnectingSaid cuts the path of a call through a relay: after
// reconnectingAfter the call says "reconnecting…", once, and when the
// path is back it says connected again; a message sent meanwhile arrives.
func TestReconnectingSaid(t *testing.T) {
	t.Parallel()
	r, err := relay.New(relay.Impairment{}, relay.Impairment{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := loopbackConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caller, callee := newCalls(t, cfg)
	invite, err := caller.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	invite, real := viaRelay(t, invite, KindInvite, r.SideB())
	r.SetTargetA(real)
	answer, err := callee.Join(ctx, invite)
	if err != nil {
		t.Fatal(err)
	}
	answer, real = viaRelay(t, answer, KindAnswer, r.SideA())
	r.SetTargetB(real)
	if err := caller.Accept(answer); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, caller)
	waitConnected(t, callee)
	// The roamer learns the pair in use from the peer's first keepalive
	// on it.
	time.Sleep(2 * iceKeepalive)

	r.SetDown(true)
	cut := time.Now()
	s := next[StateEvent](t, caller)
	if s.State != StateDisconnected || !strings.HasPrefix(s.Detail, "reconnecting…") {
		t.Fatalf("state after the cut = %+v; want disconnected, reconnecting…", s)
	}
	if d := time.Since(cut); d < reconnectingAfter-500*time.Millisecond || d > reconnectingAfter+2*time.Second {
		t.Errorf("reconnecting… said %v after the cut; want about %v", d, reconnectingAfter)
	}
	if _, err := caller.Send("sent while cut off"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(defaultSilenceTimeout + time.Second - time.Since(cut)) // past pion's own disconnected
	r.SetDown(false)
	if s := next[StateEvent](t, caller); s.State != StateConnected {
		t.Fatalf("state after the cut ends = %+v; want connected (and no second disconnected)", s)
	}
	if m := next[ChatEvent](t, callee); m.Text != "sent while cut off" {
		t.Errorf("callee got %q", m.Text)
	}
}

// viaRelay points a code's candidates at the relay and returns the code
// and its first IPv4 candidate.
func viaRelay(t *testing.T, code string, kind Kind, to netip.AddrPort) (string, netip.AddrPort) {
	t.Helper()
	c, err := ParseCode(code, kind)
	if err != nil {
		t.Fatal(err)
	}
	var real netip.AddrPort
	for _, cand := range c.Candidates {
		if cand.Addr.Addr().Is4() && !real.IsValid() {
			real = cand.Addr
		}
	}
	c.Candidates = []Candidate{{Type: CandidateHost, Addr: to}}
	return c.String(), real
}

// TestRoamingNetListen checks which sockets move to the wildcard address:
// a host candidate's (any global unicast address, assigned here or not),
// and not a loopback one's.
func TestRoamingNetListen(t *testing.T) {
	n, err := newRoamingNet()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		network, ip string
		want        string // the socket's address
		kept        bool   // kept for probes
	}{
		{"udp4", "192.0.2.7", "0.0.0.0", true},
		{"udp4", "", "0.0.0.0", true},
		{"udp4", "127.0.0.1", "127.0.0.1", false},
	} {
		conn, err := n.ListenUDP(c.network, &net.UDPAddr{IP: net.ParseIP(c.ip)})
		if err != nil {
			t.Fatalf("%s %q: %v", c.network, c.ip, err)
		}
		a := conn.LocalAddr().(*net.UDPAddr)
		n.mu.Lock()
		_, kept := n.conns[sockKey{port: a.Port}]
		n.mu.Unlock()
		if a.IP.String() != c.want || kept != c.kept {
			t.Errorf("%s %q: listens on %v, kept %v; want %s, kept %v", c.network, c.ip, a, kept, c.want, c.kept)
		}
		conn.Close()
		n.mu.Lock()
		_, kept = n.conns[sockKey{port: a.Port}]
		n.mu.Unlock()
		if kept {
			t.Errorf("%s %q: still kept once closed", c.network, c.ip)
		}
	}
}

// TestProbe checks the probe a moved side sends: a binding request the
// peer's ICE agent accepts (its username and password, a fingerprint),
// with USE-CANDIDATE.
func TestProbe(t *testing.T) {
	n, err := newRoamingNet()
	if err != nil {
		t.Fatal(err)
	}
	// A host candidate's socket, which listens on the wildcard address.
	conn, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	if err := n.probe(port, peer.LocalAddr().(*net.UDPAddr).AddrPort(), "peerufrag", "peerpassword0123456789", "myufrag"); err != nil {
		t.Fatal(err)
	}
	if err := n.probe(port+1, peer.LocalAddr().(*net.UDPAddr).AddrPort(), "u", "p", "l"); err == nil {
		t.Error("a probe from a socket that is not there was sent")
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	k, from, err := peer.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if from.Port != port {
		t.Errorf("probe came from port %d; want the candidate's, %d", from.Port, port)
	}
	m := &stun.Message{Raw: buf[:k]}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	var user stun.Username
	if err := user.GetFrom(m); err != nil || user.String() != "peerufrag:myufrag" {
		t.Errorf("username %q (%v); want peerufrag:myufrag", user, err)
	}
	if err := stun.NewShortTermIntegrity("peerpassword0123456789").Check(m); err != nil {
		t.Errorf("integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		t.Errorf("fingerprint: %v", err)
	}
	if m.Type != stun.BindingRequest || !m.Contains(stun.AttrUseCandidate) {
		t.Errorf("probe is %v, USE-CANDIDATE %v; want a binding request with it", m.Type, m.Contains(stun.AttrUseCandidate))
	}
}

// TestIceOf reads the ICE credentials of a session description.
func TestIceOf(t *testing.T) {
	desc := &webrtc.SessionDescription{SDP: "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecret\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:other\r\n"}
	if u, p := iceOf(desc); u != "abcd" || p != "secretsecretsecret" {
		t.Errorf("iceOf = %q, %q; want abcd, secretsecretsecret", u, p)
	}
	if u, p := iceOf(nil); u != "" || p != "" {
		t.Errorf("iceOf(nil) = %q, %q", u, p)
	}
}
