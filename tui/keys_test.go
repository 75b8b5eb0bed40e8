package tui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// keyNames lists the name of every key of every binding in the key map,
// read from the map itself so that a new binding is covered, and the
// editing keys of the text fields.
func keyNames(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	v := reflect.ValueOf(DefaultKeyMap())
	for i := 0; i < v.NumField(); i++ {
		b, ok := v.Field(i).Interface().(key.Binding)
		if !ok {
			t.Fatalf("KeyMap.%s is a %s, not a key.Binding", v.Type().Field(i).Name, v.Field(i).Type())
		}
		for _, n := range b.Keys() {
			add(n)
		}
	}
	for _, n := range []string{"left", "ctrl+b", "right", "ctrl+f", "alt+left", "ctrl+left", "alt+b",
		"alt+right", "ctrl+right", "alt+f", "home", "ctrl+a", "end", "ctrl+e", "backspace", "ctrl+h",
		"delete", "ctrl+d", "ctrl+u", "ctrl+k", "ctrl+w", "alt+backspace"} {
		add(n)
	}
	return names
}

// keyOf returns the key event bubbletea gives for a key named as in a
// binding: a special key by its type, a letter as one rune.
func keyOf(t *testing.T, name string) tea.KeyMsg {
	t.Helper()
	alt := false
	if rest, ok := strings.CutPrefix(name, "alt+"); ok && rest != "" {
		alt, name = true, rest
	}
	if rs := []rune(name); len(rs) == 1 {
		return tea.KeyMsg{Type: tea.KeyRunes, Runes: rs, Alt: alt}
	}
	for kt := tea.KeyType(-200); kt < 256; kt++ {
		if kt != tea.KeyRunes && kt.String() == name {
			return tea.KeyMsg{Type: kt, Alt: alt}
		}
	}
	t.Fatalf("no key is named %q: matches can never match it", name)
	return tea.KeyMsg{}
}

// TestKeyNamesAreKeys: every binding names keys that bubbletea has, and
// matches takes each for its key and never its name spelled out.
func TestKeyNamesAreKeys(t *testing.T) {
	for _, n := range keyNames(t) {
		k := keyOf(t, n)
		b := key.NewBinding(key.WithKeys(n))
		if !matches(k, b) {
			t.Errorf("matches(%v, %q) = false; want the key to match its binding", k, n)
		}
		if len([]rune(n)) > 1 && matches(runes(n), b) {
			t.Errorf("matches(runes %q, %q) = true; want text never to be a key", n, n)
		}
		if p := (tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(n), Paste: true}); matches(p, b) {
			t.Errorf("matches(paste %q, %q) = true; want a paste never to be a key", n, n)
		}
	}
	q := key.NewBinding(key.WithKeys("q"))
	for _, k := range []tea.KeyMsg{runes("qq"), {Type: tea.KeyRunes, Runes: []rune("q"), Alt: true}} {
		if matches(k, q) {
			t.Errorf("matches(%v, q) = true; want only q typed alone", k)
		}
	}
	if off := key.NewBinding(key.WithKeys("q"), key.WithDisabled()); matches(runes("q"), off) {
		t.Error("a disabled binding matched")
	}
}

// typeBursts sends each name as a burst of runes (as a slow link delivers
// typing), a space after each, and returns the text that should result.
func typeBursts(h *harness, names []string) string {
	h.t.Helper()
	var want strings.Builder
	for _, n := range names {
		h.send(runes(n))
		h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
		want.WriteString(n + " ")
	}
	return want.String()
}

// callState is what a key could change on the call screen, but for the
// input's text.
func callState(h *harness) string {
	f, s := h.last(), h.m.talk
	hu, cl := f.count()
	return fmt.Sprintf("screen %v quit %v hangUps %d closes %d sent %q muted %v verified %d help %v offset %d unseen %d notice %q hangingUp %v ended %v clipboard %q timers %d",
		h.m.active, h.quit, hu, cl, f.sent, f.muted, f.verified, s.showHelp, s.vp.YOffset, s.unseen, s.notice, s.hangingUp, s.ended, h.clip.String(), len(h.timers))
}

