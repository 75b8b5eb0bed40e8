package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"parley/internal/event"
)

// Screen is the screen the UI starts on.
type Screen int

// The screens Run can start on.
const (
	ScreenHome Screen = iota // the home menu (plain "parley")
	ScreenCall               // make an invite at once ("parley call")
	ScreenJoin               // the join screen ("parley join [CODE]")
	ScreenEcho               // the echo test ("parley echo")
)

// Options configure Run.
type Options struct {
	// NewCall makes a call; the UI makes one for each invite and for each
	// attempt to join. Required.
	NewCall func() (Call, error)
	// NewEcho, if set, makes the echo test: a call already connected to
	// this machine itself, so that the user hears their own voice as a
	// peer would. Nil leaves the echo test out.
	NewEcho func() (Call, error)
	// Start is the first screen.
	Start Screen
	// JoinCode is the invite given as "parley join CODE"; with ScreenJoin
	// it is checked at once.
	JoinCode string
	// Notify rings the terminal's bell, or shows a desktop notification
	// where the terminal supports one (see notifySequence), when a message
	// arrives while the terminal is not in focus, or cannot tell.
	Notify bool
	// Input and Output default to the terminal.
	Input  io.Reader
	Output io.Writer
	// Clock defaults to the system clock.
	Clock Clock
	// Getenv reads TMUX, TERM, NO_COLOR and CLICOLOR_FORCE; it defaults
	// to os.Getenv.
	Getenv func(string) string
}

// Run runs the terminal UI until the user quits. It returns nil after a
// normal quit, and an error only when the terminal cannot be used. Any
// call still open when the UI stops is hung up (with a brief wait for the
// peer's bye) and closed before Run returns.
func Run(opts Options) error {
	if opts.NewCall == nil {
		return errors.New("tui: Options.NewCall is nil")
	}
	out := opts.Output
	if out == nil {
		out = os.Stdout
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	clock := opts.Clock
	if clock == nil {
		clock = systemClock{}
	}

	// Styles: colour where the terminal has it; with NO_COLOR, bold and
	// reverse video still (NO_COLOR is about colour), and nothing at all
	// where the output is not a terminal.
	r := lipgloss.NewRenderer(out)
	withColour := getenv("NO_COLOR") == ""
	r.SetColorProfile(colourProfile(termenv.NewOutput(out), isTerminal(out), getenv))
	dark := r.HasDarkBackground() // asks the terminal now, before Bubble Tea reads its input

	term := lockedOutput(out)
	tr := &tracker{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sh := &shared{
		keys:   DefaultKeyMap(),
		styles: DefaultStyles(r, withColour),
		clock:  clock,
		clip:   newClipboard(term, getenv("TMUX")),
		notify: newNotifier(opts.Notify, term, getenv),
		dark:   dark,
	}
	m := newModel(sh, config{
		newCall:  tr.maker(opts.NewCall),
		newEcho:  tr.maker(opts.NewEcho),
		start:    opts.Start,
		joinCode: opts.JoinCode,
		ctx:      ctx,
	})

	popts := []tea.ProgramOption{tea.WithOutput(term), tea.WithFilter(filter), tea.WithReportFocus()}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	_, err := tea.NewProgram(m, popts...).Run()
	cancel()
	tr.closeAll(hangUpWait)
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
		return nil
	}
	return err
}

// filter turns SIGINT and SIGTERM, which Bubble Tea reports as
// InterruptMsg and QuitMsg, into a clean hang-up. A QuitMsg from the model
// itself (in phaseDone) passes.
func filter(m tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.InterruptMsg:
		return interruptMsg{}
	case tea.QuitMsg:
		if mm, ok := m.(*model); ok && mm.phase != phaseDone {
			return interruptMsg{}
		}
	}
	return msg
}

// tracker keeps every call the UI makes, so that Run can close whatever is
// left when the program stops, including a call still being made.
type tracker struct {
	mu      sync.Mutex
	calls   []*trackedCall
	stopped bool
}

var errQuitting = errors.New("parley is quitting")

// maker returns newCall with its calls tracked; nil stays nil.
func (t *tracker) maker(newCall func() (Call, error)) func() (Call, error) {
	if newCall == nil {
		return nil
	}
	return func() (Call, error) { return t.make(newCall) }
}

func (t *tracker) make(newCall func() (Call, error)) (Call, error) {
	t.mu.Lock()
	stopped := t.stopped
	t.mu.Unlock()
	if stopped {
		return nil, errQuitting
	}
	c, err := newCall()
	if err != nil {
		return nil, err
	}
	tc := &trackedCall{Call: c}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		_ = c.Close()
		return nil, errQuitting
	}
	t.calls = append(t.calls, tc)
	return tc, nil
}

// closeAll hangs up every call not yet closed, waits up to wait for their
// events to end, and closes them.
func (t *tracker) closeAll(wait time.Duration) {
	t.mu.Lock()
	t.stopped = true
	calls := t.calls
	t.mu.Unlock()
	var open []*trackedCall
	for _, c := range calls {
		if !c.closed.Load() {
			c.HangUp()
			open = append(open, c)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, c := range open {
		waitClosed(ctx, c.Events())
		_ = c.Close()
	}
}

// waitClosed drains events until the channel is closed or ctx is done.
func waitClosed(ctx context.Context, events <-chan event.Event) {
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// trackedCall remembers whether it was closed.
type trackedCall struct {
	Call
	closed atomic.Bool
}

func (c *trackedCall) Close() error {
	c.closed.Store(true)
	return c.Call.Close()
}

// unwrap returns the engine's call under a trackedCall, for the optional
// interfaces (Muter, Verifier) it may implement.
func unwrap(c Call) Call {
	if tc, ok := c.(*trackedCall); ok {
		return tc.Call
	}
	return c
}
