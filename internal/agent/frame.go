// Package agent carries a call's sound between two computers over a
// stream, for 'parley ssh': the laptop runs an audio agent, which owns
// the microphone and speaker, and a parley on a remote host reached by
// SSH uses it as its sound. The stream is a unix socket that ssh forwards
// (-R REMOTE_SOCKET:LOCAL_SOCKET).
//
// What crosses is Opus, never PCM: the agent encodes the microphone and
// decodes the peer's packets in its jitter buffer, on the laptop's sound
// clock, exactly as a call with local devices does (a voice.Session); the
// remote parley only relays RTP between the call and the socket.
//
//	laptop: mic ─► voice.Session ─► Link ═╗            ╔═► rtc.Call ══► peer
//	                                      ╚═ socket ═╗ ║
//	laptop: speaker ◄─ jitter ◄─ Link ◄══════════════╩═╩══ rtc.Call ◄══ peer
//
// # The stream
//
// Each side first writes a hello: the 8 bytes "PARLEYAG" and a big-endian
// uint16 version. The remote (the client) writes first; the agent reads
// it and always answers with its own, then closes the stream if the
// versions differ, so that each side can say which versions met. A peer
// that is not parley, or another version, is refused with one clear line.
//
// Then frames, each a type byte, a big-endian uint16 length and that many
// bytes of payload, at most MaxPayload:
//
//	Open    remote → agent  JSON OpenMsg: the encoder the remote's flags ask for
//	Ready   agent → remote  JSON ReadyMsg: the devices, or why there are none
//	Start   remote → agent  the call is connected: start the sound
//	RTP     both ways       marker, sequence number, timestamp, Opus payload
//	Mute    remote → agent  one byte: mute (1) or unmute (0) the microphone
//	Stats   agent → remote  voice.Stats: the jitter buffer, levels, complexity
//	Media   remote → agent  rtc.MediaStats: the peer's loss, for the encoder's FEC
//	Levels  agent → remote  the microphone's and the peer's levels (≤ 20 a second)
//	Ping    both ways       8 bytes, answered by a Pong with the same bytes
//	Pong    both ways
//	Ack     both ways       the count of RTP frames received, as a uint64
//	Error   agent → remote  the agent's sound failed (text); the stream stays up
//	Bye     remote → agent  the remote is done with the sound (its call ended);
//	                        the last frame before it closes the stream
//
// Frames of an unknown type are skipped, so that a later version may add
// some without breaking an older peer of the same version number.
//
// # Bounds
//
// A frame is at most MaxPayload bytes. Each side queues at most Window
// RTP frames that the other has not acknowledged (Ack): a link slower
// than the audio drops packets, counted, instead of queueing seconds of
// sound in ssh's buffers. Control frames are coalesced, the latest of
// each type, so their queue is bounded too.
package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"parley/rtc"
	"parley/voice"
)

// Version is the protocol's version: both ends must speak the same.
const Version = 1

// magic starts each side's hello.
const magic = "PARLEYAG"

// helloLen is the length of a hello: magic and version.
const helloLen = len(magic) + 2

// MaxPayload caps a frame's payload: more than any Opus packet (1275
// bytes a frame, 120 ms at most in one packet) or message.
const MaxPayload = 8 << 10

// Window is how many RTP frames a side may have sent that the other has
// not acknowledged: about half a second of 20 ms frames.
const Window = 25

// Type is a frame's type.
type Type uint8

// The frame types.
const (
	TypeOpen Type = iota + 1
	TypeReady
	TypeStart
	TypeRTP
	TypeMute
	TypeStats
	TypeMedia
	TypeLevels
	TypePing
	TypePong
	TypeAck
	TypeError
	TypeBye
)

var typeNames = [...]string{"", "open", "ready", "start", "rtp", "mute", "stats", "media", "levels", "ping", "pong", "ack", "error", "bye"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// Errors of the stream.
var (
	// ErrTooLarge is a frame longer than MaxPayload.
	ErrTooLarge = errors.New("agent: frame too large")
	// ErrMalformed is a frame whose payload does not fit its type.
	ErrMalformed = errors.New("agent: malformed frame")
)

// appendFrame appends a frame to b.
func appendFrame(b []byte, t Type, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return b, fmt.Errorf("%w: %s of %d bytes", ErrTooLarge, t, len(payload))
	}
	b = append(b, byte(t))
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	return append(b, payload...), nil
}

// frameHeader is the length of a frame's header: type and length.
const frameHeader = 3

