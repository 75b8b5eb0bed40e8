package cli

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/relay"
)

// TestOutageResumes cuts the path for 10 s in the middle of a call: the
// call reports disconnected, then comes back by itself, a message typed
// during the outage arrives, and audio flows again.
func TestOutageResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 15 s")
	}
	t.Parallel()
	r, err := relay.New(relay.Impairment{}, relay.Impairment{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	caller, callee := connectViaArgs(t, r, audioArgs(t), audioArgs(t))
	for caller.next("state")["state"] != "connected" {
	}
	for callee.next("state")["state"] != "connected" {
	}
	callee.audioFlows(0, 25)
	r.SetDown(true)
	start := time.Now()
	if s := caller.next("state"); s["state"] != "disconnected" {
		t.Fatalf("state during the outage = %v; want disconnected", s)
	}
	caller.send("typed during the outage")
	time.Sleep(10*time.Second - time.Since(start))
	r.SetDown(false)
	if s := caller.next("state"); s["state"] != "connected" {
		t.Fatalf("state after the outage = %v; want connected again", s)
	}
	if m := callee.next("chat"); m["text"] != "typed during the outage" {
		t.Errorf("callee got %v", m)
	}
	now := callee.audioFlows(0, 0)
	callee.audioFlows(now, 50)
	caller.send("/quit")
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
}

// TestAnswerThreeMinutesLate pastes the answer back three minutes after
// the invite was made (and the answer too): the call still connects. It
// checks pion's own timing (it never fails the checking state), so it
// runs in real time, in the slow step.
func TestAnswerThreeMinutesLate(t *testing.T) {
	slow(t, "takes 3 minutes")
	t.Parallel()
	caller := startPeer(t, "caller", "call")
	invite := caller.next("invite")["code"].(string)
	callee := startPeer(t, "callee", "join", invite)
	answer := callee.next("answer")["code"].(string)
	time.Sleep(3 * time.Minute)
	caller.send(answer)
	for _, p := range []*peer{caller, callee} {
		var s map[string]any
		for s = p.next("state"); s["state"] == "connecting"; s = p.next("state") {
		}
		if s["state"] != "connected" {
			t.Fatalf("%s: %v; want connected", p.name, s)
		}
	}
	caller.send("/quit")
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
}

// slow skips a test that must take minutes of real time, unless
// PARLEY_SLOW is set: make test runs them as a step of their own, apart
// from the fast suite.
func slow(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("PARLEY_SLOW") == "" || testing.Short() {
		t.Skipf("%s: a slow test; PARLEY_SLOW=1 runs it (make test does)", why)
	}
}

// silentServer is a sound server that accepts connections and never
// answers, as a hung PulseAudio does. It returns its PULSE_SERVER value.
func silentServer(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "native")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "unix:" + path
}

// TestSoundServerNotAnswering points parley at a sound server that never
// answers: the invite still comes within 2 s, stderr says the server does
// not answer (not that there is no microphone), and SIGINT ends the call
// at once. `parley devices` says so within 2 s too.
func TestSoundServerNotAnswering(t *testing.T) {
	t.Parallel()
	server := silentServer(t)
	env := append(os.Environ(), "PULSE_SERVER="+server, "XDG_STATE_HOME="+t.TempDir())
	bin := parleyBinary(t)

	start := time.Now()
	devices := exec.Command(bin, "devices")
	devices.Env = env
	out, _ := devices.CombinedOutput()
	if d := time.Since(start); d > 2*time.Second || !strings.Contains(string(out), "the sound server at "+server+" does not answer") {
		t.Errorf("parley devices took %v and said %q; want within 2 s that the server does not answer", d, out)
	}

	cmd := exec.Command(bin, "call", "--headless", "--stun", "none", "--iface", "lo", "--loopback")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case first <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-first:
		if !strings.Contains(l, `"type":"invite"`) {
			t.Errorf("first line %q; want the invite", l)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the invite came after %v; want within 2 s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no invite within 10 s")
	}
	// The note comes once the sound system has been given up on.
	time.Sleep(2 * time.Second)
	start = time.Now()
	cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("SIGINT ended parley after %v; want within 2 s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGINT did not end parley within 5 s")
	}
	if !strings.Contains(stderr.String(), "the sound server at "+server+" does not answer") || strings.Contains(stderr.String(), "no microphone") {
		t.Errorf("stderr:\n%s\nwant it to say the sound server does not answer", stderr.String())
	}
}
