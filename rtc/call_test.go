package rtc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// loopbackConfig keeps every packet on the loopback interface.
func loopbackConfig() Config {
	return Config{Interfaces: []string{"lo"}, Loopback: true}
}

// newCalls makes a caller and a callee, closed when the test ends.
func newCalls(t *testing.T, cfg Config) (caller, callee *Call) {
	t.Helper()
	var err error
	if caller, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caller.Close() })
	if callee, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { callee.Close() })
	return caller, callee
}

// pair connects a caller and a callee through their codes.
func pair(t *testing.T, cfg Config) (caller, callee *Call) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caller, callee = newCalls(t, cfg)
	invite, err := caller.Invite(ctx)
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	answer, err := callee.Join(ctx, invite)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if err := caller.Accept(answer); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return caller, callee
}

// next returns the next event of type T, skipping others.
func next[T Event](t *testing.T, c *Call) T {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				var zero T
				t.Fatalf("events closed while waiting for %T", zero)
			}
			if v, ok := e.(T); ok {
				return v
			}
			if b, ok := e.(ByeEvent); ok {
				var zero T
				t.Fatalf("call ended (%q, %v) while waiting for %T", b.Reason, b.Err, zero)
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T within 20 s", zero)
		}
	}
}

func waitConnected(t *testing.T, c *Call) StateEvent {
	t.Helper()
	for {
		s := next[StateEvent](t, c)
		if s.State == StateConnected {
			return s
		}
	}
}

func TestCallChatAndHangUp(t *testing.T) {
	for _, sdp := range []bool{false, true} {
		t.Run(fmt.Sprintf("sdp=%v", sdp), func(t *testing.T) {
			cfg := loopbackConfig()
			cfg.SDP = sdp
			a, b := pair(t, cfg)
			if s := waitConnected(t, a); s.Route != RouteHost {
				t.Errorf("route = %q; want host", s.Route)
			}
			waitConnected(t, b)
			id, err := a.Send("hello from a")
			if err != nil {
				t.Fatal(err)
			}
			if m := next[ChatEvent](t, b); m.Text != "hello from a" || m.ID != id {
				t.Errorf("b got %+v; want id %d", m, id)
			}
			if d := next[DeliveredEvent](t, a); d.ID != id {
				t.Errorf("delivered %d; want %d", d.ID, id)
			}
			b.Send("hi from b")
			if m := next[ChatEvent](t, a); m.Text != "hi from b" {
				t.Errorf("a got %q", m.Text)
			}
			start := time.Now()
			a.HangUp()
			if bye := next[ByeEvent](t, b); bye.Reason != "peer hung up" || bye.Err != nil {
				t.Errorf("b's bye = %+v; want peer hung up", bye)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("peer noticed the hang-up after %v; want under 1 s", d)
			}
			if bye := next[ByeEvent](t, a); bye.Err != nil {
				t.Errorf("a's bye = %+v", bye)
			}
		})
	}
}

// TestPeerMuted: muting is told to the peer, even when it happens before
// the chat channel opens.
func TestPeerMuted(t *testing.T) {
	cfg, fc := onFake(loopbackConfig())
	a, b := pair(t, cfg)
	a.SetMuted(true) // most likely before the channel is open: queued
	waitConnected(t, b)
	if m := next[PeerMutedEvent](t, b); !m.Muted {
		t.Errorf("b got %+v; want muted", m)
	}
	a.SetMuted(true) // no change: nothing sent
	a.SetMuted(false)
	// b shows the change muteShowEvery after the last.
	until(t, b, "unmute at b", func() bool { return !b.peerMuted })
	advance(fc, muteShowEvery, b)
	if m := next[PeerMutedEvent](t, b); m.Muted {
		t.Errorf("b got %+v; want unmuted", m)
	}
	a.HangUp()
	nextAdvancing[ByeEvent](t, fc, byeFlushPoll, b) // b polls its bye out
}