// readFrame reads one frame into buf, which it grows as needed, and
// returns its type and payload (which aliases buf).
func readFrame(r io.Reader, buf []byte) (Type, []byte, []byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, buf, err
	}
	n := int(binary.BigEndian.Uint16(h[1:]))
	if n > MaxPayload {
		return 0, nil, buf, fmt.Errorf("%w: %s of %d bytes", ErrTooLarge, Type(h[0]), n)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, buf, err
	}
	return Type(h[0]), buf, buf, nil
}

// OpenMsg is what the remote asks of the agent's sound: the encoder of
// its --frame, --bitrate and --dtx.
type OpenMsg struct {
	FrameMS int  `json:"frame_ms"`
	Bitrate int  `json:"bitrate"`
	DTX     bool `json:"dtx"`
	// Who says which parley asks, for the laptop's user: "parley (pid
	// 4242) on host, in tmux". (Version 1 agents ignore it.)
	Who string `json:"who,omitempty"`
}

// ReadyMsg is the agent's answer: the names of its input and output, and
// whether the input is silent; or Err, why it has no sound for this call
// (NoDevice: it found no microphone or speaker; Busy: it serves another
// call).
type ReadyMsg struct {
	In       string `json:"in,omitempty"`
	Out      string `json:"out,omitempty"`
	Silent   bool   `json:"silent,omitempty"`
	Err      string `json:"error,omitempty"`
	NoDevice bool   `json:"no_device,omitempty"`
	Busy     bool   `json:"busy,omitempty"`
}

