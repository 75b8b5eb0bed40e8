package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// joinedMsg reports the end of joining: a new call and the answer code, or
// why the invite was refused.
type joinedMsg struct {
	gen    int
	call   Call
	answer string
	err    error
}

type joinPhase int

const (
	joinPaste   joinPhase = iota // waiting for the invite
	joinJoining                  // making the answer
	joinWaiting                  // showing the answer, waiting for the peer
)

// joinScreen is the callee's screen: a box to paste the invite into, then
// the answer code to send back, and how long the peer has been waited for.
type joinScreen struct {
	sh       *shared
	phase    joinPhase
	box      pasteBox
	err      string
	code     codeView
	answerAt time.Time
	hint     string // the doctor's word while waiting, if any
	join     func(invite string) tea.Cmd
	help     help.Model
	width    int
	height   int
}

func newJoinScreen(sh *shared, join func(string) tea.Cmd) *joinScreen {
	h := help.New()
	h.Styles = sh.styles.HelpStyle
	s := &joinScreen{
		sh:   sh,
		box:  newPasteBox(&sh.styles, "paste the invite here (it starts with PLI)"),
		join: join,
		help: h,
	}
	s.SetSize(80, 24)
	return s
}

// Init does nothing; the screen waits for a paste.
func (s *joinScreen) Init() tea.Cmd { return nil }

// SetSize sets the screen's size.
func (s *joinScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.help.Width = width
	s.code.SetSize(width, height)
	s.box.SetSize(width, boxLines(height))
}

// Update handles keys, pastes, copies and the result of joining.
func (s *joinScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	keys := s.sh.keys
	switch msg := msg.(type) {
	case copiedMsg:
		return s, s.code.Update(msg)
	case joinedMsg:
		if msg.err != nil {
			s.phase, s.err = joinPaste, oneLine(msg.err)
			return s, nil
		}
		s.phase, s.err = joinWaiting, ""
		s.code = newCodeView(s.sh, "answer", msg.answer)
		s.code.letter = true // the paste box is gone
		s.code.SetSize(s.width, s.height)
		s.answerAt, s.hint = s.sh.clock.Now(), ""
		return s, nil
	case tea.KeyMsg:
		if matches(msg, keys.Back) {
			return s, msgCmd(goHomeMsg{})
		}
		switch s.phase {
		case joinPaste, joinJoining:
			return s, s.pasteKey(msg)
		case joinWaiting:
			switch {
			case matches(msg, keys.Copy), matches(msg, keys.CopyLetter):
				return s, s.code.copy()
			case matches(msg, keys.QR):
				s.code.showQR = !s.code.showQR
			}
		}
	}
	return s, nil
}

func (s *joinScreen) pasteKey(msg tea.KeyMsg) tea.Cmd {
	if matches(msg, s.sh.keys.Submit) {
		return s.submit()
	}
	before := s.box.Value()
	s.box.Update(msg)
	if s.box.Value() == before {
		return nil
	}
	s.err = ""
	if msg.Paste {
		return s.submit()
	}
	return nil
}

// submitCode puts code in the box and submits it, as if pasted.
func (s *joinScreen) submitCode(code string) tea.Cmd {
	s.box.SetValue(code)
	return s.submit()
}

// setHint shows the doctor's word while the answer waits.
func (s *joinScreen) setHint(hint string) { s.hint = hint }

// submit hands the box's text to the engine, unless it is empty or an
// attempt is under way. The text stays in the box, so a refused invite can
// be corrected.
func (s *joinScreen) submit() tea.Cmd {
	if s.phase == joinJoining {
		return nil
	}
	if s.box.Empty() {
		s.err = "paste the invite your peer sent you first (it starts with PLI)"
		return nil
	}
	s.phase, s.err = joinJoining, ""
	return s.join(s.box.Value())
}

// View renders the screen.
func (s *joinScreen) View() string {
	st := &s.sh.styles
	var b strings.Builder
	b.WriteString(s.titleLine() + "\n\n")
	switch s.phase {
	case joinPaste, joinJoining:
		b.WriteString(wrapText(st.Heading.Render("Paste the invite your peer sent you")+", then enter:", s.width) + "\n")
		b.WriteString(s.box.View() + "\n")
		switch {
		case s.phase == joinJoining:
			b.WriteString(wrapText(st.Dim.Render("Making your answer… (finding this machine's network addresses; this takes a second or two)"), s.width))
		case s.err != "":
			b.WriteString(wrapText(st.Error.Render("! "+s.err), s.width))
		}
	case joinWaiting:
		if s.code.showQR {
			return frame(s.titleLine()+"\n"+s.code.qrView(s.width, s.height-2), footer(s.help, s.ShortHelp(), s.width), s.width, s.height)
		}
		b.WriteString(wrapText(st.Heading.Render("Send this answer back to your peer")+" (by chat, email, …):", s.width) + "\n\n")
		b.WriteString(s.code.View() + "\n\n")
		waited := fmtElapsed(s.sh.clock.Now().Sub(s.answerAt))
		b.WriteString(wrapText(st.Warn.Render("… waiting for your peer to paste this")+" — "+waited, s.width) + "\n")
		b.WriteString(wrapText(st.Dim.Render("The call starts by itself once they have."), s.width))
		if s.hint != "" {
			b.WriteString("\n\n" + wrapText(st.Warn.Render("! "+oneLine(errString(s.hint))), s.width))
		}
	}
	return frame(strings.TrimRight(b.String(), "\n"), footer(s.help, s.ShortHelp(), s.width), s.width, s.height)
}

func (s *joinScreen) titleLine() string {
	return s.sh.styles.Title.Render("parley") + s.sh.styles.Dim.Render(" · join a call")
}

// ShortHelp lists the screen's keys for the footer.
func (s *joinScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	if s.phase == joinWaiting {
		return []key.Binding{k.Copy, k.Back, k.QR, k.Quit}
	}
	return []key.Binding{k.Submit, k.Back, k.Quit}
}

// FullHelp lists the screen's keys.
func (s *joinScreen) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }
