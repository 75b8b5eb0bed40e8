package rtc

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// pathSummary says which kinds of candidate a session description offers.
type pathSummary struct{ any, host, srflx, relay bool }

func summarize(desc *webrtc.SessionDescription) pathSummary {
	var p pathSummary
	if desc == nil {
		return p
	}
	for _, line := range strings.Split(desc.SDP, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:")
		if !ok {
			continue
		}
		c, ok := parseCandidate(v)
		if !ok {
			continue
		}
		p.any = true
		switch c.Type {
		case CandidateHost:
			p.host = true
		case CandidateSrflx, CandidatePrflx:
			p.srflx = true
		case CandidateRelay:
			p.relay = true
		}
	}
	return p
}

// noPath explains, in a sentence with the next step, why no path was
// found within timeout.
func (c *Call) noPath(timeout time.Duration) string {
	local, remote := summarize(c.pc.LocalDescription()), summarize(c.pc.RemoteDescription())
	prefix := fmt.Sprintf("could not connect within %v: ", timeout.Round(time.Second))
	switch {
	case c.answered && timeout > c.cfg.ConnectTimeout:
		return prefix + "your peer did not use your answer in time; ask them for a new invite"
	case !remote.any:
		return prefix + "your peer's code carried no address; ask them for a new one"
	case local.relay || remote.relay:
		return prefix + "not even through the TURN relay; check the TURN server's address and credentials (--turn)"
	case len(c.cfg.STUN) == 0 && !local.srflx && !remote.srflx:
		return prefix + "without STUN neither side knows its public address; drop --stun none, or add a TURN server (--turn)"
	case local.srflx && remote.srflx:
		return prefix + "no direct path: both sides seem to be behind strict NATs or firewalls; add a TURN server (--turn)"
	case !remote.srflx:
		return prefix + "your peer's code has only local addresses; on different networks your peer needs STUN, or one of you a TURN server (--turn)"
	}
	return prefix + "no direct path: a firewall may block UDP; add a TURN server (--turn)"
}

// stillWaiting is what the joiner hears when the call has not connected
// after d: either the caller has not used the answer yet, or there is no
// path.
func stillWaiting(d time.Duration) string {
	return fmt.Sprintf("not connected after %v: if your peer has pasted your answer, there is no direct path between you; one of you should add a TURN server (--turn)", d.Round(time.Second))
}

// connectedDetail says how the call is connected.
func connectedDetail(r Route) string {
	switch r {
	case RouteHost:
		return "connected directly"
	case RouteSrflx:
		return "connected directly, through your NATs"
	case RoutePrflx:
		// Most often a NAT's mapping other than the one STUN saw; "most
		// likely", since a peer that lists no candidates may be checking
		// from a relay.
		return "connected, most likely directly, through an address found while connecting (usually your peer's NAT)"
	case RouteRelay:
		return "connected through a relay"
	}
	return ""
}

// lostReason says why a connection silent for lost was given up: most
// often, that this side's own address went away and the peer could not
// be reached from the new one.
func (c *Call) lostReason(lost time.Duration) string {
	if c.ownAddressGone() {
		return fmt.Sprintf("the connection was lost: your network changed and your peer could not be reached from the new one (nothing heard for %v); make new codes", lost.Round(time.Second))
	}
	return fmt.Sprintf("the connection was lost: nothing heard from your peer for %v", lost.Round(time.Second))
}

// ownAddressGone reports whether the address this side's path was sent
// from is no longer this machine's. On a virtual network it never is.
func (c *Call) ownAddressGone() bool {
	if c.cfg.Net != nil {
		return false
	}
	pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Local.Typ != webrtc.ICECandidateTypeHost {
		return false
	}
	ip := net.ParseIP(pair.Local.Address)
	addrs, err := net.InterfaceAddrs()
	if ip == nil || err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return false
		}
	}
	return true
}
