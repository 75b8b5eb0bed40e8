package rtc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The foreign peer of these tests is a raw pion PeerConnection with a
// media engine and sections of its own choosing, on loopback: what a
// WebRTC app other than parley, or someone hostile, may send. Its codes
// are in the standard form.

// foreignOpts says what the foreign peer offers or answers with.
type foreignOpts struct {
	// codecs are the audio codecs of its media engine (MIME types);
	// none means those of audio.
	codecs []string
	// audio is one sendrecv audio section (offer) or track (answer)
	// per entry, of that MIME type.
	audio []string
	// sendOnly makes the audio sections sendonly.
	sendOnly bool
	// video is the number of recvonly video sections it offers.
	video int
	// data offers a data channel.
	data bool
	// munge edits its session description before it is handed over.
	munge func(string) string
}

// foreign is a foreign peer.
type foreign struct {
	t      *testing.T
	o      foreignOpts
	pc     *webrtc.PeerConnection
	tracks []*rawTrack
	log    *syncBuffer

	dcs   chan *webrtc.DataChannel // its data channel, once open
	msgs  chan []byte              // what parley sent on it
	heard atomic.Int64             // Opus packets from parley

	stopSend chan struct{}
	sending  sync.WaitGroup
}

func newForeign(t *testing.T, o foreignOpts) *foreign {
	t.Helper()
	f := &foreign{t: t, o: o, log: &syncBuffer{}, dcs: make(chan *webrtc.DataChannel, 1), msgs: make(chan []byte, 64), stopSend: make(chan struct{})}
	codecs := o.codecs
	if codecs == nil {
		codecs = o.audio
	}
	var me webrtc.MediaEngine
	for _, mime := range codecs {
		c := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 8000}, PayloadType: 0}
		if mime == webrtc.MimeTypeOpus {
			c = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}
		}
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil && !strings.Contains(err.Error(), "already") {
			t.Fatal(err)
		}
	}
	if o.video > 0 {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return slices.Contains(LoopbackInterfaces(), name) })
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.LoggerFactory = &logging.DefaultLoggerFactory{Writer: f.log, DefaultLogLevel: logging.LogLevelWarn}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	f.pc = pc
	t.Cleanup(func() {
		close(f.stopSend)
		f.sending.Wait()
		if err := pc.Close(); err != nil {
			t.Errorf("close the foreign peer: %v", err)
		}
		if t.Failed() {
			t.Logf("the foreign peer's log:\n%s", f.log.String())
		}
	})
	pc.OnDataChannel(f.attach)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if p.PayloadType == opusPayloadType {
				f.heard.Add(1)
			}
		}
	})
	return f
}

// attach keeps the data channel's messages, and hands it over once open.
func (f *foreign) attach(dc *webrtc.DataChannel) {
	dc.OnOpen(func() { f.dcs <- dc })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		select {
		case f.msgs <- append([]byte(nil), m.Data...):
		default:
		}
	})
}

// addAudio adds the foreign peer's audio tracks, one section each.
func (f *foreign) addAudio() {
	dir := webrtc.RTPTransceiverDirectionSendrecv
	if f.o.sendOnly {
		dir = webrtc.RTPTransceiverDirectionSendonly
	}
	for i, mime := range f.o.audio {
		tr := &rawTrack{id: fmt.Sprintf("audio%d", i), mime: mime}
		if _, err := f.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			f.t.Fatal(err)
		}
		f.tracks = append(f.tracks, tr)
	}
}

// offer makes the foreign peer's offer, in the standard form.
func (f *foreign) offer() string {
	f.t.Helper()
	f.addAudio()
	for range f.o.video {
		if _, err := f.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			f.t.Fatal(err)
		}
	}
	if f.o.data {
		dc, err := f.pc.CreateDataChannel("chat", nil)
		if err != nil {
			f.t.Fatal(err)
		}
		f.attach(dc)
	}
	desc, err := f.pc.CreateOffer(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.gather(desc)
}

