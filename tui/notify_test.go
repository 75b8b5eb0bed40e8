package tui

import (
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

func TestNotifySequence(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TERM": "xterm-256color"}, "\a"},
		{map[string]string{"TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"}, "\x1b]9;" + notifyText + "\a"},
		{map[string]string{"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "\x1b]9;" + notifyText + "\a"},
		{map[string]string{"TERM": "xterm-ghostty"}, "\x1b]9;" + notifyText + "\a"},
		{map[string]string{"TERM": "xterm-kitty"}, "\x1b]99;;" + notifyText + "\x1b\\"},
		{map[string]string{"TERM": "foot"}, "\x1b]777;notify;parley;a new message from your peer\a"},
		// In tmux, even in iTerm2 or kitty: tmux passes a bell on and drops
		// the others.
		{map[string]string{"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0", "KITTY_WINDOW_ID": "1"}, "\a"},
		{map[string]string{"TERM": "screen", "TERM_PROGRAM": "iTerm.app"}, "\a"},
	} {
		if got := notifySequence(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("notifySequence(%v) = %q; want %q", c.env, got, c.want)
		}
	}
}

// TestBellOnMessage: a peer's message rings when the terminal has said it
// is out of focus, or has said nothing; not while it is in focus, not for
// the echo test's own messages, and never with notifying off.
func TestBellOnMessage(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	bell := &safeBuffer{}
	h.m.sh.notify = notifier{w: bell, seq: "\a"}
	h.connect()
	rings := func() int { return strings.Count(bell.String(), "\a") }

	h.emit(event.ChatEvent{ID: 1, Text: "focus unknown"})
	if rings() != 1 {
		t.Fatalf("with the focus unknown, a message rang %d times; want once", rings())
	}
	h.send(tea.FocusMsg{})
	h.emit(event.ChatEvent{ID: 2, Text: "while you look"})
	if rings() != 1 {
		t.Errorf("in focus, a message rang")
	}
	h.send(tea.BlurMsg{})
	h.emit(event.ChatEvent{ID: 3, Text: "while you look elsewhere"})
	if rings() != 2 {
		t.Errorf("out of focus, a message rang %d times in all; want 2", rings())
	}
	mustContain(t, h.view(), "while you look elsewhere")

	// The echo test's messages are one's own.
	h.key(tea.KeyCtrlX)
	h.pump()
	h.send(startEchoMsg{})
	h.pump()
	h.echoes[len(h.echoes)-1].emit(event.ChatEvent{ID: 1, Text: "my own, back"})
	h.pump()
	mustContain(t, h.view(), "my own, back")
	if rings() != 2 {
		t.Errorf("the echo test's message rang")
	}

	// Off, as Run makes it without Options.Notify.
	if cmd := newNotifier(false, bell, func(string) string { return "" }).cmd(); cmd != nil {
		t.Error("with notifying off there is a command to ring")
	}
}

// TestRunNotifiesWhenBlurred runs the program with Notify in foot: it asks
// the terminal to report its focus, and a message that arrives after the
// terminal reported losing it shows a desktop notification (OSC 777).
func TestRunNotifiesWhenBlurred(t *testing.T) {
	in, typed := io.Pipe()
	defer typed.Close()
	out := &safeBuffer{}
	calls := make(chan *fakeCall, 1)
	done := runAsync(Options{
		NewCall: func() (Call, error) { f := newFakeCall(); calls <- f; return f, nil },
		Start:   ScreenCall,
		Notify:  true,
		Input:   in,
		Output:  out,
		Getenv:  func(k string) string { return map[string]string{"TERM": "foot"}[k] },
	})
	f := <-calls
	waitOutput(t, out, "1. Send this invite")
	if !strings.Contains(out.String(), "\x1b[?1004h") {
		t.Error("the program did not ask the terminal to report its focus")
	}
	_, _ = typed.Write([]byte("\x1b[200~" + testAnswer + "\x1b[201~"))
	f.emit(event.StateEvent{State: event.StateConnected, Route: event.RouteHost})
	waitOutput(t, out, "connected")
	_, _ = typed.Write([]byte("\x1b[O")) // focus out
	f.emit(event.ChatEvent{ID: 1, Text: "are you there?"})
	waitOutput(t, out, "\x1b]777;notify;parley;")
	_, _ = typed.Write([]byte{0x03})
	waitRun(t, done)
}
