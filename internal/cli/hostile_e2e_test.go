package cli

// Hostile peers: a bare pion peer (internal/rawpeer), speaking the
// standard form of code, against a real parley process. Each test says
// what the raw peer does and what parley must still do.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/audio"
	"parley/internal/rawpeer"
	"parley/internal/relay"
	"parley/internal/speech"
	"parley/rtc"
)

// watched is a parley process whose every output line read is kept, so
// that a test can count lines over the whole run.
type watched struct {
	*peer
	seen []map[string]any
	log  *lockedBuffer // its standard error, readable while it runs
}

// startWatched starts parley as startPeer does, keeping the lines read.
func startWatched(t *testing.T, args ...string) *watched {
	t.Helper()
	w, release := startUnread(t, parleyBinary(t), args...)
	release()
	return w
}

// build is a parley binary for a memory test.
type build struct {
	name      string
	bin       string
	boundsRSS bool // the test bounds its RSS
}

// builds are the parley binaries a memory test runs: a plain one, whose
// RSS is bounded, and, when the tests run under the race detector, the
// race-built one too, to check parley for races under the same attack;
// its RSS is only logged.
func builds(t *testing.T) []build {
	b := []build{{"plain", plainBinary(t), true}}
	if raceEnabled {
		b = append(b, build{"race", parleyBinary(t), false})
	}
	return b
}

// startUnread is startWatched for a test that leaves parley's standard
// output unread: past the first line (the invite or the answer) nothing
// is read from the pipe until release is called, so that parley's writes
// block once the pipe is full, as with a UI that has stopped reading.
//
// A binary built with -race sleeps a second before it exits
// (GORACE's atexit_sleep_ms), which is no part of parley's hang-up: these
// processes are started without it, so that the time to exit measures
// parley.
func startUnread(t *testing.T, bin string, args ...string) (w *watched, release func()) {
	t.Helper()
	cmd := exec.Command(bin, slices.Concat(args[:1], loopbackFlags, args[1:])...)
	cmd.Env = append(os.Environ(), strings.TrimSpace("GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p := &peer{t: t, name: "parley", cmd: cmd, events: make(chan map[string]any, 1<<14), stderr: new(strings.Builder), done: make(chan struct{})}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	log := new(lockedBuffer)
	cmd.Stderr = io.MultiWriter(p.stderr, log)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		first := true
		for sc.Scan() {
			// A bad line is passed on for the test to fail on as it
			// reads: the test may have ended by now. (The last line of a
			// process killed, or ended, while its reader had stopped can be
			// cut short, and nothing reads it.)
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"type": badLine, "line": sc.Text()}
			} else if _, ok := m["type"].(string); !ok {
				m = map[string]any{"type": badLine, "line": sc.Text()}
			}
			p.events <- m
			if first {
				first = false
				<-gate
			}
		}
	}()
	t.Cleanup(func() {
		release()
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("parley stderr:\n%s", p.stderr.String())
		}
	})
	return &watched{peer: p, log: log}, release
}

// badLine is the type given to an output line that is not a JSON object
// with a type.
const badLine = "(not JSON)"

// await returns the first line for which ok holds, reading at most for
// d; false if none came. Output ending (the process died) is fatal.
func (w *watched) await(d time.Duration, ok func(map[string]any) bool) (map[string]any, bool) {
	w.t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case m, open := <-w.events:
			if !open {
				w.cmd.Wait()
				w.t.Fatalf("parley's output ended (%s); its last lines: %v", status(w.cmd.ProcessState), last(w.seen, 5))
			}
			if m["type"] == badLine {
				w.t.Errorf("parley: stdout line is not a JSON object with a type: %q", m["line"])
				continue
			}
			w.seen = append(w.seen, m)
			if ok(m) {
				return m, true
			}
		case <-timeout.C:
			return nil, false
		}
	}
}

// must is await, failing the test if no such line comes within d.
func (w *watched) must(d time.Duration, what string, ok func(map[string]any) bool) map[string]any {
	w.t.Helper()
	m, found := w.await(d, ok)
	if !found {
		w.t.Fatalf("parley: no %s within %v; its last lines: %v", what, d, last(w.seen, 5))
	}
	return m
}

// connected waits for parley's "connected" state line. In a call with
// audio the line comes once the audio has started (headless.converse
// starts it first), so the peer's packets reach the jitter buffer from
// then on.
func (w *watched) connected() {
	w.t.Helper()
	w.must(20*time.Second, "connected state", func(m map[string]any) bool {
		if m["type"] == "state" && (m["state"] == "failed" || m["state"] == "closed") {
			w.t.Fatalf("parley: %v while connecting", m)
		}
		return m["type"] == "state" && m["state"] == "connected"
	})
}

