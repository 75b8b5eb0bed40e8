package cli

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startCoturn runs coturn on loopback with one test user and returns its
// address.
func startCoturn(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Fatal("coturn is not installed; run scripts/setup")
	}
	port := freeUDPPort(t)
	relayMin := 40000 + port%20000
	dir := t.TempDir()
	cmd := exec.Command(bin, "-n", "--no-cli", "--no-tls", "--no-dtls",
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port),
		fmt.Sprintf("--min-port=%d", relayMin), fmt.Sprintf("--max-port=%d", relayMin+100),
		"--allow-loopback-peers", "--lt-cred-mech", "--user=alice:s3cret", "--realm=parley.test",
		"--simple-log", "--log-file="+filepath.Join(dir, "turn.log"), "--pidfile="+filepath.Join(dir, "turn.pid"),
		"--no-stun-backward-compatibility")
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("coturn:\n%s", out)
		}
	})
	// Wait until it answers on its port.
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(out.String(), "listener opened on") || listening(port) {
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("coturn did not start on %s", addr)
	return ""
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func listening(port int) bool {
	c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return true // taken: coturn has it
	}
	c.Close()
	return false
}

// TestCoturnRelayOnly calls through a real TURN server, both sides
// --relay-only: the route is relay, and chat and audio flow both ways.
func TestCoturnRelayOnly(t *testing.T) {
	t.Parallel()
	turn := "turn:alice:s3cret@" + startCoturn(t)
	relayed := []string{"--turn", turn, "--relay-only"}
	caller, callee := connectArgs(t, append(relayed, audioArgs(t)...), append(relayed, audioArgs(t)...))
	for _, p := range []*peer{caller, callee} {
		var s map[string]any
		for s = p.next("state"); s["state"] == "connecting"; s = p.next("state") {
		}
		if s["state"] != "connected" || s["route"] != "relay" {
			t.Fatalf("%s: state %v; want connected by relay", p.name, s)
		}
	}
	for _, p := range []*peer{caller, callee} {
		if s := p.next("stats"); s["route"] != "relay" {
			t.Errorf("%s: stats %v; want the relay route", p.name, s)
		}
		p.audioFlows(0, 50) // a second of the peer's tone
	}
	caller.send("via coturn")
	if m := callee.next("chat"); m["text"] != "via coturn" {
		t.Errorf("callee got %v", m)
	}
	callee.send("and back")
	if m := caller.next("chat"); m["text"] != "and back" {
		t.Errorf("caller got %v", m)
	}
	caller.send("/quit")
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d", code)
	}
}

// lockedBuffer collects a process's output while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
