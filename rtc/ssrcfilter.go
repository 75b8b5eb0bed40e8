package rtc

// A peer may send RTP or RTCP with a new SSRC on every packet. pion keeps
// state for each SSRC it decrypts (a read stream with its buffer, replay
// and rollover state, an entry in the DTLS transport) until the call ends,
// and logs a line for each: left alone, 50,000 such packets cost parley
// over 250 MB and 50,000 log lines. Three things bound it:
//
//   - streamNet wraps the network stack pion opens its sockets with (UDP:
//     host, server-reflexive, a TURN client's; TCP to a TURN server), and
//     drops, before pion sees them, RTP packets whose SSRC the peer did
//     not declare and RTCP packets from more senders than a call has. The
//     SSRCs are in the clear in SRTP and SRTCP; relayed packets are looked
//     for inside TURN's ChannelData and Data indications.
//   - streamGuard counts the streams pion opens for SSRCs the peer did not
//     declare, after decryption, on every path: those the wire cannot show
//     (the report blocks of SRTCP are encrypted; a relay over TLS or DTLS
//     hides the packets from streamNet). Past maxStrayStreams the peer's
//     RTCP is dropped on the wire, and past twice that the call ends.
//   - rateWriter bounds pion's log lines.

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"
)

const (
	// maxDeclared bounds the SSRCs taken from the peer's session
	// description: an audio stream with its repair streams has a few.
	maxDeclared = 16
	// strayRTCPSenders is how many RTCP senders beyond the declared SSRCs
	// are let through, first come: a receiver's reports come from an SSRC
	// of its own (random in pion, 1 in a browser that only receives). A
	// peer that declares no SSRC has as many RTP streams.
	strayRTCPSenders = 4
	// maxStrayStreams is how many streams of undeclared SSRCs pion may open
	// before the peer's RTCP is dropped (twice as many end the call). A
	// call has a handful; each costs a few kB.
	maxStrayStreams = 64
	// srtp's own buffer limits, kept (BufferFactory replaces its buffers).
	rtpBufferLimit  = 1_000_000
	rtcpBufferLimit = 100_000
)

// streamGuard is one call's defence against a flood of SSRCs.
type streamGuard struct {
	pc       atomic.Pointer[webrtc.PeerConnection]
	declared atomic.Pointer[ssrcSet] // nil until the remote description is in
	mu       sync.Mutex              // for senders, and to fill declared once
	senders  ssrcSet                 // RTCP senders (and RTP, if none declared) let in
	rtpSeen  ssrcSet                 // RTP SSRCs let in when none is declared

	stray    atomic.Int64
	dropRTCP atomic.Bool
	saidRTP  atomic.Bool // the first RTP dropped is logged
	saidRTCP atomic.Bool // and the first RTCP
	logf     func(format string, args ...any)
	abuse    atomic.Pointer[func(reason string)]
}

// ssrcSet is a small set of SSRCs, held in place.
type ssrcSet struct {
	n int
	s [maxDeclared]uint32
}

func (s *ssrcSet) has(x uint32) bool {
	for _, v := range s.s[:s.n] {
		if v == x {
			return true
		}
	}
	return false
}

// add adds x if the set has fewer than max; it tells whether x is in.
func (s *ssrcSet) add(x uint32, max int) bool {
	if s.has(x) {
		return true
	}
	if s.n >= max || s.n >= len(s.s) {
		return false
	}
	s.s[s.n] = x
	s.n++
	return true
}

func newStreamGuard(logf func(string, ...any)) *streamGuard {
	return &streamGuard{logf: logf}
}

// bind tells the guard its connection, whose remote description declares
// the peer's SSRCs.
func (g *streamGuard) bind(pc *webrtc.PeerConnection) { g.pc.Store(pc) }

// onAbuse sets what ends the call when the peer opens too many streams.
func (g *streamGuard) onAbuse(f func(reason string)) { g.abuse.Store(&f) }