// end reads the rest of the output and waits for the process, at most d;
// it returns the lines and the exit status, and the time at which the
// process was seen to have ended (an upper bound of its exit).
func (w *watched) end(d time.Duration) ([]map[string]any, *os.ProcessState, time.Time) {
	w.t.Helper()
	var rest []map[string]any
	var cut any // a bad line, fine only as the very last
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case m, open := <-w.events:
			if !open {
				w.cmd.Wait() // the status is in ProcessState
				at := time.Now()
				w.seen = append(w.seen, rest...)
				return rest, w.cmd.ProcessState, at
			}
			if cut != nil {
				w.t.Errorf("parley: stdout line is not a JSON object with a type: %q", cut)
				cut = nil
			}
			if m["type"] == badLine {
				cut = m["line"]
				continue
			}
			rest = append(rest, m)
		case <-timeout.C:
			w.t.Fatalf("parley did not end within %v; its last lines: %v", d, last(append(w.seen, rest...), 5))
		}
	}
}

// count counts the lines read so far for which ok holds.
func (w *watched) count(ok func(map[string]any) bool) int {
	n := 0
	for _, m := range w.seen {
		if ok(m) {
			n++
		}
	}
	return n
}

func isType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

// isError matches error lines whose message contains s.
func isError(s string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		msg, _ := m["message"].(string)
		return m["type"] == "error" && strings.Contains(msg, s)
	}
}

func isChat(text string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "chat" && m["text"] == text }
}

func num(m map[string]any, key string) float64 {
	f, _ := m[key].(float64)
	return f
}

// last returns the last n lines, long strings (codes) cut short, for a
// failure message.
func last(ms []map[string]any, n int) []map[string]any {
	var out []map[string]any
	for _, m := range ms[max(0, len(ms)-n):] {
		c := map[string]any{}
		for k, v := range m {
			if s, ok := v.(string); ok && len(s) > 60 {
				v = s[:60] + "…"
			}
			c[k] = v
		}
		out = append(out, c)
	}
	return out
}

