package rtc

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"parley/internal/clock"
)

// A call survives one side's change of address (a new DHCP lease, Wi-Fi
// to wired) without new codes and without a new session. Two things make
// it work:
//
//   - Host candidates listen on the wildcard address (roamingNet), not on
//     the interface's: when the address under a socket goes, the socket
//     stays, and the kernel sends from whatever address now routes to the
//     peer. The side that moved needs nothing else: its ICE keepalives
//     (a binding request each second, iceKeepalive) go on, from the new
//     address, to the peer's unchanged one, and DTLS, SCTP and the audio
//     track go on over the same ICE connection.
//   - The side that did not move gets those keepalives, authenticated
//     with the ICE password only the peer has, from an address it never
//     saw: pion makes it a peer-reflexive candidate, in any state, and
//     calls the binding-request handler (roamer.handle). If the selected
//     pair has heard nothing for roamQuiet, the handler selects the new
//     pair, and everything this side sends goes there.
//
// Chat typed meanwhile waits in SCTP, which resends it once the path is
// back (sctpRTOMax), in order and once; audio resumes with the next
// packet.
//
// A peer (who alone can authenticate) could move this side's sending to
// another address of its choosing; it can do so at most roamBurst times
// and then once per roamEvery, and only while the pair in use is quiet.

const (
	// roamQuiet is how long the selected pair must have heard nothing
	// before a check from a new address takes it over: under
	// iceKeepalive, so that a keepalive or two is missed, not more.
	roamQuiet = 800 * time.Millisecond
	// roamEvery and roamBurst bound how often the pair in use may move.
	roamEvery = 2 * time.Second
	roamBurst = 3
	// reconnectingAfter is how long the path must be silent before the
	// call says it is reconnecting; pion's own disconnected state comes
	// at SilenceTimeout.
	reconnectingAfter = 2 * time.Second
)

// wallClock tells the time of pion's own stamps (a candidate's
// LastReceived), which keep the wall clock whatever Config.Clock is.
var wallClock = clock.Real()

// roamingNet is the real network stack with host sockets bound to the
// wildcard address of their family.
type roamingNet struct{ *stdnet.Net }

func newRoamingNet() (*roamingNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &roamingNet{n}, nil
}

func (n *roamingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	if laddr != nil && laddr.IP.IsGlobalUnicast() {
		wild := &net.UDPAddr{Port: laddr.Port}
		if laddr.IP.To4() != nil {
			network, wild.IP = "udp4", net.IPv4zero
		} else {
			network, wild.IP = "udp6", net.IPv6unspecified
		}
		return n.Net.ListenUDP(network, wild)
	}
	return n.Net.ListenUDP(network, laddr)
}

// roamer follows the peer to a new address: see above. Its handler runs
// on pion's ICE goroutine; what the call should know it posts.
type roamer struct {
	moved func(to netip.AddrPort) // posts to the call

	selected atomic.Pointer[string] // pairKey of pion's selected pair

	mu    sync.Mutex
	cur   *ice.CandidatePair // the selected pair, from the peer's first keepalive on it
	limit *rate.Limiter
}

func newRoamer(moved func(netip.AddrPort)) *roamer {
	return &roamer{moved: moved, limit: rate.NewLimiter(rate.Every(roamEvery), roamBurst)}
}

// configure sets pc's network stack and binding-request handler.
func (r *roamer) configure(se *webrtc.SettingEngine, cfg *Config) error {
	if cfg.Net != nil {
		se.SetNet(cfg.Net) // a virtual network: addresses there do not move
	} else {
		n, err := newRoamingNet()
		if err != nil {
			return err
		}
		se.SetNet(n)
	}
	se.SetICEBindingRequestHandler(r.handle)
	return nil
}

// watch follows pc's selected pair.
func (r *roamer) watch(pc *webrtc.PeerConnection) {
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		if p != nil && p.Local != nil && p.Remote != nil {
			k := pairKey(p.Local.Address, int(p.Local.Port), p.Remote.Address, int(p.Remote.Port))
			r.selected.Store(&k)
		}
	})
}

func pairKey(laddr string, lport int, raddr string, rport int) string {
	return net.JoinHostPort(laddr, strconv.Itoa(lport)) + "|" + net.JoinHostPort(raddr, strconv.Itoa(rport))
}

func candKey(local, remote ice.Candidate) string {
	return pairKey(local.Address(), local.Port(), remote.Address(), remote.Port())
}

// handle is pion's binding-request handler: it sees every authenticated
// check, and returns true to make its pair the selected one.
func (r *roamer) handle(_ *stun.Message, local, remote ice.Candidate, pair *ice.CandidatePair) bool {
	sel := r.selected.Load()
	if pair == nil || sel == nil {
		return false // not connected yet: pion chooses
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if candKey(local, remote) == *sel {
		r.cur = pair
		return false
	}
	now := wallClock.Now()
	if r.cur == nil || r.cur.Remote.Address() == remote.Address() && r.cur.Remote.Port() == remote.Port() ||
		now.Sub(r.cur.Remote.LastReceived()) < roamQuiet || !r.limit.AllowN(now, 1) {
		return false
	}
	r.cur = pair
	k := candKey(local, remote)
	r.selected.Store(&k)
	if a, err := netip.ParseAddr(remote.Address()); err == nil {
		r.moved(netip.AddrPortFrom(a, uint16(remote.Port())))
	}
	return true
}

// quiet is how long the selected pair has heard nothing from the peer,
// or 0 when that is not known.
func (r *roamer) quiet() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return 0
	}
	return wallClock.Now().Sub(r.cur.Remote.LastReceived())
}

// checkPath says "reconnecting…" once the path has been silent for
// reconnectingAfter, and that the call is back once it is heard again.
// It runs with each stats sample, and when the peer's address moves.
func (c *Call) checkPath() {
	if c.finished {
		return
	}
	quiet := c.roam.quiet()
	switch {
	case c.state == StateConnected && quiet >= reconnectingAfter:
		c.reconnecting = true
		c.setState(StateDisconnected, "", "reconnecting…")
	case c.reconnecting && c.state == StateDisconnected && quiet < reconnectingAfter:
		c.back("")
	}
}

// back says the call is connected again after a silence; how says why.
func (c *Call) back(how string) {
	stopTimer(c.lostTimer)
	c.reconnecting = false
	r := c.route()
	detail := connectedDetail(r)
	if how != "" {
		detail = how + "; " + detail
	}
	c.setState(StateConnected, r, detail)
}

// peerMoved notes that the peer's checks now come from a new address.
func (c *Call) peerMoved(to netip.AddrPort) {
	if c.finished {
		return
	}
	c.logf("path: the peer's address changed; now sending to %v", to)
	if c.state == StateDisconnected {
		c.back("reconnected: your peer's address changed")
	}
}
