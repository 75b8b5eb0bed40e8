package rtc

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/packetio"
	"golang.org/x/time/rate"
)

// rtpPacket is an RTP header with the SSRC and 10 bytes of payload.
func rtpPacket(ssrc uint32) []byte {
	b := make([]byte, 22)
	b[0], b[1] = 0x80, 111
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

// rtcpPacket is an RTCP receiver report header from the SSRC.
func rtcpPacket(ssrc uint32) []byte {
	b := make([]byte, 8+14)
	b[0], b[1] = 0x80, 201
	binary.BigEndian.PutUint16(b[2:], 1)
	binary.BigEndian.PutUint32(b[4:], ssrc)
	return b
}

// channelData wraps p in TURN ChannelData, padded to 4 as on a stream.
func channelData(p []byte, pad bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0x4001)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	b = append(b, p...)
	for pad && len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// stunMessage is a STUN message of the type, with the attributes.
func stunMessage(typ uint16, attrs ...[]byte) []byte {
	var body []byte
	for _, a := range attrs {
		body = append(body, a...)
	}
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	b = binary.BigEndian.AppendUint32(b, 0x2112A442)
	b = append(b, make([]byte, 12)...)
	return append(b, body...)
}

// attr is a STUN attribute, padded.
func attr(typ uint16, v []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func dataInd(p []byte) []byte {
	return stunMessage(0x0017, attr(0x0012, []byte{0, 1, 0x12, 0x34, 1, 2, 3, 4}), attr(0x0013, p))
}

func guardWith(ssrcs ...uint32) *streamGuard {
	g := newStreamGuard(func(string, ...any) {})
	d := new(ssrcSet)
	for _, s := range ssrcs {
		d.add(s, maxDeclared)
	}
	g.declared.Store(d)
	return g
}

func TestStreamGuardPass(t *testing.T) {
	const peer = 0xA1B2C3D4
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"RTP of the declared SSRC", rtpPacket(peer), true},
		{"RTP of another SSRC", rtpPacket(peer + 1), false},
		{"RTP of SSRC 0", rtpPacket(0), false},
		{"RTCP from the declared SSRC", rtcpPacket(peer), true},
		{"ChannelData with RTP of the declared SSRC", channelData(rtpPacket(peer), false), true},
		{"ChannelData with RTP of another SSRC", channelData(rtpPacket(7), false), false},
		{"ChannelData padded, with RTP of another SSRC", channelData(rtpPacket(7)[:21], true), false},
		{"ChannelData with DTLS", channelData([]byte{22, 254, 253, 0, 0, 0, 0, 0, 0}, false), true},
		{"ChannelData with an empty payload", channelData(nil, false), true},
		{"ChannelData whose length overruns", []byte{0x40, 1, 0xFF, 0xFF, 0x80, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, false},
		{"Data indication with RTP of another SSRC", dataInd(rtpPacket(7)), false},
		{"Data indication with RTP of the declared SSRC", dataInd(rtpPacket(peer)), true},
		{"Data indication with STUN", dataInd(stunMessage(0x0001)), true},
		{"Data indication cut short", dataInd(rtpPacket(7))[:40], true},
		{"STUN binding request", stunMessage(0x0001, attr(0x0006, []byte("user"))), true},
		{"DTLS", []byte{22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{"RTP too short for an SSRC", rtpPacket(7)[:10], true},
		{"empty", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := guardWith(peer).pass(c.b); got != c.want {
				t.Errorf("pass(% x) = %v; want %v", c.b, got, c.want)
			}
		})
	}
}

func TestStreamGuardRTCPSenders(t *testing.T) {
	g := guardWith(1000)
	for i := range uint32(strayRTCPSenders) {
		if !g.pass(rtcpPacket(2000 + i)) {
			t.Errorf("RTCP from stranger %d dropped; want the first %d let in", i, strayRTCPSenders)
		}
	}
	if g.pass(rtcpPacket(3000)) {
		t.Errorf("RTCP from stranger %d let in; want only %d", strayRTCPSenders+1, strayRTCPSenders)
	}
	if !g.pass(rtcpPacket(2000)) || !g.pass(rtcpPacket(1000)) {
		t.Errorf("RTCP from a stranger let in before, or from the declared SSRC, dropped")
	}
	g.dropRTCP.Store(true)
	if g.pass(rtcpPacket(1000)) {
		t.Errorf("RTCP let in after the guard dropped RTCP")
	}
	if !g.pass(rtpPacket(1000)) {
		t.Errorf("RTP of the declared SSRC dropped with RTCP")
	}
}

// A peer that declares no SSRC has its first few.
func TestStreamGuardUndeclared(t *testing.T) {
	g := guardWith()
	for i := range uint32(strayRTCPSenders) {
		if !g.pass(rtpPacket(10 + i)) {
			t.Errorf("RTP of SSRC %d dropped; want the first %d let in", 10+i, strayRTCPSenders)
		}
	}
	if g.pass(rtpPacket(99)) {
		t.Errorf("a %d-th SSRC let in", strayRTCPSenders+1)
	}
	if !g.pass(rtpPacket(10)) {
		t.Errorf("a first SSRC dropped later")
	}
	// Before the peer's description is in, the guard drops nothing.
	if g := newStreamGuard(nil); !g.pass(rtpPacket(5)) || !g.pass(rtcpPacket(5)) {
		t.Errorf("packets dropped before the peer's SSRCs are known")
	}
}

func TestStreamGuardAllocations(t *testing.T) {
	g := guardWith(1000)
	bad, good, relayed, report := rtpPacket(7), rtpPacket(1000), channelData(rtpPacket(7), false), rtcpPacket(1000)
	if n := testing.AllocsPerRun(1000, func() {
		g.pass(bad)
		g.pass(good)
		g.pass(relayed)
		g.pass(report)
	}); n > 0 {
		t.Errorf("%v allocations a packet; want none", n)
	}
}

// BenchmarkStreamGuardPass: what the guard costs a packet, dropped or not.
func BenchmarkStreamGuardPass(b *testing.B) {
	g := guardWith(1000, 1001)
	pkts := [][]byte{rtpPacket(1001), rtpPacket(7), channelData(rtpPacket(7), false), stunMessage(1)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		g.pass(pkts[i%len(pkts)])
	}
}

func TestDeclaredSSRCs(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc-group:FID 11 12\r\na=ssrc:11 cname:x\r\na=ssrc:11 msid:a b\r\na=ssrc:12 cname:x\r\na=ssrc:junk\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	d := declaredSSRCs(sdp)
	if d.n != 2 || !d.has(11) || !d.has(12) {
		t.Errorf("declared %v; want 11 and 12", d.s[:d.n])
	}
	var many strings.Builder
	for i := range 100 {
		many.WriteString("a=ssrc:" + string(rune('0'+i%10)) + string(rune('0'+i/10)) + " cname:x\n")
	}
	if d := declaredSSRCs(many.String()); d.n != maxDeclared {
		t.Errorf("%d SSRCs kept of 100; want %d", d.n, maxDeclared)
	}
}

func TestStreamGuardBuffers(t *testing.T) {
	g := guardWith(1000)
	var abused []string
	g.onAbuse(func(r string) { abused = append(abused, r) })
	for range 10 {
		g.buffer(packetio.RTPBufferPacket, 1000)
	}
	for i := range uint32(2*maxStrayStreams - 1) {
		if i == maxStrayStreams-1 && g.dropRTCP.Load() {
			t.Errorf("RTCP dropped after %d stray streams; want after %d", i, maxStrayStreams)
		}
		g.buffer(packetio.RTCPBufferPacket, 5000+i)
	}
	if !g.dropRTCP.Load() {
		t.Errorf("RTCP not dropped after %d stray streams", 2*maxStrayStreams-1)
	}
	if len(abused) != 0 {
		t.Errorf("the call ended after %d stray streams; want after %d", 2*maxStrayStreams-1, 2*maxStrayStreams)
	}
	for i := range uint32(10) {
		g.buffer(packetio.RTPBufferPacket, 9000+i)
	}
	if len(abused) != 1 {
		t.Errorf("the call was ended %d times; want once", len(abused))
	}
	// The buffers are srtp's: packets in, packets out.
	b := g.buffer(packetio.RTPBufferPacket, 1000)
	if _, err := b.Write([]byte("one")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if n, err := b.Read(p); err != nil || string(p[:n]) != "one" {
		t.Errorf("read %q, %v; want one", p[:n], err)
	}
	b.Close()
	if _, err := b.Read(p); err != io.EOF {
		t.Errorf("read after close: %v; want EOF", err)
	}
}

// chunked is a TCP connection that reads its bytes a few at a time.
type chunked struct {
	transport.TCPConn
	r    *bytes.Reader
	size int
}

func (c *chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.size)]) }