// status describes an exit status in words.
func status(ps *os.ProcessState) string {
	if ps == nil {
		return "not ended"
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", ps.ExitCode())
}

// newRaw makes a raw peer, closed when the test ends.
func newRaw(t *testing.T, o rawpeer.Options) *rawpeer.Peer {
	t.Helper()
	p, err := rawpeer.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// rawCalls makes the raw peer the caller and parley (join --sdp, with
// extra flags) the callee, and waits until both are connected.
func rawCalls(t *testing.T, ctx context.Context, raw *rawpeer.Peer, extra ...string) *watched {
	t.Helper()
	return rawCallsBin(t, ctx, parleyBinary(t), raw, extra...)
}

// rawCallsBin is rawCalls with the given parley binary.
func rawCallsBin(t *testing.T, ctx context.Context, bin string, raw *rawpeer.Peer, extra ...string) *watched {
	t.Helper()
	invite, err := raw.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, release := startUnread(t, bin, append([]string{"join", "--sdp", invite}, extra...)...)
	release()
	answer := p.must(20*time.Second, "answer", isType("answer"))["code"].(string)
	if err := raw.Accept(answer); err != nil {
		t.Fatalf("raw peer: accept parley's answer: %v", err)
	}
	if err := raw.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	p.connected()
	return p
}

// rawInbox hands over what parley sends on the chat channel; with ack, the
// raw peer acknowledges each message frame as parley's protocol wants.
func rawInbox(t *testing.T, raw *rawpeer.Peer, dc *webrtc.DataChannel, ack bool) <-chan webrtc.DataChannelMessage {
	out := make(chan webrtc.DataChannelMessage, 4096)
	ctx := t.Context()
	go func() {
		for {
			select {
			case m := <-raw.Messages:
				if id, _, ok := rawpeer.ParseMessage(m.Data); ok && ack && !m.IsString {
					dc.Send(rawpeer.Ack(id))
				}
				select {
				case out <- m:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// rawReceives waits for a message frame with text from parley, at most d.
func rawReceives(in <-chan webrtc.DataChannelMessage, text string, d time.Duration) (uint64, bool) {
	timeout := time.After(d)
	for {
		select {
		case m := <-in:
			if id, got, ok := rawpeer.ParseMessage(m.Data); ok && !m.IsString && got == text {
				return id, true
			}
		case <-timeout:
			return 0, false
		}
	}
}

// vmRSS returns a process's resident set in bytes, from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// rssWatch samples a process's RSS until stopped, keeping the largest.
type rssWatch struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if n, err := vmRSS(pid); err == nil && n > w.peak.Load() {
				w.peak.Store(n)
			}
			select {
			case <-t.C:
			case <-w.stop:
				return
			}
		}
	}()
	return w
}

// Stop stops sampling and returns the peak.
func (w *rssWatch) Stop() int64 {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.peak.Load()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// baselineRSS is the process's RSS now, the largest of a few samples over
// 300 ms.
func baselineRSS(t *testing.T, pid int) int64 {
	t.Helper()
	var base int64
	for range 4 {
		n, err := vmRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		base = max(base, n)
		time.Sleep(100 * time.Millisecond)
	}
	return base
}

// audioStream sends RTP from the raw peer in the background, one packet
// every 20 ms: payload(i) for the i-th packet, sequence numbers and
// 960-sample timestamps continuing from seq and ts. It stops when payload
// returns nil or stop is called, and counts the packets sent. Packets go
// out on a fixed schedule; one that the test process sends late (the
// machine busy) is sent at once, and the lateness recorded.
type audioStream struct {
	sent atomic.Int64
	late atomic.Int64 // the most any packet went out after its time, in ns
	// lateBy counts the packets that went out more than 2, 5, 10 and 20
	// ms after their time.
	lateBy [4]atomic.Int64 // index 2: over 10 ms
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func streamAudio(raw *rawpeer.Peer, seq uint16, ts uint32, payload func(i int) []byte) *audioStream {
	s := &audioStream{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		start := time.Now()
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * 20 * time.Millisecond)
			select {
			case <-time.After(time.Until(at)):
			case <-s.quit:
				return
			}
			p := payload(i)
			if p == nil {
				return
			}
			late := time.Since(at)
			if late > time.Duration(s.late.Load()) {
				s.late.Store(int64(late))
			}
			for k, ms := range []time.Duration{2, 5, 10, 20} {
				if late > ms*time.Millisecond {
					s.lateBy[k].Add(1)
				}
			}
			raw.SendAudio(seq, ts, p)
			seq++
			ts += 960
			s.sent.Add(1)
		}
	}()
	return s
}

func (s *audioStream) stop() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

// TestHostileJitterTimestampJumps: once connected, the raw peer sends
// twice, 20 ms apart, six back-to-back packets whose RTP timestamps each
// jump by 2^31−1 (payload the one byte 0xF8, a TOC without a frame), then
// 4 s of ordinary 20 ms packets. parley must live through it: a chat
// message from the raw peer arrives as a chat line, stats lines keep
// coming with the jitter buffer's delay bounded (|jb_delay_ms| ≤ 1000),
// the ordinary packets play (frames grow), and /quit exits 0.
func TestHostileJitterTimestampJumps(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	raw := newRaw(t, rawpeer.Options{Audio: true, Chat: true})
	p := rawCalls(t, ctx, raw, audioArgs(t)...)
	dc, err := raw.WaitChat(ctx)
	if err != nil {
		t.Fatal(err)
	}

	seq, ts := uint16(1000), uint32(123456)
	for burst := range 2 {
		if burst > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		for range 6 {
			if err := raw.SendAudio(seq, ts, []byte{0xF8}); err != nil {
				t.Fatalf("raw peer: send: %v", err)
			}
			seq++
			ts += 1<<31 - 1
		}
	}
	// ts is now one step past the last hostile packet; the ordinary
	// stream goes on from the last one.
	ts -= 1<<31 - 1
	ts += 960
	stream := streamAudio(raw, seq, ts, func(i int) []byte {
		if i >= 200 {
			return nil
		}
		return rawpeer.Opus
	})
	defer stream.stop()

	time.Sleep(500 * time.Millisecond)
	if err := dc.Send(rawpeer.Message(1, "still there?")); err != nil {
		t.Fatalf("raw peer: send chat: %v", err)
	}
	p.must(5*time.Second, `chat line "still there?"`, isChat("still there?"))

	var stats []map[string]any
	for len(stats) < 3 {
		stats = append(stats, p.must(5*time.Second, "stats line", isType("stats")))
	}
	for _, s := range stats {
		if d, ok := s["jb_delay_ms"].(float64); !ok || math.Abs(d) > 1000 {
			t.Errorf("stats line with jb_delay_ms %v; want it within ±1000 ms: %v", s["jb_delay_ms"], s)
		}
	}
	if f0, f1 := num(stats[0], "frames"), num(stats[len(stats)-1], "frames"); f1 <= f0 {
		t.Errorf("frames played went from %v to %v over %d stats lines; want the ordinary packets after the jumps to play", f0, f1, len(stats))
	}
	t.Logf("after the jumps: %v", stats[len(stats)-1])
	stream.stop()

	p.send("/quit")
	_, st, _ := p.end(5 * time.Second)
	if st.ExitCode() != 0 {
		t.Errorf("parley: %s after /quit; want exit 0", status(st))
	}
}

// TestHostileFirstTimestampOffset: the raw peer sends real Opus (parley's
// encoder on synthetic speech), its first packet's timestamp 312 samples
// past the 960-sample grid the rest follow (T+312, T+960, T+1920, …), as
// GStreamer does. Over 3 s, parley's stats must show next to no
// concealment (< 5 frames) and at least 80% of the packets sent played.
// The control sends the first packet on the grid (T+0) and must pass the
// same checks, so that a failure with 312 is the offset's doing.
//
// The bound of 5 is for a steady stream. This machine may be busy (it is
// shared), and then the test process sends some packets late; each that
// goes out more than 10 ms late (parley's output pulls every 10 ms) may be
// concealed once, and is allowed for: on a quiet machine none is.
func TestHostileFirstTimestampOffset(t *testing.T) {
	t.Parallel()
	enc, err := audio.NewEncoder(audio.EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	if err := enc.Write(speech.Synthetic(6*48000), func(p audio.Packet) {
		if p.Data != nil {
			pkts = append(pkts, slices.Clone(p.Data))
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		offset uint32
	}{{"312", 312}, {"control 0", 0}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			raw := newRaw(t, rawpeer.Options{Audio: true, Chat: true})
			p := rawCalls(t, ctx, raw, audioArgs(t)...)

			const T = uint32(90000)
			if err := raw.SendAudio(0, T+c.offset, pkts[0]); err != nil {
				t.Fatalf("raw peer: send: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
			stream := streamAudio(raw, 1, T+960, func(i int) []byte {
				if i+1 >= len(pkts) {
					return nil
				}
				return pkts[i+1]
			})
			defer stream.stop()
			start := time.Now()

			var s map[string]any
			var sent, late int64
			for {
				s = p.must(5*time.Second, "stats line", isType("stats"))
				sent, late = stream.sent.Load()+1, stream.lateBy[2].Load()
				if time.Since(start) >= 3*time.Second {
					break
				}
			}
			stream.stop()
			t.Logf("first packet at T+%d; %d packets sent in %v, %d of them over 10 ms late (at most %v); parley: %v",
				c.offset, sent, time.Since(start).Round(time.Millisecond), late, time.Duration(stream.late.Load()).Round(time.Millisecond), s)
			if strings.Contains(p.log.String(), "periods late") {
				t.Logf("parley's output fell behind: the machine is busy")
			}
			frames, concealed := num(s, "frames"), num(s, "concealed")
			if concealed >= float64(5+late) {
				t.Errorf("parley concealed %v frames; want fewer than 5 (+%d for the packets sent late)", concealed, late)
			}
			if frames < 0.8*float64(sent) {
				t.Errorf("parley played %v frames of %d packets sent; want at least 80%%", frames, sent)
			}
			p.send("/quit")
			if _, st, _ := p.end(5 * time.Second); st.ExitCode() != 0 {
				t.Errorf("parley: %s after /quit; want exit 0", status(st))
			}
		})
	}
}

// TestHostileNoChat: a peer whose session has no data-channel section.
// parley says so in exactly one error line, refuses a typed line with the
// same message, and still hangs up within 2 s of /quit, EOF, SIGINT or
// SIGTERM, as callee and as caller. Each of these is the user hanging up,
// a normal end: exit 0, the last line "bye", "hung up". And a second
// SIGINT ends parley at once, during a hang-up that waits for delivery.
func TestHostileNoChat(t *testing.T) {
	t.Parallel()
	noChat := rtc.ErrNoChat.Error()

	// says checks the one line saying the peer has no chat, then refuses
	// a typed line.
	says := func(t *testing.T, p *watched) {
		t.Helper()
		// The line may come before the connection, as the peer's
		// session description says it.
		if p.count(isError(noChat)) == 0 {
			p.must(5*time.Second, "error line "+noChat, isError(noChat))
		}
		// Any second line saying it would come with the first.
		p.await(time.Second, func(map[string]any) bool { return false })
		if n := p.count(isError(noChat)); n != 1 {
			t.Errorf("%d error lines say %q; want 1", n, noChat)
		}
		p.send("hello?")
		p.must(2*time.Second, "error line refusing the typed line", isError(noChat))
	}
	ends := func(t *testing.T, p *watched, how string, end func()) {
		t.Helper()
		start := time.Now()
		end()
		rest, st, at := p.end(10 * time.Second)
		took := at.Sub(start)
		t.Logf("%s: %s after %v", how, status(st), took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("parley ended %v after %s; want within 2 s", took.Round(time.Millisecond), how)
		}
		if st.ExitCode() != 0 {
			t.Errorf("parley: %s after %s; want exit 0, a normal hang-up", status(st), how)
		}
		if len(rest) == 0 || rest[len(rest)-1]["type"] != "bye" || rest[len(rest)-1]["reason"] != "hung up" {
			t.Errorf("last lines after %s: %v; want bye, hung up", how, last(rest, 3))
		}
		if n := p.count(isError(noChat)); n != 2 {
			t.Errorf("%d error lines say %q; want 2: the notice and the refusal", n, noChat)
		}
	}

	for _, c := range []struct {
		name string
		end  func(p *watched)
	}{
		{"quit", func(p *watched) { p.send("/quit") }},
		{"EOF", func(p *watched) { p.stdin.Close() }},
		{"SIGINT", func(p *watched) { p.cmd.Process.Signal(os.Interrupt) }},
		{"SIGTERM", func(p *watched) { p.cmd.Process.Signal(syscall.SIGTERM) }},
	} {
		t.Run("join/"+c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			raw := newRaw(t, rawpeer.Options{Audio: true})
			p := rawCalls(t, ctx, raw)
			says(t, p)
			ends(t, p, c.name, func() { c.end(p) })
		})
	}

	// parley calls; the raw peer's answer rejects the data section.
	t.Run("call/quit", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		raw := newRaw(t, rawpeer.Options{Audio: true})
		p := startWatched(t, "call", "--sdp")
		invite := p.must(20*time.Second, "invite", isType("invite"))["code"].(string)
		answer, err := raw.Answer(ctx, invite)
		if err != nil {
			t.Fatal(err)
		}
		p.send(answer)
		if err := raw.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		p.connected()
		says(t, p)
		ends(t, p, "/quit", func() { p.send("/quit") })
	})

	// The raw peer has chat but never acknowledges: "hello" stays
	// unacknowledged, so the hang-up SIGINT starts waits for it, up to
	// 1.5 s. A second SIGINT 100 ms later must end parley at once.
	t.Run("second SIGINT", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		raw := newRaw(t, rawpeer.Options{Audio: true, Chat: true})
		p := rawCalls(t, ctx, raw)
		dc, err := raw.WaitChat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		in := rawInbox(t, raw, dc, false)
		p.send("hello")
		if _, ok := rawReceives(in, "hello", 5*time.Second); !ok {
			t.Fatal(`the raw peer never got "hello"`)
		}
		first := time.Now()
		p.cmd.Process.Signal(os.Interrupt)
		time.Sleep(100 * time.Millisecond)
		second := time.Now()
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("second SIGINT: %v (parley had already ended: the hang-up did not wait for delivery)", err)
		}
		_, st, at := p.end(5 * time.Second)
		t.Logf("%s, %v after the second SIGINT, %v after the first", status(st),
			at.Sub(second).Round(time.Millisecond), at.Sub(first).Round(time.Millisecond))
		if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Errorf("parley: %s; want it killed by the second SIGINT", status(st))
		}
		if d := at.Sub(second); d > 500*time.Millisecond {
			t.Errorf("parley ended %v after the second SIGINT; want within 500 ms", d.Round(time.Millisecond))
		}
		if d := at.Sub(first); d >= 1500*time.Millisecond {
			t.Errorf("parley ended %v after the first SIGINT: it waited out the hang-up", d.Round(time.Millisecond))
		}
	})
}

// floodDropped reads the count from a line such as "9871 messages from
// your peer were dropped: they came faster than they could be shown".
var floodDropped = regexp.MustCompile(`^(\d+) messages? from your peer (?:were|was) dropped`)

// TestHostileStringFlood: the raw peer sends 10,000 string messages of
// 4000 bytes as fast as its association takes them, while nothing reads
// parley's output. parley's RSS must stay within 50 MB of what it was
// just after connecting (measured on a plain build: see plainBinary; under
// -race the race-built parley is flooded too and its RSS only logged).
// Then, output read: far fewer chat lines than 10,000, no more than the
// rate limit lets through (a 512 kB burst and 100 kB/s, at 4000 bytes and
// 64 of overhead each), in order and each once; no error line but the
// reports of what was dropped, with their counts: one line, or one per 5 s
// of a long flood; shown plus dropped account for what was sent, but what
// may still be in flight; /quit exits 0.
//
// It runs alone (not in parallel): a flood takes what CPU there is, and
// the timing bounds of the other tests need some.
func TestHostileStringFlood(t *testing.T) {
	for _, b := range builds(t) {
		t.Run(b.name, func(t *testing.T) { stringFlood(t, b) })
	}
}

func stringFlood(t *testing.T, b build) {
	const (
		n        = 10000
		size     = 4000
		overhead = 64
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw := newRaw(t, rawpeer.Options{Chat: true})
	invite, err := raw.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, release := startUnread(t, b.bin, "join", "--sdp", invite)
	answer := p.must(20*time.Second, "answer", isType("answer"))["code"].(string)
	if err := raw.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if err := raw.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	dc, err := raw.WaitChat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := p.cmd.Process.Pid
	base := baselineRSS(t, pid)
	rss := watchRSS(pid)
	defer rss.Stop()

	// Keep at most 4 MB queued in the raw peer's association.
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(1 << 20)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	pad := strings.Repeat("x", size-6)
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	sent := 0
	var sendErr error
	for ; sent < n && time.Now().Before(deadline); sent++ {
		for dc.BufferedAmount() > 4<<20 && time.Now().Before(deadline) {
			select {
			case <-low:
			case <-time.After(10 * time.Millisecond):
			}
		}
		if sendErr = dc.SendText(fmt.Sprintf("%05d ", sent) + pad); sendErr != nil {
			// parley closed the channel: say so, and check the rest.
			t.Errorf("raw peer: send message %d: %v (channel %s)", sent, sendErr, dc.ReadyState())
			break
		}
	}
	for dc.BufferedAmount() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	flood := time.Since(start)
	t.Logf("the raw peer sent %d messages in %v (%d bytes still queued)", sent, flood.Round(time.Millisecond), dc.BufferedAmount())
	if sent < n && sendErr == nil {
		t.Logf("the flood was cut short at 20 s")
	}
	// The count is reported once the flood has paused for a second.
	time.Sleep(2 * time.Second)
	duringAfter := rss.Stop()
	queued := dc.BufferedAmount()
	t.Logf("parley's RSS: %s just after connecting, at most %s during and after the flood", mb(base), mb(duringAfter))
	if b.boundsRSS && duringAfter-base > 50<<20 {
		t.Errorf("parley's RSS grew from %s to %s, %s more; want at most 50 MB more", mb(base), mb(duringAfter), mb(duringAfter-base))
	}

	release()
	p.send("/quit")
	_, st, at := p.end(20 * time.Second)
	elapsed := at.Sub(start)
	if st.ExitCode() != 0 {
		t.Errorf("parley: %s after /quit; want exit 0", status(st))
	}
	var shown, dropped, lines int
	prev := -1
	for _, m := range p.seen {
		switch m["type"] {
		case "chat":
			text, _ := m["text"].(string)
			i, err := strconv.Atoi(strings.TrimSpace(text[:min(len(text), 6)]))
			if err != nil || len(text) != size {
				t.Errorf("chat line of %d bytes, starting %.10q; want one of the flood's", len(text), text)
				continue
			}
			if i <= prev {
				t.Errorf("chat line %d after %d; want each once and in order", i, prev)
			}
			prev = i
			shown++
		case "error":
			msg, _ := m["message"].(string)
			if sm := floodDropped.FindStringSubmatch(msg); sm != nil {
				k, _ := strconv.Atoi(sm[1])
				dropped += k
				lines++
			} else {
				t.Errorf("error line %q", msg)
			}
		}
	}
	limit := int((512_000 + 100_000*elapsed.Seconds()) / (size + overhead))
	// In flight: what the raw peer still held, and the association's
	// receive window at parley's end (1 MiB).
	inFlight := int(queued)/size + (1<<20)/size
	t.Logf("parley showed %d messages and reported %d dropped in %d lines; the rate limit lets %d through in %v",
		shown, dropped, lines, limit, elapsed.Round(time.Millisecond))
	if shown > limit {
		t.Errorf("parley showed %d messages; the rate limit allows %d in %v", shown, limit, elapsed.Round(time.Millisecond))
	}
	// parley reports a flood once it pauses for a second, or every 5 s
	// while it goes on (from the first drop), and what is left when the
	// call ends; its drops end before it exits.
	if maxLines := 1 + int(elapsed/(5*time.Second)); lines < 1 || lines > maxLines {
		t.Errorf("%d lines report dropped messages; want 1, at most %d for drops within %v", lines, maxLines, elapsed.Round(time.Millisecond))
	}
	if shown+dropped > sent || shown+dropped < sent-inFlight {
		t.Errorf("shown %d + dropped %d = %d of %d sent; want all but at most %d in flight", shown, dropped, shown+dropped, sent, inFlight)
	}
}

// TestHostileUndelivered: parley calls, the raw peer answers with chat but
// never acknowledges; two lines are typed. Then the raw peer goes: it
// closes its connection (a DTLS close_notify), or its packets stop dead
// (through the test's relay, as if its machine vanished). parley must
// list both messages as undelivered, say in its bye what happened, and
// exit 1.
func TestHostileUndelivered(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		relay  bool
		reason string
		within time.Duration
	}{
		{"close", false, "closed the connection", 5 * time.Second},
		{"vanish", true, "lost", 20 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			raw := newRaw(t, rawpeer.Options{Audio: true, Chat: true})
			p := startWatched(t, "call", "--sdp")
			invite := p.must(20*time.Second, "invite", isType("invite"))["code"].(string)
			var r *relay.Relay
			if c.relay {
				var err error
				if r, err = relay.New(relay.Impairment{}, relay.Impairment{}, 1); err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				// parley is A, the raw peer B.
				var real netip.AddrPort
				invite, real = sdpVia(t, invite, r.SideB())
				r.SetTargetA(real)
			}
			answer, err := raw.Answer(ctx, invite)
			if err != nil {
				t.Fatal(err)
			}
			if c.relay {
				var real netip.AddrPort
				answer, real = sdpVia(t, answer, r.SideA())
				r.SetTargetB(real)
			}
			p.send(answer)
			if err := raw.WaitConnected(ctx); err != nil {
				t.Fatal(err)
			}
			p.connected()
			dc, err := raw.WaitChat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			in := rawInbox(t, raw, dc, false)
			p.send("first")
			p.send("second")
			for _, text := range []string{"first", "second"} {
				if _, ok := rawReceives(in, text, 5*time.Second); !ok {
					t.Fatalf("the raw peer never got %q", text)
				}
			}
			start := time.Now()
			if c.relay {
				r.SetDown(true)
			} else {
				raw.Close()
			}
			rest, st, at := p.end(c.within + 5*time.Second)
			t.Logf("parley: %s %v after the raw peer went; its last lines: %v", status(st), at.Sub(start).Round(time.Millisecond), last(rest, 3))
			if d := at.Sub(start); d > c.within {
				t.Errorf("parley ended %v after the raw peer went; want within %v", d.Round(time.Millisecond), c.within)
			}
			if st.ExitCode() != 1 {
				t.Errorf("parley: %s; want exit 1", status(st))
			}
			var und, bye map[string]any
			for _, m := range rest {
				switch m["type"] {
				case "undelivered":
					und = m
				case "bye":
					bye = m
				}
			}
			if und == nil {
				t.Errorf("no undelivered line; lines after the raw peer went: %v", rest)
			} else {
				var ids []float64
				for _, id := range und["ids"].([]any) {
					ids = append(ids, id.(float64))
				}
				if !slices.Equal(ids, []float64{1, 2}) || und["message"] != "2 of your messages were not delivered" {
					t.Errorf("undelivered line %v; want ids [1 2], 2 of your messages were not delivered", und)
				}
			}
			if len(rest) == 0 || rest[len(rest)-1]["type"] != "bye" {
				t.Errorf("last line %v; want bye", last(rest, 1))
			} else if reason, _ := bye["reason"].(string); !strings.Contains(reason, c.reason) {
				t.Errorf("bye reason %q; want it to say %q", reason, c.reason)
			}
		})
	}
}

// sdpVia rewrites a standard-form code so that its one candidate is to,
// and returns the code's first IPv4 host candidate, where the relay must
// forward.
func sdpVia(t *testing.T, code string, to netip.AddrPort) (string, netip.AddrPort) {
	t.Helper()
	desc, err := rawpeer.Decode(code)
	if err != nil {
		t.Fatal(err)
	}
	var real netip.AddrPort
	var out []string
	for _, l := range strings.Split(desc.SDP, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
			continue
		}
		// a=candidate:foundation component transport priority address port typ type
		f := strings.Fields(l)
		if len(f) >= 8 && f[1] == "1" && strings.EqualFold(f[2], "udp") && f[7] == "host" && !real.IsValid() {
			if a, err := netip.ParseAddrPort(f[4] + ":" + f[5]); err == nil && a.Addr().Is4() {
				real = a
			}
		}
		out = append(out, fmt.Sprintf("a=candidate:1 1 udp 2130706431 %s %d typ host", to.Addr(), to.Port()))
	}
	if !real.IsValid() {
		t.Fatalf("no IPv4 host candidate in %q", desc.SDP)
	}
	desc.SDP = strings.Join(dedupe(out), "\r\n")
	return rawpeer.Encode(desc), real
}

