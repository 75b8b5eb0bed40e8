package rtc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"parley/internal/clock"
	"parley/internal/rawpeer"
)

// Tests against a hostile peer: a bare pion peer (internal/rawpeer) that
// speaks the standard form and sends what parley never would.

func sdpConfig() Config {
	cfg := loopbackConfig()
	cfg.SDP = true
	return cfg
}

func newRaw(t *testing.T, o rawpeer.Options) *rawpeer.Peer {
	t.Helper()
	p, err := rawpeer.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// joinRaw has the raw peer call and parley join.
func joinRaw(t *testing.T, o rawpeer.Options) (*Call, *rawpeer.Peer) {
	t.Helper()
	return joinRawWith(t, o, sdpConfig())
}

// joinRawWith is joinRaw with parley on cfg.
func joinRawWith(t *testing.T, o rawpeer.Options, cfg Config) (*Call, *rawpeer.Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw := newRaw(t, o)
	offer, err := raw.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	answer, err := c.Join(ctx, offer)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if err := raw.Accept(answer); err != nil {
		t.Fatal(err)
	}
	return c, raw
}

// inviteRaw has parley call and the raw peer answer.
func inviteRaw(t *testing.T, o rawpeer.Options) (*Call, *rawpeer.Peer) {
	t.Helper()
	return inviteRawWith(t, o, sdpConfig())
}

// inviteRawWith is inviteRaw with parley on cfg.
func inviteRawWith(t *testing.T, o rawpeer.Options, cfg Config) (*Call, *rawpeer.Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	invite, err := c.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := newRaw(t, o)
	answer, err := raw.Answer(ctx, invite)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Accept(answer); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return c, raw
}

func rawChat(t *testing.T, raw *rawpeer.Peer) *webrtc.DataChannel {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dc, err := raw.WaitChat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// rawMessage waits for a message frame at the raw peer, acknowledging it.
func rawMessage(t *testing.T, raw *rawpeer.Peer, dc *webrtc.DataChannel) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-raw.Messages:
			if id, text, ok := rawpeer.ParseMessage(m.Data); ok {
				dc.Send(rawpeer.Ack(id))
				return text
			}
		case <-timeout:
			t.Fatal("no message at the raw peer within 10 s")
		}
	}
}

// nextChat returns the text of the next ChatEvent, failing on an error
// event other than those allowed.
func nextChat(t *testing.T, c *Call) string {
	t.Helper()
	return next[ChatEvent](t, c).Text
}

// TestHostileNoChat: a peer whose app has no chat, either way round. The
// call says so once, refuses sends with that message, and hangs up well
// within 2 s.
func TestHostileNoChat(t *testing.T) {
	for _, dir := range []string{"peer offers no data section", "peer's answer rejects it"} {
		t.Run(dir, func(t *testing.T) {
			var c *Call
			if strings.HasPrefix(dir, "peer offers") {
				c, _ = joinRaw(t, rawpeer.Options{Audio: true})
			} else {
				c, _ = inviteRaw(t, rawpeer.Options{Audio: true})
			}
			if e := next[ErrorEvent](t, c); !errors.Is(e.Err, ErrNoChat) || e.Err.Error() != "your peer's app has no chat: messages cannot be sent" {
				t.Errorf("error event %v; want the no-chat notice", e.Err)
			}
			waitConnected(t, c)
			if _, err := c.Send("anyone there?"); !errors.Is(err, ErrNoChat) {
				t.Errorf("Send = %v; want %v", err, ErrNoChat)
			}
			start := time.Now()
			c.HangUp()
			var notices int
			for e := range c.Events() {
				if e, ok := e.(ErrorEvent); ok && errors.Is(e.Err, ErrNoChat) {
					notices++
				}
				if bye, ok := e.(ByeEvent); ok && (bye.Err != nil || bye.Reason != "hung up") {
					t.Errorf("bye %+v; want a plain hang-up", bye)
				}
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the hang-up took %v; want at most 2 s", d)
			}
			if notices > 0 {
				t.Errorf("the no-chat notice came %d more times", notices)
			}
		})
	}
}

