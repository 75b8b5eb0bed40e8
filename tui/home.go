package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Intents that a screen hands to the root model, which owns the call and
// the screens.
type (
	// startCallMsg asks for a fresh invite (dropping any current call).
	startCallMsg struct{}
	// openJoinMsg asks for the join screen.
	openJoinMsg struct{}
	// startEchoMsg asks for the echo test.
	startEchoMsg struct{}
	// echoStartedMsg carries the echo test's call, or why it failed.
	echoStartedMsg struct {
		gen  int
		call Call
		err  error
	}
	// goHomeMsg asks for the home menu (dropping any current call).
	goHomeMsg struct{}
	// quitMsg asks to hang up and quit.
	quitMsg struct{}
)

// msgCmd returns a command that yields msg.
func msgCmd(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// homeItem is one entry of the home menu.
type homeItem struct {
	title, desc string
	key         key.Binding
	msg         tea.Msg // nil: not available yet
}

// homeScreen is the home menu: start a call, join one, echo test, quit.
type homeScreen struct {
	sh            *shared
	items         []homeItem
	cursor        int
	notice        string
	help          help.Model
	width, height int
}

func newHomeScreen(sh *shared) *homeScreen {
	k := sh.keys
	h := help.New()
	h.Styles = sh.styles.HelpStyle
	return &homeScreen{
		sh: sh,
		items: []homeItem{
			{"Start a call", "make an invite code to send to your peer", k.StartCall, startCallMsg{}},
			{"Join a call", "paste the invite your peer sent you", k.JoinCall, openJoinMsg{}},
			{"Echo test", "hear your own voice through a whole call", k.EchoTest, startEchoMsg{}},
			{"Quit", "", k.QuitMenu, quitMsg{}},
		},
		help:  h,
		width: 80, height: 24,
	}
}

// Init does nothing; the menu needs no command to start.
func (s *homeScreen) Init() tea.Cmd { return nil }

// SetSize sets the screen's size.
func (s *homeScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.help.Width = width
}

// Update moves the selection and picks items.
func (s *homeScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return s, nil
	}
	keys := s.sh.keys
	switch {
	case matches(k, keys.Up):
		s.cursor = (s.cursor + len(s.items) - 1) % len(s.items)
		s.notice = ""
	case matches(k, keys.Down):
		s.cursor = (s.cursor + 1) % len(s.items)
		s.notice = ""
	case matches(k, keys.Select):
		return s, s.pick(s.cursor)
	default:
		for i, it := range s.items {
			if matches(k, it.key) {
				s.cursor = i
				return s, s.pick(i)
			}
		}
	}
	return s, nil
}

// setNotice shows text under the menu; "" clears it.
func (s *homeScreen) setNotice(text string) { s.notice = text }

func (s *homeScreen) pick(i int) tea.Cmd {
	it := s.items[i]
	s.notice = ""
	return msgCmd(it.msg)
}

// View renders the menu.
func (s *homeScreen) View() string {
	st := &s.sh.styles
	var b strings.Builder
	b.WriteString(st.Title.Render("parley") + st.Dim.Render(" · peer-to-peer voice and text calls") + "\n\n")
	titleW := 0
	for _, it := range s.items {
		titleW = max(titleW, lipgloss.Width(it.title))
	}
	for i, it := range s.items {
		marker, title := "  ", it.title
		if i == s.cursor {
			marker, title = "› ", st.Selected.Render(it.title)
		}
		line := fmt.Sprintf("%s%s%s  [%s]", marker, title, strings.Repeat(" ", titleW-lipgloss.Width(it.title)), it.key.Help().Key)
		if it.desc != "" && s.width >= 76 {
			line += "  " + st.Dim.Render(it.desc)
		}
		b.WriteString(line + "\n")
	}
	if s.width < 76 {
		b.WriteString("\n" + st.Dim.Render(wrapText(s.items[s.cursor].desc, s.width)) + "\n")
	}
	if s.notice != "" {
		b.WriteString("\n" + wrapText(s.notice, s.width) + "\n")
	}
	return frame(b.String(), footer(s.help, s.ShortHelp(), s.width), s.width, s.height)
}

// ShortHelp lists the menu's keys for the footer.
func (s *homeScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	return []key.Binding{k.Up, k.Down, k.Select, k.QuitMenu}
}

// FullHelp lists the menu's keys.
func (s *homeScreen) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }
