package tui

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"parley/internal/event"
)

func ctrl(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func mustContain(t *testing.T, view string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(view, w) {
			t.Errorf("view lacks %q:\n%s", w, view)
		}
	}
}

// unwrapped joins a view's lines, to find a code that was wrapped.
func unwrapped(view string) string { return strings.ReplaceAll(view, "\n", "") }

func TestHomeKeys(t *testing.T) {
	h := newHarness(t, ScreenHome, "")
	mustContain(t, h.view(), "› Start a call", "Join a call", "Echo test", "Quit")

	h.key(tea.KeyDown)
	mustContain(t, h.view(), "› Join a call")
	h.key(tea.KeyUp)
	h.key(tea.KeyUp)
	mustContain(t, h.view(), "› Quit")
	h.key(tea.KeyDown)
	mustContain(t, h.view(), "› Start a call")

	// The echo test goes straight to the call screen, connected.
	h.send(runes("e"))
	if h.m.active != onCall || len(h.echoes) != 1 || len(h.calls) != 0 {
		t.Fatalf("e: screen %v with %d echo tests and %d calls; want the call screen with one echo test", h.m.active, len(h.echoes), len(h.calls))
	}
	mustContain(t, h.view(), "connected")
	h.send(goHomeMsg{})
	if h.m.active != onHome || h.echoes[0].closes == 0 {
		t.Fatalf("home: screen %v, echo test closed %d times", h.m.active, h.echoes[0].closes)
	}

	h.send(runes("j"))
	if h.m.active != onJoin {
		t.Fatalf("j: screen %v; want join", h.m.active)
	}
	h.key(tea.KeyEsc)
	if h.m.active != onHome {
		t.Fatalf("esc on join: screen %v; want home", h.m.active)
	}
	h.send(runes("c"))
	if h.m.active != onInvite || len(h.calls) != 1 {
		t.Fatalf("c: screen %v with %d calls; want the invite screen with one call", h.m.active, len(h.calls))
	}
	h.key(tea.KeyEsc)
	if _, closes := h.calls[0].count(); closes != 1 || h.m.active != onHome {
		t.Fatalf("esc on invite: %d closes on screen %v; want the call closed and home", closes, h.m.active)
	}
	h.send(runes("q"))
	if !h.quit {
		t.Fatal("q on home did not quit")
	}
}

func TestInvitePrintsWholeCode(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {60, 20}, {40, 20}} {
		h := newHarness(t, ScreenCall, "")
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		mustPrint(t, h, testInvite)
		// Under the title, the code's rows and a blank line.
		checkFits(t, h.view(), size[0], size[1]-2-(len(testInvite)+size[0]-1)/size[0])
	}
}

// checkFits fails unless view is height lines of at most width cells.
func checkFits(t *testing.T, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != height {
		t.Errorf("view at %d×%d has %d lines; want %d:\n%s", width, height, len(lines), height, view)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > width {
			t.Errorf("line %d of the view at %d×%d is %d wide: %q", i, width, height, w, l)
		}
	}
}

func TestInvitePasteValidation(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	f := h.last()

	// Enter on an empty box says what to do and asks nothing of the engine.
	h.key(tea.KeyEnter)
	if len(f.accepted) != 0 {
		t.Fatalf("enter on an empty box called Accept(%q)", f.accepted)
	}
	mustContain(t, unwrapped(h.view()), "paste the answer your peer sent back first")

	// Pasting one's own invite is refused at once with the engine's line,
	// and the text stays in the box.
	h.paste(testInvite)
	if len(f.accepted) != 1 {
		t.Fatalf("a paste called Accept %d times; want 1", len(f.accepted))
	}
	if h.m.active != onInvite {
		t.Fatalf("a refused answer left the invite screen")
	}
	mustContain(t, unwrapped(h.view()), "! this is your own invite")
	if got := h.m.invite.box.Value(); got != testInvite {
		t.Fatalf("box after a refused paste = %q; want the paste kept", got)
	}

	// Editing clears the error; the edit is kept.
	h.key(tea.KeyBackspace)
	if strings.Contains(h.view(), "your own invite") {
		t.Errorf("the error stayed after an edit")
	}
	if got := h.m.invite.box.Value(); got != testInvite[:len(testInvite)-1] {
		t.Errorf("box after backspace = %q", got)
	}

	// A wrapped, indented answer with stray white space is accepted: the
	// engine gets it as pasted, line breaks and all.
	h.key(tea.KeyCtrlE)
	h.key(tea.KeyCtrlU)
	wrapped := "  " + testAnswer[:40] + "\r\n    " + testAnswer[40:] + " \n"
	h.paste(wrapped)
	if got, want := f.accepted[len(f.accepted)-1], strings.ReplaceAll(wrapped, "\r\n", "\n"); got != want {
		t.Fatalf("Accept(%q); want %q", got, want)
	}
	if h.m.active != onCall {
		t.Fatalf("a valid answer left the screen at %v; want the call screen", h.m.active)
	}
	mustContain(t, h.view(), "connecting…")
}

