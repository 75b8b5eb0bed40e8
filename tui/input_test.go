package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// trimRows removes the spaces at the end of each row of a view.
func trimRows(view string) string {
	lines := strings.Split(view, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// checkCallFrame fails unless the call screen's view is the window's
// size with its header, rules and footer in place.
func checkCallFrame(t *testing.T, view string, width, height int) {
	t.Helper()
	checkFits(t, view, width, height)
	lines := strings.Split(view, "\n")
	if len(lines) < 9 {
		return
	}
	if !strings.HasPrefix(lines[0], "parley · ") {
		t.Errorf("the header's first row is %q:\n%s", lines[0], view)
	}
	if !strings.HasPrefix(lines[4], "────") || strings.Trim(lines[4], "─") != "" {
		t.Errorf("row 4 is %q; want the rule under the header:\n%s", lines[4], view)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "ctrl+x hang up") && !strings.Contains(last, "enter home") {
		t.Errorf("the last row is %q; want the footer:\n%s", last, view)
	}
}

// TestPasteInCall: a multi-line bracketed paste is one message that keeps
// its line breaks, on both sides, and the screen stays whole.
func TestPasteInCall(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	f := h.last()

	h.paste("line one\nline two")
	if len(f.sent) != 0 {
		t.Fatalf("a paste sent %q; want it in the input until enter", f.sent)
	}
	v := h.view()
	checkCallFrame(t, v, 80, 24)
	mustContain(t, trimRows(v), "› line one\n  line two")
	if h.m.talk.input.Height() != 2 {
		t.Errorf("the input is %d rows for two lines; want 2", h.m.talk.input.Height())
	}

	h.key(tea.KeyEnter)
	if len(f.sent) != 1 || f.sent[0] != "line one\nline two" {
		t.Fatalf("sent %q; want one message %q", f.sent, "line one\nline two")
	}
	v = h.view()
	checkCallFrame(t, v, 80, 24)
	mustContain(t, trimRows(v), "15:09 you   line one\n            line two …")
	if h.m.talk.input.Height() != 1 {
		t.Errorf("the input is %d rows once sent; want 1", h.m.talk.input.Height())
	}

	// The peer's line breaks show the same way.
	h.emit(event.ChatEvent{ID: 1, Text: "first\nsecond\n\nfourth", At: t0})
	v = h.view()
	checkCallFrame(t, v, 80, 24)
	mustContain(t, trimRows(v), "15:09 peer  first\n            second\n\n            fourth")

	// Line ends as terminals and tmux send them (CR LF, a lone CR) are
	// line breaks; a paste's blank lines at the ends are not sent.
	for _, p := range []string{"line one\r\nline two\r\n", "line one\rline two", "\nline one\nline two\n\n"} {
		h.paste(p)
		h.key(tea.KeyEnter)
		if got := f.sent[len(f.sent)-1]; got != "line one\nline two" {
			t.Errorf("paste %q sent %q; want %q", p, got, "line one\nline two")
		}
	}
}

// TestInputGrows: the input grows to five rows, for lines and for long
// text wrapped at the width, and the chat shrinks to keep the screen's
// size; past five rows the input scrolls.
func TestInputGrows(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	for i := 0; i < 30; i++ {
		h.emit(event.ChatEvent{ID: uint64(i + 1), Text: fmt.Sprintf("message %d", i), At: t0})
	}
	chat := h.m.talk.vp.Height
	for n := 1; n <= 8; n++ {
		h.key(tea.KeyCtrlU)
		var ls []string
		for i := 1; i <= n; i++ {
			ls = append(ls, fmt.Sprintf("line %d", i))
		}
		h.paste(strings.Join(ls, "\n"))
		rows := min(n, maxInputRows)
		if got := h.m.talk.input.Height(); got != rows {
			t.Errorf("%d lines: input of %d rows; want %d", n, got, rows)
		}
		if got := h.m.talk.vp.Height; got != chat-(rows-1) {
			t.Errorf("%d lines: chat of %d rows; want %d", n, got, chat-(rows-1))
		}
		v := h.view()
		checkCallFrame(t, v, 80, 24)
		mustContain(t, v, fmt.Sprintf("line %d", n)) // the cursor's line shows
		if !h.m.talk.vp.AtBottom() {
			t.Errorf("%d lines: the chat left its end as the input grew", n)
		}
	}

	// Long text wraps at spaces, a URL whole.
	h.key(tea.KeyCtrlU)
	url := "https://example.com/a/very-long-path/to-something?with=query&and=more"
	h.typeText(strings.Repeat("words ", 12) + url + " end")
	v := h.view()
	checkCallFrame(t, v, 80, 24)
	mustContain(t, v, "\n  "+url+" end")
	if got := h.m.talk.input.Height(); got != 2 {
		t.Errorf("input of %d rows; want 2", got)
	}
}

// TestResizeKeepsEnd: a chat at its end stays there through resizes; one
// scrolled up stays scrolled up.
func TestResizeKeepsEnd(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	h.connect()
	for i := 0; i < 40; i++ {
		h.emit(event.ChatEvent{ID: uint64(i + 1), Text: fmt.Sprintf("message %d ", i) + strings.Repeat("word ", i%20), At: t0})
	}
	h.emit(event.ChatEvent{ID: 99, Text: "the newest", At: t0})
	for _, size := range [][2]int{{60, 20}, {120, 40}, {50, 16}, {80, 24}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		v := h.view()
		if !h.m.talk.vp.AtBottom() || !strings.Contains(v, "the newest") {
			t.Errorf("at %d×%d the chat left its end:\n%s", size[0], size[1], v)
		}
		checkCallFrame(t, v, size[0], size[1])
	}
	h.key(tea.KeyPgUp)
	h.key(tea.KeyPgUp)
	h.send(tea.WindowSizeMsg{Width: 60, Height: 20})
	if h.m.talk.vp.AtBottom() {
		t.Error("a resize took a chat scrolled up to its end")
	}
}