// dedupe drops repeated candidate lines within each media section.
func dedupe(lines []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			seen = map[string]bool{}
		}
		if strings.HasPrefix(l, "a=candidate:") {
			if seen[l] {
				continue
			}
			seen[l] = true
		}
		out = append(out, l)
	}
	return out
}

// TestHostileBigMessage: the raw peer ignores parley's 64 kB
// max-message-size and sends one binary message of 1 MiB, or 4 MiB, while
// its audio plays. 1 MiB fits SCTP's receive window: parley says in one
// error line that it dropped it (over 64 kB), and within 2 s chat works
// both ways again (one of the message frames the raw peer sends every
// 100 ms after the big one shows as a chat line, and a line then typed in
// parley reaches the raw peer and is acknowledged: no undelivered line at
// the end). 4 MiB can never arrive: within 4 s parley says in exactly one
// error line that chat is closed, and the audio goes on (frames keep
// growing). parley's RSS stays within 20 MB of
// its baseline (on a plain build, as in TestHostileStringFlood), and /quit
// exits 0.
//
// It runs alone, as TestHostileStringFlood does: each of its runs sends
// megabytes over SCTP, and its bound is 2 s.
func TestHostileBigMessage(t *testing.T) {
	for _, size := range []int{1 << 20, 4 << 20} {
		tooBig := "over 64 kB, more than parley takes: it was dropped"
		if size > 1<<20 {
			tooBig = "too large to ever arrive: chat is closed"
		}
		for _, b := range builds(t) {
			t.Run(fmt.Sprintf("%dMiB/%s", size>>20, b.name), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
				defer cancel()
				raw := newRaw(t, rawpeer.Options{Audio: true, Chat: true, BigMessages: true})
				p := rawCallsBin(t, ctx, b.bin, raw, audioArgs(t)...)
				dc, err := raw.WaitChat(ctx)
				if err != nil {
					t.Fatal(err)
				}
				in := rawInbox(t, raw, dc, true)
				stream := streamAudio(raw, 1, 0, func(int) []byte { return rawpeer.Opus })
				defer stream.stop()
				p.must(10*time.Second, "stats line with frames played", func(m map[string]any) bool {
					return m["type"] == "stats" && num(m, "frames") >= 25
				})
				pid := p.cmd.Process.Pid
				base := baselineRSS(t, pid)
				rss := watchRSS(pid)
				defer rss.Stop()

				big := rawpeer.Message(1, strings.Repeat("x", size-2)) // type, id, text
				t0 := time.Now()
				if err := dc.Send(big); err != nil {
					t.Fatalf("raw peer: send %d bytes: %v", len(big), err)
				}
				// Probes, every 100 ms until one shows: the big message may fill
				// parley's inbox, and the next message be dropped as a flood.
				probes := make(chan struct{})
				probing := make(chan struct{})
				go func() {
					defer close(probing)
					for id := uint64(2); ; id++ {
						if dc.Send(rawpeer.Message(id, fmt.Sprintf("probe %d after the big one", id))) != nil {
							return // chat closed
						}
						select {
						case <-probes:
							return
						case <-time.After(100 * time.Millisecond):
						}
					}
				}()
				m, ok := p.await(5*time.Second, func(m map[string]any) bool {
					text, _ := m["text"].(string)
					return m["type"] == "chat" && strings.HasPrefix(text, "probe ") || size > 1<<20 && isError(tooBig)(m)
				})
				close(probes)
				<-probing
				if !ok {
					t.Fatalf("5 s after the big message, neither did chat work nor did parley say it was closed; last lines %v", last(p.seen, 5))
				}
				outcome := "chat works both ways"
				var took time.Duration
				if m["type"] == "chat" {
					outcome += fmt.Sprintf(": %q shows", m["text"])
					p.send("from parley")
					if _, ok := rawReceives(in, "from parley", 5*time.Second); !ok {
						t.Fatalf("the raw peer never got parley's message")
					}
					if took = time.Since(t0); took > 2*time.Second {
						t.Errorf("chat worked both ways %v after the big message; want within 2 s", took.Round(time.Millisecond))
					}
				} else {
					// parley tells a message that cannot arrive from one on its
					// way once the bytes stop coming: a second after the window
					// fills, checked once a second.
					outcome = "chat closed with one error line, audio goes on"
					if took = time.Since(t0); took > 4*time.Second {
						t.Errorf("parley said chat was closed %v after the big message; want within 4 s", took.Round(time.Millisecond))
					}
					var frames []float64
					for len(frames) < 3 {
						frames = append(frames, num(p.must(5*time.Second, "stats line", isType("stats")), "frames"))
					}
					if !(frames[0] < frames[1] && frames[1] < frames[2]) {
						t.Errorf("frames played %v after chat closed; want them growing: the audio goes on", frames)
					}
				}
				// Let the rest of the message arrive, or not, before the last
				// RSS sample.
				time.Sleep(time.Until(t0.Add(3 * time.Second)))
				peak := rss.Stop()
				t.Logf("%d MiB, %s build: %s, %v after the big message; parley's RSS %s before, at most %s after",
					size>>20, b.name, outcome, took.Round(time.Millisecond), mb(base), mb(peak))
				if b.boundsRSS && peak-base > 20<<20 {
					t.Errorf("parley's RSS grew from %s to %s, %s more; want at most 20 MB more", mb(base), mb(peak), mb(peak-base))
				}
				stream.stop()
				p.send("/quit")
				rest, st, _ := p.end(5 * time.Second)
				if st.ExitCode() != 0 {
					t.Errorf("parley: %s after /quit; want exit 0", status(st))
				}
				if n := p.count(isError(tooBig)); n != 1 {
					t.Errorf("%d error lines say %q; want 1", n, tooBig)
				}
				for _, m := range rest {
					if m["type"] == "undelivered" {
						t.Errorf("%v: parley's message was not acknowledged", m)
					}
				}
			})
		}
	}
}