// peerSSRCs returns the SSRCs the peer declared, or nil before its
// description is applied.
func (g *streamGuard) peerSSRCs() *ssrcSet {
	if d := g.declared.Load(); d != nil {
		return d
	}
	pc := g.pc.Load()
	if pc == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if d := g.declared.Load(); d != nil {
		return d
	}
	rd := pc.RemoteDescription()
	if rd == nil {
		return nil
	}
	d := declaredSSRCs(rd.SDP)
	g.declared.Store(d)
	return d
}

// declaredSSRCs reads the a=ssrc lines of a session description.
func declaredSSRCs(sdp string) *ssrcSet {
	d := new(ssrcSet)
	for _, l := range strings.Split(sdp, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ssrc:")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(v, " ")
		if x, err := strconv.ParseUint(id, 10, 32); err == nil {
			d.add(uint32(x), maxDeclared)
		}
	}
	return d
}

// pass tells whether a datagram read from one of pion's UDP sockets goes
// on to pion. It only drops RTP and RTCP, bare or relayed by TURN.
func (g *streamGuard) pass(b []byte) bool {
	if len(b) < 4 {
		return true
	}
	switch {
	case b[0] >= 128 && b[0] <= 191: // RFC 7983: RTP or RTCP
		return g.passMedia(b)
	case b[0] >= 64 && b[0] <= 79: // TURN ChannelData (RFC 8656, 12.4)
		n := int(binary.BigEndian.Uint16(b[2:4]))
		p := b[4:]
		if len(p) > n {
			p = p[:n]
		}
		return len(p) < 1 || p[0] < 128 || p[0] > 191 || g.passMedia(p)
	case b[0] < 4:
		if p, ok := dataIndication(b); ok && len(p) > 0 && p[0] >= 128 && p[0] <= 191 {
			return g.passMedia(p)
		}
	}
	return true
}

// dataIndication returns the DATA of a TURN Data indication (a STUN
// message of type 0x0017, RFC 8656, 11.4).
func dataIndication(b []byte) ([]byte, bool) {
	const header = 20
	if len(b) < header || binary.BigEndian.Uint16(b[0:2]) != 0x0017 || binary.BigEndian.Uint32(b[4:8]) != 0x2112A442 {
		return nil, false
	}
	end := min(len(b), header+int(binary.BigEndian.Uint16(b[2:4])))
	for i := header; i+4 <= end; {
		typ, n := binary.BigEndian.Uint16(b[i:]), int(binary.BigEndian.Uint16(b[i+2:]))
		i += 4
		if i+n > end {
			return nil, false
		}
		if typ == 0x0013 { // DATA
			return b[i : i+n], true
		}
		i += (n + 3) &^ 3
	}
	return nil, false
}

// passMedia tells whether an RTP or RTCP packet goes on. Before the peer's
// description is in, everything does: pion cannot decrypt media before
// then, and drops it.
func (g *streamGuard) passMedia(b []byte) bool {
	if len(b) < 8 {
		return true // pion drops it as too short
	}
	d := g.peerSSRCs()
	if d == nil {
		return true
	}
	if b[1] >= 192 && b[1] <= 223 { // RTCP (RFC 5761, 4)
		if g.dropRTCP.Load() {
			return false
		}
		ssrc := binary.BigEndian.Uint32(b[4:8])
		if d.has(ssrc) {
			return true
		}
		g.mu.Lock()
		ok := g.senders.add(ssrc, strayRTCPSenders)
		g.mu.Unlock()
		if !ok && !g.saidRTCP.Swap(true) {
			g.logf("media: dropping the peer's RTCP from SSRC %d and any more senders than %d beyond those it declared", ssrc, strayRTCPSenders)
		}
		return ok
	}
	if len(b) < 12 {
		return true
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	ok := d.has(ssrc)
	if d.n == 0 {
		g.mu.Lock()
		ok = g.rtpSeen.add(ssrc, strayRTCPSenders)
		g.mu.Unlock()
	}
	if !ok && !g.saidRTP.Swap(true) {
		g.logf("media: dropping the peer's RTP of SSRC %d and any other it did not declare", ssrc)
	}
	return ok
}

// buffer is pion's BufferFactory: srtp's own buffers, counting the
// streams of SSRCs the peer did not declare.
func (g *streamGuard) buffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	limit := rtpBufferLimit
	if kind == packetio.RTCPBufferPacket {
		limit = rtcpBufferLimit
	}
	b := packetio.NewBuffer()
	b.SetLimitSize(limit)
	if d := g.peerSSRCs(); d == nil || !d.has(ssrc) {
		switch g.stray.Add(1) {
		case maxStrayStreams:
			g.dropRTCP.Store(true)
			g.logf("media: the peer sent media or reports for %d streams it never declared; its RTCP is ignored from now on", maxStrayStreams)
		case 2 * maxStrayStreams:
			reason := fmt.Sprintf("your peer sent media for over %d streams it never declared (a hostile or broken peer); the call was ended", 2*maxStrayStreams)
			g.logf("media: %s", reason)
			if f := g.abuse.Load(); f != nil {
				(*f)(reason)
			}
		}
	}
	return &srtpBuffer{b}
}

