package tui

import (
	"errors"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// TestPhaseMoves: moves allows exactly these changes of phase (and
// staying put).
func TestPhaseMoves(t *testing.T) {
	legal := map[[2]phase]bool{
		{phaseIdle, phaseLive}:                 true,
		{phaseIdle, phaseDone}:                 true,
		{phaseLive, phaseClosing}:              true,
		{phaseLive, phaseIdle}:                 true,
		{phaseLive, phaseQuitHangingUp}:        true,
		{phaseClosing, phaseEnded}:             true,
		{phaseClosing, phaseIdle}:              true,
		{phaseClosing, phaseQuitClosing}:       true,
		{phaseEnded, phaseIdle}:                true,
		{phaseEnded, phaseDone}:                true,
		{phaseQuitHangingUp, phaseQuitClosing}: true,
		{phaseQuitHangingUp, phaseDone}:        true,
		{phaseQuitClosing, phaseDone}:          true,
	}
	for from := phaseIdle; from <= phaseDone; from++ {
		for to := phaseIdle; to <= phaseDone; to++ {
			want := from == to || legal[[2]phase{from, to}]
			if got := from.can(to); got != want {
				t.Errorf("%v.can(%v) = %v; want %v", from, to, got, want)
			}
			m := &model{phase: from}
			if moved := m.to(to); moved != want || (m.phase == to) != want {
				t.Errorf("from %v, to(%v) = %v, leaving %v", from, to, moved, m.phase)
			}
		}
	}
	if s := phase(42).String(); s != "phase(42)" {
		t.Errorf("phase(42).String() = %q", s)
	}
}

// TestPhaseTransitions drives the root's Update one message at a time,
// without running the commands it returns (so Close never returns until
// callClosedMsg is sent), and checks the phase after each.
func TestPhaseTransitions(t *testing.T) {
	type step struct {
		msg  func(m *model) tea.Msg
		want phase
	}
	ctrlC := func(*model) tea.Msg { return tea.KeyMsg{Type: tea.KeyCtrlC} }
	bye := func(m *model) tea.Msg {
		return eventMsg{gen: m.gen, ev: event.ByeEvent{Reason: "peer hung up"}, ok: true}
	}
	eventsEnd := func(m *model) tea.Msg { return eventMsg{gen: m.gen, ok: false} }
	closed := func(m *model) tea.Msg { return callClosedMsg{gen: m.gen} }
	timeout := func(m *model) tea.Msg { return hangUpTimeoutMsg{gen: m.gen} }
	msg := func(msg tea.Msg) func(*model) tea.Msg { return func(*model) tea.Msg { return msg } }

	cases := []struct {
		name  string
		start Screen
		steps []step
	}{
		{"quit at home", ScreenHome, []step{{ctrlC, phaseDone}}},
		{"quit on the join screen", ScreenJoin, []step{{ctrlC, phaseDone}}},
		{"a call ends, then home, then quit", ScreenCall, []step{
			{bye, phaseClosing}, {closed, phaseEnded}, {msg(goHomeMsg{}), phaseIdle}, {ctrlC, phaseDone},
		}},
		{"events end without a bye", ScreenCall, []step{{eventsEnd, phaseClosing}, {closed, phaseEnded}}},
		{"hang-up's grace over", ScreenCall, []step{
			{msg(hangUpMsg{}), phaseLive}, {timeout, phaseClosing}, {closed, phaseEnded},
		}},
		{"a new invite while closing", ScreenCall, []step{
			{bye, phaseClosing}, {msg(startCallMsg{}), phaseIdle},
		}},
		{"a stale Close is ignored", ScreenCall, []step{
			{bye, phaseClosing}, {msg(goHomeMsg{}), phaseIdle},
			{func(m *model) tea.Msg { return callClosedMsg{gen: m.gen - 1} }, phaseIdle},
		}},
		{"an answer made after going home is dropped", ScreenJoin, []step{
			{msg(goHomeMsg{}), phaseIdle},
			{func(m *model) tea.Msg { return joinedMsg{gen: m.gen - 1, call: newFakeCall(), answer: testAnswer} }, phaseIdle},
		}},
		{"quit in a call, bye", ScreenCall, []step{{ctrlC, phaseQuitHangingUp}, {bye, phaseQuitClosing}, {closed, phaseDone}}},
		{"quit in a call, no bye", ScreenCall, []step{{ctrlC, phaseQuitHangingUp}, {timeout, phaseQuitClosing}, {closed, phaseDone}}},
		{"quit while closing", ScreenCall, []step{{bye, phaseClosing}, {ctrlC, phaseQuitClosing}, {closed, phaseDone}}},
		{"quit after the end", ScreenCall, []step{{bye, phaseClosing}, {closed, phaseEnded}, {ctrlC, phaseDone}}},
		{"quit twice", ScreenCall, []step{{ctrlC, phaseQuitHangingUp}, {ctrlC, phaseDone}}},
		{"quit twice while closing", ScreenCall, []step{{ctrlC, phaseQuitHangingUp}, {bye, phaseQuitClosing}, {ctrlC, phaseDone}}},
		{"intents on their way when quitting are dropped", ScreenCall, []step{
			{ctrlC, phaseQuitHangingUp}, {msg(goHomeMsg{}), phaseQuitHangingUp},
			{msg(startCallMsg{}), phaseQuitHangingUp}, {bye, phaseQuitClosing}, {closed, phaseDone},
		}},
		{"nothing moves once done", ScreenCall, []step{
			{ctrlC, phaseQuitHangingUp}, {ctrlC, phaseDone}, {bye, phaseDone}, {closed, phaseDone}, {msg(goHomeMsg{}), phaseDone},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.start, "")
			if want := map[bool]phase{true: phaseLive, false: phaseIdle}[c.start == ScreenCall]; h.m.phase != want {
				t.Fatalf("at the start: phase %v; want %v", h.m.phase, want)
			}
			for i, s := range c.steps {
				msg, before := s.msg(h.m), h.m.phase
				_, cmd := h.m.Update(msg)
				if h.m.phase != s.want {
					t.Fatalf("step %d (%T): phase %v; want %v", i, msg, h.m.phase, s.want)
				}
				// tea.Quit comes with the move to done, and only then.
				wantQuit := before != phaseDone && s.want == phaseDone
				if quits := yields(cmd, tea.QuitMsg{}); quits != wantQuit {
					t.Fatalf("step %d (%T) from %v: returns tea.Quit %v; want %v", i, msg, before, quits, wantQuit)
				}
			}
		})
	}
}

