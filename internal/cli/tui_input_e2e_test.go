package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// startTUIPair starts two real parley TUIs in tmux sessions "caller" and
// "callee" on loopback and connects them, exchanging the codes as
// TestTUIEndToEnd does (at 200×40, where a code is on one row).
func startTUIPair(t *testing.T, tm *tmux) {
	t.Helper()
	bin := parleyBinary(t)
	state := t.TempDir()
	flags := " --stun none --iface lo --loopback"
	env := "env XDG_STATE_HOME=" + state + " TERM=xterm-256color "
	tm.run("new-session", "-d", "-s", "caller", "-x", "200", "-y", "40", env+bin+" call"+flags)
	tm.run("new-session", "-d", "-s", "callee", "-x", "200", "-y", "40", env+bin+" join"+flags)

	invite := tm.waitFor("caller", regexp.MustCompile(`PLI[0-9A-Za-z]{40,}`))
	tm.waitFor("callee", regexp.MustCompile(`PLI`)) // the paste box's hint
	tm.paste("callee", "  "+invite[:40]+"\n  "+invite[40:]+"\n")
	tm.run("send-keys", "-t", "callee", "Enter")
	answer := tm.waitFor("callee", regexp.MustCompile(`PLA[0-9A-Za-z]{40,}`))
	tm.paste("caller", answer)
	tm.run("send-keys", "-t", "caller", "Enter")

	connected := regexp.MustCompile(`connected · direct`)
	tm.waitFor("caller", connected)
	tm.waitFor("callee", connected)
}

// checkCallPane fails unless the pane shows a whole call screen of
// width×height: the header on the first row, the footer on the last, and
// no row too wide.
func checkCallPane(t *testing.T, tm *tmux, target string, width, height int) {
	t.Helper()
	screen := tm.screen(target)
	lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
	if len(lines) != height {
		t.Errorf("%s: %d rows at %d×%d; want %d:\n%s", target, len(lines), width, height, height, screen)
		return
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > width {
			t.Errorf("%s: row %d is %d columns at %d×%d: %q", target, i, n, width, height, l)
		}
	}
	if !strings.HasPrefix(lines[0], "parley · connected · direct") {
		t.Errorf("%s: the first row is %q; want the header:\n%s", target, lines[0], screen)
	}
	if last := lines[height-1]; !strings.Contains(last, "hang up") || !strings.Contains(last, "help") {
		t.Errorf("%s: the last row is %q; want the footer:\n%s", target, last, screen)
	}
}

// TestTUIInputEndToEnd types and pastes into two real parley TUIs in tmux
// at 80×24: a burst of letters spelling key names is one message, not keys
// (the call stays up), and a two-line bracketed paste is one two-line
// message, with both screens whole.
func TestTUIInputEndToEnd(t *testing.T) {
	tm := newTmux(t)
	startTUIPair(t, tm)
	for _, s := range []string{"caller", "callee"} {
		tm.run("resize-window", "-t", s, "-x", "80", "-y", "24")
	}
	time.Sleep(300 * time.Millisecond)
	checkCallPane(t, tm, "caller", 80, 24)
	checkCallPane(t, tm, "callee", 80, 24)

	// Letters sent at once, as a slow link delivers typing: bubbletea
	// reads "ctrl+x" as one message, whose name is that of the key.
	tm.run("send-keys", "-t", "caller", "-l", "ctrl+x enter up q")
	tm.run("send-keys", "-t", "caller", "Enter")
	tm.waitFor("callee", regexp.MustCompile(`peer  ctrl\+x enter up q\n`))
	tm.waitFor("caller", regexp.MustCompile(`you   ctrl\+x enter up q ✓`))
	for _, s := range []string{"caller", "callee"} {
		if screen := tm.screen(s); strings.Contains(screen, "hung up") || strings.Contains(screen, "hanging up") {
			t.Fatalf("%s: the burst hung up:\n%s", s, screen)
		}
		checkCallPane(t, tm, s, 80, 24)
	}

	// A bracketed paste of two lines (tmux sends its line break as CR).
	tm.paste("callee", "line one of the paste\nline two of the paste")
	tm.waitFor("callee", regexp.MustCompile(`› line one of the paste\n  line two of the paste`))
	checkCallPane(t, tm, "callee", 80, 24)
	tm.run("send-keys", "-t", "callee", "Enter")
	tm.waitFor("caller", regexp.MustCompile(`peer  line one of the paste\n {12}line two of the paste\n`))
	tm.waitFor("callee", regexp.MustCompile(`you   line one of the paste\n {12}line two of the paste ✓`))
	checkCallPane(t, tm, "caller", 80, 24)
	checkCallPane(t, tm, "callee", 80, 24)
	if screen := tm.screen("caller"); strings.Count(screen, "line one of the paste") != 1 {
		t.Errorf("caller: the paste is not one message:\n%s", screen)
	}

	// The real key still hangs up.
	tm.run("send-keys", "-t", "caller", "C-x")
	tm.waitFor("callee", regexp.MustCompile(`peer hung up`))
	tm.waitFor("caller", regexp.MustCompile(`you hung up`))
}