// TestGatherTimeout points the call at a STUN server that never answers:
// the invite must still come within the gather timeout, which is the
// call's to keep: took is on its clock, moved on to the timeout at once.
func TestGatherTimeout(t *testing.T) {
	hole, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	cfg := loopbackConfig()
	cfg.STUN = []string{"stun:" + hole.LocalAddr().String()}
	cfg, fc := onFake(cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := fc.Now()
	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := c.Invite(context.Background())
		done <- result{code, err}
	}()
	blockUntil(t, fc, 1) // the gather timer
	// pion gathers the host candidates in a moment, then waits for STUN.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if d := c.pc.LocalDescription(); d != nil && strings.Contains(d.SDP, "typ host") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no host candidate within 10 s")
		}
	}
	fc.Advance(defaultGatherTimeout)
	r := <-done
	code, err := r.code, r.err
	took := fc.Now().Sub(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("invite after %v with a silent STUN server", took.Round(time.Millisecond))
	// The bound is 1.5 s; allow for a loaded machine, but not for a
	// STUN server's usual timeouts of many seconds.
	if took > 2500*time.Millisecond {
		t.Errorf("Invite took %v; want about 1.5 s at most", took)
	}
	if _, err := ParseCode(code, KindInvite); err != nil {
		t.Errorf("ParseCode(invite) = %v", err)
	}
}

// TestWrongAnswer gives the caller an answer to another invite.
func TestWrongAnswer(t *testing.T) {
	ctx := context.Background()
	a, _ := New(loopbackConfig())
	defer a.Close()
	other, _ := New(loopbackConfig())
	defer other.Close()
	b, _ := New(loopbackConfig())
	defer b.Close()
	if _, err := a.Invite(ctx); err != nil {
		t.Fatal(err)
	}
	otherInvite, err := other.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := b.Join(ctx, otherInvite)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Accept(answer); !errors.Is(err, ErrWrongInvite) {
		t.Errorf("Accept(answer to another invite) = %v; want ErrWrongInvite", err)
	}
}

// TestAudioFlows sends RTP both ways and checks that each side's receiver
// gets the packets with their sequence numbers and timestamps: the
// rebuilt session must carry the a=ssrc lines pion needs.
func TestAudioFlows(t *testing.T) {
	for _, sdp := range []bool{false, true} {
		t.Run(fmt.Sprintf("sdp=%v", sdp), func(t *testing.T) {
			cfg := loopbackConfig()
			cfg.SDP = sdp
			a, b := pair(t, cfg)
			got := map[*Call]chan *rtp.Packet{a: make(chan *rtp.Packet, 100), b: make(chan *rtp.Packet, 100)}
			for c, ch := range got {
				c.SetAudioReceiver(func(p *rtp.Packet, _ time.Time) {
					select {
					case ch <- p:
					default:
					}
				})
			}
			waitConnected(t, a)
			waitConnected(t, b)
			for _, dir := range [][2]*Call{{a, b}, {b, a}} {
				from, to := dir[0], dir[1]
				deadline := time.After(10 * time.Second)
				var seq uint16 = 1000
				var first *rtp.Packet
			send:
				for {
					seq++
					p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8, 0xff, 0xfe}}
					if err := from.WriteAudio(p); err != nil {
						t.Fatal(err)
					}
					select {
					case first = <-got[to]:
						break send
					case <-time.After(20 * time.Millisecond):
					case <-deadline:
						t.Fatal("no audio arrived within 10 s")
					}
				}
				if first.Timestamp != uint32(first.SequenceNumber)*960 || first.PayloadType != opusPayloadType {
					t.Errorf("received seq %d ts %d pt %d; want ts = seq*960, pt %d", first.SequenceNumber, first.Timestamp, first.PayloadType, opusPayloadType)
				}
			}
		})
	}
}

// TestNoPathDoctor makes the caller's only path a black hole: the call
// fails after the connect timeout with advice, not silently.
func TestNoPathDoctor(t *testing.T) {
	cfg := loopbackConfig()
	cfg.ConnectTimeout = 2 * time.Second
	cfg, fc := onFake(cfg)
	ctx := context.Background()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := New(cfg)
	defer b.Close()
	invite, err := a.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := b.Join(ctx, invite)
	if err != nil {
		t.Fatal(err)
	}
	b.Close() // the callee is gone before the caller pastes
	if err := a.Accept(answer); err != nil {
		t.Fatal(err)
	}
	until(t, a, "connect timer", func() bool { return a.connTimer != nil })
	advance(fc, cfg.ConnectTimeout, a)
	bye := next[ByeEvent](t, a)
	if bye.Err == nil || !strings.Contains(bye.Reason, "could not connect within 2s") || !strings.Contains(bye.Reason, "--stun none") {
		t.Errorf("bye = %q; want a no-path reason with advice", bye.Reason)
	}
}