func TestInviteTypedAnswerAndEnter(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.typeText("junk")
	if n := len(h.last().accepted); n != 0 {
		t.Fatalf("typing called Accept %d times; want 0 until enter", n)
	}
	h.key(tea.KeyEnter)
	mustContain(t, h.view(), "! this is not a parley code")
	if got := h.m.invite.box.Value(); got != "junk" {
		t.Fatalf("box = %q; want the typed text kept", got)
	}
}

func TestInviteCopy(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	want := osc52(testInvite, false)

	// "c" is text for the box, even while it is empty: the screen has a
	// text field. ctrl+y copies.
	h.send(runes("c"))
	if got := h.clip.String(); got != "" {
		t.Fatalf("c wrote %q to the clipboard; want nothing", got)
	}
	if got := h.m.invite.box.Value(); got != "c" {
		t.Fatalf("box = %q; want %q", got, "c")
	}
	mustContain(t, h.view(), "ctrl+y: copy")
	if strings.Contains(h.view(), "c or ctrl+y") {
		t.Errorf("the invite screen offers c to copy:\n%s", h.view())
	}
	h.key(tea.KeyCtrlY)
	if got := h.clip.String(); got != want {
		t.Fatalf("ctrl+y wrote %q; want %q", got, want)
	}
	mustContain(t, unwrapped(h.view()), "✓ sent to your clipboard")
	h.send(tea.KeyMsg{Type: tea.KeyF5})
	if got := h.clip.String(); got != want+want {
		t.Fatalf("f5: clipboard writes %q; want two copies", got)
	}
}

func TestInviteQR(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.key(tea.KeyCtrlR)
	v := h.view()
	if !strings.Contains(v, "█") || !strings.Contains(v, "scan it with a phone") {
		t.Fatalf("ctrl+r shows no QR code:\n%s", v)
	}
	checkFits(t, v, 80, 24)

	h.send(tea.WindowSizeMsg{Width: 60, Height: 20})
	mustContain(t, unwrapped(h.view()), "too small for the QR code")

	// A paste goes to the box and brings the code back.
	h.paste("x")
	if h.m.invite.code.showQR {
		t.Fatal("the QR code stayed after a paste")
	}
}

func TestInviteFailure(t *testing.T) {
	h := newHarnessWith(t, ScreenHome, "", func(f *fakeCall) Call { return failingInvite{f} })
	h.send(runes("c"))
	mustContain(t, unwrapped(h.view()), "! could not make an invite: no network address to offer", "r: try again")
	if _, closes := h.last().count(); closes != 1 {
		t.Errorf("the failed call was closed %d times; want 1", closes)
	}
	h.wrap = nil
	h.send(runes("r"))
	mustPrint(t, h, testInvite)
}

type failingInvite struct{ *fakeCall }

func (failingInvite) Invite(context.Context) (string, error) {
	return "", errors.New("no network address to offer: check that this machine is on a network")
}

