package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

func TestEditBuffer(t *testing.T) {
	k := func(s string) tea.KeyMsg {
		for kt, name := range map[tea.KeyType]string{
			tea.KeyLeft: "left", tea.KeyRight: "right", tea.KeyHome: "home", tea.KeyEnd: "end",
			tea.KeyBackspace: "backspace", tea.KeyDelete: "delete", tea.KeyCtrlU: "ctrl+u",
			tea.KeyCtrlK: "ctrl+k", tea.KeyCtrlW: "ctrl+w", tea.KeyCtrlA: "ctrl+a", tea.KeyCtrlE: "ctrl+e",
			tea.KeyCtrlLeft: "ctrl+left", tea.KeyCtrlRight: "ctrl+right",
		} {
			if name == s {
				return tea.KeyMsg{Type: kt}
			}
		}
		return runes(s)
	}
	tests := []struct {
		start string
		keys  []string
		want  string
	}{
		{"", []string{"a", "b"}, "ab"},
		{"abc", []string{"left", "backspace"}, "ac"},
		{"abc", []string{"home", "delete"}, "bc"},
		{"abc", []string{"left", "ctrl+k"}, "ab"},
		{"abc", []string{"left", "ctrl+u"}, "c"},
		{"one two", []string{"ctrl+w"}, "one "},
		{"one two", []string{"ctrl+left", "ctrl+w", "X"}, "Xtwo"},
		{"one two", []string{"ctrl+a", "ctrl+right", "X"}, "oneX two"},
		{"ab", []string{"ctrl+a", "right", "X", "ctrl+e", "Y"}, "aXbY"},
	}
	for _, tt := range tests {
		e := editBuffer{}
		e.SetValue(tt.start)
		for _, key := range tt.keys {
			e.edit(k(key))
		}
		if got := e.Value(); got != tt.want {
			t.Errorf("%q after %v = %q; want %q", tt.start, tt.keys, got, tt.want)
		}
	}
}

func TestEditBufferInsert(t *testing.T) {
	tests := []struct {
		multiLine bool
		in, want  string
	}{
		{true, "a\r\nb\rc\nd", "a\nb\nc\nd"},
		{false, "a\r\nb\nc", "a b c"},
		{true, "a\tb\x1b[31m\u202ec", "a b[31mc"},
	}
	for _, tt := range tests {
		e := editBuffer{multiLine: tt.multiLine}
		e.insert([]rune(tt.in))
		if got := e.Value(); got != tt.want {
			t.Errorf("insert(%q), multi-line %v: %q; want %q", tt.in, tt.multiLine, got, tt.want)
		}
	}
	e := editBuffer{limit: 3}
	e.SetValue("abcdef")
	if got := e.Value(); got != "abc" {
		t.Errorf("limit 3: %q", got)
	}
}

func TestLineInputScrolls(t *testing.T) {
	st := testShared(newFakeClock(), nil).styles
	in := newLineInput(&st, "› ", "type")
	in.SetSize(20, 1)
	long := strings.Repeat("0123456789", 5)
	in.SetValue(long)
	v := in.View()
	if w := lipgloss.Width(v); w > 20 {
		t.Fatalf("view %q is %d wide; want at most 20", v, w)
	}
	if !strings.HasSuffix(strings.TrimRight(v, " "), "789") {
		t.Errorf("view %q does not show the end, where the cursor is", v)
	}
	in.edit(tea.KeyMsg{Type: tea.KeyHome})
	if v := in.View(); !strings.HasPrefix(v, "› 0123") {
		t.Errorf("after home the view is %q; want the start", v)
	}
}

func TestPasteBoxShowsCursorLine(t *testing.T) {
	st := testShared(newFakeClock(), nil).styles
	b := newPasteBox(&st, "paste")
	b.SetSize(14, 2) // 10 cells of text inside
	b.SetValue(strings.Repeat("a", 30) + "END")
	v := b.View()
	if !strings.Contains(v, "END") {
		t.Fatalf("the box does not show the cursor's line:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w != 14 {
			t.Fatalf("box line %q is %d wide; want 14", l, w)
		}
	}
}

func TestAllScreensFit(t *testing.T) {
	sizes := [][2]int{{80, 24}, {60, 20}, {100, 30}}
	type step struct {
		name string
		do   func(h *harness)
	}
	steps := []step{
		{"home", func(h *harness) {}},
		{"invite", func(h *harness) { h.send(runes("c")) }},
		{"invite error", func(h *harness) { h.paste("nonsense " + strings.Repeat("x", 300)) }},
		{"call", func(h *harness) { h.key(tea.KeyCtrlU); h.connect() }},
		{"call help", func(h *harness) { h.key(tea.KeyCtrlG) }},
		{"call ended", func(h *harness) {
			h.emit(ByeEvent{Reason: "the connection was lost and did not come back", Err: errClosed, Undelivered: []uint64{1, 2}})
		}},
		{"home again", func(h *harness) { h.key(tea.KeyEnter) }},
		{"join", func(h *harness) { h.send(runes("j")) }},
		{"join waiting", func(h *harness) { h.paste(testInvite); h.key(tea.KeyCtrlY) }},
	}
	for _, size := range sizes {
		h := newHarness(t, ScreenHome, "")
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, s := range steps {
			s.do(h)
			v := h.view()
			lines := strings.Split(v, "\n")
			want := size[1]
			if p := h.m.printed; p != "" && !h.m.alt {
				want -= 2 + (len(p)+size[0]-1)/size[0] // inline, under the printed code
			}
			if len(lines) != want {
				t.Errorf("%s at %dx%d: %d lines; want %d", s.name, size[0], size[1], len(lines), want)
			}
			for i, l := range lines {
				if w := lipgloss.Width(l); w > size[0] {
					t.Errorf("%s at %dx%d: line %d is %d wide: %q", s.name, size[0], size[1], i, w, l)
				}
			}
		}
	}
}
