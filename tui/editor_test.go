package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"parley/internal/event"
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

// TestChatInputGrows: the chat input wraps at spaces, grows to
// maxInputRows rows, then scrolls to keep the cursor in view.
func TestChatInputGrows(t *testing.T) {
	st := testShared(newFakeClock(), nil).styles
	in := newChatInput(&st, "› ", "type")
	in.SetSize(20, maxInputRows) // 17 cells of text a row
	if h := in.Height(); h != 1 {
		t.Fatalf("empty input is %d rows; want 1", h)
	}
	in.SetValue("see https://example.com/a-long-path ok")
	v := in.View()
	want := []string{"› see", "  https://example.c", "  om/a-long-path ok"}
	got := strings.Split(v, "\n")
	for i := range got {
		got[i] = strings.TrimRight(got[i], " ") // a space wrapped at, the cursor
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("view = %q; want %q", got, want)
	}
	if h := in.Height(); h != 3 {
		t.Errorf("height %d; want 3", h)
	}

	in.SetValue("line one\nline two")
	if got := strings.Split(in.View(), "\n"); len(got) != 2 || got[0] != "› line one" || !strings.HasPrefix(got[1], "  line two") {
		t.Errorf("two lines shown as %q", got)
	}

	long := strings.Repeat("0123456789 ", 20)
	in.SetValue(long + "END")
	v = in.View()
	lines := strings.Split(v, "\n")
	if len(lines) != maxInputRows || in.Height() != maxInputRows {
		t.Fatalf("a long text takes %d rows (height %d); want %d", len(lines), in.Height(), maxInputRows)
	}
	for _, l := range lines {
		if w := lipgloss.Width(l); w > 20 {
			t.Fatalf("row %q is %d wide; want at most 20", l, w)
		}
	}
	if !strings.Contains(lines[len(lines)-1], "END") {
		t.Errorf("the view does not show the end, where the cursor is:\n%s", v)
	}
	if !strings.HasPrefix(lines[0], "↑ ") {
		t.Errorf("the first row shown is %q; want ↑ for the rows above", lines[0])
	}
	in.edit(tea.KeyMsg{Type: tea.KeyHome})
	if v := in.View(); !strings.HasPrefix(v, "› 0123") {
		t.Errorf("after home the view is %q; want the start", v)
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"hello world", 20, "hello world"},
		{"hello world", 5, "hello|world"},
		{"hello world", 7, "hello|world"},
		{"a https://example.com/x-y-z b", 12, "a|https://exam|ple.com/x-y-|z b"},
		{"go to https://x.io/a-b now", 16, "go to|https://x.io/a-b|now"},
		{"one\ntwo\n\nfour", 10, "one|two||four"},
		{"abcdefghij", 4, "abcd|efgh|ij"},
		{"日本語のテキスト", 6, "日本語|のテキ|スト"},
		{"", 5, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(wrapWords(tt.in, tt.width), "|"); got != tt.want {
			t.Errorf("wrapWords(%q, %d) = %q; want %q", tt.in, tt.width, got, tt.want)
		}
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
			h.emit(event.ByeEvent{Reason: "the connection was lost and did not come back", Err: errClosed, Undelivered: []uint64{1, 2}})
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
