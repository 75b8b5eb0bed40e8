package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/relay"
	"parley/rtc"
)

// binaries holds the binaries built once for the end-to-end tests: with
// the race detector when the tests run with it, and without.
var binaries [2]struct {
	once sync.Once
	path string
	err  error
}

func parleyBinary(t *testing.T) string { return buildParley(t, raceEnabled) }

// plainBinary is parley built without the race detector, whose memory
// overhead (several times the heap) would swamp what memory tests measure.
func plainBinary(t *testing.T) string { return buildParley(t, false) }

func buildParley(t *testing.T, race bool) string {
	t.Helper()
	b := &binaries[0]
	if race {
		b = &binaries[1]
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "parley-e2e")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "parley")
		args := []string{"build", "-o", b.path}
		if race {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "parley")...)
		cmd.Env = os.Environ()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// loopbackFlags keep a test call on the loopback interface, and text only
// unless the test asks for audio.
var loopbackFlags = []string{"--headless", "--stun", "none", "--iface", "lo", "--loopback", "--audio-in", "none", "--audio-out", "none"}

// peer is a parley process in headless mode.
type peer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan map[string]any
	stderr *strings.Builder
	done   chan struct{}

	mu  sync.Mutex
	raw []string // every line of stdout, as written
}

// lines returns every line written to stdout so far, as written.
func (p *peer) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.raw)
}

func startPeer(t *testing.T, name string, args ...string) *peer {
	t.Helper()
	return startBinary(t, parleyBinary(t), name, args...)
}

// startBinary is startPeer with a binary of the test's choosing.
func startBinary(t *testing.T, bin, name string, args ...string) *peer {
	t.Helper()
	return startEnv(t, bin, nil, name, args...)
}

// startEnv is startBinary with the child's environment, nil for the
// test's own.
func startEnv(t *testing.T, bin string, env []string, name string, args ...string) *peer {
	t.Helper()
	// The test's own flags come last, so that they win.
	return startRaw(t, bin, env, name, slices.Concat(args[:1], loopbackFlags, args[1:])...)
}

// startRaw is startEnv with the command line as it is.
func startRaw(t *testing.T, bin string, env []string, name string, args ...string) *peer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p := &peer{t: t, name: name, cmd: cmd, events: make(chan map[string]any, 1024), stderr: new(strings.Builder), done: make(chan struct{})}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.raw = append(p.raw, sc.Text())
			p.mu.Unlock()
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("%s: stdout line is not JSON: %q", name, sc.Text())
				continue
			}
			if _, ok := m["type"].(string); !ok {
				t.Errorf("%s: line without a type: %q", name, sc.Text())
			}
			p.events <- m
		}
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// next returns the next event of the given type, skipping others.
func (p *peer) next(typ string) map[string]any {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-p.events:
			if !ok {
				p.t.Fatalf("%s: output ended while waiting for %q", p.name, typ)
			}
			if m["type"] == typ {
				return m
			}
		case <-timeout:
			p.t.Fatalf("%s: no %q event within 30 s", p.name, typ)
		}
	}
}

func (p *peer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: write stdin: %v", p.name, err)
	}
}

// rest collects the remaining events until the output ends, and the exit code.
func (p *peer) rest() ([]map[string]any, int) {
	p.t.Helper()
	var all []map[string]any
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-p.events:
			if !ok {
				err := p.cmd.Wait()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					p.t.Fatalf("%s: wait: %v", p.name, err)
				}
				return all, code
			}
			all = append(all, m)
		case <-timeout:
			p.t.Fatalf("%s: did not finish within 30 s", p.name)
		}
	}
}

// connect starts a caller and a callee and exchanges their codes.
func connect(t *testing.T, extra ...string) (caller, callee *peer) {
	return connectArgs(t, extra, extra)
}

// connectArgs is connect with flags for each side.
func connectArgs(t *testing.T, callerArgs, calleeArgs []string) (caller, callee *peer) {
	return connectEnv(t, nil, callerArgs, calleeArgs)
}