// TestHostileHangUpUnacked: a peer that takes messages and never
// acknowledges them cannot hold a hang-up beyond its bound; the messages
// are reported undelivered.
func TestHostileHangUpUnacked(t *testing.T) {
	cfg, fc := onFake(sdpConfig())
	c, raw := inviteRawWith(t, rawpeer.Options{Chat: true}, cfg)
	waitConnected(t, c)
	rawChat(t, raw)
	id, _ := c.Send("never acknowledged")
	<-raw.Messages
	start := fc.Now()
	c.HangUp()
	bye := nextAdvancing[ByeEvent](t, fc, hangUpPoll, c)
	if d := fc.Now().Sub(start); d > 2*time.Second {
		t.Errorf("the hang-up took %v; want at most 2 s", d)
	}
	if len(bye.Undelivered) != 1 || bye.Undelivered[0] != id || bye.Err == nil {
		t.Errorf("bye %+v; want message %d undelivered", bye, id)
	}
}

// TestHostileExtraChannels: chat stays on the channel parley negotiated;
// every other channel the peer opens is closed at once, and the peer
// closing one ends nothing.
func TestHostileExtraChannels(t *testing.T) {
	check := func(t *testing.T, c *Call, raw *rawpeer.Peer) {
		waitConnected(t, c)
		chat := rawChat(t, raw)
		closed := make(chan string, 4)
		var extras []*webrtc.DataChannel
		for _, label := range []string{"chat", "takeover"} {
			dc, err := raw.PC.CreateDataChannel(label, nil)
			if err != nil {
				t.Fatal(err)
			}
			dc.OnClose(func() { closed <- label })
			extras = append(extras, dc)
		}
		for range extras {
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("parley left a channel the peer opened open for 5 s")
			}
		}
		if _, err := c.Send("on the negotiated channel"); err != nil {
			t.Fatal(err)
		}
		if got := rawMessage(t, raw, chat); got != "on the negotiated channel" {
			t.Errorf("raw peer got %q", got)
		}
		next[DeliveredEvent](t, c)
		chat.Send(rawpeer.Message(1, "still here"))
		if got := nextChat(t, c); got != "still here" {
			t.Errorf("parley got %q", got)
		}
		for _, dc := range extras {
			dc.Close()
		}
		time.Sleep(500 * time.Millisecond)
		if _, err := c.Send("after the peer closed its extras"); err != nil {
			t.Fatalf("Send: %v; the call should go on", err)
		}
		if got := rawMessage(t, raw, chat); got != "after the peer closed its extras" {
			t.Errorf("raw peer got %q", got)
		}
	}
	t.Run("caller", func(t *testing.T) {
		c, raw := inviteRaw(t, rawpeer.Options{Chat: true})
		check(t, c, raw)
	})
	t.Run("callee", func(t *testing.T) {
		c, raw := joinRaw(t, rawpeer.Options{Chat: true})
		check(t, c, raw)
	})
}

// TestHostileChannelChurn opens and closes channels by the hundred:
// goroutines and memory come back to their baseline, and chat works both
// ways after.
func TestHostileChannelChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 5,000 channels")
	}
	c, raw := joinRaw(t, rawpeer.Options{Chat: true})
	waitConnected(t, c)
	chat := rawChat(t, raw)
	settle()
	g0, rss0 := runtime.NumGoroutine(), rssMB(t)
	const rounds, per = 10, 500
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := raw.Churn(ctx, rounds, per); err != nil {
		t.Fatal(err)
	}
	var g int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		settle()
		if g = runtime.NumGoroutine(); g <= g0+5 {
			break
		}
	}
	if g > g0+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the churn; %d before (want within 5)\n%s", g, g0, buf[:runtime.Stack(buf, true)])
	}
	// Both peers live in this process, and the raw one's pion keeps what
	// it created; TestHostileChurnMemory measures parley's memory alone.
	t.Logf("RSS of both peers: %.1f MB before, %.1f MB after", rss0, rssMB(t))
	chat.Send(rawpeer.Message(1, "after the churn"))
	if got := nextChat(t, c); got != "after the churn" {
		t.Errorf("parley got %q", got)
	}
	c.Send("parley after the churn")
	if got := rawMessage(t, raw, chat); got != "parley after the churn" {
		t.Errorf("raw peer got %q", got)
	}
}

