package tui

import (
	"io"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// notifier tells the user that a message has arrived while they look
// elsewhere: it rings the terminal's bell, or shows a desktop notification
// where the terminal makes one of an escape sequence. The text says only
// that a message came, not what it says: desktop notifications stay in
// the system's history.
type notifier struct {
	w   io.Writer // the terminal; nil: never notify
	seq string    // what to write
}

// notifyText is what a desktop notification says.
const notifyText = "parley: a new message from your peer"

// notifySequence chooses how to notify on the terminal that getenv
// describes:
//
//   - OSC 9 for iTerm2, WezTerm and Ghostty;
//   - OSC 99 for kitty, its own protocol;
//   - OSC 777 ("notify") for foot;
//   - BEL elsewhere, and inside tmux or screen, which pass a bell on to
//     the terminal (and mark the window) but drop these OSC sequences.
//     Terminals generally alert on BEL only when they are not in focus.
func notifySequence(getenv func(string) string) string {
	term, program := getenv("TERM"), getenv("TERM_PROGRAM")
	switch {
	case getenv("TMUX") != "" || strings.HasPrefix(term, "screen") || strings.HasPrefix(term, "tmux"):
		return "\a"
	case program == "iTerm.app" || program == "WezTerm" || program == "ghostty" || term == "xterm-ghostty":
		return "\x1b]9;" + notifyText + "\a"
	case term == "xterm-kitty" || getenv("KITTY_WINDOW_ID") != "":
		return "\x1b]99;;" + notifyText + "\x1b\\"
	case strings.HasPrefix(term, "foot"):
		return "\x1b]777;notify;parley;a new message from your peer\a"
	}
	return "\a"
}

// cmd writes the notification; nil when notifying is off.
func (n notifier) cmd() tea.Cmd {
	if n.w == nil {
		return nil
	}
	return func() tea.Msg {
		_, _ = io.WriteString(n.w, n.seq)
		return nil
	}
}

// focus is what the terminal has said of its focus.
type focus int

const (
	focusUnknown focus = iota // it has not reported any (most do not)
	focusIn
	focusOut
)

// newNotifier notifies through the terminal w, if on.
func newNotifier(on bool, w io.Writer, getenv func(string) string) notifier {
	if !on {
		return notifier{}
	}
	return notifier{w: w, seq: notifySequence(getenv)}
}