func decodeJSON(p []byte, v any) error {
	if err := json.Unmarshal(p, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Packet is an RTP packet as it crosses: only what the jitter buffer and
// the call use. The call sets the SSRC and payload type of its own.
type Packet struct {
	Marker    bool
	Seq       uint16
	Timestamp uint32
	Payload   []byte
}

const packetHeader = 7

func (p Packet) append(b []byte) []byte {
	var m byte
	if p.Marker {
		m = 1
	}
	b = append(b, m)
	b = binary.BigEndian.AppendUint16(b, p.Seq)
	b = binary.BigEndian.AppendUint32(b, p.Timestamp)
	return append(b, p.Payload...)
}

// decodePacket decodes an RTP frame's payload; the Packet's payload
// aliases p.
func decodePacket(p []byte) (Packet, error) {
	if len(p) < packetHeader || p[0] > 1 {
		return Packet{}, fmt.Errorf("%w: rtp of %d bytes", ErrMalformed, len(p))
	}
	return Packet{
		Marker:    p[0] == 1,
		Seq:       binary.BigEndian.Uint16(p[1:]),
		Timestamp: binary.BigEndian.Uint32(p[3:]),
		Payload:   p[packetHeader:],
	}, nil
}

// fields reads and writes fixed-size messages of 8-byte fields.
type fields struct {
	b   []byte
	err error
}

func (f *fields) u64(v uint64)          { f.b = binary.BigEndian.AppendUint64(f.b, v) }
func (f *fields) i64(v int64)           { f.u64(uint64(v)) }
func (f *fields) dur(v time.Duration)   { f.i64(int64(v)) }
func (f *fields) f64(v float64)         { f.u64(math.Float64bits(v)) }
func (f *fields) getU64() (v uint64)    { v, f.b = binary.BigEndian.Uint64(f.b), f.b[8:]; return }
func (f *fields) getI64() int64         { return int64(f.getU64()) }
func (f *fields) getDur() time.Duration { return time.Duration(f.getI64()) }
func (f *fields) getF64() float64       { return math.Float64frombits(f.getU64()) }

// reader checks that p holds exactly n fields.
func reader(p []byte, n int, t Type) (*fields, error) {
	if len(p) != 8*n {
		return nil, fmt.Errorf("%w: %s of %d bytes, want %d", ErrMalformed, t, len(p), 8*n)
	}
	return &fields{b: p}, nil
}

const statsFields = 18

func encodeStats(s voice.Stats) []byte {
	f := &fields{b: make([]byte, 0, 8*statsFields)}
	j := s.Stats
	f.dur(j.Target)
	f.dur(j.Delay)
	for _, v := range []uint64{j.Frames, j.FEC, j.Concealed, j.DTX, j.Late, j.Duplicates, j.Invalid, j.Realigned, j.Restarts} {
		f.u64(v)
	}
	f.dur(j.Inserted)
	f.dur(j.Dropped)
	f.f64(s.Mic.Peak)
	f.f64(s.Mic.RMS)
	f.f64(s.Peer.Peak)
	f.f64(s.Peer.RMS)
	f.i64(int64(s.Complexity))
	return f.b
}

func decodeStats(p []byte) (voice.Stats, error) {
	f, err := reader(p, statsFields, TypeStats)
	if err != nil {
		return voice.Stats{}, err
	}
	var s voice.Stats
	j := &s.Stats
	j.Target, j.Delay = f.getDur(), f.getDur()
	for _, v := range []*uint64{&j.Frames, &j.FEC, &j.Concealed, &j.DTX, &j.Late, &j.Duplicates, &j.Invalid, &j.Realigned, &j.Restarts} {
		*v = f.getU64()
	}
	j.Inserted, j.Dropped = f.getDur(), f.getDur()
	s.Mic.Peak, s.Mic.RMS, s.Peer.Peak, s.Peer.RMS = f.getF64(), f.getF64(), f.getF64(), f.getF64()
	s.Complexity = int(f.getI64())
	return s, nil
}

const levelsFields = 4

func encodeLevels(l voice.Levels) []byte {
	f := &fields{b: make([]byte, 0, 8*levelsFields)}
	f.f64(l.Mic.Peak)
	f.f64(l.Mic.RMS)
	f.f64(l.Peer.Peak)
	f.f64(l.Peer.RMS)
	return f.b
}

func decodeLevels(p []byte) (voice.Levels, error) {
	f, err := reader(p, levelsFields, TypeLevels)
	if err != nil {
		return voice.Levels{}, err
	}
	var l voice.Levels
	l.Mic.Peak, l.Mic.RMS, l.Peer.Peak, l.Peer.RMS = f.getF64(), f.getF64(), f.getF64(), f.getF64()
	return l, nil
}

const mediaFields = 9

func encodeMedia(m rtc.MediaStats) []byte {
	f := &fields{b: make([]byte, 0, 8*mediaFields)}
	f.dur(m.RTT)
	f.f64(m.PeerFractionLost)
	f.u64(uint64(m.PacketsReceived))
	f.i64(int64(m.PacketsLost))
	f.dur(m.Jitter)
	f.u64(m.BytesSent)
	f.u64(m.BytesReceived)
	f.u64(m.AudioBytesSent)
	f.u64(m.AudioBytesReceived)
	return f.b
}

func decodeMedia(p []byte) (rtc.MediaStats, error) {
	f, err := reader(p, mediaFields, TypeMedia)
	if err != nil {
		return rtc.MediaStats{}, err
	}
	var m rtc.MediaStats
	m.RTT = f.getDur()
	m.PeerFractionLost = f.getF64()
	recv, lost := f.getU64(), f.getI64()
	if recv > math.MaxUint32 || lost < math.MinInt32 || lost > math.MaxInt32 {
		return rtc.MediaStats{}, fmt.Errorf("%w: media packet counts %d, %d", ErrMalformed, recv, lost)
	}
	m.PacketsReceived, m.PacketsLost = uint32(recv), int32(lost)
	m.Jitter = f.getDur()
	m.BytesSent, m.BytesReceived = f.getU64(), f.getU64()
	m.AudioBytesSent, m.AudioBytesReceived = f.getU64(), f.getU64()
	return m, nil
}

func encodeU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeU64(p []byte, t Type) (uint64, error) {
	f, err := reader(p, 1, t)
	if err != nil {
		return 0, err
	}
	return f.getU64(), nil
}

func decodeMute(p []byte) (bool, error) {
	if len(p) != 1 || p[0] > 1 {
		return false, fmt.Errorf("%w: mute of %d bytes", ErrMalformed, len(p))
	}
	return p[0] == 1, nil
}

func encodeMute(on bool) []byte {
	if on {
		return []byte{1}
	}
	return []byte{0}
}

// decode checks a frame's payload against its type and returns the
// message: an OpenMsg, ReadyMsg, Packet, bool (mute), voice.Stats,
// rtc.MediaStats, voice.Levels, uint64 (ping, pong, ack), string (error)
// or nil (start, bye, or a type it does not know).
func decode(t Type, p []byte) (any, error) {
	switch t {
	case TypeOpen:
		var m OpenMsg
		return m, decodeJSON(p, &m)
	case TypeReady:
		var m ReadyMsg
		return m, decodeJSON(p, &m)
	case TypeStart, TypeBye:
		if len(p) != 0 {
			return nil, fmt.Errorf("%w: %s of %d bytes", ErrMalformed, t, len(p))
		}
		return nil, nil
	case TypeRTP:
		return decodePacket(p)
	case TypeMute:
		return decodeMute(p)
	case TypeStats:
		return decodeStats(p)
	case TypeMedia:
		return decodeMedia(p)
	case TypeLevels:
		return decodeLevels(p)
	case TypePing, TypePong, TypeAck:
		return decodeU64(p, t)
	case TypeError:
		return string(p), nil
	}
	return nil, nil
}