// TestHostileLeaveWhileUnread: a UI that has stopped reading parley's
// output, while the raw peer's messages fill it, still ends the call
// within 2 s with /quit, SIGINT or SIGTERM, as headless promises, exit 0.
// (The lines parley could not write are dropped: nobody reads them.)
func TestHostileLeaveWhileUnread(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		end  func(p *watched)
	}{
		{"quit", func(p *watched) { p.send("/quit") }},
		{"SIGINT", func(p *watched) { p.cmd.Process.Signal(os.Interrupt) }},
		{"SIGTERM", func(p *watched) { p.cmd.Process.Signal(syscall.SIGTERM) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			raw := newRaw(t, rawpeer.Options{Chat: true})
			invite, err := raw.Offer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p, release := startUnread(t, parleyBinary(t), "join", "--sdp", invite)
			answer := p.must(20*time.Second, "answer", isType("answer"))["code"].(string)
			if err := raw.Accept(answer); err != nil {
				t.Fatal(err)
			}
			dc, err := raw.WaitChat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// 300 messages of 4000 bytes: more than the pipe and parley's
			// own queue of lines hold, within the rate limit's burst.
			pad := strings.Repeat("x", 4000)
			for range 300 {
				if err := dc.SendText(pad); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(time.Second) // for parley to be stuck writing
			exited := make(chan *os.ProcessState, 1)
			start := time.Now()
			c.end(p)
			go func() {
				st, _ := p.cmd.Process.Wait()
				exited <- st
			}()
			select {
			case st := <-exited:
				took := time.Since(start)
				t.Logf("%s with the output unread: %s after %v", c.name, status(st), took.Round(time.Millisecond))
				if took > 2*time.Second {
					t.Errorf("parley ended %v after %s; want within 2 s", took.Round(time.Millisecond), c.name)
				}
				if st.ExitCode() != 0 {
					t.Errorf("parley: %s after %s; want exit 0", status(st), c.name)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("parley still runs 5 s after %s, its output unread", c.name)
			}
			release()
		})
	}
}
