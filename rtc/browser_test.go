//go:build linux

package rtc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestBrowserInterop calls a real headless Chromium on loopback in the
// standard (--sdp) form, both ways round: parley offers and the browser
// answers, then the browser offers and parley answers. Each time chat
// flows both ways (a plain string and a binary frame from the page, a frame
// from parley, acknowledgements both ways), audio RTP flows both ways, and
// parley's hang-up is answered by the page's bye.
//
// The page, testdata/browser, drives itself; the test serves it and the
// signalling on 127.0.0.1 and launches Chromium as a plain subprocess. It
// is skipped only when no Chromium is installed.
//
// Only loopback is used: parley gathers on lo only, the page has no ICE
// servers, only parley's loopback candidates reach the page and only the
// browser's 127.x candidates reach parley.
func TestBrowserInterop(t *testing.T) {
	bin := findChromium(t)
	if os.Getenv(netnsEnv) == "" {
		runInOwnNetns(t)
		return
	}
	for _, tc := range []struct{ name, mode string }{
		{"parley offers", "answer"},
		{"browser offers", "offer"},
	} {
		t.Run(tc.name, func(t *testing.T) { browserCall(t, bin, tc.mode) })
	}
}

// netnsEnv marks the test process that runs inside its own network
// namespace.
const netnsEnv = "PARLEY_TEST_NETNS"

// runInOwnNetns runs TestBrowserInterop again in a network namespace that
// has only a loopback interface, so that Chromium, which gathers on every
// interface it sees, can reach no address but loopback.
func runInOwnNetns(t *testing.T) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal("unshare (util-linux) is needed to give the browser test its own network namespace")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-rn", "sh", "-c", `ip link set lo up && exec "$0" "$@"`,
		os.Args[0], "-test.run=^TestBrowserInterop$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in its own network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("browser test in its own network namespace: %v", err)
	}
	if bytes.Contains(out, []byte("--- SKIP: TestBrowserInterop")) {
		t.Skip("skipped in the namespace")
	}
}

// findChromium returns the path of a Chromium-based browser.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium installed (chromium, chromium-browser or google-chrome)")
	return ""
}

// The texts exchanged; the page's are in testdata/browser/parley.js.
const (
	pageString = "hello from chromium, as a string \u2713"
	pageFrame  = "hello from chromium, as a frame \u2713"
	parleyText = "hello from parley \u2713 — ünïcödé"
)