func TestJoinFromCommandLine(t *testing.T) {
	// A code cut short on the command line is refused and kept for editing.
	short := testInvite[:50]
	h := newHarness(t, ScreenJoin, short)
	if len(h.calls) != 1 || h.calls[0].joined[0] != short {
		t.Fatalf("the command line's code was not joined at once")
	}
	mustContain(t, unwrapped(h.view()), "! this code is cut short")
	if got := h.m.join.box.Value(); got != short {
		t.Fatalf("box = %q; want the code kept", got)
	}
	if _, closes := h.calls[0].count(); closes != 1 {
		t.Errorf("the refused call was closed %d times; want 1", closes)
	}

	// The rest, pasted at the end, completes it; a new call joins.
	h.paste(testInvite[50:])
	if len(h.calls) != 2 {
		t.Fatalf("%d calls; want a second one for the second attempt", len(h.calls))
	}
	mustPrint(t, h, testAnswer)
	mustContain(t, h.view(), "waiting for your peer to paste this — 0:00")

	h.clock.Advance(83 * time.Second)
	mustContain(t, h.view(), "— 1:23")

	// "c" copies: there is no box any more.
	h.send(runes("c"))
	if got, want := h.clip.String(), osc52(testAnswer, false); got != want {
		t.Fatalf("c wrote %q; want %q", got, want)
	}

	// "connecting" comes at once for the callee; the call screen waits
	// for "connected".
	h.emit(event.StateEvent{State: event.StateConnecting})
	if h.m.active != onJoin {
		t.Fatalf("connecting left the join screen")
	}
	h.emit(event.StateEvent{State: event.StateConnected, Route: event.RouteHost})
	if h.m.active != onCall {
		t.Fatalf("connected: screen %v; want the call screen", h.m.active)
	}
	mustContain(t, h.view(), "connected · direct (local network)")
}

func TestJoinEmptyAndPaste(t *testing.T) {
	h := newHarness(t, ScreenJoin, "")
	h.key(tea.KeyEnter)
	if len(h.calls) != 0 {
		t.Fatal("enter on an empty box made a call")
	}
	mustContain(t, unwrapped(h.view()), "paste the invite your peer sent you first")
	h.paste("parley join " + testInvite[:30] + "\n" + testInvite[30:])
	if len(h.calls) != 1 {
		t.Fatalf("a paste made %d calls; want 1", len(h.calls))
	}
	// The fake, like the engine, is given the paste as it is.
	if got := h.calls[0].joined[0]; !strings.Contains(got, "\n") {
		t.Errorf("Join(%q); want the line break passed on", got)
	}
}

func TestJoinTimesOut(t *testing.T) {
	h := newHarness(t, ScreenJoin, testInvite)
	h.emit(event.ByeEvent{Reason: "your peer did not connect within 5 minutes", Err: errors.New("timeout")})
	if h.m.active != onCall {
		t.Fatalf("a failure while waiting: screen %v; want the call screen's end", h.m.active)
	}
	v := unwrapped(h.view())
	mustContain(t, v, "your peer did not connect within 5 minutes — n: try again with a new invite")
	h.send(runes("n"))
	if h.m.active != onInvite || len(h.calls) != 2 {
		t.Fatalf("n after a failure: screen %v, %d calls; want a fresh invite", h.m.active, len(h.calls))
	}
}

// TestJoinHint: while the answer waits, the doctor's word shows on the
// join screen.
func TestJoinHint(t *testing.T) {
	h := newHarness(t, ScreenJoin, testInvite)
	if h.m.active != onJoin {
		t.Fatalf("screen %v; want join", h.m.active)
	}
	h.emit(event.StateEvent{State: event.StateConnecting, Detail: "not connected after 30s: if your peer has pasted your answer, add a TURN server (--turn)"})
	if h.m.active != onJoin {
		t.Fatalf("a hint moved to screen %v", h.m.active)
	}
	v := unwrapped(h.view())
	mustContain(t, v, "! not connected after 30s: if your peer has pasted your answer")
	mustContain(t, v, "(--turn)")
}

func TestCallChat(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()

	// Typing goes to the input, whatever the letters.
	h.typeText("quit now c j n")
	if h.quit || h.m.active != onCall {
		t.Fatal("letters typed in a call acted as keys")
	}
	h.key(tea.KeyEnter)
	if len(f.sent) != 1 || f.sent[0] != "quit now c j n" {
		t.Fatalf("sent %q; want the typed line", f.sent)
	}
	mustContain(t, h.view(), "15:09 you   quit now c j n …")
	h.emit(event.DeliveredEvent{ID: 1})
	mustContain(t, h.view(), "quit now c j n ✓")

	// Enter on an empty line sends nothing.
	h.key(tea.KeyEnter)
	if len(f.sent) != 1 {
		t.Fatalf("an empty line was sent")
	}

	// The peer's text is shown as text.
	h.emit(event.ChatEvent{ID: 1, Text: "hi \x1b[2J\x1b]0;pwned\x07there\u202e", At: t0.Add(time.Minute)})
	v := h.view()
	mustContain(t, v, "15:10 peer  hi there")
	if strings.ContainsAny(v, "\x1b\x07\u202e") {
		t.Fatalf("the view holds control characters: %q", v)
	}

	// A refused message stays in the input.
	f.sendErr = errors.New("this message is too long: at most 4096 bytes")
	h.typeText("again")
	h.key(tea.KeyEnter)
	mustContain(t, h.view(), "! not sent: this message is too long", "› again")

	// ctrl+y copies the peer's last message.
	h.key(tea.KeyCtrlY)
	if got, want := h.clip.String(), osc52("hi there", false); got != want {
		t.Fatalf("ctrl+y wrote %q; want %q", got, want)
	}
}