// srtpBuffer is packetio.Buffer as srtp wraps it.
type srtpBuffer struct{ *packetio.Buffer }

func (b *srtpBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b *srtpBuffer) Write(p []byte) (int, error) { return b.Buffer.Write(p, nil) }

func (b *srtpBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(p, a)
}

func (b *srtpBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	return b.Buffer.Write(p, a)
}

// streamNet is a network stack whose UDP sockets pass what they read
// through the guard.
type streamNet struct {
	transport.Net
	g *streamGuard
}

// newStreamNet wraps n, or the real network when n is nil.
func newStreamNet(n transport.Net, g *streamGuard) (*streamNet, error) {
	if n == nil {
		var err error
		if n, err = stdnet.NewNet(); err != nil {
			return nil, err
		}
	}
	return &streamNet{Net: n, g: g}, nil
}

func (n *streamNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	if u, ok := c.(transport.UDPConn); ok {
		return wrapUDP(u, n.g), nil
	}
	return &guardedPacketConn{PacketConn: c, g: n.g}, nil
}

func (n *streamNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return wrapUDP(c, n.g), nil
}

// DialTCP guards the connection to a TURN server over TCP: its stream of
// STUN messages and ChannelData is filtered frame by frame. (Over TLS the
// stream is encrypted, and passes as it is.)
func (n *streamNet) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	c, err := n.Net.DialTCP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return &guardedTCP{TCPConn: c, g: n.g}, nil
}

// wrapUDP guards a UDP socket; a real one keeps its allocation-free
// reads (pion/ice's AddrPortReaderWriter).
func wrapUDP(c transport.UDPConn, g *streamGuard) transport.UDPConn {
	gc := &guardedUDP{UDPConn: c, g: g}
	if u, ok := c.(*net.UDPConn); ok {
		return &guardedStdUDP{guardedUDP: gc, std: u}
	}
	return gc
}

type guardedPacketConn struct {
	net.PacketConn
	g *streamGuard
}

func (c *guardedPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || c.g.pass(b[:n]) {
			return n, a, err
		}
	}
}

type guardedUDP struct {
	transport.UDPConn
	g *streamGuard
}

func (c *guardedUDP) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.UDPConn.ReadFrom(b)
		if err != nil || c.g.pass(b[:n]) {
			return n, a, err
		}
	}
}

func (c *guardedUDP) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	for {
		n, a, err := c.UDPConn.ReadFromUDP(b)
		if err != nil || c.g.pass(b[:n]) {
			return n, a, err
		}
	}
}

func (c *guardedUDP) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	for {
		n, oobn, flags, addr, err = c.UDPConn.ReadMsgUDP(b, oob)
		if err != nil || c.g.pass(b[:n]) {
			return
		}
	}
}

func (c *guardedUDP) Read(b []byte) (int, error) {
	for {
		n, err := c.UDPConn.Read(b)
		if err != nil || c.g.pass(b[:n]) {
			return n, err
		}
	}
}

