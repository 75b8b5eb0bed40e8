package voice

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/pion/rtp"

	"parley/audio"
)

// Sender encodes audio with Opus and sends it on a call as RTP, one
// packet per frame. Timestamps keep running across mute and DTX pauses.
// It is not safe for concurrent use: one input goroutine owns it.
type Sender struct {
	enc  *audio.Encoder
	call interface{ WriteAudio(*rtp.Packet) error }
	seq  uint16
	ts   uint32
	sent uint64 // payload bytes
}

// NewSender returns a Sender with a random first sequence number and
// timestamp, as RTP asks.
func NewSender(enc *audio.Encoder, call interface{ WriteAudio(*rtp.Packet) error }) *Sender {
	var r [6]byte
	rand.Read(r[:])
	return &Sender{enc: enc, call: call, seq: binary.BigEndian.Uint16(r[:2]), ts: binary.BigEndian.Uint32(r[2:])}
}

// Next returns the sequence number of the next packet.
func (s *Sender) Next() uint16 { return s.seq }

// Sent returns how many payload bytes have been sent.
func (s *Sender) Sent() uint64 { return s.sent }

// Write encodes pcm and sends every packet the encoder completes. It
// returns the first error, having gone on with the rest.
func (s *Sender) Write(pcm []int16) error {
	var first error
	err := s.enc.Write(pcm, func(pk audio.Packet) {
		if pk.Data != nil {
			err := s.call.WriteAudio(&rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: pk.Marker, SequenceNumber: s.seq, Timestamp: s.ts},
				Payload: pk.Data,
			})
			if err != nil && first == nil {
				first = err
			}
			s.seq++
			s.sent += uint64(len(pk.Data))
		}
		s.ts += uint32(pk.Samples)
	})
	if first == nil {
		first = err
	}
	return first
}
