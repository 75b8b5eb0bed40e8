package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/safetext"
)

// inviteMadeMsg reports the end of making an invite: a new call and its
// code, or why it failed.
type inviteMadeMsg struct {
	gen  int
	call Call
	code string
	err  error
}

// acceptedMsg reports the engine's verdict on a pasted answer.
type acceptedMsg struct {
	gen int
	err error
}

type invitePhase int

const (
	inviteMaking invitePhase = iota
	inviteFailed
	inviteReady
)

// inviteScreen is the caller's screen: it shows the invite code to send
// and a box to paste the peer's answer into.
type inviteScreen struct {
	sh       *shared
	phase    invitePhase
	err      string // why the invite failed, or why the answer was refused
	code     codeView
	box      pasteBox
	checking bool
	accept   func(answer string) tea.Cmd
	help     help.Model
	width    int
	height   int
}

func newInviteScreen(sh *shared) *inviteScreen {
	h := help.New()
	h.Styles = sh.styles.HelpStyle
	s := &inviteScreen{
		sh:   sh,
		box:  newPasteBox(&sh.styles, "paste the answer here (it starts with PLA)"),
		help: h,
	}
	s.SetSize(80, 24)
	return s
}

// Init does nothing: the root model makes the invite.
func (s *inviteScreen) Init() tea.Cmd { return nil }

// SetSize sets the screen's size.
func (s *inviteScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.help.Width = width
	s.code.SetSize(width, height)
	s.box.SetSize(width, boxLines(height))
}

// boxLines is how many lines of text a paste box shows at a screen height.
func boxLines(height int) int {
	if height < 22 {
		return 2
	}
	return 3
}

// ready shows the invite code; accept checks a pasted answer.
func (s *inviteScreen) ready(code string, accept func(string) tea.Cmd) {
	s.phase, s.err, s.accept = inviteReady, "", accept
	s.code = newCodeView(s.sh, "invite", code)
	s.code.SetSize(s.width, s.height)
}

// fail says why the invite could not be made.
func (s *inviteScreen) fail(err error) {
	s.phase, s.err = inviteFailed, oneLine(err)
}

// Update handles keys, pastes, copies and the engine's verdicts.
func (s *inviteScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	keys := s.sh.keys
	switch msg := msg.(type) {
	case copiedMsg:
		return s, s.code.Update(msg)
	case acceptedMsg:
		s.checking = false
		if msg.err != nil {
			s.err = oneLine(msg.err)
		}
		return s, nil
	case tea.KeyMsg:
		if matches(msg, keys.Back) {
			return s, msgCmd(goHomeMsg{})
		}
		switch s.phase {
		case inviteFailed:
			switch {
			case matches(msg, keys.Retry):
				return s, msgCmd(startCallMsg{})
			case matches(msg, keys.QuitMenu):
				return s, msgCmd(quitMsg{})
			}
		case inviteReady:
			return s, s.readyKey(msg)
		}
	}
	return s, nil
}

func (s *inviteScreen) readyKey(msg tea.KeyMsg) tea.Cmd {
	keys := s.sh.keys
	switch {
	case matches(msg, keys.Copy): // not "c": the box takes letters
		return s.code.copy()
	case matches(msg, keys.QR):
		s.code.showQR = !s.code.showQR
		return nil
	case matches(msg, keys.Submit):
		return s.submit()
	}
	before := s.box.Value()
	s.box.Update(msg)
	if s.box.Value() == before {
		return nil
	}
	s.code.showQR = false
	s.err = ""
	if msg.Paste {
		return s.submit()
	}
	return nil
}

// submit hands the box's text to the engine, unless it is empty or a
// check is already under way. The text stays in the box either way.
func (s *inviteScreen) submit() tea.Cmd {
	switch {
	case s.box.Empty():
		s.err = "paste the answer your peer sent back first (it starts with PLA)"
		return nil
	case s.checking || s.accept == nil:
		return nil
	}
	s.checking, s.err = true, ""
	return s.accept(s.box.Value())
}

// View renders the screen.
func (s *inviteScreen) View() string {
	st := &s.sh.styles
	var b strings.Builder
	b.WriteString(s.titleLine() + "\n\n")
	switch s.phase {
	case inviteMaking:
		b.WriteString(wrapText("Making your invite… (finding this machine's network addresses; this takes a second or two)", s.width) + "\n")
	case inviteFailed:
		b.WriteString(wrapText(st.Error.Render("! could not make an invite: "+s.err), s.width) + "\n\n")
		b.WriteString(wrapText("r: try again · esc: home · q: quit", s.width) + "\n")
	case inviteReady:
		if s.code.showQR {
			return frame(s.titleLine()+"\n"+s.code.qrView(s.width, s.height-2), footer(s.help, s.ShortHelp(), s.width), s.width, s.height)
		}
		b.WriteString(wrapText(st.Heading.Render("1. Send this invite to your peer")+" (by chat, email, …):", s.width) + "\n\n")
		b.WriteString(s.code.View() + "\n\n")
		b.WriteString(wrapText(st.Heading.Render("2. Paste the answer they send back")+", then enter:", s.width) + "\n")
		b.WriteString(s.box.View() + "\n")
		switch {
		case s.checking:
			b.WriteString(st.Dim.Render("checking the answer…"))
		case s.err != "":
			b.WriteString(wrapText(st.Error.Render("! "+s.err), s.width))
		}
	}
	return frame(strings.TrimRight(b.String(), "\n"), footer(s.help, s.ShortHelp(), s.width), s.width, s.height)
}

func (s *inviteScreen) titleLine() string {
	return s.sh.styles.Title.Render("parley") + s.sh.styles.Dim.Render(" · start a call")
}

// ShortHelp lists the screen's keys for the footer.
func (s *inviteScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	switch s.phase {
	case inviteReady:
		return []key.Binding{k.Submit, k.Copy, k.Back, k.QR, k.Quit}
	case inviteFailed:
		return []key.Binding{k.Retry, k.Back, k.Quit}
	}
	return []key.Binding{k.Back, k.Quit}
}

// FullHelp lists the screen's keys.
func (s *inviteScreen) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

// oneLine turns an error into one line of plain text a user can read.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(safetext.Clean(err.Error())), " ")
}
