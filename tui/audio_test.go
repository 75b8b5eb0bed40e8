package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// TestNoMic: with --audio-in none the peer is heard but there is no
// microphone: the header says "no mic", the footer offers no mute, and
// ctrl+t mutes nothing.
func TestNoMic(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()
	h.emit(event.AudioEvent{Available: true, NoMic: true},
		event.LevelsEvent{MicPeak: -99, MicRMS: -99, PeerPeak: -20, PeerRMS: -30})
	v := h.view()
	header := strings.SplitN(v, "\n", 2)[0]
	if !strings.HasSuffix(strings.TrimSpace(header), "no mic") {
		t.Errorf("header %q; want it to end in \"no mic\"", header)
	}
	if strings.Contains(v, "mic on") || strings.Contains(v, "ctrl+t") {
		t.Errorf("a call without a microphone offers mute:\n%s", v)
	}
	mustContain(t, v, "mic  ", "no mic", "-30 dB")
	h.key(tea.KeyCtrlT)
	mustContain(t, h.view(), "no microphone in this call: nothing to mute")
	if len(f.muted) != 0 {
		t.Errorf("SetMuted calls %v; want none", f.muted)
	}
}

// TestTextOnlyStats: a call without audio shows the round trip, not the
// audio's loss, buffer and bitrate.
func TestTextOnlyStats(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.AudioEvent{Available: false, Note: "no microphone or speaker found — text only"})
	stats := strings.Split(h.view(), "\n")[1]
	if strings.TrimSpace(stats) != "RTT —" {
		t.Errorf("text-only stats line before any stats: %q; want \"RTT —\"", stats)
	}
	h.emit(event.StatsEvent{RTT: 42 * time.Millisecond, BitrateIn: 2000, BitrateOut: 2000})
	stats = strings.Split(h.view(), "\n")[1]
	if strings.TrimSpace(stats) != "RTT 42 ms" {
		t.Errorf("text-only stats line %q; want \"RTT 42 ms\" and no buffer or kb/s", stats)
	}
}

// TestSoundLostAndBack: a sound that fails mid-call is said as a notice
// and the call shows as text only; its return is said too.
func TestSoundLostAndBack(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.AudioEvent{Available: true})
	h.emit(event.AudioEvent{Fault: "sound device Mic stopped answering (the sound server may be gone); the call goes on as text only until it is back"})
	mustContain(t, h.view(), "! sound device Mic stopped answering")
	h.emit(event.AudioEvent{Available: true, Back: true})
	mustContain(t, h.view(), "✓ the sound is back")
}
