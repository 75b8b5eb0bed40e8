//go:build linux

package rtc

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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"parley/audio"
)

// TestAiortcInterop calls aiortc, a WebRTC stack of its own (Python), on
// loopback in the standard (--sdp) form: parley offers and aiortc answers,
// then aiortc offers and parley answers, each with either side hanging up.
// Each call carries chat both ways in parley's protocol (frames from both
// sides, acknowledged, a plain string from aiortc, and mute frames) and
// audio both ways: each side sends Opus of a sine tone and the other
// decodes it and finds that tone's frequency in it. Then the side hanging
// up says bye and the other answers.
//
// The peer is testdata/aiortc_peer.py, a subprocess talking JSON lines on
// stdout; the codes go over its stdin and stdout. It has no ICE servers and
// gathers on 127.0.0.1 alone, and parley on lo alone, so nothing leaves
// loopback. The test is skipped when no python3 imports aiortc, except
// under CI (CI set), where that fails.
func TestAiortcInterop(t *testing.T) {
	py := findAiortc(t)
	type result struct {
		name           string
		parley, aiortc time.Duration
	}
	var results []result
	for _, tc := range []struct {
		name   string
		role   string // aiortc's part: "answer" (parley offers) or "offer"
		hangUp string // who hangs up: "parley" or "aiortc"
	}{
		{"parley offers, parley hangs up", "answer", "parley"},
		{"parley offers, aiortc hangs up", "answer", "aiortc"},
		{"aiortc offers, parley hangs up", "offer", "parley"},
		{"aiortc offers, aiortc hangs up", "offer", "aiortc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, a := aiortcCall(t, py, tc.role, tc.hangUp)
			results = append(results, result{tc.name, p, a})
		})
	}
	for _, r := range results {
		t.Logf("connect time, %s: parley %v, aiortc %v (from applying the last code)", r.name, r.parley.Round(time.Millisecond), r.aiortc.Round(time.Millisecond))
	}
}