// TestBurstsAreTextInCall: in a call, every key's name typed as a burst of
// runes is text in the input, and does nothing else.
func TestBurstsAreTextInCall(t *testing.T) {
	names := keyNames(t)
	for _, help := range []bool{false, true} {
		h := newHarness(t, ScreenCall, "")
		h.connect()
		for i := 0; i < 40; i++ {
			h.emit(event.ChatEvent{ID: uint64(i + 1), Text: fmt.Sprintf("message %d", i), At: t0})
		}
		h.key(tea.KeyPgUp) // in the middle: any scroll key would move
		h.key(tea.KeyDown)
		if help {
			h.key(tea.KeyCtrlG)
		}
		before := callState(h)
		want := typeBursts(h, names)
		if got := h.m.talk.input.Value(); got != want {
			t.Errorf("help %v: input = %q; want %q", help, got, want)
		}
		if after := callState(h); after != before {
			t.Errorf("help %v: bursts changed the call screen:\nbefore %s\nafter  %s", help, before, after)
		}
		h.key(tea.KeyEnter)
		if f := h.last(); len(f.sent) != 1 || f.sent[0] != want {
			t.Errorf("help %v: sent %q; want one message %q", help, f.sent, want)
		}
	}
}

// TestBurstsAreTextInPasteBoxes: the same in the join screen's and the
// invite screen's paste boxes.
func TestBurstsAreTextInPasteBoxes(t *testing.T) {
	names := keyNames(t)

	h := newHarness(t, ScreenJoin, "")
	want := typeBursts(h, names)
	if got := h.m.join.box.Value(); got != want {
		t.Errorf("join box = %q; want %q", got, want)
	}
	if h.m.active != onJoin || h.quit || len(h.calls) != 0 || h.m.join.phase != joinPaste || h.clip.String() != "" {
		t.Errorf("bursts on the join screen: screen %v, quit %v, %d calls, phase %v, clipboard %q; want only text",
			h.m.active, h.quit, len(h.calls), h.m.join.phase, h.clip.String())
	}

	h = newHarness(t, ScreenCall, "")
	f := h.last()
	want = typeBursts(h, names)
	if got := h.m.invite.box.Value(); got != want {
		t.Errorf("invite box = %q; want %q", got, want)
	}
	_, closes := f.count()
	if h.m.active != onInvite || h.quit || len(h.calls) != 1 || closes != 0 || len(f.accepted) != 0 ||
		h.m.invite.code.showQR || h.clip.String() != "" {
		t.Errorf("bursts on the invite screen: screen %v, quit %v, %d calls, %d closes, Accept %q, QR %v, clipboard %q; want only text",
			h.m.active, h.quit, len(h.calls), closes, f.accepted, h.m.invite.code.showQR, h.clip.String())
	}
	// A letter typed alone is text there too, even in an empty box.
	h = newHarness(t, ScreenCall, "")
	for _, n := range names {
		if len([]rune(n)) == 1 {
			h.send(runes(n))
		}
	}
	if h.m.active != onInvite || h.quit || h.clip.String() != "" {
		t.Errorf("letters on the invite screen: screen %v, quit %v, clipboard %q", h.m.active, h.quit, h.clip.String())
	}
}

// TestBurstsAreNotKeysOnMenus: where nothing can be typed, a burst of
// several runes is no key either, even one starting with a key's letter.
func TestBurstsAreNotKeysOnMenus(t *testing.T) {
	h := newHarness(t, ScreenHome, "")
	for _, n := range append(keyNames(t), "qq", "cj", "quit") {
		if len([]rune(n)) > 1 {
			h.send(runes(n))
		}
	}
	if h.m.active != onHome || h.quit || len(h.calls) != 0 || h.m.home.cursor != 0 {
		t.Errorf("bursts on the home menu: screen %v, quit %v, %d calls, cursor %d; want nothing done",
			h.m.active, h.quit, len(h.calls), h.m.home.cursor)
	}
	h.connectAndEnd(t)
	for _, n := range []string{"quit", "enter", "esc", "new"} {
		h.send(runes(n))
	}
	if h.m.active != onCall || h.quit || len(h.calls) != 1 {
		t.Errorf("bursts after a call: screen %v, quit %v, %d calls; want nothing done", h.m.active, h.quit, len(h.calls))
	}
	h.send(runes("q"))
	if !h.quit {
		t.Error("q typed alone after a call did not quit")
	}
}

// connectAndEnd takes a harness on the home menu to the end of a call.
func (h *harness) connectAndEnd(t *testing.T) {
	t.Helper()
	h.send(runes("c"))
	h.connect()
	h.emit(event.ByeEvent{Reason: "peer hung up"})
}
