package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"parley/internal/event"
)

// Codes the fake engine knows.
const (
	testInvite = "PLYIaB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW5xY7zA9bC1dE3fG5hJ7kL9mN1pQ3rS"
	testAnswer = "PLYAzY9xW7vU5tS3rQ1pN9mL7kJ5hG3fE1dC9bA7zY5xW3vU1tS9rQ7pN5mL3kJ1hG9fE7dC5bA3zY1xW9vU7tS5rQ3pN1mL"
)

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeCall is a Call (and Muter and Verifier) that answers like the engine
// without any network: the codes above are the only valid ones.
type fakeCall struct {
	events chan event.Event

	mu       sync.Mutex
	accepted []string // every Accept argument
	joined   []string // every Join argument
	sent     []string
	sendErr  error
	nextID   uint64
	hangUps  int
	closes   int
	muted    []bool
	verified int
	finished bool
	// byeOnHangUp makes HangUp answer with a bye, as the engine does.
	byeOnHangUp bool
}

func newFakeCall() *fakeCall {
	return &fakeCall{events: make(chan event.Event, 64), byeOnHangUp: true}
}

func normalise(code string) string { return strings.Join(strings.Fields(code), "") }

func (f *fakeCall) Invite(ctx context.Context) (string, error) {
	return testInvite, ctx.Err()
}

func (f *fakeCall) Accept(answer string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepted = append(f.accepted, answer)
	switch normalise(answer) {
	case testAnswer:
		return nil
	case testInvite:
		return errors.New("this is your own invite; send it to your peer and paste the answer they send back")
	}
	return errors.New("this is not a parley code: it should start with PLYA")
}

func (f *fakeCall) Join(ctx context.Context, invite string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joined = append(f.joined, invite)
	if normalise(invite) != testInvite {
		return "", errors.New("this code is cut short: paste all of it")
	}
	return testAnswer, nil
}

func (f *fakeCall) Send(text string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return 0, f.sendErr
	}
	f.nextID++
	f.sent = append(f.sent, text)
	return f.nextID, nil
}

func (f *fakeCall) HangUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangUps++
	if f.byeOnHangUp && !f.finished {
		f.finished = true
		f.events <- event.ByeEvent{Reason: "hung up"}
		close(f.events)
	}
}

func (f *fakeCall) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	if !f.finished {
		f.finished = true
		close(f.events)
	}
	return nil
}

func (f *fakeCall) Events() <-chan event.Event { return f.events }

func (f *fakeCall) SetMuted(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.muted = append(f.muted, on)
}

func (f *fakeCall) Verify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified++
}

// emit queues an event, as the engine would; a ByeEvent also closes the
// channel.
func (f *fakeCall) emit(ev event.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return
	}
	f.events <- ev
	if _, ok := ev.(event.ByeEvent); ok {
		f.finished = true
		close(f.events)
	}
}

func (f *fakeCall) count() (hangUps, closes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hangUps, f.closes
}

// plainCall hides the fake's Muter and Verifier.
type plainCall struct{ Call }

// safeBuffer is a bytes.Buffer for concurrent use.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testShared returns the screens' shared state for tests: plain text (no
// colour, no attributes), a dark background and the given clock.
func testShared(clock Clock, clip io.Writer) *shared {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	return &shared{
		keys:   DefaultKeyMap(),
		styles: DefaultStyles(r, true),
		clock:  clock,
		clip:   clipboard{w: clip},
		dark:   true,
	}
}

// parked is what the harness's listen command returns when the call has
// no event ready: the harness keeps it and tries again in pump.
type parked struct {
	gen int
	ch  <-chan event.Event
}

// harness drives the root model's Update directly and runs its commands
// synchronously. Event listening never blocks: see parked.
type harness struct {
	t      *testing.T
	m      *model
	clock  *fakeClock
	clip   *safeBuffer
	calls  []*fakeCall
	echoes []*fakeCall          // echo-test calls
	wrap   func(*fakeCall) Call // how new calls are presented; nil: as they are
	parked []parked
	timers []tea.Msg // messages scheduled with tick (other than tickMsg)
	prints []string
	quit   bool
}

