package tui

import (
	"fmt"
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
	h.key(tea.KeyCtrlG)
	if v := h.view(); strings.Contains(v, "ctrl+t") || !strings.Contains(v, "hang up") {
		t.Errorf("the help of a call without a microphone lists mute, or is not shown:\n%s", v)
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

// pickerCall is a fake call whose devices can be switched.
type pickerCall struct {
	*fakeCall
	used []string
}

func (p *pickerCall) Devices() ([]Device, []Device, error) {
	return []Device{{Name: "Desk Mic (desk_mic.monitor)", ID: "desk_mic.monitor", Default: true}, {Name: "Headset Mic", ID: "headset_mic"}},
		[]Device{{Name: "Desk Speakers", ID: "speakers", Default: true}}, nil
}

func (p *pickerCall) UseDevice(input bool, id string) error {
	p.used = append(p.used, fmt.Sprint(input, " ", id))
	return nil
}

// TestDevicePicker: F4 lists the microphones and speakers; the arrows
// move, enter switches to the one chosen, esc closes; typing does not
// reach the chat meanwhile.
func TestDevicePicker(t *testing.T) {
	var pc *pickerCall
	h := newHarnessWith(t, ScreenCall, "", func(f *fakeCall) Call {
		pc = &pickerCall{fakeCall: f}
		return pc
	})
	h.connect()
	h.key(tea.KeyF4)
	mustContain(t, h.view(), "Microphones", "› Desk Mic (desk_mic.monitor)", "Headset Mic", "Speakers", "Desk Speakers", "esc close")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	h.key(tea.KeyDown)
	h.key(tea.KeyDown)
	mustContain(t, h.view(), "› Desk Speakers")
	h.key(tea.KeyEnter)
	if len(pc.used) != 1 || pc.used[0] != "false speakers" {
		t.Fatalf("UseDevice calls %q; want the speaker \"speakers\"", pc.used)
	}
	v := h.view()
	mustContain(t, v, "switching the speaker to Desk Speakers…")
	if strings.Contains(v, "Microphones") || strings.Contains(v, "› x") {
		t.Errorf("the picker is still open, or the typed x reached the chat:\n%s", v)
	}
	h.key(tea.KeyF4)
	h.key(tea.KeyEsc)
	if strings.Contains(h.view(), "Microphones") {
		t.Errorf("esc left the picker open:\n%s", h.view())
	}
	if len(pc.used) != 1 {
		t.Errorf("esc switched a device: %q", pc.used)
	}
}

// TestNoDevicePicker: a call that cannot switch devices says so.
func TestNoDevicePicker(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.key(tea.KeyF4)
	mustContain(t, h.view(), "this call cannot switch devices")
}

// TestCleanUpsShown: the stats line says which of the microphone's
// clean-ups run, with the echo delay found.
func TestCleanUpsShown(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.AudioEvent{Available: true})
	h.emit(event.StatsEvent{RTT: time.Millisecond, Sound: &event.SoundStats{Delay: 20 * time.Millisecond, AEC: true, NS: true, AGC: true, EchoDelay: 104 * time.Millisecond}})
	mustContain(t, h.view(), "· AEC 104 ms NS AGC")
}