// answer applies parley's invite and returns the foreign peer's answer.
func (f *foreign) answer(invite string) string {
	f.t.Helper()
	offer, err := decodeSDPForm(invite)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.pc.SetRemoteDescription(offer); err != nil {
		f.t.Fatalf("the foreign peer: apply parley's invite: %v", err)
	}
	for i, mime := range f.o.audio {
		tr := &rawTrack{id: fmt.Sprintf("audio%d", i), mime: mime}
		if _, err := f.pc.AddTrack(tr); err != nil {
			f.t.Fatal(err)
		}
		f.tracks = append(f.tracks, tr)
	}
	desc, err := f.pc.CreateAnswer(nil)
	if err != nil {
		f.t.Fatalf("the foreign peer: answer: %v", err)
	}
	return f.gather(desc)
}

func (f *foreign) gather(desc webrtc.SessionDescription) string {
	f.t.Helper()
	done := webrtc.GatheringCompletePromise(f.pc)
	if err := f.pc.SetLocalDescription(desc); err != nil {
		f.t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		f.t.Fatal("the foreign peer gathered no candidates in 5 s")
	}
	local := *f.pc.LocalDescription()
	if f.o.munge != nil {
		local.SDP = f.o.munge(local.SDP)
	}
	return encodeSDPForm(&local)
}

// accept applies parley's answer.
func (f *foreign) accept(answer string) {
	f.t.Helper()
	desc, err := decodeSDPForm(answer)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.pc.SetRemoteDescription(desc); err != nil {
		f.t.Fatalf("the foreign peer: apply parley's answer: %v\n%s", err, desc.SDP)
	}
}

// send sends a packet of Opus silence every 10 ms on each of its tracks
// that is bound, and on extra, an SSRC no section declares, through the
// first track, from once each track has sent first packets.
func (f *foreign) send(extra uint32, first int) {
	f.sending.Add(1)
	go func() {
		defer f.sending.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(1); ; seq++ {
			for _, tr := range f.tracks {
				tr.send(0, seq)
			}
			if extra != 0 && int(seq) > first && len(f.tracks) > 0 {
				f.tracks[0].send(extra, seq)
			}
			select {
			case <-tick.C:
			case <-f.stopSend:
				return
			}
		}
	}()
}

// channel waits for the foreign peer's data channel to open.
func (f *foreign) channel() *webrtc.DataChannel {
	f.t.Helper()
	select {
	case dc := <-f.dcs:
		return dc
	case <-time.After(10 * time.Second):
		f.t.Fatal("the foreign peer's data channel did not open within 10 s")
		return nil
	}
}

// rawTrack is an audio track that writes packets itself, on its own SSRC
// or on any other.
type rawTrack struct {
	id, mime string

	mu   sync.Mutex
	ws   webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
}

func (r *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, r.mime) {
			r.mu.Lock()
			r.ws, r.ssrc, r.pt = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(c.PayloadType)
			r.mu.Unlock()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (r *rawTrack) Unbind(webrtc.TrackLocalContext) error {
	r.mu.Lock()
	r.ws = nil
	r.mu.Unlock()
	return nil
}

func (r *rawTrack) ID() string                { return r.id }
func (r *rawTrack) RID() string               { return "" }
func (r *rawTrack) StreamID() string          { return "foreign" }
func (r *rawTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// boundSSRC returns the SSRC the track sends on, or 0 when it is unbound.
func (r *rawTrack) boundSSRC() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ws == nil {
		return 0
	}
	return r.ssrc
}

// send writes a packet of Opus silence (20 ms, CELT) on ssrc, or on the
// track's own SSRC when ssrc is 0, if the track is bound.
func (r *rawTrack) send(ssrc uint32, seq uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ws == nil {
		return
	}
	if ssrc == 0 {
		ssrc = r.ssrc
	}
	h := rtp.Header{Version: 2, PayloadType: r.pt, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: ssrc}
	_, _ = r.ws.WriteRTP(&h, []byte{0xf8, 0xff, 0xfe})
}

// The edits of foreignOpts.munge.

func dropBundle(s string) string { return dropLines(s, "a=group:BUNDLE") }
func dropMids(s string) string   { return dropLines(s, "a=mid:") }
func dropSSRCs(s string) string  { return dropLines(s, "a=ssrc:") }
func dropCands(s string) string  { return dropLines(s, "a=candidate:") }

func dropLines(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(line, prefix) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// inactive makes every section a=inactive.
func inactive(s string) string {
	for _, d := range []string{"a=sendrecv", "a=sendonly", "a=recvonly"} {
		s = strings.ReplaceAll(s, d+"\r\n", "a=inactive\r\n")
	}
	return s
}

// sections returns the port of each media section of a code in the
// standard form, by mid, and its BUNDLE group.
func sections(t *testing.T, code string) (ports map[string]int, bundle string) {
	t.Helper()
	desc, err := decodeSDPForm(code)
	if err != nil {
		t.Fatal(err)
	}
	var s sdp.SessionDescription
	if err := s.UnmarshalString(desc.SDP); err != nil {
		t.Fatal(err)
	}
	ports = map[string]int{}
	for i, m := range s.MediaDescriptions {
		mid, ok := m.Attribute(sdp.AttrKeyMID)
		if !ok {
			t.Errorf("section %d (%s) has no mid:\n%s", i, m.MediaName.Media, desc.SDP)
		}
		ports[mid] = m.MediaName.Port.Value
	}
	bundle, _ = s.Attribute(sdp.AttrKeyGroup)
	return ports, bundle
}

// foreignCall is parley's side of a call with a foreign peer.
type foreignCall struct {
	*Call
	log   *syncBuffer
	ssrcs chan uint32 // the SSRC of each Opus packet received
}

func newForeignCall(t *testing.T) *foreignCall {
	t.Helper()
	cfg := loopbackConfig()
	cfg.SDP = true
	fc := &foreignCall{log: &syncBuffer{}, ssrcs: make(chan uint32, 4096)}
	cfg.Log = fc.log
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fc.Call = c
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("parley's log:\n%s", fc.log.String())
		}
	})
	c.SetAudioReceiver(func(p *rtp.Packet, _ time.Time) {
		if p.PayloadType != opusPayloadType {
			return
		}
		select {
		case fc.ssrcs <- p.SSRC:
		default:
		}
	})
	return fc
}