// browserCall runs one call between parley and the page. mode is the
// page's part: "answer" (parley offers) or "offer" (the page offers).
func browserCall(t *testing.T, bin, mode string) {
	// Both subtests together stay well under a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	pg := servePage(t)
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
	var audioIn, badAudio atomic.Int64
	c.SetAudioReceiver(func(p *rtp.Packet, _ time.Time) {
		if p.PayloadType == opusPayloadType && len(p.Payload) > 0 {
			audioIn.Add(1)
		} else {
			badAudio.Add(1)
		}
	})
	pg.exited = startChromium(t, bin, pg.url+"/?mode="+mode)
	ev := &callEvents{t: t, c: c}

	// Signalling. Candidates are filtered both ways (see keepCandidates).
	switch mode {
	case "answer":
		invite, err := c.Invite(ctx)
		if err != nil {
			t.Fatalf("Invite: %v", err)
		}
		pg.giveParley(keepCandidates(t, "parley's offer", invite, "offer", isLoopback))
		answer := keepCandidates(t, "the browser's answer", pg.browserCode(ctx), "answer", is127)
		if err := c.Accept(answer); err != nil {
			t.Fatalf("Accept(the browser's answer): %v", err)
		}
	case "offer":
		offer := keepCandidates(t, "the browser's offer", pg.browserCode(ctx), "offer", is127)
		answer, err := c.Join(ctx, offer)
		if err != nil {
			t.Fatalf("Join(the browser's offer): %v", err)
		}
		pg.giveParley(keepCandidates(t, "parley's answer", answer, "answer", isLoopback))
	}

	st := ev.wait(ctx, "connected", func(e Event) bool {
		s, ok := e.(StateEvent)
		return ok && s.State == StateConnected
	}).(StateEvent)
	t.Logf("parley connected, route %s", st.Route)
	checkParleyPath(t, c)

	// Audio from parley, until the page has heard it.
	stopAudio := make(chan struct{})
	var audioDone sync.WaitGroup
	audioDone.Add(1)
	go func() {
		defer audioDone.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(1); ; seq++ {
			// An Opus packet of silence (20 ms, CELT).
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960, Marker: seq == 1}, Payload: []byte{0xf8, 0xff, 0xfe}}
			if err := c.WriteAudio(p); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stopAudio:
				return
			}
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopAudio)
			audioDone.Wait()
		}
	}
	defer stop()

	// Chat, page to parley: a string message (no id) and a frame.
	if r := pg.wait(ctx, "the chat channel open", func(r pageReport) bool { return r.Type == "open" }); r.Text != "chat" {
		t.Errorf("page's channel is labelled %q; want chat", r.Text)
	}
	ev.wait(ctx, "the page's string message", func(e Event) bool {
		m, ok := e.(ChatEvent)
		return ok && m.Text == pageString && m.ID == 0
	})
	ev.wait(ctx, "the page's frame", func(e Event) bool {
		m, ok := e.(ChatEvent)
		return ok && m.Text == pageFrame && m.ID == 1
	})
	pg.wait(ctx, "parley's ack of the page's frame", func(r pageReport) bool { return r.Type == "ack" && r.ID == 1 })

	// Chat, parley to page, acknowledged by the page.
	id, err := c.Send(parleyText)
	if err != nil {
		t.Fatal(err)
	}
	if r := pg.wait(ctx, "parley's message", func(r pageReport) bool { return r.Type == "chat" }); r.Text != parleyText || r.ID != id {
		t.Errorf("page got message %d %q; want %d %q", r.ID, r.Text, id, parleyText)
	}
	ev.wait(ctx, "delivery of parley's message", func(e Event) bool {
		d, ok := e.(DeliveredEvent)
		return ok && d.ID == id
	})

	// Audio both ways.
	if r := pg.wait(ctx, "audio from parley", func(r pageReport) bool { return r.Type == "audio" }); !strings.EqualFold(r.Text, "audio/opus") {
		t.Errorf("page received audio as %q; want audio/opus", r.Text)
	}
	for audioIn.Load() < 10 {
		select {
		case <-ctx.Done():
			t.Fatalf("parley received %d Opus packets from the browser (and %d others); want 10", audioIn.Load(), badAudio.Load())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := badAudio.Load(); n > 0 {
		t.Errorf("parley received %d audio packets that are not Opus", n)
	}
	stop()
	t.Logf("parley received %d Opus packets from the browser", audioIn.Load())

	// The paths both sides chose, as they stand now.
	checkParleyPath(t, c)
	pg.wait(ctx, "the page's selected candidate pair", func(r pageReport) bool { return r.Type == "pair" })
	pg.drain()
	for _, r := range pg.seen {
		if r.Type == "pair" {
			t.Logf("page's selected pair: %s", r.Text)
			checkPath(t, "the page", r.Local, r.Remote)
		}
	}

	// parley hangs up; the page answers the bye.
	c.HangUp()
	pg.wait(ctx, "parley's bye", func(r pageReport) bool { return r.Type == "bye" })
	bye := ev.wait(ctx, "the end of the call", func(e Event) bool {
		_, ok := e.(ByeEvent)
		return ok
	}).(ByeEvent)
	if bye.Err != nil || bye.Reason != "hung up" || len(bye.Undelivered) > 0 {
		t.Errorf("bye = %+v; want a clean hang-up", bye)
	}
}

// checkParleyPath checks the candidate pair parley has selected.
func checkParleyPath(t *testing.T, c *Call) {
	t.Helper()
	pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("parley has no selected candidate pair: %v", err)
	}
	t.Logf("parley's selected pair: local %s port %d %s, remote %s port %d %s",
		pair.Local.Address, pair.Local.Port, pair.Local.Typ, pair.Remote.Address, pair.Remote.Port, pair.Remote.Typ)
	checkPath(t, "parley", pair.Local.Address, pair.Remote.Address)
}

