package rtc

import (
	"errors"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range []frame{
		{typ: frameMessage, id: 1, text: "hi"},
		{typ: frameMessage, id: 1 << 40, text: strings.Repeat("é", MaxChatBytes/2)},
		{typ: frameAck, id: 300},
		{typ: frameBye},
		{typ: frameMute, muted: true},
		{typ: frameMute},
	} {
		got, err := parseFrame(f.marshal())
		if err != nil || got != f {
			t.Errorf("parseFrame(marshal(%+v)) = %+v, %v", f, got, err)
		}
	}
}

func TestParseFrameMalformed(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0},
		{9, 1},
		{byte(frameMessage)},
		{byte(frameMessage), 0, 'x'},        // id 0
		{byte(frameMessage), 1},             // empty text
		{byte(frameMessage), 1, 0xff, 0xfe}, // not UTF-8
		{byte(frameMessage), 0x80},          // truncated varint
		{byte(frameAck), 1, 'x'},            // trailing bytes
		{byte(frameBye), 0},                 // trailing bytes
		{byte(frameMute)},                   // no state
		{byte(frameMute), 2},                // neither 0 nor 1
		{byte(frameMute), 1, 0},             // trailing bytes
		append([]byte{byte(frameMessage), 1}, strings.Repeat("a", MaxChatBytes+1)...),
	} {
		if f, err := parseFrame(b); err == nil {
			t.Errorf("parseFrame(%q) = %+v; want an error", b, f)
		}
	}
}

func TestSendRefuses(t *testing.T) {
	c := &Call{}
	for _, tc := range []struct {
		text string
		want error
	}{
		{"", ErrEmpty},
		{strings.Repeat("a", MaxChatBytes+1), ErrTooLong},
		{"\xff", ErrNotUTF8},
	} {
		if _, err := c.Send(tc.text); !errors.Is(err, tc.want) {
			t.Errorf("Send(%.20q) = %v; want %v", tc.text, err, tc.want)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{byte(frameMessage), 1, 'h', 'i'})
	f.Add([]byte{byte(frameAck), 0x80, 0x01})
	f.Add([]byte{byte(frameBye)})
	f.Add([]byte{byte(frameMute), 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseFrame(b)
		if err != nil {
			return
		}
		again, err := parseFrame(fr.marshal())
		if err != nil || again != fr {
			t.Errorf("parseFrame(%q) = %+v does not round-trip", b, fr)
		}
	})
}
