package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap holds every key binding of the UI.
//
// Where text can be typed (the paste boxes and the chat input) every
// control is a ctrl key, an F-key or a key that cannot be typed (enter,
// esc, arrows, page keys), so that nothing typed is ever taken as a
// command. Letters act as keys only where nothing can be typed: the home
// menu, a failed invite, the answer shown on the join screen and the end
// of a call.
//
// Keys are matched with matches, never with key.Matches: bubbletea names a
// burst of typed letters ("enter", "ctrl+x") the same as the key they
// spell, and such bursts come from laggy links and terminals without
// bracketed paste.
type KeyMap struct {
	// Everywhere.
	Quit   key.Binding // hang up if in a call, then quit
	Redraw key.Binding

	// Home menu.
	Up        key.Binding
	Down      key.Binding
	Select    key.Binding
	StartCall key.Binding
	JoinCall  key.Binding
	EchoTest  key.Binding
	QuitMenu  key.Binding

	// Invite and join screens.
	Copy       key.Binding // copy the code shown
	CopyLetter key.Binding // the same, while the paste box is empty
	QR         key.Binding // show the code as a QR code
	Submit     key.Binding // check the pasted code
	Back       key.Binding // back to the home menu
	Retry      key.Binding // make the invite again after a failure

	// Call screen.
	Send        key.Binding
	Mute        key.Binding
	HangUp      key.Binding
	CopyMessage key.Binding // copy the peer's last message
	Verify      key.Binding // the safety words match
	Devices     key.Binding // pick the microphone and the speaker
	LineUp      key.Binding
	LineDown    key.Binding
	PageUp      key.Binding
	PageDown    key.Binding
	Help        key.Binding
	CloseHelp   key.Binding // besides Help, which toggles it

	// After a call.
	Home      key.Binding
	NewInvite key.Binding
	QuitEnded key.Binding
}

// DefaultKeyMap returns parley's key bindings.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Quit:   b("ctrl+c", "quit", "ctrl+c"),
		Redraw: b("ctrl+l", "redraw", "ctrl+l"),

		Up:        b("↑", "up", "up", "ctrl+p", "shift+tab"),
		Down:      b("↓", "down", "down", "ctrl+n", "tab"),
		Select:    b("enter", "select", "enter"),
		StartCall: b("c", "start a call", "c"),
		JoinCall:  b("j", "join a call", "j"),
		EchoTest:  b("e", "echo test", "e"),
		QuitMenu:  b("q", "quit", "q"),

		Copy:       b("ctrl+y", "copy code", "ctrl+y", "f5"),
		CopyLetter: b("c", "copy code", "c"),
		QR:         b("ctrl+r", "QR code", "ctrl+r", "f6"),
		Submit:     b("enter", "check code", "enter"),
		Back:       b("esc", "home", "esc"),
		Retry:      b("r", "try again", "r"),

		Send:        b("enter", "send", "enter"),
		Mute:        b("ctrl+t", "mute", "ctrl+t", "f2"),
		HangUp:      b("ctrl+x", "hang up", "ctrl+x"),
		CopyMessage: b("ctrl+y", "copy last message", "ctrl+y", "f5"),
		Verify:      b("ctrl+o", "words match", "ctrl+o", "f3"),
		Devices:     b("f4", "devices", "f4", "ctrl+v"),
		LineUp:      b("↑", "scroll up", "up"),
		LineDown:    b("↓", "scroll down", "down"),
		PageUp:      b("pgup", "page up", "pgup"),
		PageDown:    b("pgdn", "page down", "pgdown"),
		Help:        b("ctrl+g", "help", "ctrl+g", "f1"),
		CloseHelp:   b("esc", "close help", "esc"),

		Home:      b("enter", "home", "enter", "esc"),
		NewInvite: b("n", "new invite", "n"),
		QuitEnded: b("q", "quit", "q"),
	}
}

// pressed names the key that k is a press of, in key.Binding's names:
// "ctrl+x", "enter", "pgup", "alt+b", or "q" for one letter typed on its
// own. Text names no key and gives "": several runes in one message (a
// burst typed faster than it is read, as over a slow link, or a paste
// without brackets) or a bracketed paste. A special key is named by its
// type, so "enter" spelled out in letters is never the enter key.
func pressed(k tea.KeyMsg) string {
	if k.Type == tea.KeyRunes && (k.Paste || len(k.Runes) != 1) {
		return ""
	}
	return k.String()
}

// matches reports whether k is a press of one of the keys of bs (enabled
// bindings only). Unlike key.Matches it takes no text for a key: see
// pressed. A screen with a text field also checks only bindings that are
// not letters, since there a letter typed alone is text too.
func matches(k tea.KeyMsg, bs ...key.Binding) bool {
	name := pressed(k)
	if name == "" {
		return false
	}
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		for _, n := range b.Keys() {
			if n == name {
				return true
			}
		}
	}
	return false
}