// settle lets finished goroutines go and returns freed memory to the OS.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(50 * time.Millisecond)
}

// rssMB is this process's resident set, in MB.
func rssMB(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestHostileIDs: a message id of 2^64−1 cannot make later messages look
// old; a repeated id is acknowledged and not shown twice.
func TestHostileIDs(t *testing.T) {
	c, raw := joinRaw(t, rawpeer.Options{Chat: true})
	waitConnected(t, c)
	chat := rawChat(t, raw)
	for i, m := range []struct {
		id   uint64
		text string
	}{{math.MaxUint64, "the largest id"}, {1, "one"}, {1, "one again"}, {2, "two"}} {
		if err := chat.Send(rawpeer.Message(m.id, m.text)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	for _, want := range []string{"the largest id", "one", "two"} {
		if got := nextChat(t, c); got != want {
			t.Errorf("parley showed %q; want %q", got, want)
		}
	}
	acks := map[uint64]int{}
	for deadline := time.After(5 * time.Second); len(acks) < 3; {
		select {
		case m := <-raw.Messages:
			if len(m.Data) > 1 && m.Data[0] == 2 {
				id, _ := uvarint(m.Data[1:])
				acks[id]++
			}
		case <-deadline:
			t.Fatalf("acknowledged %v within 5 s; want ids max, 1 (twice) and 2", acks)
		}
	}
}

func uvarint(b []byte) (uint64, int) {
	f, err := parseFrame(append([]byte{byte(frameAck)}, b...))
	if err != nil {
		return 0, 0
	}
	return f.id, 1
}

// TestHostileMuteFlood: 10,000 mute toggles show as a handful of mute
// events, the last of them the peer's final state.
//
// The clock stands still during the flood, then moves on by
// 2 × muteShowEvery.
func TestHostileMuteFlood(t *testing.T) {
	cfg, fc := onFake(sdpConfig())
	c, raw := joinRawWith(t, rawpeer.Options{Chat: true}, cfg)
	waitConnected(t, c)
	chat := rawChat(t, raw)
	start := fc.Now()
	for i := 0; i < 10_000; i++ {
		chat.Send(rawpeer.Mute(i%2 == 0)) // ends unmuted
	}
	chat.Send(rawpeer.Message(1, "done"))
	var shown []bool
	for {
		e := <-c.Events()
		if m, ok := e.(PeerMutedEvent); ok {
			shown = append(shown, m.Muted)
		}
		if _, ok := e.(ChatEvent); ok {
			break
		}
	}
	advance(fc, 2*muteShowEvery, c)
	for n := pendingEvents(c); n > 0; n-- {
		if m, ok := (<-c.Events()).(PeerMutedEvent); ok {
			shown = append(shown, m.Muted)
		}
	}
	took := fc.Now().Sub(start)
	limit := int(took/muteShowEvery) + 2
	if len(shown) > limit {
		t.Errorf("%d mute events for 10,000 toggles in %v; want at most %d", len(shown), took, limit)
	}
	if len(shown) > 0 && shown[len(shown)-1] {
		t.Errorf("last mute event says muted; the peer ended unmuted")
	}
}

// TestHostileStringFlood: plain string messages count against the chat
// rate limit, and with nobody reading events the queue stays bounded.
// The count of what was dropped is said in one line.
//
// The clock stands still until the whole flood is in, so the rate limit
// allows the burst alone; then it moves on while the events are read.
func TestHostileStringFlood(t *testing.T) {
	cfg, fc := onFake(sdpConfig())
	c, raw := joinRawWith(t, rawpeer.Options{Chat: true}, cfg)
	waitConnected(t, c)
	chat := rawChat(t, raw)
	big := strings.Repeat("s", MaxChatBytes)
	const n = 2000 // 8 MB
	for i := 0; i < n; i++ {
		if err := chat.SendText(big); err != nil {
			t.Fatal(err)
		}
	}
	chat.SendText("the last")
	// Nobody reads until all of it is in, shown or dropped: the queue
	// must hold its bound.
	until(t, c, "whole flood", func() bool {
		in := c.dropped
		for _, e := range c.pending {
			if _, ok := e.(ChatEvent); ok {
				in++
			}
		}
		return in == n+1
	})
	queued := make(chan [2]int)
	c.post(func() { queued <- [2]int{len(c.pending), c.queuedChat} })
	if q := <-queued; q[1] > maxQueuedChat || q[0] > maxQueuedChat/MaxChatBytes+16 {
		t.Errorf("%d events queued, %d bytes of chat, with nobody reading; want at most %d bytes", q[0], q[1], maxQueuedChat)
	}
	shown, dropped, reports := 0, 0, 0
	start := fc.Now()
	// Read until the clock has stood 3 s with nothing to read.
	for quiet := start.Add(3 * time.Second); ; {
		if pendingEvents(c) == 0 {
			if !fc.Now().Before(quiet) {
				break
			}
			advance(fc, dropQuiet/10, c)
			continue
		}
		switch e := (<-c.Events()).(type) {
		case ChatEvent:
			shown++
		case ErrorEvent:
			var k int
			// "1 message from your peer was dropped…" or "N messages…"
			if _, err := fmt.Sscanf(e.Err.Error(), "%d", &k); err != nil || !strings.Contains(e.Err.Error(), "from your peer") || !strings.Contains(e.Err.Error(), "dropped") {
				t.Fatalf("error event %q", e.Err)
			}
			dropped += k
			reports++
		default:
			continue
		}
		quiet = fc.Now().Add(3 * time.Second)
	}
	took := fc.Now().Sub(start)
	t.Logf("%d shown, %d dropped in %d reports over %v", shown, dropped, reports, took)
	if max := int(took/dropQuiet) + 2; reports > max {
		t.Errorf("%d drop reports; want at most %d", reports, max)
	}
	if shown+dropped > n+1 || shown+dropped < n-100 {
		t.Errorf("%d shown + %d dropped; want about %d", shown, dropped, n+1)
	}
	if limit := (512_000 + 100_000*25) / MaxChatBytes; shown > limit {
		t.Errorf("%d of %d messages shown; the rate limit allows at most %d", shown, n, limit)
	}
}

// TestHostileBigMessages: a message over the advertised 64 kB is dropped
// with one line and chat goes on both ways; one larger than SCTP's 1 MiB
// receive window can never arrive, and chat is closed with one line while
// the call, and its audio, go on.
func TestHostileBigMessages(t *testing.T) {
	t.Run("1MiB", func(t *testing.T) {
		c, raw := joinRaw(t, rawpeer.Options{Chat: true, BigMessages: true})
		waitConnected(t, c)
		chat := rawChat(t, raw)
		if err := chat.Send(make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		chat.Send(rawpeer.Message(1, "after the big one"))
		if e := next[ErrorEvent](t, c); !errors.Is(e.Err, ErrChatTooBig) {
			t.Errorf("error %v; want %v", e.Err, ErrChatTooBig)
		}
		if got := nextChat(t, c); got != "after the big one" {
			t.Errorf("parley got %q", got)
		}
		c.Send("and back")
		if got := rawMessage(t, raw, chat); got != "and back" {
			t.Errorf("raw peer got %q", got)
		}
		next[DeliveredEvent](t, c)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("chat worked both ways %v after the big message; want within 2 s", d)
		}
	})
	t.Run("4MiB", func(t *testing.T) {
		// Stalls are looked for at each StatsEvent, which the fake clock
		// brings as fast as the call takes them.
		cfg, fc := onFake(sdpConfig())
		c, raw := joinRawWith(t, rawpeer.Options{Chat: true, Audio: true, BigMessages: true}, cfg)
		packets := make(chan struct{}, 1000)
		c.SetAudioReceiver(func(*rtp.Packet, time.Time) {
			select {
			case packets <- struct{}{}:
			default:
			}
		})
		waitConnected(t, c)
		chat := rawChat(t, raw)
		go chat.Send(make([]byte, 4<<20)) // blocks nothing but its own stream
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			seq, ts := uint16(0), uint32(0)
			rawpeer.Every(ctx, 20*time.Millisecond, func() bool {
				seq, ts = seq+1, ts+960
				return raw.SendAudio(seq, ts, rawpeer.Opus) == nil
			})
		}()
		e := nextAdvancing[ErrorEvent](t, fc, statsInterval, c)
		if !errors.Is(e.Err, ErrChatStuck) {
			t.Fatalf("error %v; want %v", e.Err, ErrChatStuck)
		}
		if _, err := c.Send("hello?"); !errors.Is(err, ErrChatStuck) {
			t.Errorf("Send = %v; want %v", err, ErrChatStuck)
		}
		for len(packets) > 0 {
			<-packets
		}
		for i := 0; i < 10; i++ {
			select {
			case <-packets:
			case <-time.After(2 * time.Second):
				t.Fatal("audio stopped with the chat")
			}
		}
	})
}

// TestHostileByeWait: a peer that says bye and never acknowledges what it
// was sent is answered after byeWait, on the call's clock, and the
// message is reported undelivered.
func TestHostileByeWait(t *testing.T) {
	cfg, fc := onFake(sdpConfig())
	c, raw := inviteRawWith(t, rawpeer.Options{Chat: true}, cfg)
	waitConnected(t, c)
	chat := rawChat(t, raw)
	id, _ := c.Send("never acknowledged")
	<-raw.Messages
	chat.Send(rawpeer.Bye())
	until(t, c, "bye from the peer", func() bool { return c.peerBye })
	start := fc.Now()
	bye := nextAdvancing[ByeEvent](t, fc, hangUpPoll, c)
	if took := fc.Now().Sub(start); took < byeWait || took > byeWait+time.Second {
		t.Errorf("answered the bye after %v; want byeWait (%v)", took, byeWait)
	}
	if bye.Reason != "peer hung up" || len(bye.Undelivered) != 1 || bye.Undelivered[0] != id || bye.Err == nil {
		t.Errorf("bye %+v; want the peer's hang-up, message %d undelivered", bye, id)
	}
}

// TestHostileHangUpWhenDelivered: a patient hang-up to a peer that never
// acknowledges ends once the peer has been idle for idleWait, and, while
// the peer goes on sending, after hangUpMax.
func TestHostileHangUpWhenDelivered(t *testing.T) {
	start := func(t *testing.T) (*Call, *webrtc.DataChannel, *clock.Fake, uint64) {
		cfg, fc := onFake(sdpConfig())
		c, raw := inviteRawWith(t, rawpeer.Options{Chat: true}, cfg)
		waitConnected(t, c)
		chat := rawChat(t, raw)
		id, _ := c.Send("never acknowledged")
		<-raw.Messages
		c.HangUpWhenDelivered()
		flush(c)
		return c, chat, fc, id
	}
	check := func(t *testing.T, bye ByeEvent, id uint64, took, want, slack time.Duration) {
		t.Helper()
		if took < want || took > want+slack {
			t.Errorf("hung up after %v; want %v", took, want)
		}
		if bye.Reason != "hung up" || len(bye.Undelivered) != 1 || bye.Undelivered[0] != id {
			t.Errorf("bye %+v; want a hang-up with message %d undelivered", bye, id)
		}
	}
	t.Run("idle", func(t *testing.T) {
		c, _, fc, id := start(t)
		t0 := fc.Now()
		bye := nextAdvancing[ByeEvent](t, fc, hangUpPoll, c)
		check(t, bye, id, fc.Now().Sub(t0), idleWait, hangUpPoll)
	})
	t.Run("max", func(t *testing.T) {
		c, chat, fc, id := start(t)
		t0 := fc.Now()
		// The peer delivers a message of its own each second: never idle.
		for i := uint64(1); !on(c, func() bool { return c.finished }); i++ {
			if i > 2*uint64(hangUpMax/time.Second) {
				t.Fatalf("still hanging up after %v", fc.Now().Sub(t0))
			}
			chat.Send(rawpeer.Message(i, "still here"))
			until(t, c, "message from the peer", func() bool { return c.seen.has(i) })
			advance(fc, time.Second, c)
		}
		check(t, next[ByeEvent](t, c), id, fc.Now().Sub(t0), hangUpMax, time.Second)
	})
}
