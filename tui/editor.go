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

// maxInputRows is the most rows the chat input grows to; a longer text
// scrolls in it.
const maxInputRows = 5

// chatInput is the chat's input: a prompt and the text, soft-wrapped at
// the width (at spaces, as the chat shows it) and keeping line breaks. It
// grows from one row to maxRows as the text does, then scrolls to keep the
// cursor in view.
type chatInput struct {
	editBuffer
	st          *Styles
	prompt      string
	placeholder string
	width       int // whole width, prompt included
	maxRows     int
	top         int // first row shown
	focused     bool
}

func newChatInput(st *Styles, prompt, placeholder string) chatInput {
	return chatInput{
		editBuffer: editBuffer{multiLine: true},
		st:         st, prompt: prompt, placeholder: placeholder,
		width: 40, maxRows: maxInputRows, focused: true,
	}
}

// Init does nothing; the input needs no command to start.
func (c *chatInput) Init() tea.Cmd { return nil }

// SetSize sets the input's width and the most rows it may grow to.
func (c *chatInput) SetSize(width, rows int) {
	c.width = max(width, lipgloss.Width(c.prompt)+4)
	c.maxRows = max(rows, 1)
}

// Update edits the text.
func (c *chatInput) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && c.focused {
		c.edit(k)
	}
	return nil
}

// Reset empties the input.
func (c *chatInput) Reset() { c.value, c.pos, c.top = nil, 0, 0 }

// room is the width the text is wrapped at: the last cell is left for the
// cursor after a full row.
func (c *chatInput) room() int { return max(c.width-lipgloss.Width(c.prompt)-1, 1) }

// rows lays the text out, and says which row the cursor is on.
func (c *chatInput) rows() (rows []span, cursor int) {
	rows = wrapSpans(c.value, c.room())
	for i, r := range rows {
		if c.pos >= r.start && (c.pos < r.end || c.pos == r.end && r.last) {
			return rows, i
		}
	}
	return rows, len(rows) - 1
}

// Height is how many rows the input takes: one per row of text, up to
// maxRows.
func (c *chatInput) Height() int {
	rows, _ := c.rows()
	return min(max(len(rows), 1), c.maxRows)
}

// View renders the prompt and the rows of text in view, Height rows.
func (c *chatInput) View() string {
	p := c.st.Me.Render(c.prompt)
	if len(c.value) == 0 {
		cur := " "
		if c.focused {
			cur = c.st.Cursor.Render(" ")
		}
		return p + cur + c.st.Dim.Render(truncate(c.placeholder, c.room()))
	}
	rows, cur := c.rows()
	h := min(len(rows), c.maxRows)
	c.top = min(max(c.top, cur-h+1), cur, len(rows)-h)
	indent := strings.Repeat(" ", lipgloss.Width(c.prompt))
	out := make([]string, 0, h)
	for i := c.top; i < c.top+h; i++ {
		r := rows[i]
		var b strings.Builder
		switch {
		case i == 0:
			b.WriteString(p)
		case i == c.top: // rows above, out of view
			b.WriteString(c.st.Dim.Render("↑") + strings.Repeat(" ", max(len(indent)-1, 0)))
		default:
			b.WriteString(indent)
		}
		for j := r.start; j < r.end; j++ {
			if j == c.pos && c.focused {
				b.WriteString(c.st.Cursor.Render(string(c.value[j])))
			} else {
				b.WriteRune(c.value[j])
			}
		}
		if i == cur && c.pos == r.end && c.focused {
			b.WriteString(c.st.Cursor.Render(" "))
		}
		out = append(out, b.String())
	}
	return strings.Join(out, "\n")
}