// connectEnv is connectArgs with the processes' environment, nil for the
// test's own.
func connectEnv(t *testing.T, env []string, callerArgs, calleeArgs []string) (caller, callee *peer) {
	bin := parleyBinary(t)
	caller = startEnv(t, bin, env, "caller", append([]string{"call"}, callerArgs...)...)
	invite := caller.next("invite")["code"].(string)
	callee = startEnv(t, bin, env, "callee", append([]string{"join", invite}, calleeArgs...)...)
	answer := callee.next("answer")["code"].(string)
	caller.send(answer)
	return caller, callee
}

// audioFlows waits for a stats line that counts at least more frames
// played from the peer's packets than after, and returns the count.
func (p *peer) audioFlows(after, more float64) float64 {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s := p.next("stats")
		if f, _ := s["frames"].(float64); f >= after+more {
			return f
		}
	}
	p.t.Fatalf("%s: fewer than %v frames of the peer's audio played in 15 s", p.name, more)
	return 0
}

// audioArgs make a side send a tone, record the peer and print stats.
func audioArgs(t *testing.T) []string {
	return []string{"--audio-in", "tone", "--audio-out", filepath.Join(t.TempDir(), "peer.wav"), "--stats"}
}

func chatTexts(events []map[string]any) []string {
	var texts []string
	for _, m := range events {
		if m["type"] == "chat" {
			texts = append(texts, m["text"].(string))
		}
	}
	return texts
}

// connectVia starts a caller and a callee whose packets pass through r:
// the test, as the signalling channel, points each code at the relay.
func connectVia(t *testing.T, r *relay.Relay) (caller, callee *peer) {
	return connectViaArgs(t, r, nil, nil)
}

// connectViaArgs is connectVia with flags for each side.
func connectViaArgs(t *testing.T, r *relay.Relay, callerArgs, calleeArgs []string) (caller, callee *peer) {
	caller = startPeer(t, "caller", append([]string{"call"}, callerArgs...)...)
	invite := caller.next("invite")["code"].(string)
	real := redirect(t, &invite, rtc.KindInvite, r.SideB())
	r.SetTargetA(real)
	callee = startPeer(t, "callee", append([]string{"join", invite}, calleeArgs...)...)
	answer := callee.next("answer")["code"].(string)
	r.SetTargetB(redirect(t, &answer, rtc.KindAnswer, r.SideA()))
	caller.send(answer)
	return caller, callee
}

// redirect replaces a code's candidates by to and returns its first IPv4
// candidate.
func redirect(t *testing.T, code *string, kind rtc.Kind, to netip.AddrPort) netip.AddrPort {
	t.Helper()
	c, err := rtc.ParseCode(*code, kind)
	if err != nil {
		t.Fatal(err)
	}
	var real netip.AddrPort
	for _, cand := range c.Candidates {
		if cand.Addr.Addr().Is4() && !real.IsValid() {
			real = cand.Addr
		}
	}
	c.Candidates = []rtc.Candidate{{Type: rtc.CandidateHost, Addr: to}}
	*code = c.String()
	return real
}

// TestHeadlessChat200 sends 200 lines each way as fast as possible, hangs
// up by EOF on both sides, and checks that every line arrived exactly once
// and in order, and that both processes exit 0 with bye as the last line.
func TestHeadlessChat200(t *testing.T) {
	t.Parallel()
	caller, callee := connect(t)
	chat200(t, caller, callee)
}

// TestHeadlessChat200Lossy does the same through a relay that loses 10%
// of the packets each way: nothing typed may be lost or duplicated.
func TestHeadlessChat200Lossy(t *testing.T) {
	t.Parallel()
	lossy := relay.Impairment{Loss: 0.1, Delay: 5 * time.Millisecond, Jitter: 10 * time.Millisecond}
	r, err := relay.New(lossy, lossy, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	caller, callee := connectVia(t, r)
	chat200(t, caller, callee)
	ab, ba := r.Stats()
	t.Logf("relay: caller→callee %+v, callee→caller %+v", ab, ba)
	if ab.Dropped == 0 || ba.Dropped == 0 {
		t.Errorf("the relay dropped nothing; the test tests nothing")
	}
}

func chat200(t *testing.T, caller, callee *peer) {
	const n = 200
	want := map[string][]string{}
	for _, p := range []*peer{caller, callee} {
		for i := 0; i < n; i++ {
			line := fmt.Sprintf("%s line %03d: %s", p.name, i, strings.Repeat("é", i%7))
			want[p.name] = append(want[p.name], line)
		}
	}
	var wg sync.WaitGroup
	for _, p := range []*peer{caller, callee} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.WriteString(p.stdin, strings.Join(want[p.name], "\n")+"\n")
			p.stdin.Close()
		}()
	}
	wg.Wait()
	for _, pair := range [][2]*peer{{caller, callee}, {callee, caller}} {
		from, to := pair[0], pair[1]
		events, code := to.rest()
		if code != 0 {
			t.Errorf("%s exited %d; want 0", to.name, code)
		}
		if last := events[len(events)-1]; last["type"] != "bye" {
			t.Errorf("%s's last line is %v; want bye", to.name, last)
		}
		got := chatTexts(events)
		if strings.Join(got, "\n") != strings.Join(want[from.name], "\n") {
			t.Errorf("%s received %d lines from %s; want all %d exactly once and in order", to.name, len(got), from.name, n)
		}
	}
}

func TestHeadlessPeerHangsUp(t *testing.T) {
	t.Parallel()
	caller, callee := connect(t)
	if s := caller.next("state"); s["state"] != "connecting" {
		t.Errorf("first state = %v; want connecting", s)
	}
	if s := caller.next("state"); s["state"] != "connected" || s["route"] != "host" {
		t.Errorf("state = %v; want connected by host", s)
	}
	callee.next("state")
	if wa, wb := caller.next("verify")["words"], callee.next("verify")["words"]; wa != wb || wa == "" {
		t.Errorf("safety words: caller %q, callee %q; want the same", wa, wb)
	}
	caller.send("/verify")
	if v := caller.next("verify"); v["verified"] != true {
		t.Errorf("after /verify: %v", v)
	}
	caller.send("/mute") // a text-only call: nothing to mute
	if e := caller.next("error"); !strings.Contains(e["message"].(string), "no audio") {
		t.Errorf("/mute in a text-only call: %v", e)
	}
	start := time.Now()
	caller.send("/quit")
	events, code := callee.rest()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("callee ended %v after the caller hung up; want about a second at most", d)
	}
	if code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
	if last := events[len(events)-1]; last["type"] != "bye" || last["reason"] != "peer hung up" {
		t.Errorf("callee's last line = %v; want bye, peer hung up", last)
	}
	if _, code := caller.rest(); code != 0 {
		t.Errorf("caller exited %d; want 0", code)
	}
}

// TestHeadlessMute: muted, a side sends DTX's trickle and its peer is
// told; unmuted, its tone again.
func TestHeadlessMute(t *testing.T) {
	t.Parallel()
	caller, callee := connectArgs(t, audioArgs(t), audioArgs(t))
	callee.audioFlows(0, 25)
	var last map[string]any
	rate := func(want func(float64) bool) float64 {
		t.Helper()
		var got float64
		for range 5 {
			last = callee.next("stats")
			if got, _ = last["bitrate_in"].(float64); want(got) {
				return got
			}
		}
		t.Fatalf("callee receives %v b/s", got)
		return 0
	}
	caller.send("/mute")
	if m := caller.next("mute"); m["muted"] != true {
		t.Errorf("after /mute: %v", m)
	}
	if m := callee.next("peer_mute"); m["muted"] != true {
		t.Errorf("the callee was told %v; want the peer muted", m)
	}
	muted := rate(func(r float64) bool { return r < 5000 })
	caller.send("/unmute")
	if m := caller.next("mute"); m["muted"] != false {
		t.Errorf("after /unmute: %v", m)
	}
	if m := callee.next("peer_mute"); m["muted"] != false {
		t.Errorf("the callee was told %v; want the peer unmuted", m)
	}
	unmuted := rate(func(r float64) bool { return r > 20000 })
	t.Logf("the callee receives %v b/s while the caller is muted, %v unmuted; %v", muted, unmuted, last)
	// The pause is DTX, not loss: nothing to conceal.
	if c, _ := last["concealed"].(float64); c > 5 {
		t.Errorf("the callee concealed %v frames over the mute; want next to none", c)
	}
	caller.send("/quit")
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
}