// sentinelMsg is what sentinelScreen's commands yield.
type sentinelMsg struct{}

// sentinelScreen adds, to every command its screen returns, one that
// yields a sentinelMsg.
type sentinelScreen struct{ screen }

func (s sentinelScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := s.screen.Update(msg)
	return m, tea.Batch(cmd, msgCmd(sentinelMsg{}))
}

// TestScreenCommandsPassedOn: whatever a screen's Update returns, the
// root's Update returns too, for every kind of message it hands a screen.
func TestScreenCommandsPassedOn(t *testing.T) {
	type send struct {
		name string
		msg  func(m *model) tea.Msg
	}
	ev := func(e event.Event) func(m *model) tea.Msg {
		return func(m *model) tea.Msg { return eventMsg{gen: m.gen, ev: e, ok: true} }
	}
	cases := []struct {
		start Screen
		sends []send
	}{
		{ScreenHome, []send{{"a key", func(*model) tea.Msg { return runes("x") }}}},
		{ScreenCall, []send{
			{"a key on the invite", func(*model) tea.Msg { return runes("x") }},
			{"a refused answer", func(m *model) tea.Msg { return acceptedMsg{gen: m.gen, err: errors.New("no")} }},
			{"an accepted answer", func(m *model) tea.Msg { return acceptedMsg{gen: m.gen} }},
			{"a event.StateEvent", ev(event.StateEvent{State: event.StateConnected, Route: event.RouteHost})},
			{"a event.ChatEvent", ev(event.ChatEvent{Text: "hi"})},
			{"a event.DeliveredEvent", ev(event.DeliveredEvent{ID: 1})},
			{"a key in the call", func(*model) tea.Msg { return runes("x") }},
		}},
		{ScreenJoin, []send{
			{"a refused invite", func(m *model) tea.Msg { return joinedMsg{gen: m.gen, err: errors.New("no")} }},
			{"a joined call", func(m *model) tea.Msg { return joinedMsg{gen: m.gen, call: newFakeCall(), answer: testAnswer} }},
			{"a event.StateEvent on the join screen", ev(event.StateEvent{State: event.StateConnecting, Detail: "hint"})},
		}},
	}
	for _, c := range cases {
		h := newHarness(t, c.start, "")
		h.m.cfg.wrap = func(s screen) screen { return sentinelScreen{s} }
		for _, s := range c.sends {
			msg := s.msg(h.m)
			_, cmd := h.m.Update(msg)
			if !yields(cmd, sentinelMsg{}) {
				t.Errorf("start %v, %s: the screen's command was dropped", c.start, s.name)
			}
		}
	}
}

// yields reports whether cmd, run with its batches and sequences, yields
// want. Every command but the listening ones is run (the harness's do not
// block).
func yields(cmd tea.Cmd, want tea.Msg) bool {
	if cmd == nil {
		return false
	}
	msg := cmd()
	if msg == want {
		return true
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			if yields(c, want) {
				return true
			}
		}
	}
	if seq, ok := sequence(msg); ok {
		for _, c := range seq {
			if yields(c, want) {
				return true
			}
		}
	}
	return false
}
