// Package rawpeer is a bare pion peer for tests: it speaks the standard
// form of code (base64 of the JSON session description) on loopback, and
// sends whatever a test tells it to, well-formed or hostile. It knows
// nothing of parley's own packages.
package rawpeer

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Options say what the peer's session has.
type Options struct {
	// Audio adds a sendrecv Opus track.
	Audio bool
	// Chat makes the offerer create a "chat" data channel, or the answerer
	// accept the one offered; without it an offer has no data section and
	// an answer rejects it.
	Chat bool
	// BigMessages ignores the size limit the remote advertises
	// (a=max-message-size), to send larger messages than it takes.
	BigMessages bool
}

// Peer is one pion PeerConnection on loopback.
type Peer struct {
	PC    *webrtc.PeerConnection
	Track *webrtc.TrackLocalStaticRTP // nil without Options.Audio
	// Chat is the chat channel, once there is one.
	Chat chan *webrtc.DataChannel
	// Messages has every message on the chat channel; it drops what a
	// test does not read, past its capacity.
	Messages chan webrtc.DataChannelMessage
	// Packets has the RTP packets of the remote audio, past its capacity
	// dropped.
	Packets chan *rtp.Packet

	opts      Options
	connected chan struct{}
	bound     *boundTrack // nil without Options.Audio
}

// New makes a peer. Close it when done.
func New(o Options) (*Peer, error) {
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(0)
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &Peer{
		PC: pc, opts: o,
		Chat:      make(chan *webrtc.DataChannel, 1),
		Messages:  make(chan webrtc.DataChannelMessage, 4096),
		Packets:   make(chan *rtp.Packet, 4096),
		connected: make(chan struct{}),
	}
	if o.Audio {
		p.Track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "rawpeer")
		if err == nil {
			p.bound = &boundTrack{TrackLocalStaticRTP: p.Track}
			_, err = pc.AddTrack(p.bound)
		}
		if err != nil {
			pc.Close()
			return nil, err
		}
	}
	var once bool
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected && !once {
			once = true
			close(p.connected)
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if o.Chat && dc.Label() == "chat" {
			p.watch(dc)
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case p.Packets <- pkt:
			default:
			}
		}
	})
	return p, nil
}

func (p *Peer) watch(dc *webrtc.DataChannel) {
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		select {
		case p.Messages <- m:
		default:
		}
	})
	dc.OnOpen(func() { p.Chat <- dc })
}

// Offer makes the peer the caller and returns its invite.
func (p *Peer) Offer(ctx context.Context) (string, error) {
	if p.opts.Chat {
		dc, err := p.PC.CreateDataChannel("chat", nil)
		if err != nil {
			return "", err
		}
		p.watch(dc)
	}
	offer, err := p.PC.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	return p.local(ctx, offer)
}

// Answer applies an invite and returns the answer.
func (p *Peer) Answer(ctx context.Context, invite string) (string, error) {
	desc, err := Decode(invite)
	if err != nil {
		return "", err
	}
	if err := p.PC.SetRemoteDescription(p.remote(desc)); err != nil {
		return "", err
	}
	answer, err := p.PC.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	code, err := p.local(ctx, answer)
	if err != nil || p.opts.Chat {
		return code, err
	}
	// Told the remote only: pion itself cannot answer without the section.
	desc = *p.PC.LocalDescription()
	desc.SDP = rejectData(desc.SDP)
	return Encode(desc), nil
}

// remote applies Options to a remote session description.
func (p *Peer) remote(desc webrtc.SessionDescription) webrtc.SessionDescription {
	if p.opts.BigMessages {
		var lines []string
		for _, l := range strings.Split(desc.SDP, "\r\n") {
			if strings.HasPrefix(l, "a=max-message-size:") {
				l = "a=max-message-size:16777216"
			}
			lines = append(lines, l)
		}
		desc.SDP = strings.Join(lines, "\r\n")
	}
	return desc
}

// Accept applies the answer to the peer's offer.
func (p *Peer) Accept(answer string) error {
	desc, err := Decode(answer)
	if err != nil {
		return err
	}
	return p.PC.SetRemoteDescription(p.remote(desc))
}