// TestChatFlood sends more than the rate limit at once: the excess is not
// acknowledged (so the sender sees it undelivered), the receiver is told,
// and the call goes on.
//
// On a fake clock that stands still while the flood arrives, the limit
// allows the burst alone.
func TestChatFlood(t *testing.T) {
	cfg, fc := onFake(loopbackConfig())
	a, b := pair(t, cfg)
	waitConnected(t, a)
	waitConnected(t, b)
	big := strings.Repeat("x", MaxChatBytes)
	const n = 200 // 800 kB, over the 512 kB burst
	for i := 0; i < n; i++ {
		if _, err := a.Send(big); err != nil {
			t.Fatal(err)
		}
	}
	// All of it reaches b, shown or dropped, and a has b's acks, before
	// the clock moves on.
	until(t, b, "whole flood at b", func() bool { return b.seen.n+b.dropped == n })
	shown := on(b, func() int { return b.seen.n })
	until(t, a, "acks at a", func() bool { return len(a.unacked) == n-shown })
	nextAdvancing[ErrorEvent](t, fc, dropQuiet/4, b)
	a.HangUp()
	bye := nextAdvancing[ByeEvent](t, fc, hangUpPoll, a)
	if len(bye.Undelivered) == 0 || len(bye.Undelivered) == n {
		t.Errorf("%d of %d undelivered; want some but not all", len(bye.Undelivered), n)
	}
}

// TestLogsHoldNoSecrets runs a call with logging on: the log holds no
// code, no ICE password and no chat text.
func TestLogsHoldNoSecrets(t *testing.T) {
	var log syncBuffer
	cfg := loopbackConfig()
	cfg.Log = &log
	ctx := context.Background()
	a, _ := New(cfg)
	defer a.Close()
	b, _ := New(cfg)
	defer b.Close()
	invite, err := a.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := b.Join(ctx, invite)
	if err != nil {
		t.Fatal(err)
	}
	a.Accept(answer)
	waitConnected(t, a)
	a.Send("a private message")
	next[ChatEvent](t, b)
	a.HangUp()
	next[ByeEvent](t, b)
	a.Close()
	b.Close()
	inv, _ := ParseCode(invite, KindInvite)
	_, pwd := inv.ICECredentials()
	text := log.String()
	for _, secret := range []string{invite[4:24], answer[4:24], pwd, "a private message"} {
		if strings.Contains(text, secret) {
			t.Errorf("the log contains %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "connection: connected") {
		t.Errorf("the log is missing the state changes:\n%s", text)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMalformedFrameDropped sends garbage on the chat channel: that frame
// is dropped, and the next message still arrives.
func TestMalformedFrameDropped(t *testing.T) {
	a, b := pair(t, loopbackConfig())
	waitConnected(t, a)
	waitConnected(t, b)
	a.Send("first")
	next[DeliveredEvent](t, a)
	for _, junk := range [][]byte{{9, 9, 9}, {byte(frameMessage), 0}, {byte(frameMessage), 5, 0xff}} {
		done := make(chan error, 1)
		a.post(func() { done <- a.dc.Send(junk) })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	a.Send("after the junk")
	if m := next[ChatEvent](t, b); m.Text != "first" {
		t.Fatalf("got %q", m.Text)
	}
	if m := next[ChatEvent](t, b); m.Text != "after the junk" {
		t.Errorf("got %q after the junk; want the next message", m.Text)
	}
}

// TestJoinerHint: a joiner whose answer goes unused hears, after the
// connect timeout, that either the peer has not pasted it or there is no
// path, and what to do.
func TestJoinerHint(t *testing.T) {
	cfg := loopbackConfig()
	cfg.ConnectTimeout = time.Second
	cfg, fc := onFake(cfg)
	caller, callee := newCalls(t, cfg)
	invite, err := caller.Invite(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The caller never applies the answer.
	if _, err := callee.Join(context.Background(), invite); err != nil {
		t.Fatal(err)
	}
	until(t, callee, "hint timer", func() bool { return callee.hintTimer != nil })
	advance(fc, cfg.ConnectTimeout, callee)
	for {
		s := next[StateEvent](t, callee)
		if s.State != StateConnecting {
			t.Fatalf("state %v before the hint", s.State)
		}
		if s.Detail != "" {
			if !strings.Contains(s.Detail, "pasted your answer") || !strings.Contains(s.Detail, "--turn") {
				t.Errorf("hint %q", s.Detail)
			}
			return
		}
	}
}