func TestCallStatusAndControls(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()
	v := h.view()
	mustContain(t, v, "connected · direct (through NAT) · 0:00", "mic on",
		"RTT — · loss — · buffer — · bitrate —", "safety words: —")

	h.clock.Advance(75 * time.Second)
	h.emit(
		event.StatsEvent{RTT: 42 * time.Millisecond, LossIn: 0.001, LossOut: 0.012, Sound: &event.SoundStats{Delay: 60 * time.Millisecond}, BitrateIn: 32000, BitrateOut: 31000},
		event.LevelsEvent{MicPeak: -6, MicRMS: -18, PeerPeak: -20, PeerRMS: -30},
		event.VerifyEvent{Words: "apple  banana\ncherry"},
	)
	v = h.view()
	mustContain(t, v, "· 1:15", "RTT 42 ms · loss ↓0.1% ↑1.2% · buffer 60 ms · ↓32 ↑31 kb/s",
		"-18 dB", "-30 dB", "safety words: apple banana cherry")
	h.emit(event.StatsEvent{RTT: 42 * time.Millisecond, Sound: &event.SoundStats{Delay: 60 * time.Millisecond, Link: &event.LinkStats{Delay: 3 * time.Millisecond}}, BitrateIn: 32000, BitrateOut: 31000})
	mustContain(t, h.view(), "buffer 60 ms + ssh 3 ms · ↓32 ↑31 kb/s")

	h.key(tea.KeyCtrlT)
	mustContain(t, h.view(), "MUTED", "muted")
	h.send(tea.KeyMsg{Type: tea.KeyF2})
	mustContain(t, h.view(), "mic on")
	if len(f.muted) != 2 || !f.muted[0] || f.muted[1] {
		t.Fatalf("SetMuted calls %v; want [true false]", f.muted)
	}

	h.key(tea.KeyCtrlO)
	if f.verified != 1 {
		t.Fatalf("ctrl+o called Verify %d times; want 1", f.verified)
	}
	mustContain(t, h.view(), "✓ you said they match")

	h.emit(event.AudioEvent{Available: false, Note: "no microphone or speaker found — text only"})
	mustContain(t, h.view(), "audio: no microphone or speaker found — text only", "text only")

	h.emit(event.StateEvent{State: event.StateDisconnected, Detail: "no packets for 4 seconds"})
	mustContain(t, h.view(), "interrupted, reconnecting…", "connection interrupted: no packets for 4 seconds")

	h.key(tea.KeyCtrlG)
	mustContain(t, h.view(), "ctrl+o", "words match")
	h.key(tea.KeyCtrlG)
}

func TestCallWithoutAudioControls(t *testing.T) {
	h := newHarnessWith(t, ScreenCall, "", func(f *fakeCall) Call { return &trackedCall{Call: plainCall{f}} })
	h.connect()
	mustContain(t, h.view(), "mic —")
	h.key(tea.KeyCtrlT)
	mustContain(t, h.view(), "no audio in this call: nothing to mute")
	h.key(tea.KeyCtrlO)
	mustContain(t, h.view(), "this call has no safety words to compare")
}

// TestTextOnlyMute: in a text-only call ctrl+t says there is nothing to
// mute, mutes nothing, and the footer does not offer it.
func TestTextOnlyMute(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()
	h.emit(event.AudioEvent{Available: false, Note: "no microphone or speaker found — text only"})
	if v := h.view(); strings.Contains(v, "ctrl+t mute") {
		t.Errorf("a text-only call offers mute:\n%s", v)
	}
	h.key(tea.KeyCtrlT)
	mustContain(t, h.view(), "no audio in this call: nothing to mute", "text only")
	if len(f.muted) != 0 {
		t.Errorf("SetMuted calls %v; want none", f.muted)
	}
}