// findAiortc returns a python3 that imports aiortc and numpy: the one on
// PATH, or else the system's (a pyenv or venv python3 on PATH does not see
// Debian's python3-aiortc).
func findAiortc(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", py, err))
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, path, "-c", "import aiortc, numpy; print(aiortc.__version__)").CombinedOutput()
		cancel()
		if err == nil {
			t.Logf("aiortc %s, with %s", strings.TrimSpace(string(out)), path)
			return path
		}
		// The last line of a traceback says what is missing.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		tried = append(tried, fmt.Sprintf("%s: %v: %s", path, err, lines[len(lines)-1]))
	}
	msg := "no python3 imports aiortc (Debian: apt-get install python3-aiortc; or scripts/setup --test): " + strings.Join(tried, "; ")
	if os.Getenv("CI") == "" {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

// The tones, and the texts exchanged; aiortc's are in
// testdata/aiortc_peer.py.
const (
	parleyToneHz   = 1000
	aiortcToneHz   = 440
	aiortcString   = "hello from aiortc, as a string \u2713"
	aiortcFrame1   = "hello from aiortc, as a frame \u2713"
	aiortcFrame2   = "and a second frame from aiortc"
	parleyToAiortc = "hello from parley \u2713 — ünïcödé"
	parleySecond   = "a second message from parley"
)

// aiortcCall runs one call between parley and the aiortc peer. role is
// aiortc's part, "answer" or "offer"; hangUp says who hangs up. It returns
// the connect times, from applying the last code to connected, as parley
// and as aiortc saw them.
func aiortcCall(t *testing.T, py, role, hangUp string) (parleyConnect, aiortcConnect time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()

	var pionLog syncBuffer
	cfg := loopbackConfig()
	cfg.SDP = true
	cfg.Log = &pionLog
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("parley's log:\n%s", pionLog.String())
		}
	})
	heard := newToneMeter(t)
	c.SetAudioReceiver(heard.packet)
	peer := startAiortc(t, py, role, aiortcToneHz, parleyToneHz)
	ev := &callEvents{t: t, c: c}

	// Signalling: each side's code goes to the other as it is.
	var applied time.Time
	var answer string
	switch role {
	case "answer":
		invite, err := c.Invite(ctx)
		if err != nil {
			t.Fatalf("Invite: %v", err)
		}
		checkCandidates(t, "parley's offer", invite, isLoopback)
		peer.give(invite)
		answer = peer.code(ctx)
		checkStandardForm(t, "aiortc's answer", answer)
		checkCandidates(t, "aiortc's answer", answer, is127)
		applied = time.Now()
		if err := c.Accept(answer); err != nil {
			t.Fatalf("Accept(aiortc's answer): %v", err)
		}
	case "offer":
		offer := peer.code(ctx)
		checkStandardForm(t, "aiortc's offer", offer)
		checkCandidates(t, "aiortc's offer", offer, is127)
		if answer, err = c.Join(ctx, offer); err != nil {
			t.Fatalf("Join(aiortc's offer): %v", err)
		}
		checkCandidates(t, "parley's answer", answer, isLoopback)
		applied = time.Now()
		peer.give(answer)
	}
	heard.setPayloadType(t, answer)

	st := ev.wait(ctx, "connected", func(e Event) bool {
		s, ok := e.(StateEvent)
		return ok && s.State == StateConnected
	}).(StateEvent)
	parleyConnect = time.Since(applied)
	t.Logf("parley connected %v after applying the last code, route %s", parleyConnect.Round(time.Millisecond), st.Route)
	if st.Route != RouteHost {
		t.Errorf("route = %q; want host", st.Route)
	}
	ar := peer.wait(ctx, "aiortc connected", func(r aiortcReport) bool { return r.Type == "state" && r.State == "connected" })
	aiortcConnect = time.Duration(ar.MS * float64(time.Millisecond))
	t.Logf("aiortc connected %v after applying the last code", aiortcConnect.Round(time.Millisecond))
	checkParleyPath(t, c)
	pr := peer.wait(ctx, "aiortc's selected candidate pair", func(r aiortcReport) bool { return r.Type == "pair" })
	t.Logf("aiortc's selected pair: local %s, remote %s", pr.Local, pr.Remote)
	for _, end := range []string{pr.Local, pr.Remote} {
		if a, err := netip.ParseAddr(strings.Fields(end + " ")[0]); err != nil || !a.IsLoopback() {
			t.Errorf("aiortc's selected pair has %q; want loopback at both ends", end)
		}
	}

	stopAudio := sendTone(t, c, parleyToneHz)
	defer stopAudio()

	// Chat, aiortc to parley: a plain string (no id) and two frames, which
	// parley acknowledges.
	if r := peer.wait(ctx, "the chat channel open", func(r aiortcReport) bool { return r.Type == "open" }); r.Label != "chat" {
		t.Errorf("aiortc's channel is labelled %q; want chat", r.Label)
	}
	ev.wait(ctx, "aiortc's string message", func(e Event) bool {
		m, ok := e.(ChatEvent)
		return ok && m.Text == aiortcString && m.ID == 0
	})
	for i, text := range []string{aiortcFrame1, aiortcFrame2} {
		id := i + 1
		ev.wait(ctx, fmt.Sprintf("aiortc's frame %d", id), func(e Event) bool {
			m, ok := e.(ChatEvent)
			return ok && m.ID == uint64(id) && m.Text == text
		})
		peer.wait(ctx, fmt.Sprintf("parley's ack of aiortc's frame %d", id), func(r aiortcReport) bool {
			return r.Type == "ack" && r.ID == uint64(id)
		})
	}

	// Chat, parley to aiortc, acknowledged by aiortc.
	for _, text := range []string{parleyToAiortc, parleySecond} {
		id, err := c.Send(text)
		if err != nil {
			t.Fatal(err)
		}
		if r := peer.wait(ctx, fmt.Sprintf("parley's message %d", id), func(r aiortcReport) bool { return r.Type == "chat" && r.ID == id }); r.Text != text {
			t.Errorf("aiortc got message %d %q; want %q", r.ID, r.Text, text)
		}
		ev.wait(ctx, fmt.Sprintf("delivery of parley's message %d", id), func(e Event) bool {
			d, ok := e.(DeliveredEvent)
			return ok && d.ID == id
		})
	}

	// Mute frames both ways, for each side's display.
	for _, on := range []bool{true, false} {
		c.SetMuted(on)
		peer.wait(ctx, fmt.Sprintf("parley's mute frame (%v)", on), func(r aiortcReport) bool { return r.Type == "mute" && r.Muted == on })
		peer.command(map[bool]string{true: "mute on", false: "mute off"}[on])
		ev.wait(ctx, fmt.Sprintf("aiortc's mute frame (%v)", on), func(e Event) bool {
			m, ok := e.(PeerMutedEvent)
			return ok && m.Muted == on
		})
	}

	// Audio both ways, by content: each side hears the other's tone.
	r := peer.wait(ctx, "parley's tone at aiortc", func(r aiortcReport) bool {
		return r.Type == "audio" && math.Abs(r.Freq-parleyToneHz) <= 10 && r.RMS > -30 && r.Tone > 0.8
	})
	t.Logf("aiortc heard parley: %d frames; the latest 0.5 s at %.1f dBFS, peak at %.1f Hz, %.0f%% of its energy at %d Hz",
		r.Frames, r.RMS, r.Freq, 100*r.Tone, parleyToneHz)
	m := heard.waitTone(ctx, t, aiortcToneHz)
	t.Logf("parley heard aiortc: %d Opus packets (payload type %d); the latest 0.2 s at %.1f dBFS, peak at %.0f Hz, %.0f%% of its energy at %d Hz",
		m.packets, heard.pt, m.rms, m.peak, 100*m.share, aiortcToneHz)
	stopAudio()

	// The hang-up, and its answer. Unanswered, parley would end the call
	// cleanly too, but only after byeWait.
	hungUp := time.Now()
	switch hangUp {
	case "parley":
		c.HangUp()
		if r := peer.wait(ctx, "parley's bye", func(r aiortcReport) bool { return r.Type == "bye" }); !r.Answered {
			t.Errorf("aiortc got parley's bye after sending its own")
		}
	case "aiortc":
		peer.command("hangup")
		if r := peer.wait(ctx, "parley's answer to aiortc's bye", func(r aiortcReport) bool { return r.Type == "bye" }); r.Answered {
			t.Errorf("aiortc got a bye from parley it had to answer; want parley's answer to its own")
		}
	}
	bye := ev.wait(ctx, "the end of the call", func(e Event) bool {
		_, ok := e.(ByeEvent)
		return ok
	}).(ByeEvent)
	took := time.Since(hungUp)
	want := map[string]string{"parley": "hung up", "aiortc": "peer hung up"}[hangUp]
	if bye.Err != nil || bye.Reason != want || len(bye.Undelivered) > 0 {
		t.Errorf("bye = %+v; want a clean hang-up (%q)", bye, want)
	}
	t.Logf("%s hung up; parley's call ended %v later (%q)", hangUp, took.Round(time.Millisecond), bye.Reason)
	if took > time.Second {
		t.Errorf("parley's call ended %v after the hang-up; want under 1 s, as when the byes are exchanged", took)
	}
	for e := range c.Events() {
		t.Errorf("event after the ByeEvent: %+v", e)
	}
	peer.checkNoErrors()
	return parleyConnect, aiortcConnect
}