func TestHeadlessBadAnswer(t *testing.T) {
	t.Parallel()
	caller := startPeer(t, "caller", "call")
	invite := caller.next("invite")["code"].(string)
	caller.send(invite) // the caller's own invite, pasted back
	events, code := caller.rest()
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	if len(events) != 2 || events[0]["type"] != "error" || events[1]["type"] != "bye" {
		t.Fatalf("events = %v; want error then bye", events)
	}
	if msg := events[0]["message"].(string); !strings.Contains(msg, "your own invite") {
		t.Errorf("message = %q; want it to say it is your own invite", msg)
	}
}

func TestUsageExit(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(parleyBinary(t), "frobnicate")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("parley frobnicate: %v; want exit 2", err)
	}
	_ = runtime.GOOS
}

// TestHeadlessEOFDeliversFirst closes the callee's stdin right after one
// message and the invite, before the call connects: the callee must still
// deliver the message, then hang up.
func TestHeadlessEOFDeliversFirst(t *testing.T) {
	t.Parallel()
	caller := startPeer(t, "caller", "call")
	invite := caller.next("invite")["code"].(string)
	callee := startPeer(t, "callee", "join")
	callee.send("  ")
	callee.send(invite)
	callee.send("sent before connecting")
	callee.send("//slash")
	callee.stdin.Close()
	answer := callee.next("answer")["code"].(string)
	caller.send(answer)
	events, code := caller.rest()
	if code != 0 {
		t.Errorf("caller exited %d; want 0", code)
	}
	if got := strings.Join(chatTexts(events), "|"); got != "sent before connecting|/slash" {
		t.Errorf("caller received %q", got)
	}
	if last := events[len(events)-1]; last["reason"] != "peer hung up" {
		t.Errorf("caller's last line = %v; want bye, peer hung up", last)
	}
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
}

// TestHeadlessPeerVanishes kills the callee, the two talking through the
// in-process relay: the caller must notice within 15 s, say so, and exit 1.
func TestHeadlessPeerVanishes(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 15 s")
	}
	t.Parallel()
	r, err := relay.New(relay.Impairment{}, relay.Impairment{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	caller, callee := connectViaArgs(t, r, nil, nil)
	for caller.next("state")["state"] != "connected" {
	}
	callee.next("state")
	callee.cmd.Process.Kill()
	start := time.Now()
	events, code := caller.rest()
	took := time.Since(start)
	if took > 15*time.Second {
		t.Errorf("the caller noticed after %v; want within 15 s", took)
	}
	if code != 1 {
		t.Errorf("caller exited %d; want 1", code)
	}
	var sawDisconnected, sawFailed bool
	for _, m := range events {
		sawDisconnected = sawDisconnected || m["state"] == "disconnected"
		sawFailed = sawFailed || m["state"] == "failed"
	}
	if !sawDisconnected || !sawFailed {
		t.Errorf("states %v; want disconnected, then failed", events)
	}
	if last := events[len(events)-1]; last["type"] != "bye" || !strings.Contains(last["reason"].(string), "lost") {
		t.Errorf("last line = %v; want bye saying the connection was lost", last)
	}
	t.Logf("noticed after %v: %v", took.Round(time.Millisecond), events[len(events)-1]["reason"])
}

// TestHeadlessEscapes sends terminal escapes, BEL and a bidi override:
// the other side's JSON carries none of them, raw or escaped.
func TestHeadlessEscapes(t *testing.T) {
	t.Parallel()
	caller, callee := connect(t)
	caller.send("a\x1b[2Jb\x1b]52;c;cHduZWQ=\x07c\u202ed\u009b31me")
	caller.stdin.Close()
	events, _ := callee.rest()
	got := strings.Join(chatTexts(events), "")
	if got == "" {
		t.Fatal("no chat arrived")
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\x9b", "\u009b"} {
		if strings.Contains(got, bad) {
			t.Errorf("chat %q contains %q", got, bad)
		}
	}
	if !strings.Contains(got, "a") || !strings.Contains(got, "d") {
		t.Errorf("chat %q lost the plain text", got)
	}
}