func TestCallScroll(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	for i := 0; i < 40; i++ {
		h.emit(event.ChatEvent{ID: uint64(i + 1), Text: "line " + string(rune('A'+i%26)) + strings.Repeat("x", i), At: t0})
	}
	if !h.m.talk.vp.AtBottom() {
		t.Fatal("the chat does not follow new messages")
	}
	h.key(tea.KeyPgUp)
	if h.m.talk.vp.AtBottom() {
		t.Fatal("pgup did not scroll")
	}
	// Not at the end, a new message does not pull the view down.
	h.emit(event.ChatEvent{ID: 99, Text: "late", At: t0})
	if h.m.talk.vp.AtBottom() {
		t.Fatal("a message scrolled the view while reading back")
	}
	h.key(tea.KeyPgDown)
	h.key(tea.KeyPgDown)
	h.key(tea.KeyDown)
	if !h.m.talk.vp.AtBottom() {
		t.Fatal("pgdn did not come back to the end")
	}
	h.key(tea.KeyUp)
	if h.m.talk.vp.AtBottom() {
		t.Fatal("↑ did not scroll")
	}
	if h.m.talk.input.Value() != "" {
		t.Fatal("scroll keys reached the input")
	}
}

func TestCallResize(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.VerifyEvent{Words: "apple banana cherry"}, event.LevelsEvent{MicRMS: -20, MicPeak: -10, PeerRMS: -40, PeerPeak: -30},
		event.StatsEvent{RTT: time.Second, BitrateIn: 2_000_000, BitrateOut: 12_000_000})
	h.emit(event.ChatEvent{Text: strings.Repeat("long words wrap ", 20), At: t0})
	for _, size := range [][2]int{{80, 24}, {60, 20}, {120, 40}, {50, 16}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		checkFits(t, h.view(), size[0], size[1])
	}
	h.send(tea.WindowSizeMsg{Width: 60, Height: 20})
	mustContain(t, h.view(), "› ", "ctrl+x hang up")
}

func TestHangUpThenHome(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.typeText("bye")
	h.key(tea.KeyEnter)
	f := h.last()
	f.byeOnHangUp = false
	h.key(tea.KeyCtrlX)
	mustContain(t, h.view(), "hanging up…")
	if hu, _ := f.count(); hu != 1 {
		t.Fatalf("ctrl+x called HangUp %d times; want 1", hu)
	}
	h.emit(event.ByeEvent{Reason: "hung up", Undelivered: []uint64{1}})
	v := unwrapped(h.view())
	mustContain(t, v, "you hung up; 1 message was not delivered — enter: home · n: new invite · q: quit", "bye ✗ not delivered")
	if _, closes := f.count(); closes != 1 {
		t.Fatalf("the ended call was closed %d times; want 1", closes)
	}
	// Letters are keys now: there is no input.
	h.key(tea.KeyEnter)
	if h.m.active != onHome {
		t.Fatalf("enter after the call: screen %v; want home", h.m.active)
	}
}

func TestHangUpWithoutBye(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()
	f.byeOnHangUp = false
	h.typeText("queued")
	h.key(tea.KeyEnter)
	h.send(tea.KeyMsg{Type: tea.KeyCtrlX})
	h.fire() // the engine never said bye
	mustContain(t, unwrapped(h.view()), "you hung up; 1 message was not delivered", "queued ✗ not delivered")
	if _, closes := f.count(); closes != 1 {
		t.Fatalf("the call was closed %d times; want 1", closes)
	}
	if h.quit {
		t.Fatal("a hang-up quit the program")
	}
}

func TestPeerHangsUp(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.ByeEvent{Reason: "peer hung up"})
	mustContain(t, unwrapped(h.view()), "peer hung up — enter: home · n: new invite · q: quit")
	h.send(runes("q"))
	if !h.quit {
		t.Fatal("q after the call did not quit")
	}
}

func TestDroppedCallNewInvite(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.ByeEvent{Reason: "the connection was lost", Err: errors.New("lost")})
	mustContain(t, unwrapped(h.view()), "the connection was lost — n: try again with a new invite")
	h.send(runes("n"))
	if h.m.active != onInvite || len(h.calls) != 2 {
		t.Fatalf("n: screen %v with %d calls; want a fresh invite", h.m.active, len(h.calls))
	}
	if len(h.prints) != 2 {
		t.Errorf("printed %d codes; want the new invite printed too", len(h.prints))
	}
	mustPrint(t, h, testInvite)
	// Events of the old call no longer count.
	h.calls[0].emit(event.ChatEvent{Text: "ghost"})
	h.pump()
	if strings.Contains(h.view(), "ghost") {
		t.Fatal("an old call's event reached the screen")
	}
}

