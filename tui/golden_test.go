package tui

import (
	"bytes"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"parley/internal/event"
)

// The golden tests run the whole program through teatest at a fixed size,
// with plain-text styles (termenv.Ascii) and a clock that moves only when
// told, and compare the final screen with testdata/<test>.golden. Refresh
// the files with: go test ./tui -update

// program runs the UI on a fake engine; calls receives each call made.
type program struct {
	tm    *teatest.TestModel
	clock *fakeClock
	calls chan *fakeCall
}

func startProgram(t *testing.T, start Screen, joinCode string, width, height int) *program {
	t.Helper()
	p := &program{clock: newFakeClock(), calls: make(chan *fakeCall, 8)}
	m := newModel(testShared(p.clock, &safeBuffer{}), config{
		newCall: func() (Call, error) {
			f := newFakeCall()
			p.calls <- f
			return f, nil
		},
		start:    start,
		joinCode: joinCode,
	})
	p.tm = teatest.NewTestModel(t, m, teatest.WithInitialTermSize(width, height))
	t.Cleanup(func() { // close the calls the test did not take
		for len(p.calls) > 0 {
			_ = (<-p.calls).Close()
		}
	})
	return p
}

// call returns the next call the program makes, and keeps it for closing.
func (p *program) call(t *testing.T) *fakeCall {
	t.Helper()
	select {
	case f := <-p.calls:
		t.Cleanup(func() { _ = f.Close() })
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no call was made")
		return nil
	}
}

// waitFor waits until the screen shows all of texts.
func (p *program) waitFor(t *testing.T, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, p.tm.Output(), func(b []byte) bool {
		for _, s := range texts {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// finish quits the program and compares its last screen with the golden
// file.
func (p *program) finish(t *testing.T) {
	t.Helper()
	if err := p.tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := p.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
	golden.RequireEqual(t, []byte(view+"\n"))
}

func TestGoldenHome(t *testing.T) {
	p := startProgram(t, ScreenHome, "", 80, 24)
	p.waitFor(t, "Start a call")
	p.tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	p.waitFor(t, "› Join a call")
	p.finish(t)
}

func TestGoldenInvite(t *testing.T) {
	p := startProgram(t, ScreenCall, "", 80, 24)
	p.call(t)
	p.waitFor(t, "1. Send this invite")
	// One's own invite pasted back: refused, and kept in the box.
	p.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(testInvite), Paste: true})
	p.waitFor(t, "your own invite")
	p.finish(t)
}

func TestGoldenJoin(t *testing.T) {
	p := startProgram(t, ScreenJoin, testInvite, 80, 24)
	p.call(t)
	p.waitFor(t, "waiting for your peer")
	p.clock.Advance(83 * time.Second)
	p.tm.Send(tickMsg{})
	p.waitFor(t, "1:23")
	p.finish(t)
}

// connected takes a program started on ScreenCall to a connected call with
// a few messages.
func connected(t *testing.T, p *program) *fakeCall {
	t.Helper()
	f := p.call(t)
	p.waitFor(t, "1. Send this invite")
	p.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(testAnswer), Paste: true})
	p.waitFor(t, "connecting")
	f.emit(event.StateEvent{State: event.StateConnecting})
	f.emit(event.StateEvent{State: event.StateConnected, Route: event.RouteSrflx})
	f.emit(event.VerifyEvent{Words: "tycoon puberty beaming Babylon briefcase"})
	f.emit(event.StatsEvent{RTT: 42 * time.Millisecond, LossIn: 0.001, LossOut: 0.012, Sound: &event.SoundStats{Delay: 60 * time.Millisecond}, BitrateIn: 32000, BitrateOut: 31000})
	f.emit(event.LevelsEvent{MicPeak: -6, MicRMS: -18, PeerPeak: -20, PeerRMS: -30})
	p.waitFor(t, "tycoon puberty beaming Babylon briefcase")
	p.tm.Type("hello, can you hear me?")
	p.tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	p.waitFor(t, "hear me? …")
	f.emit(event.DeliveredEvent{ID: 1})
	f.emit(event.ChatEvent{ID: 1, Text: "yes, loud and clear \x1b[31mno red\x1b[0m", At: t0.Add(3 * time.Minute)})
	p.waitFor(t, "loud and clear no red")
	p.clock.Advance(192 * time.Second)
	p.tm.Send(tickMsg{})
	p.waitFor(t, "3:12")
	p.tm.Type("typing")
	p.waitFor(t, "typing")
	return f
}

func TestGoldenCall(t *testing.T) {
	p := startProgram(t, ScreenCall, "", 80, 24)
	connected(t, p)
	p.finish(t)
}

func TestGoldenCallSmall(t *testing.T) {
	p := startProgram(t, ScreenCall, "", 60, 20)
	connected(t, p)
	p.finish(t)
}

func TestGoldenCallEnded(t *testing.T) {
	p := startProgram(t, ScreenCall, "", 80, 24)
	f := connected(t, p)
	f.emit(event.ByeEvent{Reason: "peer hung up"})
	p.waitFor(t, "peer hung up —")
	p.finish(t)
}