// checkStandardForm checks that aiortc's code is what parley's
// encodeSDPForm makes of the same description: the peer produces the
// standard form exactly.
func checkStandardForm(t *testing.T, what, code string) {
	t.Helper()
	desc, err := decodeSDPForm(code)
	if err != nil {
		t.Fatalf("%s is not in the standard form: %v", what, err)
	}
	if again := encodeSDPForm(&desc); again != code {
		t.Errorf("%s differs from parley's encoding of it:\n got  %s\n want %s", what, code, again)
	}
}

// checkCandidates checks that code, in the standard form, has candidates,
// and only ones whose address keep accepts.
func checkCandidates(t *testing.T, what, code string, keep func(netip.Addr) bool) {
	t.Helper()
	desc, err := decodeSDPForm(code)
	if err != nil {
		t.Fatalf("%s is not in the standard form: %v", what, err)
	}
	var cands []string
	for _, line := range strings.Split(desc.SDP, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:")
		if !ok {
			continue
		}
		cands = append(cands, v)
		// foundation component transport priority address port typ ...
		f := strings.Fields(v)
		var a netip.Addr
		if len(f) >= 6 {
			a, _ = netip.ParseAddr(f[4])
		}
		if !a.IsValid() || !keep(a.Unmap()) {
			t.Errorf("%s has candidate %q; want loopback only", what, v)
		}
	}
	t.Logf("%s (%d characters): candidates %q", what, len(code), cands)
	if len(cands) == 0 {
		t.Fatalf("%s has no candidates:\n%s", what, desc.SDP)
	}
}

