package tui

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// editBuffer is editable text with a cursor: the part shared by the paste
// boxes and the chat input. It takes typed and pasted text and the usual
// editing keys (arrows, home/end, ctrl+a/e/b/f, backspace, delete,
// ctrl+u/k/w, alt+b/f, ctrl+←/→).
type editBuffer struct {
	value     []rune
	pos       int  // cursor, 0..len(value)
	multiLine bool // keep line breaks; else they become spaces
	limit     int  // most runes held; 0 means no limit
}

// Value returns the text.
func (e *editBuffer) Value() string { return string(e.value) }

// SetValue replaces the text and puts the cursor at its end.
func (e *editBuffer) SetValue(s string) {
	e.value, e.pos = nil, 0
	e.insert([]rune(s))
}

// Empty reports whether the text is nothing but white space.
func (e *editBuffer) Empty() bool { return strings.TrimSpace(string(e.value)) == "" }

// edit applies an editing key or inserts typed or pasted text; it reports
// whether the key was one it handles. Keys are told from text as matches
// does: "home" typed in letters is text.
func (e *editBuffer) edit(k tea.KeyMsg) bool {
	switch pressed(k) {
	case "left", "ctrl+b":
		e.pos = max(e.pos-1, 0)
	case "right", "ctrl+f":
		e.pos = min(e.pos+1, len(e.value))
	case "alt+left", "ctrl+left", "alt+b":
		e.pos = e.wordStart()
	case "alt+right", "ctrl+right", "alt+f":
		i := e.pos
		for i < len(e.value) && unicode.IsSpace(e.value[i]) {
			i++
		}
		for i < len(e.value) && !unicode.IsSpace(e.value[i]) {
			i++
		}
		e.pos = i
	case "home", "ctrl+a":
		e.pos = 0
	case "end", "ctrl+e":
		e.pos = len(e.value)
	case "backspace", "ctrl+h":
		if e.pos > 0 {
			e.value = append(e.value[:e.pos-1], e.value[e.pos:]...)
			e.pos--
		}
	case "delete", "ctrl+d":
		if e.pos < len(e.value) {
			e.value = append(e.value[:e.pos], e.value[e.pos+1:]...)
		}
	case "ctrl+u":
		e.value = append([]rune(nil), e.value[e.pos:]...)
		e.pos = 0
	case "ctrl+k":
		e.value = e.value[:e.pos]
	case "ctrl+w", "alt+backspace":
		i := e.wordStart()
		e.value = append(e.value[:i], e.value[e.pos:]...)
		e.pos = i
	default:
		switch {
		case k.Type == tea.KeyRunes && !k.Alt:
			e.insert(k.Runes)
		case k.Type == tea.KeySpace:
			e.insert([]rune{' '})
		default:
			return false
		}
	}
	return true
}

// wordStart is where the word before the cursor starts.
func (e *editBuffer) wordStart() int {
	i := e.pos
	for i > 0 && unicode.IsSpace(e.value[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(e.value[i-1]) {
		i--
	}
	return i
}

// insert puts runes at the cursor: CR LF and CR become a line break (or a
// space on one line), a tab a space, and other control characters are
// dropped.
func (e *editBuffer) insert(rs []rune) {
	nl := '\n'
	if !e.multiLine {
		nl = ' '
	}
	clean := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\r':
			if i+1 < len(rs) && rs[i+1] == '\n' {
				continue
			}
			clean = append(clean, nl)
		case r == '\n':
			clean = append(clean, nl)
		case r == '\t':
			clean = append(clean, ' ')
		case unicode.IsControl(r), r == 0xfffd,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		default:
			clean = append(clean, r)
		}
	}
	if e.limit > 0 {
		clean = clean[:min(len(clean), max(e.limit-len(e.value), 0))]
	}
	tail := append(clean, e.value[e.pos:]...)
	e.value = append(e.value[:e.pos], tail...)
	e.pos += len(clean)
}

// lineInput is the chat's one-line input: a prompt and the text, scrolled
// sideways to keep the cursor in view.
type lineInput struct {
	editBuffer
	st          *Styles
	prompt      string
	placeholder string
	width       int // whole width, prompt included
	offset      int // first rune shown
	focused     bool
}

func newLineInput(st *Styles, prompt, placeholder string) lineInput {
	return lineInput{st: st, prompt: prompt, placeholder: placeholder, width: 40, focused: true}
}

// Init does nothing; the input needs no command to start.
func (l *lineInput) Init() tea.Cmd { return nil }

// SetSize sets the input's width.
func (l *lineInput) SetSize(width, _ int) { l.width = max(width, lipgloss.Width(l.prompt)+4) }

// Update edits the text.
func (l *lineInput) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && l.focused {
		l.edit(k)
	}
	return nil
}

// Reset empties the input.
func (l *lineInput) Reset() { l.value, l.pos, l.offset = nil, 0, 0 }

// View renders the prompt and the visible part of the text.
func (l *lineInput) View() string {
	p := l.st.Me.Render(l.prompt)
	room := l.width - lipgloss.Width(l.prompt) - 1 // the cursor may sit past the end
	if len(l.value) == 0 {
		cur := " "
		if l.focused {
			cur = l.st.Cursor.Render(" ")
		}
		return p + cur + l.st.Dim.Render(truncate(l.placeholder, room))
	}
	// Keep the cursor in view, moving the window by whole runes.
	if l.pos < l.offset {
		l.offset = l.pos
	}
	for l.offset < l.pos && lipgloss.Width(string(l.value[l.offset:l.pos])) > room {
		l.offset++
	}
	var b strings.Builder
	w := 0
	for i := l.offset; i <= len(l.value); i++ {
		ch := " "
		if i < len(l.value) {
			ch = string(l.value[i])
		}
		cw := lipgloss.Width(ch)
		if w+cw > room+1 {
			break
		}
		if i == l.pos && l.focused {
			b.WriteString(l.st.Cursor.Render(ch))
		} else {
			b.WriteString(ch)
		}
		w += cw
	}
	return p + b.String()
}
