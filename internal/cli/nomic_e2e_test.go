package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTUINoMic runs two parley TUIs in tmux, the caller with --audio-in
// none and a WAV file for the peer's audio: its call screen says "no mic"
// and offers no mute; the callee, without a sound card, is text only and
// shows no audio figures.
func TestTUINoMic(t *testing.T) {
	bin := parleyBinary(t)
	tm := newTmux(t)
	flags := " --stun none --iface lo --loopback"
	env := "env XDG_STATE_HOME=" + t.TempDir() + " TERM=xterm-256color "
	rec := filepath.Join(t.TempDir(), "peer.wav")
	tm.run("new-session", "-d", "-s", "caller", "-x", "200", "-y", "40", env+bin+" call"+flags+" --audio-in none --audio-out "+rec)
	tm.run("new-session", "-d", "-s", "callee", "-x", "200", "-y", "40", env+bin+" join"+flags+" --audio-in none --audio-out none")

	invite := tm.waitFor("caller", regexp.MustCompile(`PLI[0-9A-Za-z]{40,}`))
	tm.waitFor("callee", regexp.MustCompile(`PLI`))
	tm.paste("callee", invite)
	tm.run("send-keys", "-t", "callee", "Enter")
	answer := tm.waitFor("callee", regexp.MustCompile(`PLA[0-9A-Za-z]{40,}`))
	tm.paste("caller", answer)
	tm.run("send-keys", "-t", "caller", "Enter")
	tm.waitFor("caller", regexp.MustCompile(`connected · direct`))
	tm.waitFor("callee", regexp.MustCompile(`connected · direct`))
	tm.waitFor("caller", regexp.MustCompile(`RTT \d`)) // the stats have come

	screen := tm.screen("caller")
	header := strings.SplitN(screen, "\n", 2)[0]
	if !strings.HasSuffix(strings.TrimSpace(header), "no mic") {
		t.Errorf("with --audio-in none the header is %q; want \"no mic\" at its end", header)
	}
	if strings.Contains(screen, "mic on") || strings.Contains(screen, "ctrl+t") {
		t.Errorf("with --audio-in none the call screen offers mute:\n%s", screen)
	}

	tm.waitFor("callee", regexp.MustCompile(`RTT \d`))
	screen = tm.screen("callee")
	// Whole words: the safety words may hold "loss" ("glossary").
	if !strings.Contains(screen, "text only") || regexp.MustCompile(`\bbuffer\b|\bkb/s\b|\bloss\b`).MatchString(screen) {
		t.Errorf("a text-only call shows audio figures, or does not say it is text only:\n%s", screen)
	}
}
