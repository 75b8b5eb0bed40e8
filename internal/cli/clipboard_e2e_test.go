package cli

import (
	"regexp"
	"strings"
	"testing"
)

// TestTUICopyInTmux runs parley in a tmux of its own with tmux's default
// set-clipboard (external), which drops the OSC 52 a program sends:
// copying the invite says how to turn it on instead of claiming it
// reached the clipboard; with set-clipboard on, it says it did.
func TestTUICopyInTmux(t *testing.T) {
	bin := parleyBinary(t)
	tm := newTmux(t)
	env := "env XDG_STATE_HOME=" + t.TempDir() + " TERM=xterm-256color "
	tm.run("new-session", "-d", "-s", "caller", "-x", "100", "-y", "30", env+bin+" call --stun none --iface lo --loopback")
	tm.run("set-option", "-g", "set-clipboard", "external")
	tm.run("set-option", "-g", "allow-passthrough", "off")
	tm.waitFor("caller", regexp.MustCompile(`PLI[0-9A-Za-z]{40,}`))

	tm.run("send-keys", "-t", "caller", "C-y") // "c" is text here: the answer box
	tm.waitFor("caller", regexp.MustCompile(`tmux drops the copy: run "tmux set -g set-clipboard on"`))
	if s := tm.screen("caller"); strings.Contains(s, "sent to your clipboard") {
		t.Errorf("with set-clipboard external the screen still says the copy was sent:\n%s", s)
	}

	tm.run("set-option", "-g", "set-clipboard", "on")
	tm.run("send-keys", "-t", "caller", "C-y") // "c" is text here: the answer box
	tm.waitFor("caller", regexp.MustCompile(`sent to your clipboard`))
}
