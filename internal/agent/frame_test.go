package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"parley/audio"
	"parley/audio/jitter"
	"parley/rtc"
	"parley/voice"
)

// messages are one of each message, encoded, with what decode gives.
func messages() []struct {
	t    Type
	p    []byte
	want any
} {
	open, _ := json.Marshal(OpenMsg{FrameMS: 10, Bitrate: 24000, DTX: true})
	ready, _ := json.Marshal(ReadyMsg{In: "mic", Out: "speaker", Silent: true})
	st := voice.Stats{
		Stats: jitter.Stats{Target: 40 * time.Millisecond, Delay: -3 * time.Millisecond, Frames: 1, FEC: 2, Concealed: 3, DTX: 4,
			Late: 5, Duplicates: 6, Invalid: 7, Realigned: 8, Restarts: 9, Inserted: 10 * time.Millisecond, Dropped: 11 * time.Millisecond},
		Levels:     voice.Levels{Mic: audio.Level{Peak: -3.5, RMS: math.Inf(-1)}, Peer: audio.Level{Peak: 0, RMS: -60}},
		Complexity: 9,
	}
	ms := rtc.MediaStats{RTT: 12 * time.Millisecond, PeerFractionLost: 0.25, PacketsReceived: 100, PacketsLost: -2, Jitter: time.Millisecond,
		BytesSent: 1, BytesReceived: 2, AudioBytesSent: 3, AudioBytesReceived: 4}
	lv := voice.Levels{Mic: audio.Level{Peak: -1, RMS: -2}, Peer: audio.Level{Peak: -3, RMS: -4}}
	pk := Packet{Marker: true, Seq: 65535, Timestamp: 1 << 31, Payload: []byte{0xfc, 1, 2}}
	return []struct {
		t    Type
		p    []byte
		want any
	}{
		{TypeOpen, open, OpenMsg{FrameMS: 10, Bitrate: 24000, DTX: true}},
		{TypeReady, ready, ReadyMsg{In: "mic", Out: "speaker", Silent: true}},
		{TypeStart, nil, nil},
		{TypeRTP, pk.append(nil), pk},
		{TypeMute, encodeMute(true), true},
		{TypeMute, encodeMute(false), false},
		{TypeStats, encodeStats(st), st},
		{TypeMedia, encodeMedia(ms), ms},
		{TypeLevels, encodeLevels(lv), lv},
		{TypePing, encodeU64(7), uint64(7)},
		{TypePong, encodeU64(8), uint64(8)},
		{TypeAck, encodeU64(9), uint64(9)},
		{TypeError, []byte("the microphone was unplugged"), "the microphone was unplugged"},
		{Type(200), []byte("from a later version"), nil},
	}
}

// TestMessages encodes each message in a frame, reads the frame back and
// decodes it.
func TestMessages(t *testing.T) {
	var stream []byte
	for _, m := range messages() {
		var err error
		if stream, err = appendFrame(stream, m.t, m.p); err != nil {
			t.Fatal(err)
		}
	}
	r := bytes.NewReader(stream)
	for _, m := range messages() {
		typ, p, _, err := readFrame(r, nil)
		if err != nil {
			t.Fatalf("%s: %v", m.t, err)
		}
		if typ != m.t {
			t.Fatalf("read %s; want %s", typ, m.t)
		}
		got, err := decode(typ, p)
		if err != nil {
			t.Fatalf("%s: %v", m.t, err)
		}
		if !reflect.DeepEqual(got, m.want) {
			t.Errorf("%s: decoded %#v; want %#v", m.t, got, m.want)
		}
	}
	if _, _, _, err := readFrame(r, nil); err == nil {
		t.Error("read past the end")
	}
}

// TestBounds: a frame over MaxPayload is refused both ways, a truncated
// one is an error, and each fixed-size message refuses other sizes.
func TestBounds(t *testing.T) {
	if _, err := appendFrame(nil, TypeRTP, make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("writing %d bytes: %v; want ErrTooLarge", MaxPayload+1, err)
	}
	if _, err := appendFrame(nil, TypeRTP, make([]byte, MaxPayload)); err != nil {
		t.Errorf("writing MaxPayload bytes: %v", err)
	}
	huge := []byte{byte(TypeRTP), 0xff, 0xff}
	if _, _, _, err := readFrame(bytes.NewReader(huge), nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("reading a 65535-byte header: %v; want ErrTooLarge", err)
	}
	short := []byte{byte(TypeRTP), 0, 10, 1, 2}
	if _, _, _, err := readFrame(bytes.NewReader(short), nil); err == nil {
		t.Error("a truncated frame read without an error")
	}
	for _, m := range messages() {
		switch m.t {
		case TypeOpen, TypeReady, TypeError, TypeRTP, Type(200):
			continue
		}
		for _, p := range [][]byte{append(bytes.Clone(m.p), 0), m.p[:max(len(m.p)-1, 0)]} {
			if len(p) == len(m.p) {
				continue
			}
			if _, err := decode(m.t, p); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s of %d bytes: %v; want ErrMalformed", m.t, len(p), err)
			}
		}
	}
	for _, p := range [][]byte{nil, {0, 1, 2, 3, 4, 5}, {2, 0, 0, 0, 0, 0, 0}} {
		if _, err := decode(TypeRTP, p); !errors.Is(err, ErrMalformed) {
			t.Errorf("rtp %v: %v; want ErrMalformed", p, err)
		}
	}
	if _, err := decode(TypeMute, []byte{2}); !errors.Is(err, ErrMalformed) {
		t.Errorf("mute 2: %v; want ErrMalformed", err)
	}
	if _, err := decode(TypeOpen, []byte("{")); !errors.Is(err, ErrMalformed) {
		t.Errorf("open {: %v; want ErrMalformed", err)
	}
}

// FuzzFrame reads frames from arbitrary bytes: the reader never takes
// more than a frame's bound, and every frame that decodes encodes back to
// the same bytes (the JSON messages to the same message).
func FuzzFrame(f *testing.F) {
	for _, m := range messages() {
		b, _ := appendFrame(nil, m.t, m.p)
		f.Add(b)
	}
	f.Add([]byte{byte(TypeRTP), 0xff, 0xff})
	f.Add([]byte(magic + "\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			typ, p, _, err := readFrame(r, nil)
			if err != nil {
				return
			}
			if len(p) > MaxPayload {
				t.Fatalf("a %d-byte payload", len(p))
			}
			m, err := decode(typ, p)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: %v, not ErrMalformed", typ, err)
				}
				continue
			}
			var again []byte
			switch m := m.(type) {
			case Packet:
				again = m.append(nil)
			case bool:
				again = encodeMute(m)
			case voice.Stats:
				again = encodeStats(m)
			case rtc.MediaStats:
				again = encodeMedia(m)
			case voice.Levels:
				again = encodeLevels(m)
			case uint64:
				again = encodeU64(m)
			case string:
				again = []byte(m)
			case OpenMsg, ReadyMsg:
				b, _ := json.Marshal(m)
				m2, err := decode(typ, b)
				if err != nil || !reflect.DeepEqual(m2, m) {
					t.Fatalf("%s %#v: re-encoded as %s, decoded as %#v, %v", typ, m, b, m2, err)
				}
				continue
			case nil:
				continue
			}
			if !bytes.Equal(again, p) {
				t.Fatalf("%s: %x re-encoded as %x", typ, p, again)
			}
		}
	})
}
