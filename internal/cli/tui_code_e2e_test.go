package cli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/rtc"
)

// joinedScreen is the pane as "capture-pane -J" gives it, where a line the
// terminal wrapped comes back whole; with history, the scrollback too.
func (tm *tmux) joinedScreen(target string, history bool) string {
	args := []string{"capture-pane", "-J", "-p", "-t", target}
	if history {
		args = append(args, "-S", "-")
	}
	return tm.run(args...)
}

// waitForCode waits until the pane shows a code of kind whole on one
// logical line, read with "capture-pane -J" as one token, and returns it.
func (tm *tmux) waitForCode(target string, kind rtc.Kind) string {
	tm.t.Helper()
	re := regexp.MustCompile(kind.Prefix() + `[0-9A-Za-z]{40,}`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := tm.joinedScreen(target, false)
		if code := re.FindString(s); code != "" {
			if _, err := rtc.ParseCode(code, kind); err != nil {
				tm.t.Fatalf("%s: the %v read off the screen, %q, is refused: %v; the screen:\n%s", target, kind, code, err, s)
			}
			return code
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%s: no %v on screen within 20 s; the screen:\n%s", target, kind, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shell starts a session of width×24 with a shell whose screen is
// already full, so that parley starts on the bottom row and the terminal
// scrolls as it draws (where a printed code was once damaged).
func (tm *tmux) shell(name string, width int) {
	tm.t.Helper()
	tm.run("new-session", "-d", "-s", name, "-x", fmt.Sprint(width), "-y", "24", "env PS1='$ ' sh")
	tm.typeLine(name, "seq 40")
	tm.waitFor(name, regexp.MustCompile(`(?m)^40\n\$`))
}

// typeLine types a command line into the pane's shell.
func (tm *tmux) typeLine(target, line string) {
	tm.run("send-keys", "-t", target, "-l", line)
	tm.run("send-keys", "-t", target, "Enter")
}

// anyWords matches the words of text with any white space between them,
// as a screen that wrapped the text shows them.
func anyWords(text string) *regexp.Regexp {
	return regexp.MustCompile(strings.Join(strings.Fields(regexp.QuoteMeta(text)), `\s+`))
}

var cutOffMessage = anyWords("cut off: it looks like only part of the code was copied")

// TestTUICodesAt80x24: at 80×24 the codes a machine with one address
// makes are whole on one row; each, read off the screen, works pasted;
// their first 40 characters, pasted, are called cut off. After ctrl+c the
// invite is still on the normal screen, whole on its line, and nothing of
// the UI is left there or in the scrollback.
func TestTUICodesAt80x24(t *testing.T) { testTUICodes(t, 80) }

// TestTUICodesWrapped: in a window of 40 columns, where a code is wider
// than the window, the invite is read off the caller's screen with
// "capture-pane -J" as one token and works pasted into the joiner, and
// the answer is read the same way and works; the invite's first row, as a
// terminal shows it, pasted, is called cut off.
func TestTUICodesWrapped(t *testing.T) { testTUICodes(t, 40) }

func testTUICodes(t *testing.T, width int) {
	bin := parleyBinary(t)
	tm := newTmux(t)
	cmd := "env XDG_STATE_HOME=" + t.TempDir() + " TERM=xterm-256color " + bin
	flags := " --stun none --iface lo --loopback"
	for _, s := range []string{"caller", "callee", "cutter"} {
		tm.shell(s, width)
	}
	// The shell says how parley exited, once it has.
	tm.typeLine("caller", cmd+" call"+flags+"; echo exited-$?")
	tm.typeLine("callee", cmd+" join"+flags)
	tm.typeLine("cutter", cmd+" join"+flags)

	invite := tm.waitForCode("caller", rtc.KindInvite)
	wide := len(invite) > width
	if wide != (width < 80) {
		t.Fatalf("the invite %q has %d characters, in a window of %d columns; the test needs it %s", invite, len(invite), width, map[bool]string{true: "wider", false: "narrower"}[width < 80])
	}
	screen := tm.screen("caller")
	if whole := strings.Contains(screen, invite); whole == wide {
		t.Fatalf("in a window of %d columns the invite of %d characters is whole on one row: %v; the screen:\n%s", width, len(invite), whole, screen)
	}
	// One row of the code, as a double-click in a terminal that does not
	// join wrapped rows, or tmux's copy mode, would take it.
	cut := invite[:40]
	if wide {
		row := regexp.MustCompile(`(?m)^PLI[0-9A-Za-z]+$`).FindString(screen)
		if row != invite[:width] {
			t.Fatalf("the invite's first row on screen is %q; want its first %d characters %q", row, width, invite[:width])
		}
		cut = row
	}
	hint := regexp.MustCompile(`paste the invite here`) // the paste box's
	tm.waitFor("cutter", hint)
	tm.paste("cutter", cut)
	tm.waitFor("cutter", cutOffMessage)

	tm.waitFor("callee", hint)
	tm.paste("callee", invite)
	answer := tm.waitForCode("callee", rtc.KindAnswer)
	if whole := strings.Contains(tm.screen("callee"), answer); whole != (len(answer) <= width) {
		t.Errorf("in a window of %d columns the answer of %d characters is whole on one row: %v", width, len(answer), whole)
	}
	tm.paste("caller", answer)
	connected := regexp.MustCompile(`connected · direct`)
	tm.waitFor("caller", connected)
	tm.waitFor("callee", connected)

	tm.run("send-keys", "-t", "caller", "C-c")
	tm.waitFor("caller", regexp.MustCompile(`(?m)^exited-0`))
	checkLeftOnScreen(t, tm, "caller", invite)
}

// TestTUIPrintCodeAt80x24: with --print-code, parley at 80×24 leaves the
// exact invite on the normal screen after ctrl+c, on one logical line with
// nothing written over it, and none of its screens in the scrollback.
func TestTUIPrintCodeAt80x24(t *testing.T) {
	bin := parleyBinary(t)
	tm := newTmux(t)
	tm.shell("caller", 80)
	tm.typeLine("caller", "env XDG_STATE_HOME="+t.TempDir()+" TERM=xterm-256color "+bin+" call --print-code --stun none --iface lo --loopback; echo exited-$?")
	invite := tm.waitForCode("caller", rtc.KindInvite)
	tm.waitFor("caller", regexp.MustCompile(`Paste the answer`))
	tm.run("send-keys", "-t", "caller", "C-c")
	tm.waitFor("caller", regexp.MustCompile(`(?m)^exited-0`))
	checkLeftOnScreen(t, tm, "caller", invite)
}

// checkLeftOnScreen checks the pane after parley has ended: the normal
// screen holds the code on a line of its own, exactly; neither it nor the
// scrollback holds anything of the UI's screens.
func checkLeftOnScreen(t *testing.T, tm *tmux, target, code string) {
	t.Helper()
	screen := tm.joinedScreen(target, false)
	found := false
	for _, l := range strings.Split(screen, "\n") {
		l = strings.TrimRight(l, " ")
		if strings.Contains(l, code[:20]) {
			if l != code {
				t.Errorf("after exit the code's line is %q; want exactly %q", l, code)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("after exit the normal screen does not show the code %q:\n%s", code, screen)
	}
	all := tm.joinedScreen(target, true)
	for _, ui := range []string{"start a call", "Making your invite", "Paste the answer", "printed above", "ctrl+c quit", "connected"} {
		if strings.Contains(all, ui) {
			t.Errorf("after exit the screen or its scrollback still shows the UI (%q):\n%s", ui, all)
		}
	}
}