func TestCtrlCHangsUpCleanly(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()
	h.key(tea.KeyCtrlC)
	h.pump() // the fake answers HangUp with a bye
	hu, closes := f.count()
	if hu != 1 || closes != 1 || !h.quit {
		t.Fatalf("ctrl+c: %d hang-ups, %d closes, quit %v; want 1, 1, true", hu, closes, h.quit)
	}
}

func TestCtrlCWithoutBye(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()
	f.byeOnHangUp = false
	h.key(tea.KeyCtrlC)
	if h.quit {
		t.Fatal("quit before the bye or the timeout")
	}
	// Keys are ignored while hanging up.
	h.typeText("x")
	if h.m.talk.input.Value() != "" {
		t.Fatal("typing went on while quitting")
	}
	h.fire() // the wait for the bye is over
	hu, closes := f.count()
	if hu != 1 || closes != 1 || !h.quit {
		t.Fatalf("ctrl+c then timeout: %d hang-ups, %d closes, quit %v; want 1, 1, true", hu, closes, h.quit)
	}
}

func TestCtrlCEverywhere(t *testing.T) {
	for _, start := range []Screen{ScreenHome, ScreenCall, ScreenJoin} {
		h := newHarness(t, start, "")
		h.key(tea.KeyCtrlC)
		h.pump()
		if !h.quit {
			t.Errorf("ctrl+c on screen %v did not quit", start)
		}
		for _, f := range h.calls {
			if _, closes := f.count(); closes != 1 {
				t.Errorf("ctrl+c on screen %v: call closed %d times; want 1", start, closes)
			}
		}
	}
	// A signal does the same.
	h := newHarness(t, ScreenCall, "")
	h.send(filter(h.m, tea.InterruptMsg{}))
	h.pump()
	if !h.quit {
		t.Error("SIGINT did not quit")
	}
	if m := filter(h.m, tea.QuitMsg{}); m != (tea.QuitMsg{}) {
		t.Errorf("filter(QuitMsg) after the model quit = %#v; want it passed", m)
	}
}

func TestOSC52(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("PLYIabc"))
	tests := []struct {
		tmux bool
		want string
	}{
		{false, "\x1b]52;c;" + b64 + "\x07"},
		{true, "\x1b]52;c;" + b64 + "\x07" + "\x1bPtmux;\x1b\x1b]52;c;" + b64 + "\x07\x1b\\"},
	}
	for _, tt := range tests {
		if got := osc52("PLYIabc", tt.tmux); got != tt.want {
			t.Errorf("osc52(%q, %v) = %q; want %q", "PLYIabc", tt.tmux, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtElapsed(0), "0:00"},
		{fmtElapsed(83 * time.Second), "1:23"},
		{fmtElapsed(3723 * time.Second), "1:02:03"},
		{fmtElapsed(-time.Second), "0:00"},
		{fmtRate(31_600), "32 kb/s"},
		{fmtRate(1_250_000), "1.2 Mb/s"},
		{fmtRate(12_000_000), "12 Mb/s"},
		{fmtLoss(0.0125), "1.2%"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d = %q; want %q", i, tt.got, tt.want)
		}
	}
}

// TestPeerMutedShown: the peer's meter says when the peer has muted.
func TestPeerMutedShown(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.LevelsEvent{MicPeak: -6, MicRMS: -18, PeerPeak: -20, PeerRMS: -30})
	meters := func() string {
		for _, l := range strings.Split(h.view(), "\n") {
			if strings.Contains(l, "mic") && strings.Contains(l, "peer") {
				return l
			}
		}
		t.Fatalf("no meters line in\n%s", h.view())
		return ""
	}
	h.emit(event.PeerMutedEvent{Muted: true})
	m := meters()
	if i := strings.Index(m, "peer"); !strings.Contains(m[i:], "muted") || strings.Contains(m[:i], "muted") {
		t.Errorf("peer muted: meters %q; want muted on the peer's side only", m)
	}
	h.emit(event.PeerMutedEvent{Muted: false})
	if m := meters(); strings.Contains(m, "muted") || !strings.Contains(m, "-30 dB") {
		t.Errorf("peer unmuted: meters %q; want its level back", m)
	}
}