func newHarness(t *testing.T, start Screen, joinCode string) *harness {
	return newHarnessWith(t, start, joinCode, nil)
}

func newHarnessWith(t *testing.T, start Screen, joinCode string, wrap func(*fakeCall) Call) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(), clip: &safeBuffer{}, wrap: wrap}
	sh := testShared(h.clock, h.clip)
	h.m = newModel(sh, config{
		newCall: func() (Call, error) {
			f := newFakeCall()
			h.calls = append(h.calls, f)
			if h.wrap != nil {
				return h.wrap(f), nil
			}
			return f, nil
		},
		newEcho: func() (Call, error) {
			f := newFakeCall()
			f.events <- event.StateEvent{State: event.StateConnected, Route: event.RouteHost}
			h.echoes = append(h.echoes, f)
			return f, nil
		},
		start:    start,
		joinCode: joinCode,
		tick: func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
			if msg := fn(time.Time{}); msg != (tickMsg{}) {
				h.timers = append(h.timers, msg)
			}
			return nil
		},
		listen: func(gen int, ch <-chan event.Event) tea.Cmd {
			return func() tea.Msg {
				select {
				case ev, ok := <-ch:
					return eventMsg{gen: gen, ev: ev, ok: ok}
				default:
					return parked{gen: gen, ch: ch}
				}
			}
		},
	})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	return h
}

// send delivers msg to Update and runs the resulting commands.
func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			h.quit = true
		case parked:
			h.parked = append(h.parked, msg)
		default:
			if seq, ok := sequence(msg); ok {
				// Its commands go first, in order.
				queue = append(append([]tea.Cmd{}, seq...), queue...)
				continue
			}
			if s := fmt.Sprintf("%T", msg); s == "tea.printLineMessage" {
				h.prints = append(h.prints, fmt.Sprint(msg))
				continue
			}
			_, next := h.m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// sequence returns the commands of tea.Sequence's message, whose type is
// not exported.
func sequence(msg tea.Msg) ([]tea.Cmd, bool) {
	v := reflect.ValueOf(msg)
	cmds := reflect.TypeFor[[]tea.Cmd]()
	if v.Kind() != reflect.Slice || !v.Type().ConvertibleTo(cmds) {
		return nil, false
	}
	return v.Convert(cmds).Interface().([]tea.Cmd), true
}

// pump delivers the events that the calls have queued.
func (h *harness) pump() {
	for {
		ps := h.parked
		h.parked = nil
		for _, p := range ps {
			p := p
			h.run(func() tea.Msg {
				select {
				case ev, ok := <-p.ch:
					return eventMsg{gen: p.gen, ev: ev, ok: ok}
				default:
					return parked(p)
				}
			})
		}
		if len(h.parked) == len(ps) {
			return // nothing moved
		}
	}
}

// emit has the current call send events, and delivers them.
func (h *harness) emit(evs ...event.Event) {
	h.t.Helper()
	for _, ev := range evs {
		h.last().emit(ev)
	}
	h.pump()
}

// fire delivers the scheduled timer messages.
func (h *harness) fire() {
	ts := h.timers
	h.timers = nil
	for _, msg := range ts {
		h.send(msg)
	}
}

func (h *harness) last() *fakeCall {
	h.t.Helper()
	if len(h.calls) == 0 {
		h.t.Fatal("no call was made")
	}
	return h.calls[len(h.calls)-1]
}

// typeText types s one key at a time.
func (h *harness) typeText(s string) {
	for _, r := range s {
		if r == ' ' {
			h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			continue
		}
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// paste delivers s as one bracketed paste.
func (h *harness) paste(s string) {
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s), Paste: true})
}

func (h *harness) key(t tea.KeyType) { h.send(tea.KeyMsg{Type: t}) }

func (h *harness) view() string { return h.m.View() }

// connect takes the harness from start to a connected call as the caller.
func (h *harness) connect() {
	h.t.Helper()
	h.paste(testAnswer)
	if h.m.active != onCall {
		h.t.Fatalf("after a valid answer the screen is %v; want the call screen\n%s", h.m.active, h.view())
	}
	h.emit(event.StateEvent{State: event.StateConnecting}, event.StateEvent{State: event.StateConnected, Route: event.RouteSrflx})
}