// audioFlows checks, once the foreign peer is sending, that Opus packets
// flow both ways, and returns the SSRCs parley received them on.
func audioFlows(t *testing.T, c *foreignCall, f *foreign) map[uint32]int {
	t.Helper()
	got, n := map[uint32]int{}, 0
	deadline := time.After(10 * time.Second)
	for seq := uint16(1); f.heard.Load() < 10 || n < 10; seq++ {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8, 0xff, 0xfe}}
		if err := c.WriteAudio(p); err != nil {
			t.Fatal(err)
		}
		select {
		case ssrc := <-c.ssrcs:
			got[ssrc]++
			n++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("audio within 10 s: the foreign peer heard %d packets, parley %v", f.heard.Load(), got)
		}
	}
	return got
}

// chatFlows checks that chat flows both ways with the foreign peer, which
// speaks parley's frames.
func chatFlows(t *testing.T, c *foreignCall, f *foreign) {
	t.Helper()
	dc := f.channel()
	if err := dc.Send(frame{typ: frameMessage, id: 1, text: "hello from the foreign peer"}.marshal()); err != nil {
		t.Fatal(err)
	}
	if m := next[ChatEvent](t, c.Call); m.Text != "hello from the foreign peer" || m.ID != 1 {
		t.Errorf("parley got %+v; want message 1 from the foreign peer", m)
	}
	id, err := c.Send("hello from parley")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-f.msgs:
			fr, err := parseFrame(b)
			if err != nil || fr.typ != frameMessage {
				continue // the ack of message 1
			}
			if fr.id != id || fr.text != "hello from parley" {
				t.Errorf("the foreign peer got message %d %q; want %d %q", fr.id, fr.text, id, "hello from parley")
			}
			return
		case <-deadline:
			t.Fatal("parley's message did not reach the foreign peer within 10 s")
		}
	}
}