func (p *Peer) local(ctx context.Context, desc webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(desc); err != nil {
		return "", err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return Encode(*p.PC.LocalDescription()), nil
}

// WaitConnected waits for the connection.
func (p *Peer) WaitConnected(ctx context.Context) error {
	select {
	case <-p.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rawpeer: not connected: %w", ctx.Err())
	}
}

// WaitChat returns the open chat channel.
func (p *Peer) WaitChat(ctx context.Context) (*webrtc.DataChannel, error) {
	select {
	case dc := <-p.Chat:
		p.Chat <- dc
		return dc, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("rawpeer: no chat channel: %w", ctx.Err())
	}
}

// Close closes the connection.
func (p *Peer) Close() error { return p.PC.Close() }

// rejectData sets the port of an answer's data section to 0, as a stack
// without data channels answers.
func rejectData(s string) string {
	return strings.Replace(s, "m=application 9 ", "m=application 0 ", 1)
}

// Encode returns the standard form of a session description.
func Encode(desc webrtc.SessionDescription) string {
	j, _ := json.Marshal(desc)
	return base64.StdEncoding.EncodeToString(j)
}

// Decode parses the standard form.
func Decode(code string) (webrtc.SessionDescription, error) {
	var desc webrtc.SessionDescription
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code))
	if err != nil {
		return desc, err
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		return desc, err
	}
	if desc.SDP == "" {
		return desc, errors.New("rawpeer: no session description")
	}
	return desc, nil
}

// Chat frames, as parley's chat protocol lays them out (rtc/frame.go).
func Message(id uint64, text string) []byte {
	return append(binary.AppendUvarint([]byte{1}, id), text...)
}

// Ack acknowledges a message.
func Ack(id uint64) []byte { return binary.AppendUvarint([]byte{2}, id) }

// Bye says the peer hangs up.
func Bye() []byte { return []byte{3} }

// Mute says whether the peer's microphone is muted.
func Mute(on bool) []byte {
	if on {
		return []byte{4, 1}
	}
	return []byte{4, 0}
}

// ParseMessage returns the id and text of a message frame.
func ParseMessage(b []byte) (id uint64, text string, ok bool) {
	if len(b) < 2 || b[0] != 1 {
		return 0, "", false
	}
	id, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, "", false
	}
	return id, string(b[1+n:]), true
}

// Opus is a tiny valid Opus packet: a 20 ms CELT frame of silence.
var Opus = []byte{0xF8, 0xFF, 0xFE}

// SendAudio writes one RTP packet with the given header fields.
func (p *Peer) SendAudio(seq uint16, ts uint32, payload []byte) error {
	return p.Track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
}

// boundTrack is the audio track, keeping what pion binds it to, so that
// packets can also be written with any SSRC (WriteAs).
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	ctx atomic.Pointer[webrtc.TrackLocalContext]
}

func (t *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		t.ctx.Store(&ctx)
	}
	return p, err
}

// ErrNotBound is WriteAs's error before the track is sending.
var ErrNotBound = errors.New("rawpeer: the audio track is not bound yet")

// WriteAs writes one RTP packet on the audio track's stream with the
// header as given, its SSRC included (the track itself rewrites the SSRC
// to its own). The payload type is the track's.
func (p *Peer) WriteAs(h rtp.Header, payload []byte) error {
	ctx := p.bound.ctx.Load()
	if ctx == nil {
		return ErrNotBound
	}
	h.Version = 2
	h.PayloadType = uint8((*ctx).CodecParameters()[0].PayloadType)
	_, err := (*ctx).WriteStream().WriteRTP(&h, payload)
	return err
}

// SSRC is the SSRC of the audio track, once bound.
func (p *Peer) SSRC() uint32 {
	if ctx := p.bound.ctx.Load(); ctx != nil {
		return uint32((*ctx).SSRC())
	}
	return 0
}

// Every runs f every d until it returns false or ctx is done.
func Every(ctx context.Context, d time.Duration, f func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for f() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// Churn opens channels and waits for the remote to close them, per at a
// time, rounds times, then closes its side of each: what a peer probing
// for leaks does. It fails if the remote leaves one open until ctx ends.
func (p *Peer) Churn(ctx context.Context, rounds, per int) error {
	for r := 0; r < rounds; r++ {
		closed := make(chan struct{}, per)
		dcs := make([]*webrtc.DataChannel, per)
		for i := range dcs {
			dc, err := p.PC.CreateDataChannel(fmt.Sprintf("churn-%d-%d", r, i), nil)
			if err != nil {
				return err
			}
			dc.OnClose(func() { closed <- struct{}{} })
			dcs[i] = dc
		}
		for i := 0; i < per; i++ {
			select {
			case <-closed:
			case <-ctx.Done():
				return fmt.Errorf("rawpeer: round %d: %d of %d channels still open: %w", r, per-i, per, ctx.Err())
			}
		}
		for _, dc := range dcs {
			dc.Close()
		}
	}
	return nil
}
