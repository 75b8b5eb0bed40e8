package rtc

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
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
// to wired, a second network taking over) without new codes and without
// a new session: DTLS, SCTP and the audio track go on over the same ICE
// connection, which only changes the addresses it sends to.
//
//   - Host candidates listen on the wildcard address (roamingNet), not on
//     the interface's: when the address under a socket goes, the socket
//     stays, and the kernel sends from whatever address now routes to the
//     peer.
//   - The side that moved notices that its route to the peer leaves from
//     another address (checkRoute: at once on Linux, told by rtnetlink,
//     and every routePoll anyway) and probes the peer
//     from there: a binding request authenticated with the peer's ICE
//     password, with USE-CANDIDATE. Without the probe, its next keepalive
//     (iceKeepalive) would do, a little later.
//   - The other side gets the probe from an address it never saw: pion
//     makes it a peer-reflexive candidate, in any state, and calls the
//     binding-request handler (roamer.handle), which selects the new pair
//     at once for a probe, or for a plain check once the pair in use has
//     heard nothing for roamQuiet. It then probes back (peerMoved), since
//     its own packets to the new address may leave from another address.
//
// Chat typed meanwhile waits in SCTP, which resends it once the path is
// back, in order and once; audio resumes with the next packet.
//
// Only the peer can authenticate a check; it can move this side's sending
// at most roamBurst times and then once per roamEvery.

const (
	// roamQuiet is how long the selected pair must have heard nothing
	// before a plain check from a new address takes it over (a NAT that
	// mapped the peer anew, a peer without probes): over iceKeepalive, so
	// that a path carrying nothing but keepalives is not taken for dead.
	roamQuiet = 1500 * time.Millisecond
	// roamEvery and roamBurst bound how often the pair in use may move.
	roamEvery = 2 * time.Second
	roamBurst = 3
	// reconnectingAfter is how long the path must be silent before the
	// call says it is reconnecting; pion's own disconnected state comes
	// at SilenceTimeout.
	reconnectingAfter = 2 * time.Second
	// routePoll is how often this side looks at where its routing table
	// sends its packets to the peer from; a change sends the peer
	// probeCount probes, one a poll.
	routePoll  = 250 * time.Millisecond
	probeCount = 3
	// probePriority is a peer-reflexive candidate's priority (RFC 8445,
	// 5.1.2.1: type preference 110, local preference 65535, component 1).
	probePriority = 110<<24 | 65535<<8 | 255
)

// wallClock tells the time of pion's own stamps (a candidate's
// LastReceived), which keep the wall clock whatever Config.Clock is.
var wallClock = clock.Real()

// roamingNet is the real network stack with host sockets bound to the
// wildcard address of their family. It keeps them, and the sockets of
// server-reflexive candidates (already on the wildcard address), by port,
// for probe.
type roamingNet struct {
	*stdnet.Net

	mu    sync.Mutex
	conns map[sockKey]transport.UDPConn
}

// sockKey names a wildcard socket: its family and port.
type sockKey struct {
	v6   bool
	port int
}

func newRoamingNet() (*roamingNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &roamingNet{Net: n, conns: map[sockKey]transport.UDPConn{}}, nil
}

func (n *roamingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	switch {
	case laddr != nil && laddr.IP.IsGlobalUnicast(): // a host candidate's
		wild := &net.UDPAddr{Port: laddr.Port}
		if laddr.IP.To4() != nil {
			network, wild.IP = "udp4", net.IPv4zero
		} else {
			network, wild.IP = "udp6", net.IPv6unspecified
		}
		laddr = wild
	case laddr == nil || laddr.IP == nil || laddr.IP.IsUnspecified(): // a server-reflexive one's
	default:
		return n.Net.ListenUDP(network, laddr)
	}
	conn, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	a := conn.LocalAddr().(*net.UDPAddr)
	k := sockKey{v6: a.IP.To4() == nil, port: a.Port}
	kept := &hostConn{UDPConn: conn}
	kept.forget = func() {
		n.mu.Lock()
		if n.conns[k] == kept {
			delete(n.conns, k)
		}
		n.mu.Unlock()
	}
	n.mu.Lock()
	n.conns[k] = kept
	n.mu.Unlock()
	return kept, nil
}

// hostConn is a candidate's wildcard socket, forgotten once closed.
type hostConn struct {
	transport.UDPConn
	forget func()
}

func (h *hostConn) Close() error {
	h.forget()
	return h.UDPConn.Close()
}

// source returns the address this machine would now send to the peer
// from, as its routing table has it, or the zero Addr.
func source(to netip.AddrPort) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// probe sends the peer an authenticated check with USE-CANDIDATE from the
// host socket on port, so that the peer moves to the address it comes
// from at once (roamer.handle). ufrag and pwd are the peer's, local the
// ufrag of this side.
func (n *roamingNet) probe(port int, to netip.AddrPort, ufrag, pwd, local string) error {
	n.mu.Lock()
	conn := n.conns[sockKey{v6: to.Addr().Is6(), port: port}]
	n.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("no socket on port %d for %v", port, to)
	}
	m, err := stun.Build(stun.BindingRequest, stun.TransactionID,
		stun.NewUsername(ufrag+":"+local), ice.UseCandidate(), ice.PriorityAttr(probePriority),
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		return err
	}
	_, err = conn.WriteTo(m.Raw, net.UDPAddrFromAddrPort(to))
	return err
}