// sendTone sends Opus of a sine tone at -10 dBFS from parley, a packet
// every 20 ms, until the returned function is called.
func sendTone(t *testing.T, c *Call, hz float64) (stop func()) {
	t.Helper()
	enc, err := audio.NewEncoder(audio.EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pcm := make([]int16, enc.FrameSamples())
		var n int // samples made
		seq, ts := uint16(1), uint32(0)
		for {
			for i := range pcm {
				pcm[i] = int16(0.316 * 32767 * math.Sin(2*math.Pi*hz*float64(n)/audio.SampleRate))
				n++
			}
			var werr error
			if err := enc.Write(pcm, func(p audio.Packet) {
				if p.Data != nil && werr == nil {
					werr = c.WriteAudio(&rtp.Packet{
						Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: seq == 1 || p.Marker},
						Payload: p.Data,
					})
					seq++
				}
				ts += uint32(p.Samples)
			}); err != nil {
				t.Errorf("encode: %v", err)
				return
			}
			if werr != nil {
				return // the call has ended
			}
			select {
			case <-tick.C:
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// toneMeter decodes the audio parley receives and measures its latest
// 0.2 s.
type toneMeter struct {
	mu      sync.Mutex
	dec     *opus.Decoder
	pt      uint8 // the negotiated Opus payload type
	packets int
	other   int // packets of another payload type
	errs    []string
	pcm     []int16 // the latest toneWindow samples
	buf     []int16
}

// toneWindow is what toneMeter measures: 0.2 s, so that 5 Hz is a whole
// number of cycles.
const toneWindow = audio.SampleRate / 5

func newToneMeter(t *testing.T) *toneMeter {
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &toneMeter{dec: dec, buf: make([]int16, 5760)}
}

var opusRtpmap = regexp.MustCompile(`a=rtpmap:(\d+) opus/48000`)

// setPayloadType takes the payload type of Opus from the answer.
func (m *toneMeter) setPayloadType(t *testing.T, answer string) {
	t.Helper()
	desc, err := decodeSDPForm(answer)
	if err != nil {
		t.Fatal(err)
	}
	sm := opusRtpmap.FindStringSubmatch(desc.SDP)
	if sm == nil {
		t.Fatalf("the answer has no Opus:\n%s", desc.SDP)
	}
	pt, _ := strconv.Atoi(sm[1])
	m.mu.Lock()
	m.pt = uint8(pt)
	m.mu.Unlock()
}

// packet is the call's AudioReceiver.
func (m *toneMeter) packet(p *rtp.Packet, _ time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.PayloadType != m.pt || len(p.Payload) == 0 {
		m.other++
		return
	}
	m.packets++
	n, err := m.dec.Decode(p.Payload, m.buf)
	if err != nil {
		if len(m.errs) < 5 {
			m.errs = append(m.errs, err.Error())
		}
		return
	}
	m.pcm = append(m.pcm, m.buf[:n]...)
	if len(m.pcm) > toneWindow {
		m.pcm = append(m.pcm[:0], m.pcm[len(m.pcm)-toneWindow:]...)
	}
}

type toneMeasure struct {
	packets     int
	rms         float64 // dBFS
	peak, share float64 // Hz; the tone's share of the energy
}

// waitTone waits until the latest 0.2 s received is the tone at hz.
func (m *toneMeter) waitTone(ctx context.Context, t *testing.T, hz float64) toneMeasure {
	t.Helper()
	for {
		m.mu.Lock()
		me := toneMeasure{packets: m.packets}
		full := len(m.pcm) == toneWindow
		if full {
			me.rms, me.peak, me.share = measureTone(m.pcm, hz)
		}
		other, errs := m.other, m.errs
		m.mu.Unlock()
		if other > 0 || len(errs) > 0 {
			t.Fatalf("parley received %d audio packets that are not Opus of payload type %d; decoding failed %q", other, m.pt, errs)
		}
		if full && math.Abs(me.peak-hz) <= 10 && me.rms > -30 && me.share > 0.8 {
			return me
		}
		select {
		case <-ctx.Done():
			t.Fatalf("parley did not hear aiortc's %v Hz tone in time: %+v", hz, me)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// measureTone returns the level of pcm in dBFS, its dominant frequency
// (in 5 Hz steps, 50 to 4000 Hz) and the share of its energy in a tone at
// hz. pcm must be a whole number of cycles of hz.
func measureTone(pcm []int16, hz float64) (rms, peak, share float64) {
	x := make([]float64, len(pcm))
	var energy float64
	for i, s := range pcm {
		x[i] = float64(s) / 32768
		energy += x[i] * x[i]
	}
	n := float64(len(x))
	rms = 10 * math.Log10(energy/n+1e-20)
	best := 0.0
	for f := 50.0; f <= 4000; f += 5 {
		if p := goertzel(x, f); p > best {
			best, peak = p, f
		}
	}
	// A tone A·sin at a whole number of cycles has |X|² = (A·n/2)², its
	// power A²/2 is 2|X|²/n²; the signal's power is energy/n.
	share = 2 * goertzel(x, hz) / (n * n) / (energy / n)
	return rms, peak, share
}

// goertzel returns |X(hz)|², the power of x at one frequency.
func goertzel(x []float64, hz float64) float64 {
	c := 2 * math.Cos(2*math.Pi*hz/audio.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// aiortcReport is a JSON line from the peer.
type aiortcReport struct {
	Type     string  `json:"type,omitempty"`
	Code     string  `json:"code,omitempty"`
	State    string  `json:"state,omitempty"`
	MS       float64 `json:"ms,omitempty"`
	Local    string  `json:"local,omitempty"`
	Remote   string  `json:"remote,omitempty"`
	Label    string  `json:"label,omitempty"`
	Text     string  `json:"text,omitempty"`
	ID       uint64  `json:"id,omitempty"`
	Muted    bool    `json:"muted,omitempty"`
	Answered bool    `json:"answered,omitempty"`
	Frames   int     `json:"frames,omitempty"`
	RMS      float64 `json:"rms,omitempty"`
	Freq     float64 `json:"freq,omitempty"`
	Tone     float64 `json:"tone,omitempty"`
}

// String is the report as the peer wrote it, with any code shortened.
func (r aiortcReport) String() string {
	if len(r.Code) > 24 {
		r.Code = r.Code[:24] + "..."
	}
	j, _ := json.Marshal(r)
	return string(j)
}

// aiortcPeer is the running testdata/aiortc_peer.py.
type aiortcPeer struct {
	t       *testing.T
	stdin   io.WriteCloser
	reports chan aiortcReport
	seen    []aiortcReport
	exited  chan struct{} // closed once the process has exited
}

// startAiortc starts the peer in a process group of its own. At cleanup
// its stdin is closed, so that it closes its connection and exits; if it
// has not within 5 s, it is killed by its PID.
func startAiortc(t *testing.T, py, role string, toneHz, listenHz int) *aiortcPeer {
	t.Helper()
	cmd := exec.Command(py, filepath.Join("testdata", "aiortc_peer.py"), role, strconv.Itoa(toneHz), strconv.Itoa(listenHz))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	// Pdeathsig: the peer dies with the test binary, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the aiortc peer: %v", err)
	}
	p := &aiortcPeer{t: t, stdin: stdin, reports: make(chan aiortcReport, 1024), exited: make(chan struct{})}
	quit := make(chan struct{})
	var waitErr error
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r aiortcReport
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = aiortcReport{Type: "error", Text: "not a JSON line: " + sc.Text()}
			}
			select {
			case p.reports <- r:
			case <-quit:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		waitErr = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		close(quit)
		_ = stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			t.Errorf("the aiortc peer (pid %d) did not exit within 5 s of the end of its stdin; killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-p.exited
		}
		if waitErr != nil {
			t.Errorf("the aiortc peer: %v", waitErr)
		}
		if t.Failed() || waitErr != nil {
			t.Logf("the aiortc peer's stderr:\n%s", stderr.String())
		}
	})
	return p
}

// give writes parley's code to the peer.
func (p *aiortcPeer) give(code string) { p.command(code) }

// command writes a line to the peer.
func (p *aiortcPeer) command(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("write to the aiortc peer: %v", err)
	}
}

// code waits for the peer's offer or answer.
func (p *aiortcPeer) code(ctx context.Context) string {
	p.t.Helper()
	return p.wait(ctx, "aiortc's offer or answer", func(r aiortcReport) bool { return r.Type == "code" }).Code
}

// wait returns the first report that matches, seen before or coming. An
// error report fails the test.
func (p *aiortcPeer) wait(ctx context.Context, what string, match func(aiortcReport) bool) aiortcReport {
	p.t.Helper()
	for _, r := range p.seen {
		if match(r) {
			return r
		}
	}
	for {
		select {
		case r := <-p.reports:
			p.seen = append(p.seen, r)
			if match(r) {
				return r
			}
			if r.Type == "error" {
				p.t.Fatalf("aiortc: %s (while waiting for %s)", r.Text, what)
			}
		case <-p.exited:
			p.drain()
			for _, r := range p.seen {
				if match(r) {
					return r
				}
			}
			p.t.Fatalf("the aiortc peer exited while waiting for %s; reports: %v", what, p.seen)
		case <-ctx.Done():
			p.t.Fatalf("aiortc: no %s in time; reports so far: %v", what, p.seen)
		}
	}
}

// drain takes the reports that have come so far.
func (p *aiortcPeer) drain() {
	for {
		select {
		case r := <-p.reports:
			p.seen = append(p.seen, r)
		default:
			return
		}
	}
}

// checkNoErrors fails the test for any error the peer has reported.
func (p *aiortcPeer) checkNoErrors() {
	p.t.Helper()
	p.drain()
	for _, r := range p.seen {
		if r.Type == "error" {
			p.t.Errorf("aiortc: %s", r.Text)
		}
	}
}