func TestGuardedTCP(t *testing.T) {
	g := guardWith(1000)
	stunResp := stunMessage(0x0101, attr(0x0020, []byte{0, 1, 2, 3, 4, 5, 6, 7}))
	good, bad := channelData(rtpPacket(1000)[:21], true), channelData(rtpPacket(9), true)
	var in, want []byte
	for i := range 50 {
		in = append(in, stunResp...)
		want = append(want, stunResp...)
		in = append(in, bad...)
		if i%5 == 0 {
			in = append(in, good...)
			want = append(want, good...)
		}
	}
	tlsStream := append([]byte{22, 3, 3, 0, 5}, make([]byte, 300)...)
	for _, c := range []struct {
		name     string
		in, want []byte
	}{
		{"TURN frames", in, want},
		{"TLS", tlsStream, tlsStream},
		{"TURN frames then garbage", append(slicesConcat(stunResp, bad), 0xFF, 1, 2), slicesConcat(stunResp, []byte{0xFF, 1, 2})},
	} {
		for _, size := range []int{1, 7, 1500, 1 << 16} {
			conn := &guardedTCP{TCPConn: &chunked{r: bytes.NewReader(c.in), size: size}, g: g}
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("%s, read %d bytes at a time: got %d bytes, want %d", c.name, size, len(got), len(c.want))
			}
		}
	}
}

func slicesConcat(a, b []byte) []byte { return append(append([]byte(nil), a...), b...) }

// The guard on real UDP sockets, as pion/ice reads them.
func TestStreamNetUDP(t *testing.T) {
	g := guardWith(1000)
	sn, err := newStreamNet(nil, g)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sn.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ap, ok := c.(interface {
		ReadFromAddrPort([]byte) (int, netip.AddrPort, error)
	})
	if !ok {
		t.Fatal("a guarded real socket lacks ReadFromAddrPort")
	}
	pc, err := sn.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	to := c.LocalAddr()
	for _, p := range [][]byte{rtpPacket(7), rtpPacket(1000), channelData(rtpPacket(8), false), stunMessage(1)} {
		if _, err := pc.WriteTo(p, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	n, _, err := ap.ReadFromAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], rtpPacket(1000)) {
		t.Errorf("first read % x, %v; want the declared SSRC's RTP", buf[:n], err)
	}
	n, _, err = c.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], stunMessage(1)) {
		t.Errorf("second read % x, %v; want the STUN message", buf[:n], err)
	}
}

func TestRateWriter(t *testing.T) {
	var out bytes.Buffer
	w := newRateWriter(&out)
	for range 100 {
		w.Write([]byte("pc WARNING: a line\n"))
	}
	if n := strings.Count(out.String(), "\n"); n != logBurst {
		t.Errorf("%d lines of 100 written at once; want %d", n, logBurst)
	}
	w.lim = rate.NewLimiter(rate.Inf, 1) // as if time had passed
	w.Write([]byte("pc WARNING: later\n"))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got := lines[len(lines)-2]; !strings.HasPrefix(got, "log: 80 lines of pion's left out") {
		t.Errorf("line before the next one %q; want it to say 80 were left out", got)
	}
	if lines[len(lines)-1] != "pc WARNING: later" {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
}

// FuzzStreamGuard: no datagram or stream makes the guard panic, and what
// it drops is RTP or RTCP (bare or relayed).
func FuzzStreamGuard(f *testing.F) {
	for _, b := range [][]byte{rtpPacket(7), rtcpPacket(7), channelData(rtpPacket(7), true), dataInd(rtpPacket(7)), stunMessage(1), {0x40, 0, 0xFF}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g := guardWith(1000)
		if !g.pass(b) {
			relayed := len(b) > 0 && (b[0] >= 64 && b[0] <= 79 || b[0] < 4)
			if len(b) < 8 || !(b[0] >= 128 && b[0] <= 191 || relayed) {
				t.Errorf("dropped % x, not RTP or RTCP", b)
			}
		}
		conn := &guardedTCP{TCPConn: &chunked{r: bytes.NewReader(b), size: 3}, g: g}
		if got, err := io.ReadAll(conn); err != nil || len(got) > len(b) {
			t.Errorf("stream of %d bytes read as %d, %v", len(b), len(got), err)
		}
	})
}
