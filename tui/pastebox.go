package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// pasteLimit is the most a paste box holds, in characters: far more than a
// compact code (about 100) or a standard-form one (a few thousand).
const pasteLimit = 32 << 10

// pasteBox is a box to paste a code into. It takes bracketed pastes, typed
// text and editing keys; it keeps line breaks and spaces (the engine
// ignores them in a code) and shows everything, wrapped at its width, so
// nothing pasted is hidden. It never loses its text on its own.
type pasteBox struct {
	editBuffer
	st          *Styles
	placeholder string
	width       int // outer width, border included
	lines       int // text lines shown inside the border
}

func newPasteBox(st *Styles, placeholder string) pasteBox {
	return pasteBox{
		editBuffer:  editBuffer{multiLine: true, limit: pasteLimit},
		st:          st,
		placeholder: placeholder,
		width:       40,
		lines:       3,
	}
}

// Init does nothing; the box needs no command to start.
func (b *pasteBox) Init() tea.Cmd { return nil }

// SetSize sets the box's outer width and the number of text lines shown.
func (b *pasteBox) SetSize(width, lines int) {
	b.width = max(width, 8)
	b.lines = max(lines, 1)
}

// Update handles a key or a paste.
func (b *pasteBox) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	switch pressed(k) {
	case "up":
		b.pos = max(b.pos-b.innerWidth(), 0)
	case "down":
		b.pos = min(b.pos+b.innerWidth(), len(b.value))
	default:
		b.edit(k)
	}
	return nil
}

func (b *pasteBox) innerWidth() int {
	return max(b.width-b.st.Box.GetHorizontalFrameSize(), 4)
}

// View renders the box: the text wrapped at the inner width, scrolled so
// that the cursor's line shows, inside a border.
func (b *pasteBox) View() string {
	w := b.innerWidth()
	type cell struct {
		s      string
		cursor bool
	}
	// Lay the text out into rows of cells; the cursor is a cell too.
	rows := [][]cell{{}}
	rowW := 0
	cursorRow := 0
	put := func(c cell, cw int) {
		if rowW+cw > w && rowW > 0 {
			rows = append(rows, []cell{})
			rowW = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], c)
		rowW += cw
		if c.cursor {
			cursorRow = len(rows) - 1
		}
	}
	for i, r := range b.value {
		if r == '\n' {
			if i == b.pos {
				put(cell{" ", true}, 1)
			}
			rows = append(rows, []cell{})
			rowW = 0
			continue
		}
		put(cell{string(r), i == b.pos}, lipgloss.Width(string(r)))
	}
	if b.pos == len(b.value) {
		put(cell{" ", true}, 1)
	}

	first := 0
	if cursorRow >= b.lines {
		first = cursorRow - b.lines + 1
	}
	out := make([]string, 0, b.lines)
	for i := first; i < first+b.lines; i++ {
		var line strings.Builder
		if i < len(rows) {
			for _, c := range rows[i] {
				if c.cursor {
					line.WriteString(b.st.Cursor.Render(c.s))
				} else {
					line.WriteString(c.s)
				}
			}
		}
		if i == 0 && len(b.value) == 0 && b.placeholder != "" {
			line.WriteString(b.st.Dim.Render(truncate(b.placeholder, w-1)))
		}
		s := line.String()
		out = append(out, s+strings.Repeat(" ", max(w-lipgloss.Width(s), 0)))
	}
	return b.st.Box.Render(strings.Join(out, "\n"))
}