// checkPath checks a selected candidate pair of one side. The side's own
// address must be loopback for parley, which gathers on lo only, and
// parley's address must be loopback on the page.
//
// Chromium gathers on every interface, and although only its 127.x
// candidates reach parley, its other sockets still send ICE checks to
// parley's 127.0.0.1 candidate; parley answers them (a peer-reflexive
// candidate) and either side may then select that pair. Such packets go
// from and to this machine's own addresses over lo and never leave it, so
// the browser's end of a pair may be any address of this machine.
func checkPath(t *testing.T, side, local, remote string) {
	t.Helper()
	parleyAddr, browserAddr := local, remote
	if side == "the page" {
		parleyAddr, browserAddr = remote, local
	}
	if a, err := netip.ParseAddr(parleyAddr); err != nil || !a.IsLoopback() {
		t.Errorf("%s's selected pair has parley at %q; want loopback", side, parleyAddr)
	}
	a, err := netip.ParseAddr(browserAddr)
	if err != nil {
		t.Errorf("%s's selected pair has the browser at %q", side, browserAddr)
		return
	}
	if a.IsLoopback() {
		return
	}
	if os.Getenv(netnsEnv) != "" {
		t.Errorf("%s's selected pair has the browser at %s; in a namespace with only lo, want loopback", side, a)
		return
	}
	if !isOwnAddress(a) {
		t.Errorf("%s's selected pair has the browser at %s, not an address of this machine", side, a)
		return
	}
	t.Logf("note: %s's selected pair has the browser at %s, an address of this machine (Chromium's ICE check from that socket to parley's 127.0.0.1 candidate; it stays on lo)", side, a)
}

// isOwnAddress reports whether a is an address of one of this machine's
// interfaces.
func isOwnAddress(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a.Unmap() {
				return true
			}
		}
	}
	return false
}

// isLoopback keeps loopback candidates, 127.0.0.0/8 and ::1.
func isLoopback(a netip.Addr) bool { return a.IsLoopback() }

// is127 keeps IPv4 loopback candidates only.
func is127(a netip.Addr) bool { return a.Is4() && a.IsLoopback() }

// keepCandidates checks that code is the standard form of a description
// of type typ and returns it with only the a=candidate lines whose address
// keep accepts; the rest of the browser's JSON is kept as it is. It fails
// the test if no candidate is left.
func keepCandidates(t *testing.T, what, code, typ string, keep func(netip.Addr) bool) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code))
	if err != nil {
		t.Fatalf("%s is not base64: %v", what, err)
	}
	var desc map[string]any
	if err := json.Unmarshal(raw, &desc); err != nil {
		t.Fatalf("%s is not JSON: %v", what, err)
	}
	if desc["type"] != typ {
		t.Fatalf("%s has type %v; want %s", what, desc["type"], typ)
	}
	sdp, _ := desc["sdp"].(string)
	var b strings.Builder
	var kept, dropped []string
	for _, line := range strings.SplitAfter(sdp, "\n") {
		if v, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			// foundation component transport priority address port typ ...
			f := strings.Fields(v)
			var a netip.Addr
			if len(f) >= 6 {
				a, _ = netip.ParseAddr(f[4])
			}
			if !a.IsValid() || !keep(a.Unmap()) {
				dropped = append(dropped, strings.TrimSpace(v))
				continue
			}
			kept = append(kept, strings.TrimSpace(v))
		}
		b.WriteString(line)
	}
	t.Logf("%s (%d characters): kept candidates %q; dropped %q", what, len(code), kept, dropped)
	if len(kept) == 0 {
		t.Fatalf("%s has no loopback candidate:\n%s", what, sdp)
	}
	desc["sdp"] = b.String()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(desc); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(bytes.TrimSpace(out.Bytes()))
}

// callEvents waits for a call's events, remembering those it has seen so
// that the order of the waits does not matter.
type callEvents struct {
	t    *testing.T
	c    *Call
	seen []Event
}

func (ev *callEvents) wait(ctx context.Context, what string, match func(Event) bool) Event {
	ev.t.Helper()
	for _, e := range ev.seen {
		if match(e) {
			return e
		}
	}
	for {
		select {
		case e, ok := <-ev.c.Events():
			if !ok {
				ev.t.Fatalf("parley: events closed while waiting for %s", what)
			}
			ev.seen = append(ev.seen, e)
			if match(e) {
				return e
			}
			switch e := e.(type) {
			case ByeEvent:
				ev.t.Fatalf("parley: the call ended (%q, %v) while waiting for %s", e.Reason, e.Err, what)
			case ErrorEvent:
				ev.t.Errorf("parley: %v", e.Err)
			}
		case <-ctx.Done():
			ev.t.Fatalf("parley: no %s in time; events so far: %+v", what, ev.seen)
		}
	}
}

