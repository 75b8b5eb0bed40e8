package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"rsc.io/qr"
)

// codeView stands for an invite or answer code printed above the UI (see
// model.printCode): it says where the code is and how to copy it (and
// whether a copy was sent to the terminal), and it shows the code as a QR
// code on demand. It never shows the code's text: inside the view the
// code could only be broken into rows, and one row is not a code.
type codeView struct {
	sh     *shared
	what   string // "invite" or "answer"
	code   string
	status string // the copy line after a copy
	failed bool   // the status is an error
	showQR bool
	width  int
	letter bool // "c" copies too: the screen has no text field
}

func newCodeView(sh *shared, what, code string) codeView {
	return codeView{sh: sh, what: what, code: code, width: 80}
}

// Init does nothing; the view needs no command to start.
func (c *codeView) Init() tea.Cmd { return nil }

// SetSize sets the width the lines are wrapped at.
func (c *codeView) SetSize(width, _ int) { c.width = max(width, 10) }

// copy returns the command that copies the code.
func (c *codeView) copy() tea.Cmd {
	if c.code == "" {
		return nil
	}
	return c.sh.clip.copyCmd(c.what, c.code)
}

// Update takes the result of a copy.
func (c *codeView) Update(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(copiedMsg); ok && m.what == c.what {
		switch {
		case m.err != nil:
			c.status, c.failed = "! could not copy: "+m.err.Error()+" — select the code with the mouse instead", true
		case m.hint != "":
			c.status, c.failed = "! "+m.hint+"; or select the code with the mouse", true
		default:
			c.status, c.failed = "✓ sent to your clipboard (through the terminal); if pasting gives nothing, select the code with the mouse", false
		}
	}
	return nil
}

// View renders where the code is and the copy line.
func (c *codeView) View() string {
	st := &c.sh.styles
	where := st.Code.Render("↑ printed above, on one line") + st.Dim.Render(": double-click it to select all of it")
	var hint string
	switch {
	case c.status != "" && c.failed:
		hint = st.Error.Render(c.status)
	case c.status != "":
		hint = st.Success.Render(c.status)
	default:
		copyKeys := c.sh.keys.Copy.Help().Key
		if c.letter {
			copyKeys = c.sh.keys.CopyLetter.Help().Key + " or " + copyKeys
		}
		hint = st.Dim.Render(fmt.Sprintf("%s: copy · %s: QR code", copyKeys, c.sh.keys.QR.Help().Key))
	}
	return wrapText(where, c.width) + "\n" + wrapText(hint, c.width)
}

// qrView renders the QR code and a line under it, or says why it cannot
// be shown in width×height.
func (c *codeView) qrView(width, height int) string {
	st := &c.sh.styles
	lines, err := qrLines(c.code, c.sh.dark)
	back := fmt.Sprintf("%s: back to the code", c.sh.keys.QR.Help().Key)
	if err != nil {
		return st.Error.Render("! no QR code: "+err.Error()) + "\n" + st.Dim.Render(back)
	}
	qw := len([]rune(lines[0]))
	if qw > width || len(lines)+1 > height {
		return wrapText(st.Error.Render(fmt.Sprintf(
			"! the window is too small for the QR code: it needs %d×%d; make the window larger, or copy the code", qw, len(lines)+3)),
			width) + "\n" + st.Dim.Render(back)
	}
	return strings.Join(lines, "\n") + "\n" + st.Dim.Render("scan it with a phone · "+back)
}

// qrLines draws text as a QR code, two modules per character cell with
// half blocks. On a dark background the light modules are drawn (in the
// light foreground colour), on a light one the dark modules, so the code
// keeps its polarity without any colour.
func qrLines(text string, dark bool) ([]string, error) {
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		return nil, err
	}
	const quiet = 2
	n := code.Size + 2*quiet
	ink := func(x, y int) bool {
		if y >= n {
			return false
		}
		x, y = x-quiet, y-quiet
		black := x >= 0 && y >= 0 && x < code.Size && y < code.Size && code.Black(x, y)
		return black != dark
	}
	var lines []string
	for y := 0; y < n; y += 2 {
		var b strings.Builder
		for x := 0; x < n; x++ {
			switch top, bottom := ink(x, y), ink(x, y+1); {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		lines = append(lines, b.String())
	}
	return lines, nil
}
