package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// TestNewMessagesBelow: while scrolled up, the rule under the chat counts
// the messages that came in; it goes at the end of the chat.
func TestNewMessagesBelow(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	for i := 0; i < 40; i++ {
		h.emit(event.ChatEvent{ID: uint64(i + 1), Text: fmt.Sprintf("message %d", i), At: t0})
	}
	if strings.Contains(h.view(), "new ↓") {
		t.Fatal("new messages counted while following the chat")
	}
	h.key(tea.KeyPgUp)
	h.emit(event.ChatEvent{ID: 41, Text: "late one", At: t0}, event.ChatEvent{ID: 42, Text: "late two", At: t0},
		event.ChatEvent{ID: 43, Text: "late\nthree", At: t0})
	v := h.view()
	checkCallFrame(t, v, 80, 24)
	mustContain(t, v, " 3 new ↓ ──\n› ")
	h.key(tea.KeyPgDown)
	h.key(tea.KeyPgDown)
	h.key(tea.KeyPgDown)
	if v := h.view(); strings.Contains(v, "new ↓") || !strings.Contains(v, "            three") {
		t.Errorf("at the end of the chat:\n%s\nwant the new messages and no count", v)
	}

	// Sending goes to the end, and so forgets the count.
	h.key(tea.KeyPgUp)
	h.emit(event.ChatEvent{ID: 44, Text: "later", At: t0})
	mustContain(t, h.view(), " 1 new ↓ ")
	h.typeText("reply")
	h.key(tea.KeyEnter)
	if v := h.view(); strings.Contains(v, "new ↓") || !strings.Contains(v, "you   reply") {
		t.Errorf("after sending:\n%s\nwant my message and no count", v)
	}
}

// TestEscClosesHelp: esc closes the help, as ctrl+g does, and does
// nothing else in a call.
func TestEscClosesHelp(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.key(tea.KeyCtrlG)
	mustContain(t, h.view(), "ctrl+o", "words match", "esc", "close help")
	h.key(tea.KeyEsc)
	if h.m.talk.showHelp || h.m.active != onCall {
		t.Fatalf("esc: help %v, screen %v; want the help closed, in the call", h.m.talk.showHelp, h.m.active)
	}
	h.key(tea.KeyEsc) // without the help: nothing
	if h.m.active != onCall || h.m.talk.ended {
		t.Fatalf("esc without the help: screen %v, ended %v", h.m.active, h.m.talk.ended)
	}
	h.key(tea.KeyCtrlG)
	h.key(tea.KeyCtrlG)
	if h.m.talk.showHelp {
		t.Fatal("ctrl+g did not close the help")
	}

	// After the call, esc closes the help before it goes home.
	h.emit(event.ByeEvent{Reason: "peer hung up"})
	h.key(tea.KeyCtrlG)
	h.key(tea.KeyEsc)
	if h.m.talk.showHelp || h.m.active != onCall {
		t.Fatalf("esc after the call with the help: help %v, screen %v; want the help closed first", h.m.talk.showHelp, h.m.active)
	}
	h.key(tea.KeyEsc)
	if h.m.active != onHome {
		t.Fatalf("esc after the call: screen %v; want home", h.m.active)
	}
}

// TestEndClearsLiveParts: once the call ends, no stats or levels are shown
// as if live, and the safety words are no longer to be confirmed.
func TestEndClearsLiveParts(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.StatsEvent{RTT: 42 * time.Millisecond, BitrateIn: 32000, BitrateOut: 31000},
		event.LevelsEvent{MicPeak: -6, MicRMS: -18, PeerPeak: -20, PeerRMS: -30},
		event.VerifyEvent{Words: "apple banana cherry"})
	mustContain(t, h.view(), "RTT 42 ms", "-18 dB", "ctrl+o: they match")
	h.emit(event.ByeEvent{Reason: "peer hung up"})
	v := h.view()
	for _, gone := range []string{"RTT 42 ms", "-18 dB", "-30 dB", "ctrl+o"} {
		if strings.Contains(v, gone) {
			t.Errorf("after the call the view still shows %q:\n%s", gone, v)
		}
	}
	mustContain(t, v, "safety words: apple banana cherry")
	checkCallFrame(t, v, 80, 24)
}

// TestHeaderFixed: the header keeps its rows however the chat fills.
func TestHeaderFixed(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	check := func(what string) {
		t.Helper()
		v := h.view()
		lines := strings.Split(v, "\n")
		checkCallFrame(t, v, 80, 24)
		// The label shortens to "words: " where the words are too wide.
		if !strings.HasPrefix(lines[3], "safety words: ") && !strings.HasPrefix(lines[3], "words: ") {
			t.Errorf("%s: row 3 is %q; want the safety words:\n%s", what, lines[3], v)
		}
	}
	h.connect()
	check("empty chat")
	h.emit(event.ChatEvent{ID: 1, Text: "hi", At: t0})
	check("one message")
	h.emit(event.VerifyEvent{Words: strings.Repeat("long ", 30)}, event.AudioEvent{Available: false, Note: strings.Repeat("a very long note ", 10)})
	check("long header lines")
	for i := 0; i < 30; i++ {
		h.emit(event.ChatEvent{ID: uint64(i + 2), Text: strings.Repeat("x\n", i%7) + strings.Repeat("word ", i*3), At: t0})
		check(fmt.Sprintf("message %d", i+2))
	}
	h.paste(strings.Repeat("pasted line\n", 12))
	check("a long paste in the input")
	h.key(tea.KeyCtrlG)
	check("help")
	h.key(tea.KeyCtrlG)
	h.emit(event.ByeEvent{Reason: "peer hung up", Undelivered: []uint64{1}})
	check("ended")
}
