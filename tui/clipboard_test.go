package tui

import (
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// fakeTmux answers tmuxOption from a map; a missing option is an error,
// as an old tmux without allow-passthrough answers.
func fakeTmux(opts map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		v, ok := opts[name]
		if !ok {
			return "", errors.New("invalid option: " + name)
		}
		return v, nil
	}
}

func TestTmuxHint(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		hint bool
	}{
		{map[string]string{"set-clipboard": "external", "allow-passthrough": "off"}, true},
		{map[string]string{"set-clipboard": "off", "allow-passthrough": "off"}, true},
		{map[string]string{"set-clipboard": "external"}, true}, // tmux before 3.3
		{map[string]string{"set-clipboard": "on", "allow-passthrough": "off"}, false},
		{map[string]string{"set-clipboard": "external", "allow-passthrough": "on"}, false},
		{map[string]string{"set-clipboard": "external", "allow-passthrough": "all"}, false},
		{map[string]string{}, false}, // tmux cannot be asked: say nothing
	} {
		c2 := clipboard{tmux: true, tmuxOption: fakeTmux(c.opts)}
		if got := c2.tmuxHint(); (got != "") != c.hint {
			t.Errorf("tmuxHint() with %v = %q; want a hint: %v", c.opts, got, c.hint)
		}
	}
	if got := (clipboard{tmuxOption: fakeTmux(map[string]string{"set-clipboard": "off"})}).tmuxHint(); got != "" {
		t.Errorf("outside tmux, tmuxHint() = %q; want none", got)
	}
}

// TestCopyInTmuxSaysHowToTurnItOn: with tmux's default set-clipboard
// (external) a copy does not say "sent to your clipboard" but how to let
// it through, on the invite screen and for a chat message.
func TestCopyInTmuxSaysHowToTurnItOn(t *testing.T) {
	h := newHarness(t, ScreenCall, "")
	opts := map[string]string{"set-clipboard": "external", "allow-passthrough": "off"}
	h.m.sh.clip.tmux, h.m.sh.clip.tmuxOption = true, fakeTmux(opts)
	h.send(tea.KeyMsg{Type: tea.KeyCtrlY}) // "c" is text here: the answer box
	v := unwrapped(h.view())
	if !strings.Contains(v, `run "tmux set -g set-clipboard on"`) || strings.Contains(v, "sent to your clipboard") {
		t.Errorf("a copy in tmux with set-clipboard external shows:\n%s", h.view())
	}
	if !strings.Contains(h.clip.String(), "\x1b]52;c;") {
		t.Error("no OSC 52 sequence was written")
	}

	opts["set-clipboard"] = "on"
	h.send(tea.KeyMsg{Type: tea.KeyCtrlY})
	mustContain(t, unwrapped(h.view()), "sent to your clipboard")

	opts["set-clipboard"] = "external"
	h.connect()
	h.emit(event.ChatEvent{ID: 1, Text: "hi"})
	h.key(tea.KeyCtrlY)
	mustContain(t, h.view(), `! tmux drops the copy: run "tmux set -g set-clipboard on", then copy again`)
	checkFits(t, h.view(), 80, 24)
}