// guardedStdUDP is guardedUDP on a real socket.
type guardedStdUDP struct {
	*guardedUDP
	std *net.UDPConn
}

func (c *guardedStdUDP) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, a, err := c.std.ReadFromUDPAddrPort(b)
		if err != nil || c.g.pass(b[:n]) {
			return n, a, err
		}
	}
}

func (c *guardedStdUDP) WriteToAddrPort(b []byte, a netip.AddrPort) (int, error) {
	return c.std.WriteToUDPAddrPort(b, a)
}

// guardedTCP filters a stream of TURN frames (RFC 8656, 12.5). Anything
// else, TLS included, it passes through untouched from then on.
type guardedTCP struct {
	transport.TCPConn
	g       *streamGuard
	store   []byte // what was read, made once
	buf     []byte // of store, read and not yet handed on
	err     error  // the last read's, once buf is handed on
	through bool
}

// tcpStore holds the largest frame and what came after it.
const tcpStore = 2 << 16

func (c *guardedTCP) Read(p []byte) (int, error) {
	for {
		if c.through {
			if len(c.buf) > 0 {
				n := copy(p, c.buf)
				c.buf = c.buf[n:]
				return n, nil
			}
			if c.err != nil {
				return 0, c.err
			}
			return c.TCPConn.Read(p)
		}
		n := 0
		for {
			size := turnFrame(c.buf)
			if size < 0 || size > len(p) {
				c.through = n == 0 // hand on what is whole first
				break
			}
			if size == 0 || size > len(p)-n {
				break
			}
			if c.g.pass(c.buf[:size]) {
				n += copy(p[n:], c.buf[:size])
			}
			c.buf = c.buf[size:]
		}
		if n > 0 {
			return n, nil
		}
		if c.err != nil && len(c.buf) > 0 {
			c.through = true // a frame cut short: hand it on as it is
		}
		if c.through {
			continue
		}
		if c.err != nil {
			return 0, c.err
		}
		if c.store == nil {
			c.store = make([]byte, tcpStore)
		}
		k := copy(c.store, c.buf)
		m, err := c.TCPConn.Read(c.store[k:])
		c.buf, c.err = c.store[:k+m], err
	}
}

// turnFrame returns the size of the TURN frame at the start of b, as pion's
// STUNConn frames them: 0 if it is not all there yet, -1 if b starts with
// no frame.
func turnFrame(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	var size int
	switch {
	case b[0] >= 0x40 && b[0] <= 0x4F: // ChannelData, padded to 4 on a stream
		size = 4 + (int(binary.BigEndian.Uint16(b[2:4]))+3)&^3
	case b[0] < 4: // STUN
		if len(b) < 8 {
			return 0
		}
		if binary.BigEndian.Uint32(b[4:8]) != 0x2112A442 {
			return -1
		}
		size = 20 + int(binary.BigEndian.Uint16(b[2:4]))
	default:
		return -1
	}
	if len(b) < size {
		return 0
	}
	return size
}

// rateWriter passes on at most a burst of lines and then one every
// logEvery, and says how many it left out. Each Write is one line (pion
// logs through log.Logger).
type rateWriter struct {
	mu      sync.Mutex
	w       io.Writer
	lim     *rate.Limiter
	skipped int
}

const (
	// logBurst and logEvery bound pion's log: a peer can make it log a
	// line a packet. Its lines come a few a call; past 20, one in 5 s.
	logBurst = 20
	logEvery = 5 * time.Second
)

func newRateWriter(w io.Writer) *rateWriter {
	return &rateWriter{w: w, lim: rate.NewLimiter(rate.Every(logEvery), logBurst)}
}

func (r *rateWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.lim.Allow() {
		r.skipped++
		return len(p), nil
	}
	if r.skipped > 0 {
		fmt.Fprintf(r.w, "log: %d lines of pion's left out: it logged faster than one in %v\n", r.skipped, logEvery)
		r.skipped = 0
	}
	return r.w.Write(p)
}
