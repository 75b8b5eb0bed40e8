package rtc

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// MaxChatBytes is the largest chat message, in bytes of UTF-8.
const MaxChatBytes = 4096

// Chat frames travel on the data channel as binary messages:
//
//	frame   = type(1) body
//	message = 0x01 id(uvarint, > 0) text(UTF-8, at most MaxChatBytes)
//	ack     = 0x02 id(uvarint, > 0)
//	bye     = 0x03
//	mute    = 0x04 muted(1: 0 or 1)
//
// Ids count up from 1 on each side; the receiver acknowledges every
// message and ignores an id it has already seen. A bye says "I will send
// nothing more"; the side that receives one answers with its own bye. A
// mute says whether the sender's microphone is muted, for the peer's
// display; it is not acknowledged. A receiver drops a frame of a type it
// does not know.
// A text (string) data-channel message, as a browser page might send, is a
// chat message without id or acknowledgement.
type frameType byte

const (
	frameMessage frameType = 1
	frameAck     frameType = 2
	frameBye     frameType = 3
	frameMute    frameType = 4
)

type frame struct {
	typ   frameType
	id    uint64
	text  string
	muted bool
}

var errBadFrame = errors.New("malformed chat frame")

func (f frame) marshal() []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(f.text))
	b = append(b, byte(f.typ))
	switch f.typ {
	case frameBye:
		return b
	case frameMute:
		if f.muted {
			return append(b, 1)
		}
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, f.id)
	return append(b, f.text...)
}

func parseFrame(b []byte) (frame, error) {
	if len(b) == 0 {
		return frame{}, errBadFrame
	}
	f := frame{typ: frameType(b[0])}
	switch f.typ {
	case frameBye:
		if len(b) != 1 {
			return frame{}, errBadFrame
		}
		return f, nil
	case frameMute:
		if len(b) != 2 || b[1] > 1 {
			return frame{}, errBadFrame
		}
		f.muted = b[1] == 1
		return f, nil
	case frameMessage, frameAck:
	default:
		return frame{}, errBadFrame
	}
	id, n := binary.Uvarint(b[1:])
	if n <= 0 || id == 0 {
		return frame{}, errBadFrame
	}
	f.id, b = id, b[1+n:]
	if f.typ == frameAck {
		if len(b) != 0 {
			return frame{}, errBadFrame
		}
		return f, nil
	}
	if err := checkText(b); err != nil {
		return frame{}, errBadFrame
	}
	f.text = string(b)
	return f, nil
}

// Errors of Send.
var (
	ErrTooLong   = errors.New("message too long: at most 4096 bytes")
	ErrNotUTF8   = errors.New("message is not valid UTF-8")
	ErrEmpty     = errors.New("message is empty")
	ErrCallEnded = errors.New("the call has ended")
)

func checkText[T string | []byte](s T) error {
	switch {
	case len(s) == 0:
		return ErrEmpty
	case len(s) > MaxChatBytes:
		return ErrTooLong
	case !utf8.Valid([]byte(s)):
		return ErrNotUTF8
	}
	return nil
}