// pageReport is what the page posts to /report.
type pageReport struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	ID     uint64 `json:"id"`
	Count  int    `json:"count"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
}

// page serves the browser's page and its signalling on 127.0.0.1:
//
//	GET  /parley   parley's offer or answer (long poll; 204: ask again)
//	POST /browser  the page's offer or answer
//	POST /report   a pageReport
//	POST /log      a line for the test's log
type page struct {
	t       *testing.T
	url     string
	quit    chan struct{}
	ready   chan struct{} // closed once parley's code is set
	parley  string
	browser chan string
	reports chan pageReport
	seen    []pageReport
	exited  <-chan struct{} // closed when Chromium exits
}

func servePage(t *testing.T) *page {
	p := &page{
		t:       t,
		quit:    make(chan struct{}),
		ready:   make(chan struct{}),
		browser: make(chan string, 1),
		reports: make(chan pageReport, 256),
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir(filepath.Join("testdata", "browser"))))
	mux.HandleFunc("GET /parley", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		select {
		case <-p.ready:
			io.WriteString(w, p.parley)
		case <-time.After(5 * time.Second):
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		case <-p.quit:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /browser", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case p.browser <- string(body):
		default:
			t.Errorf("the page posted a second offer or answer")
		}
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep pageReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case p.reports <- rep:
		default:
			t.Errorf("too many reports from the page; dropped %+v", rep)
		}
	})
	mux.HandleFunc("POST /log", func(w http.ResponseWriter, r *http.Request) {
		line, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		t.Logf("page: %s", line)
	})
	srv := httptest.NewServer(mux) // on 127.0.0.1
	p.url = srv.URL
	t.Cleanup(func() {
		close(p.quit)
		srv.Close()
	})
	return p
}

// giveParley hands parley's code to the page.
func (p *page) giveParley(code string) {
	p.parley = code
	close(p.ready)
}

// browserCode waits for the page's offer or answer.
func (p *page) browserCode(ctx context.Context) string {
	p.t.Helper()
	for {
		select {
		case code := <-p.browser:
			return code
		case r := <-p.reports:
			p.seen = append(p.seen, r)
			if r.Type == "error" {
				p.t.Fatalf("page: %s", r.Text)
			}
		case <-p.exited:
			p.t.Fatal("Chromium exited before the page posted its offer or answer")
		case <-ctx.Done():
			p.t.Fatal("the page posted no offer or answer in time")
		}
	}
}

// drain takes the reports that have come so far.
func (p *page) drain() {
	for {
		select {
		case r := <-p.reports:
			p.seen = append(p.seen, r)
		default:
			return
		}
	}
}

// wait returns the first report that matches, seen before or coming.
func (p *page) wait(ctx context.Context, what string, match func(pageReport) bool) pageReport {
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
				p.t.Fatalf("page: %s (while waiting for %s)", r.Text, what)
			}
		case <-p.exited:
			p.t.Fatalf("Chromium exited while waiting for %s", what)
		case <-ctx.Done():
			p.t.Fatalf("page: no %s in time; reports so far: %+v", what, p.seen)
		}
	}
}

// startChromium runs headless Chromium on url in a process group of its
// own, with a fresh profile and home. The returned channel is closed when
// Chromium exits; at cleanup the whole group is ended and waited for.
func startChromium(t *testing.T, bin, url string) <-chan struct{} {
	dir := t.TempDir() // removed after Chromium has gone: cleanups run last first
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--no-default-browser-check",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--disable-extensions",
		"--disable-default-apps",
		"--disable-domain-reliability",
		"--disable-breakpad",
		"--no-pings",
		// No name resolves: nothing but the page on 127.0.0.1 is fetched.
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--allow-loopback-in-peer-connection",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		"--use-fake-ui-for-media-stream",
		"--use-fake-device-for-media-stream",
		url)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Pdeathsig: Chromium dies with the test binary, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// Politely first, so that Chromium ends its helpers itself.
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			t.Logf("Chromium did not end on SIGTERM; killing its process group")
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		// Its helpers, if any are left.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
				break
			}
		}
		if t.Failed() {
			t.Logf("Chromium (%v):\n%s", waitErr, out.String())
		}
	})
	return exited
}
