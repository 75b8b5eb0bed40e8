package rtc

import (
	"context"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// tamperFingerprint changes one bit of the certificate fingerprint a code
// carries, keeping the code otherwise valid: what a man in the middle who
// rewrote the code, or a peer presenting another certificate, looks like.
func tamperFingerprint(t *testing.T, code string, kind Kind, sdpForm bool) string {
	t.Helper()
	if !sdpForm {
		c, err := ParseCode(code, kind)
		if err != nil {
			t.Fatal(err)
		}
		c.Fingerprint[0] ^= 1
		return c.String()
	}
	desc, err := decodeSDPForm(code)
	if err != nil {
		t.Fatal(err)
	}
	fp := regexp.MustCompile(`(a=fingerprint:sha-256 )([0-9A-Fa-f])`)
	if !fp.MatchString(desc.SDP) {
		t.Fatalf("no sha-256 fingerprint in %q", desc.SDP)
	}
	desc.SDP = fp.ReplaceAllStringFunc(desc.SDP, func(m string) string {
		last := m[len(m)-1]
		if last == '0' {
			return m[:len(m)-1] + "1"
		}
		return m[:len(m)-1] + "0"
	})
	return encodeSDPForm(&desc)
}

// TestPeerCertificateMismatch: a peer whose DTLS certificate is not the
// one its code names is refused, with the code in either direction and in
// either form. The side that was given the wrong fingerprint shows nothing
// the peer sends (no chat, no audio, no safety words, never connected),
// sends nothing of its own, and fails with the usual line; meanwhile the
// peer, whose own check passes, sends chat and audio from the start.
func TestPeerCertificateMismatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sdp      bool
		inInvite bool // the invite is tampered (the joiner is fooled), else the answer
	}{
		{"code/invite", false, true},
		{"code/answer", false, false},
		{"sdp/invite", true, true},
		{"sdp/answer", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loopbackConfig()
			cfg.SDP = tc.sdp
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			caller, callee := newCalls(t, cfg)
			fooled, honest := callee, caller
			if !tc.inInvite {
				fooled, honest = caller, callee
			}
			var heard, heardBack atomic.Int64
			fooled.SetAudioReceiver(func(*rtp.Packet, time.Time) { heard.Add(1) })
			honest.SetAudioReceiver(func(*rtp.Packet, time.Time) { heardBack.Add(1) })
			if _, err := honest.Send("from the honest side"); err != nil {
				t.Fatal(err)
			}
			if _, err := fooled.Send("from the fooled side"); err != nil {
				t.Fatal(err)
			}
			fooled.SetMuted(true)

			invite, err := caller.Invite(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.inInvite {
				invite = tamperFingerprint(t, invite, KindInvite, tc.sdp)
			}
			answer, err := callee.Join(ctx, invite)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.inInvite {
				answer = tamperFingerprint(t, answer, KindAnswer, tc.sdp)
			}
			// The fooled side's goroutine is held up, and with it the
			// check, while the handshake completes and the peer's audio
			// and chat come in: what keeps them out is the gate, not
			// luck in the order of events.
			fooled.post(func() { time.Sleep(1500 * time.Millisecond) })
			if err := caller.Accept(answer); err != nil {
				t.Fatal(err)
			}

			// Both sides send audio all along.
			stop := make(chan struct{})
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				for seq := uint16(1); ; seq++ {
					p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8, 0xff, 0xfe}}
					honest.WriteAudio(p)
					fooled.WriteAudio(p)
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			defer func() { close(stop); <-sent }()

			var bye ByeEvent
			var failed []string
			timeout := time.After(20 * time.Second)
		events:
			for {
				select {
				case e, ok := <-fooled.Events():
					if !ok {
						break events
					}
					switch e := e.(type) {
					case StateEvent:
						if e.State == StateConnected {
							t.Errorf("the fooled side showed connected (%+v)", e)
						}
						if e.State == StateFailed {
							failed = append(failed, e.Detail)
						}
					case ChatEvent:
						t.Errorf("the fooled side showed a message: %q", e.Text)
					case VerifyEvent:
						t.Errorf("the fooled side showed safety words: %+v", e)
					case PeerMutedEvent:
						t.Errorf("the fooled side showed the peer's mute: %+v", e)
					case ByeEvent:
						bye = e
					}
				case <-timeout:
					t.Fatal("the fooled side did not end within 20 s")
				}
			}
			if n := heard.Load(); n != 0 {
				t.Errorf("the fooled side played %d audio packets", n)
			}
			if len(failed) != 1 || failed[0] != "the connection failed" || bye.Reason != "the connection failed" {
				t.Errorf("the fooled side failed with %q, bye %q; want once \"the connection failed\"", failed, bye.Reason)
			}
			// The honest side must not have had anything from the fooled
			// one: not a message, not its mute, not a packet of sound.
			drain := time.After(2 * time.Second)
			for {
				select {
				case e, ok := <-honest.Events():
					if !ok {
						goto done
					}
					switch e := e.(type) {
					case ChatEvent:
						t.Errorf("the honest side got a message from the fooled one: %q", e.Text)
					case PeerMutedEvent:
						t.Errorf("the honest side got the fooled one's mute: %+v", e)
					}
				case <-drain:
					goto done
				}
			}
		done:
			if n := heardBack.Load(); n != 0 {
				t.Errorf("the honest side heard %d audio packets from the fooled one", n)
			}
		})
	}
}

// watchedRW is a chat channel that records being read or written.
type watchedRW struct{ touched atomic.Int32 }

func (w *watchedRW) Read([]byte) (int, error)  { w.touched.Add(1); select {} }
func (w *watchedRW) Write([]byte) (int, error) { w.touched.Add(1); return 0, nil }
func (w *watchedRW) ReadDataChannel([]byte) (int, bool, error) {
	w.touched.Add(1)
	select {}
}
func (w *watchedRW) WriteDataChannel([]byte, bool) (int, error) { w.touched.Add(1); return 0, nil }
func (w *watchedRW) Close() error                               { return nil }

// TestChatWaitsForPeerCheck: a chat channel that opens before the peer's
// certificate is checked is held, neither read nor written, and chat
// counts as not open, with a message queued meanwhile.
func TestChatWaitsForPeerCheck(t *testing.T) {
	c, err := New(loopbackConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rw := &watchedRW{}
	c.post(func() { c.chatOpened(rw) })
	if _, err := c.Send("before the check"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	state := make(chan [3]any, 1)
	c.post(func() { state <- [3]any{c.dcOpen, c.chatRW == rw, len(c.outbox)} })
	if s := <-state; s != [3]any{false, true, 1} {
		t.Errorf("before the check: chat open %v, channel held %v, %v messages queued; want false, true, 1", s[0], s[1], s[2])
	}
	if n := rw.touched.Load(); n != 0 {
		t.Errorf("the channel was read or written %d times before the check", n)
	}
	if err := c.WriteAudio(&rtp.Packet{Header: rtp.Header{Version: 2}}); err != nil {
		t.Errorf("WriteAudio before the check = %v; want nil (dropped)", err)
	}
}