// TestForeignOffers has parley answer offers from foreign peers (Join, in
// the standard form). Each is refused with its own one-line message, or
// answered; an answered call connects, with chat where the offer has a
// data channel, audio both ways where it has Opus, and the sections
// parley does not take rejected with port 0.
func TestForeignOffers(t *testing.T) {
	opus, pcmu := webrtc.MimeTypeOpus, webrtc.MimeTypePCMU
	for _, tc := range []struct {
		name string
		o    foreignOpts
		// refusal is Join's error; "" when it answers.
		refusal string
		// What the answered call has, and the answer's ports by mid.
		audio, chat bool
		ports       map[string]int
	}{
		{
			name:    "PCMU only, no data channel",
			o:       foreignOpts{audio: []string{pcmu}},
			refusal: "this invite's audio is not Opus and it has no data channel for chat; ask your peer to offer Opus audio or a data channel",
		},
		{
			name:    "Opus and a data channel, without BUNDLE",
			o:       foreignOpts{audio: []string{opus}, data: true, munge: dropBundle},
			refusal: "this invite does not bundle its media on one connection (no BUNDLE group), which parley needs; ask your peer to set their app's bundle policy to max-bundle",
		},
		{
			name:    "a data channel alone, without BUNDLE",
			o:       foreignOpts{data: true, munge: dropBundle},
			refusal: "this invite does not bundle its media on one connection (no BUNDLE group), which parley needs; ask your peer to set their app's bundle policy to max-bundle",
		},
		{
			name:    "video only",
			o:       foreignOpts{video: 1},
			refusal: "this invite offers only video, and parley has no video; ask your peer to invite with audio or a data channel for chat",
		},
		{
			name:    "inactive Opus only",
			o:       foreignOpts{audio: []string{opus}, munge: inactive},
			refusal: "this invite offers neither audio nor a data channel for chat; ask your peer to invite with Opus audio or a data channel",
		},
		{
			name:    "no mids",
			o:       foreignOpts{audio: []string{opus}, data: true, munge: dropMids},
			refusal: "this invite does not give each media section an id of its own (a=mid), which parley needs; ask your peer to invite from an up-to-date WebRTC app",
		},
		{
			name:  "Opus and a data channel",
			o:     foreignOpts{audio: []string{opus}, data: true},
			audio: true, chat: true,
			ports: map[string]int{"0": 9, "1": 9},
		},
		{
			name:  "Opus only",
			o:     foreignOpts{audio: []string{opus}},
			audio: true,
			ports: map[string]int{"0": 9},
		},
		{
			name:  "a data channel only",
			o:     foreignOpts{data: true},
			chat:  true,
			ports: map[string]int{"0": 9},
		},
		{
			name:  "PCMU and a data channel",
			o:     foreignOpts{audio: []string{pcmu}, data: true},
			chat:  true,
			ports: map[string]int{"0": 0, "1": 9},
		},
		{
			name:  "video and a data channel",
			o:     foreignOpts{video: 1, data: true},
			chat:  true,
			ports: map[string]int{"0": 0, "1": 9},
		},
		{
			name:  "Opus sent only, and a data channel",
			o:     foreignOpts{audio: []string{opus}, sendOnly: true, data: true},
			chat:  true,
			ports: map[string]int{"0": 9, "1": 9},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newForeign(t, tc.o)
			c := newForeignCall(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			answer, err := c.Join(ctx, f.offer())
			if tc.refusal != "" {
				var ce *CodeError
				if err == nil || err.Error() != tc.refusal || !errors.As(err, &ce) {
					t.Fatalf("Join(%s) = %v; want %q", tc.name, err, tc.refusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("Join(%s) = %v; want an answer", tc.name, err)
			}
			if ports, _ := sections(t, answer); !equalPorts(ports, tc.ports) {
				t.Errorf("answer's ports by mid = %v; want %v", ports, tc.ports)
			}
			f.accept(answer)
			waitConnected(t, c.Call)
			if tc.chat {
				chatFlows(t, c, f)
			}
			switch {
			case tc.audio:
				f.send(0, 0)
				audioFlows(t, c, f)
			case tc.o.sendOnly:
				// Parley only listens: the foreign peer's audio arrives.
				f.send(0, 0)
				select {
				case <-c.ssrcs:
				case <-time.After(10 * time.Second):
					t.Fatal("no audio from the foreign peer within 10 s")
				}
			}
		})
	}
}

func equalPorts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestExtraStreamsRejected: of an offer with three Opus audio sections
// and a video one, parley takes the first audio section and rejects the
// others with port 0, outside the BUNDLE group; and though the peer sends
// on every audio track and on an SSRC it never declared, only the first
// audio stream reaches the call's receiver.
func TestExtraStreamsRejected(t *testing.T) {
	opus := webrtc.MimeTypeOpus
	f := newForeign(t, foreignOpts{audio: []string{opus, opus, opus}, video: 1, data: true})
	c := newForeignCall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := c.Join(ctx, f.offer())
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	want := map[string]int{"0": 9, "1": 0, "2": 0, "3": 0, "4": 9}
	if ports, bundle := sections(t, answer); !equalPorts(ports, want) || bundle != "BUNDLE 0 4" {
		t.Errorf("answer's ports by mid = %v, group %q; want %v, BUNDLE 0 4", ports, bundle, want)
	}
	f.accept(answer)
	waitConnected(t, c.Call)
	const extra = 0x5eed
	f.send(extra, 0)
	got := audioFlows(t, c, f)
	// More time for the other streams to show up, if they could.
	for deadline := time.After(300 * time.Millisecond); ; {
		select {
		case ssrc := <-c.ssrcs:
			got[ssrc]++
			continue
		case <-deadline:
		}
		break
	}
	main := f.tracks[0].boundSSRC()
	if len(got) != 1 || got[main] == 0 {
		t.Errorf("parley received packets on SSRCs %v; want only the first track's, %d (the others: %d, %d, and %d undeclared)",
			got, main, f.tracks[1].boundSSRC(), f.tracks[2].boundSSRC(), extra)
	}
	chatFlows(t, c, f)
}

// TestExtraSSRCIgnored: an offer with one audio section and no a=ssrc
// lines makes pion open a track for each SSRC the peer sends on. Only the
// first reaches the call's receiver; the other is left unread.
func TestExtraSSRCIgnored(t *testing.T) {
	f := newForeign(t, foreignOpts{audio: []string{webrtc.MimeTypeOpus}, munge: dropSSRCs})
	c := newForeignCall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := c.Join(ctx, f.offer())
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	f.accept(answer)
	waitConnected(t, c.Call)
	const extra = 0x5eed
	// The extra SSRC starts after 20 packets on the track's own.
	f.send(extra, 20)
	got := audioFlows(t, c, f)
	// Until pion has opened the extra track, and parley ignored it or
	// fed it to the receiver.
	const ignored = "ignoring an extra audio stream"
	for deadline := time.After(10 * time.Second); len(got) < 2 && !strings.Contains(c.log.String(), ignored); {
		select {
		case ssrc := <-c.ssrcs:
			got[ssrc]++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("pion opened no track for the extra SSRC within 10 s (parley got %v)", got)
		}
	}
	main := f.tracks[0].boundSSRC()
	if len(got) != 1 || got[main] == 0 || !strings.Contains(c.log.String(), ignored) {
		t.Errorf("parley received packets on SSRCs %v; want only %d, the extra %d ignored", got, main, extra)
	}
}

// TestForeignAnswers has parley's invite (standard form) answered by
// foreign peers: each answer is refused with its own one-line message, or
// applied and the call connects, with what the answer takes working.
func TestForeignAnswers(t *testing.T) {
	opus, pcmu := webrtc.MimeTypeOpus, webrtc.MimeTypePCMU
	for _, tc := range []struct {
		name        string
		o           foreignOpts
		refusal     string
		audio, chat bool
		route       Route
	}{
		{
			name: "Opus and chat", o: foreignOpts{audio: []string{opus}},
			audio: true, chat: true, route: RouteHost,
		},
		{
			// It connects through the peer-reflexive candidate its
			// checks reveal.
			name: "no candidates", o: foreignOpts{audio: []string{opus}, munge: dropCands},
			audio: true, chat: true, route: RoutePrflx,
		},
		{
			name: "PCMU only", o: foreignOpts{codecs: []string{pcmu}},
			chat: true, route: RouteHost,
		},
		{
			name: "chat rejected", o: foreignOpts{audio: []string{opus}, munge: func(s string) string {
				return strings.Replace(s, "m=application 9 ", "m=application 0 ", 1)
			}},
			audio: true, route: RouteHost,
		},
		{
			name: "no BUNDLE", o: foreignOpts{audio: []string{opus}, munge: dropBundle},
			refusal: "this answer does not bundle its media on one connection (no BUNDLE group), which parley needs; ask your peer to set their app's bundle policy to max-bundle",
		},
		{
			name: "audio and chat rejected", o: foreignOpts{audio: []string{opus}, munge: func(s string) string {
				s = strings.Replace(s, "m=application 9 ", "m=application 0 ", 1)
				return strings.Replace(s, "m=audio 9 ", "m=audio 0 ", 1)
			}},
			refusal: "this answer takes neither the audio nor the chat of your invite; ask your peer to answer from an app with Opus audio or a data channel",
		},
		{
			name: "audio other than Opus", o: foreignOpts{audio: []string{opus}, munge: func(s string) string {
				return strings.ReplaceAll(s, "opus/48000/2", "PCMU/8000")
			}},
			refusal: "this answer picks audio other than the Opus your invite offered; ask your peer to answer from an app with Opus audio",
		},
		{
			name: "no mids", o: foreignOpts{audio: []string{opus}, munge: dropMids},
			refusal: "this answer does not give each media section an id of its own (a=mid), which parley needs; ask your peer to answer from an up-to-date WebRTC app",
		},
		{
			name: "a section short", o: foreignOpts{audio: []string{opus}, munge: func(s string) string {
				s, _, _ = strings.Cut(s, "m=application")
				return s
			}},
			refusal: ErrWrongInvite.Error(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newForeign(t, tc.o)
			c := newForeignCall(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			invite, err := c.Invite(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Accept(f.answer(invite))
			if tc.refusal != "" {
				if err == nil || err.Error() != tc.refusal {
					t.Fatalf("Accept(%s) = %v; want %q", tc.name, err, tc.refusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("Accept(%s) = %v; want it applied", tc.name, err)
			}
			s := waitConnected(t, c.Call)
			if s.Route != tc.route || s.Detail != connectedDetail(tc.route) {
				t.Errorf("connected by route %q (%q); want %q", s.Route, s.Detail, tc.route)
			}
			if tc.chat {
				chatFlows(t, c, f)
			}
			if tc.audio {
				f.send(0, 0)
				audioFlows(t, c, f)
			}
		})
	}
}

// offerSDP writes an offer: a session part with the BUNDLE group given
// (none if ""), then the sections, each "kind port direction codec" with
// its mid in the order given ("0", "1", ...); codec is opus, pcmu, vp8,
// data or sctpmap (a data channel in the older form).
func offerSDP(bundle string, sections ...string) webrtc.SessionDescription {
	var b strings.Builder
	w := func(s string) { b.WriteString(s + "\r\n") }
	w("v=0")
	w("o=- 1 2 IN IP4 0.0.0.0")
	w("s=-")
	w("t=0 0")
	if bundle != "" {
		w("a=group:BUNDLE " + bundle)
	}
	for i, sec := range sections {
		f := strings.Fields(sec)
		kind, port, dir, codec := f[0], f[1], f[2], f[3]
		switch codec {
		case "opus":
			w(fmt.Sprintf("m=%s %s UDP/TLS/RTP/SAVPF 111", kind, port))
			w("a=rtpmap:111 opus/48000/2")
		case "pcmu":
			w(fmt.Sprintf("m=%s %s UDP/TLS/RTP/SAVPF 0", kind, port))
			w("a=rtpmap:0 PCMU/8000")
		case "vp8":
			w(fmt.Sprintf("m=%s %s UDP/TLS/RTP/SAVPF 96", kind, port))
			w("a=rtpmap:96 VP8/90000")
		case "data":
			w(fmt.Sprintf("m=%s %s UDP/DTLS/SCTP webrtc-datachannel", kind, port))
		case "sctpmap": // the older form, as aiortc offers it
			w(fmt.Sprintf("m=%s %s DTLS/SCTP 5000", kind, port))
			w("a=sctpmap:5000 webrtc-datachannel 65535")
		}
		w("c=IN IP4 0.0.0.0")
		w(fmt.Sprintf("a=mid:%d", i))
		w("a=" + dir)
	}
	return webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: b.String()}
}

func TestPlanOffer(t *testing.T) {
	for _, tc := range []struct {
		name string
		desc webrtc.SessionDescription
		want offerPlan
		err  error
	}{
		{"unreadable", webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "v=0\r\nnot a session\r\n"}, offerPlan{}, errOfferUnreadable},
		{"no sections", offerSDP("0"), offerPlan{}, errOfferUnreadable},
		{"a text section", offerSDP("0 1", "audio 9 sendrecv opus", "text 9 sendrecv data"), offerPlan{}, errOfferOddMedia},
		{"Opus and data", offerSDP("0 1", "audio 9 sendrecv opus", "application 9 sendrecv data"),
			offerPlan{audio: "0", data: "1", mids: []string{"0", "1"}}, nil},
		{"PCMU first, then Opus", offerSDP("0 1 2", "audio 9 sendrecv pcmu", "audio 9 sendrecv opus", "application 9 sendrecv data"),
			offerPlan{audio: "1", data: "2", reject: []string{"0"}, mids: []string{"0", "1", "2"}}, nil},
		{"Opus sent only", offerSDP("0", "audio 9 sendonly opus"),
			offerPlan{audio: "0", sendOnly: true, mids: []string{"0"}}, nil},
		{"Opus disabled by the offerer", offerSDP("1", "audio 0 sendrecv opus", "application 9 sendrecv data"),
			offerPlan{data: "1", reject: []string{"0"}, mids: []string{"0", "1"}}, nil},
		{"Opus and data in the older form", offerSDP("0 1", "audio 9 sendrecv opus", "application 9 sendrecv sctpmap"),
			offerPlan{audio: "0", data: "1", mids: []string{"0", "1"}}, nil},
		{"two data channels", offerSDP("0 1", "application 9 sendrecv data", "application 9 sendrecv data"),
			offerPlan{data: "0", reject: []string{"1"}, mids: []string{"0", "1"}}, nil},
		{"two audio, video, data", offerSDP("0 1 2 3", "audio 9 sendrecv opus", "audio 9 sendrecv opus", "video 9 recvonly vp8", "application 9 sendrecv data"),
			offerPlan{audio: "0", data: "3", reject: []string{"1", "2"}, mids: []string{"0", "1", "2", "3"}}, nil},
		{"data outside the group", offerSDP("0", "audio 9 sendrecv opus", "application 9 sendrecv data"), offerPlan{}, errOfferNoBundle},
		{"no group", offerSDP("", "application 9 sendrecv data"), offerPlan{}, errOfferNoBundle},
		{"PCMU only", offerSDP("0", "audio 9 sendrecv pcmu"), offerPlan{}, errOfferNoOpus},
		{"video only", offerSDP("0", "video 9 sendrecv vp8"), offerPlan{}, errOfferVideoOnly},
		{"inactive Opus and video", offerSDP("0 1", "audio 9 inactive opus", "video 9 sendrecv vp8"), offerPlan{}, errOfferVideoOnly},
		{"inactive Opus", offerSDP("0", "audio 9 inactive opus"), offerPlan{}, errOfferNothing},
	} {
		got, err := planOffer(tc.desc)
		if err != tc.err || err == nil && !equalPlans(got, tc.want) {
			t.Errorf("planOffer(%s) = %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func equalPlans(a, b offerPlan) bool {
	return a.audio == b.audio && a.data == b.data && a.sendOnly == b.sendOnly &&
		slices.Equal(a.reject, b.reject) && slices.Equal(a.mids, b.mids)
}

// TestUnbundle: the offer parley applies leaves the rejected sections out
// of the BUNDLE group; where that drops the group's first section, its
// candidates and ICE credentials go to the new first.
func TestUnbundle(t *testing.T) {
	offer := offerSDP("0 1", "audio 9 sendrecv pcmu", "application 9 sendrecv data")
	offer.SDP = strings.Replace(offer.SDP, "a=mid:0\r\n", "a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:efghijklmnopqrstuvwxyz01\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n", 1)
	plan, err := planOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	var s sdp.SessionDescription
	if err := s.UnmarshalString(plan.unbundle(offer).SDP); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Attribute(sdp.AttrKeyGroup); g != "BUNDLE 1" {
		t.Errorf("group %q; want BUNDLE 1", g)
	}
	has := func(m *sdp.MediaDescription, key string) bool { _, ok := m.Attribute(key); return ok }
	audio, data := s.MediaDescriptions[0], s.MediaDescriptions[1]
	if has(audio, "candidate") || !has(data, "candidate") || !has(data, "end-of-candidates") || !has(data, "ice-ufrag") || !has(data, "ice-pwd") {
		t.Errorf("the transport did not move to section 1:\n%s", plan.unbundle(offer).SDP)
	}
	if !has(audio, "ice-ufrag") {
		t.Errorf("section 0 lost its ICE credentials")
	}
}
