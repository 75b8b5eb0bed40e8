package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/rtc"
)

// tmux drives terminals on a private tmux server.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed; run scripts/setup")
	}
	// t.TempDir's parent is unique to the test (its first directory is
	// 001 in every test): two tests never share a server, nor start one
	// where the last test's is still going away.
	tm := &tmux{t: t, socket: "parley-test-" + filepath.Base(filepath.Dir(t.TempDir()))}
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (tm *tmux) screen(target string) string { return tm.run("capture-pane", "-p", "-t", target) }

// waitFor waits until the pane shows a match of re and returns it.
func (tm *tmux) waitFor(target string, re *regexp.Regexp) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := tm.screen(target)
		if m := re.FindString(s); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%s: no %v on screen within 20 s; the screen:\n%s", target, re, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// paste pastes text into the pane as a terminal paste (bracketed when the
// program asked for it).
func (tm *tmux) paste(target, text string) {
	tm.t.Helper()
	f := filepath.Join(tm.t.TempDir(), "paste")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		tm.t.Fatal(err)
	}
	tm.run("load-buffer", "-b", "p", f)
	tm.run("paste-buffer", "-p", "-d", "-b", "p", "-t", target)
}

// TestTUIEndToEnd runs two real parley TUIs in tmux on loopback: the
// invite is pasted into the second, the answer into the first, each side
// chats, the window shrinks to 80×24, and the caller hangs up with the key
// in the footer.
func TestTUIEndToEnd(t *testing.T) {
	bin := parleyBinary(t)
	tm := newTmux(t)
	state := t.TempDir()
	flags := " --stun none --iface lo --loopback"
	env := "env XDG_STATE_HOME=" + state + " TERM=xterm-256color "
	tm.run("new-session", "-d", "-s", "caller", "-x", "200", "-y", "40", env+bin+" call"+flags)
	tm.run("new-session", "-d", "-s", "callee", "-x", "200", "-y", "40", env+bin+" join"+flags)

	invite := tm.waitForCode("caller", rtc.KindInvite)
	tm.waitFor("callee", regexp.MustCompile(`PLI`)) // the paste box's hint
	// Pasted as a chat program might deliver it: wrapped and indented.
	tm.paste("callee", "  "+invite[:40]+"\n  "+invite[40:]+"\n")
	tm.run("send-keys", "-t", "callee", "Enter")
	answer := tm.waitForCode("callee", rtc.KindAnswer)
	tm.paste("caller", answer)
	tm.run("send-keys", "-t", "caller", "Enter")

	connected := regexp.MustCompile(`connected · direct`)
	tm.waitFor("caller", connected)
	tm.waitFor("callee", connected)
	tm.run("send-keys", "-t", "caller", "-l", "hello from the caller")
	tm.run("send-keys", "-t", "caller", "Enter")
	tm.run("send-keys", "-t", "callee", "-l", "hi from the callee")
	tm.run("send-keys", "-t", "callee", "Enter")
	tm.waitFor("callee", regexp.MustCompile(`peer +hello from the caller`))
	tm.waitFor("caller", regexp.MustCompile(`peer +hi from the callee`))

	tm.run("resize-window", "-t", "caller", "-x", "80", "-y", "24")
	time.Sleep(300 * time.Millisecond)
	screen := tm.screen("caller")
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("caller's screen has %d lines at 80×24", len(lines))
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns at 80×24: %q", n, l)
		}
	}
	footer := regexp.MustCompile(`ctrl\+(\w) hang up`).FindStringSubmatch(screen)
	if footer == nil {
		t.Fatalf("no hang-up key in the footer at 80×24:\n%s", screen)
	}
	if !strings.Contains(screen, "hello from the caller") || !strings.Contains(screen, "hi from the callee") {
		t.Errorf("the chat is not visible at 80×24:\n%s", screen)
	}
	tm.run("send-keys", "-t", "caller", "C-"+footer[1])
	tm.waitFor("callee", regexp.MustCompile(`peer hung up`))
	tm.waitFor("caller", regexp.MustCompile(`you hung up`))

	fi, err := os.Stat(filepath.Join(state, "parley", "parley.log"))
	if err != nil {
		t.Errorf("no log file: %v", err)
	} else if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("log file mode %v; want 0600", m)
	}
}