// roamer follows the peer to a new address: see above. Its handler runs
// on pion's ICE goroutine; what the call should know it posts.
type roamer struct {
	moved func(port int, to netip.AddrPort) // posts to the call: this side's port, the peer's new address

	selected atomic.Pointer[string] // pairKey of pion's selected pair

	mu    sync.Mutex
	cur   *ice.CandidatePair // the selected pair, from the peer's first keepalive on it
	limit *rate.Limiter

	net *roamingNet // nil on a virtual network
}

func newRoamer(moved func(int, netip.AddrPort)) *roamer {
	return &roamer{moved: moved, limit: rate.NewLimiter(rate.Every(roamEvery), roamBurst)}
}

// configure sets the binding-request handler and returns the network
// stack for pc: cfg.Net, or the real one with roaming host sockets.
func (r *roamer) configure(se *webrtc.SettingEngine, cfg *Config) (transport.Net, error) {
	se.SetICEBindingRequestHandler(r.handle)
	if cfg.Net != nil {
		return cfg.Net, nil // a virtual network: addresses there do not move
	}
	n, err := newRoamingNet()
	if err != nil {
		return nil, err
	}
	r.net = n
	return n, nil
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
func (r *roamer) handle(m *stun.Message, local, remote ice.Candidate, pair *ice.CandidatePair) bool {
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
	// The peer's probe (USE-CANDIDATE) says it moved: no need to wait.
	asked := m != nil && m.Contains(stun.AttrUseCandidate)
	if r.cur == nil || r.cur.Remote.Address() == remote.Address() && r.cur.Remote.Port() == remote.Port() ||
		!asked && now.Sub(r.cur.Remote.LastReceived()) < roamQuiet || !r.limit.AllowN(now, 1) {
		return false
	}
	r.cur = pair
	k := candKey(local, remote)
	r.selected.Store(&k)
	if a, err := netip.ParseAddr(remote.Address()); err == nil {
		r.moved(local.Port(), netip.AddrPortFrom(a.Unmap(), uint16(remote.Port())))
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
	if c.routeTimer == nil && c.roam.net != nil {
		c.pollRoute()
		c.watchRoutes()
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

// peerMoved notes that the peer's checks now come from a new address,
// to, on this side's socket port. It probes the peer from there at once:
// this side's packets to the new address may leave from another address
// of its own (a new route), which the peer must learn in turn.
func (c *Call) peerMoved(port int, to netip.AddrPort) {
	if c.finished {
		return
	}
	c.logf("path: the peer's address changed; now sending to %v", to)
	if c.roam.net != nil {
		c.probe(port, to)
		c.probes = probeCount - 1
	}
	if c.state == StateDisconnected {
		c.back("reconnected: your peer's address changed")
	}
}

// watchRoutes has the kernel's route notifications run checkRoute at
// once, at most one pending at a time.
func (c *Call) watchRoutes() {
	var pending atomic.Bool
	stop, err := watchRoutes(func() {
		if pending.CompareAndSwap(false, true) {
			c.post(func() {
				pending.Store(false)
				c.checkRoute()
			})
		}
	})
	if err != nil {
		c.logf("path: %v; looking every %v instead", err, routePoll)
		return
	}
	c.stopRoutes = stop
}

// pollRoute notices when this side's packets to the peer start leaving
// from another address (a new DHCP lease, Wi-Fi to wired) and probes the
// peer from there at once, rather than at its next keepalive. It runs
// every routePoll on the call's clock once connected, on the real
// network only.
func (c *Call) pollRoute() {
	if c.finished {
		return
	}
	c.routeTimer = c.after(routePoll, c.pollRoute)
	c.checkRoute()
}

// checkRoute looks where this side now reaches the peer from, and sends
// the probes due.
func (c *Call) checkRoute() {
	if c.finished {
		return
	}
	pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return
	}
	var port int // of the local candidate's socket
	switch pair.Local.Typ {
	case webrtc.ICECandidateTypeHost:
		port = int(pair.Local.Port)
	case webrtc.ICECandidateTypeSrflx:
		port = int(pair.Local.RelatedPort)
	default:
		return // a relay's allocation does not follow a new address
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return
	}
	to := netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
	src := source(to)
	if !src.IsValid() {
		return // no route now: there will be one, or the call is lost
	}
	// A new source for the same peer address: this side moved. (After
	// the peer moved, the source may change too; that is no news to it.)
	if c.routeDst == to && c.routeSrc != src {
		c.logf("path: this side now reaches its peer from %v, not %v: telling the peer", src, c.routeSrc)
		c.probes = probeCount
	}
	c.routeDst, c.routeSrc = to, src
	if c.probes == 0 {
		return
	}
	c.probes--
	c.probe(port, to)
}

// probe sends the peer at to a probe from this side's socket on port.
func (c *Call) probe(port int, to netip.AddrPort) {
	ufrag, pwd := iceOf(c.pc.RemoteDescription())
	local, _ := iceOf(c.pc.LocalDescription())
	if err := c.roam.net.probe(port, to, ufrag, pwd, local); err != nil {
		c.logf("path: probe: %v", err)
	}
}

// iceOf returns a session description's ICE username fragment and
// password.
func iceOf(desc *webrtc.SessionDescription) (ufrag, pwd string) {
	if desc == nil {
		return "", ""
	}
	for _, line := range strings.Split(desc.SDP, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		} else if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}
