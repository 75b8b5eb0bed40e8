package tui

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"parley/internal/event"
)

// hangUpWait is how long quitting waits for the peer to acknowledge a
// hang-up before closing the call anyway.
const hangUpWait = 2 * time.Second

// hangUpGrace is how long a hang-up during a call may take (the engine
// gives delivery and the byes 1.2 s) before the UI ends the call itself.
const hangUpGrace = 2 * time.Second

// shared is what every screen reads: keys, styles, the clock and the
// clipboard. It does not change once the program runs.
type shared struct {
	keys   KeyMap
	styles Styles
	clock  Clock
	clip   clipboard
	dark   bool // the terminal's background is dark (for the QR code)

	// notify is for a message that arrives while the user looks
	// elsewhere.
	notify notifier
}

// config is what the root model is built from.
type config struct {
	newCall  func() (Call, error)
	newEcho  func() (Call, error) // nil: no echo test
	start    Screen
	joinCode string
	ctx      context.Context // parent of every Invite and Join
	// tick schedules msg after d; tea.Tick in the program, and a stub
	// in tests that drive Update directly.
	tick func(d time.Duration, msg func(time.Time) tea.Msg) tea.Cmd
	// listen waits for a call's next event; waitEvent in the program.
	listen func(gen int, events <-chan event.Event) tea.Cmd
	// wrap, if set, wraps the screen each message goes to; tests use it
	// to see what the root does with a screen's commands.
	wrap func(screen) screen
}

// screen is what the root model needs of each screen.
type screen interface {
	tea.Model
	help.KeyMap
	SetSize(width, height int)
}

type screenID int

const (
	onHome screenID = iota
	onInvite
	onJoin
	onCall
)

// Messages of the root model.
type (
	// eventMsg carries one event of the call of generation gen; ok is
	// false once the channel is closed.
	eventMsg struct {
		gen int
		ev  event.Event
		ok  bool
	}
	// callClosedMsg says Close returned for the call of generation gen.
	callClosedMsg struct{ gen int }
	// hangUpMsg asks to hang up the current call.
	hangUpMsg struct{}
	// hangUpTimeoutMsg says the wait for the peer's bye is over.
	hangUpTimeoutMsg struct{ gen int }
	// tickMsg redraws elapsed times once a second.
	tickMsg struct{}
	// interruptMsg is a SIGINT or SIGTERM, turned into a clean quit.
	interruptMsg struct{}
)

// phase is where the root is in the current call's life, and in quitting.
// Each reachable mix of the old flags (ended, closing, closed, quitting,
// done) is one phase; moves lists the legal changes.
type phase int

const (
	phaseIdle          phase = iota // no call: home, or an invite or join under way
	phaseLive                       // a call is open and no bye has come
	phaseClosing                    // the bye came (or was given up on); Close is under way
	phaseEnded                      // Close returned; the call screen says how it ended
	phaseQuitHangingUp              // quitting: HangUp called, waiting for the bye (at most hangUpWait)
	phaseQuitClosing                // quitting: Close is under way; quit when it returns
	phaseDone                       // tea.Quit returned; Run closes what is left
)

func (p phase) String() string {
	switch p {
	case phaseIdle:
		return "idle"
	case phaseLive:
		return "live"
	case phaseClosing:
		return "closing"
	case phaseEnded:
		return "ended"
	case phaseQuitHangingUp:
		return "quit-hanging-up"
	case phaseQuitClosing:
		return "quit-closing"
	case phaseDone:
		return "done"
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// moves are the legal changes of phase, and what makes them.
var moves = map[phase][]phase{
	phaseIdle: {
		phaseLive, // adopt: a call is made (invite, join, echo)
		phaseDone, // requestQuit: nothing to hang up
	},
	phaseLive: {
		phaseClosing,       // bye: the ByeEvent, the events' end, or hangUpGrace over
		phaseIdle,          // dropCall: home, a new invite, join or echo
		phaseQuitHangingUp, // requestQuit
	},
	phaseClosing: {
		phaseEnded,       // callClosedMsg
		phaseIdle,        // dropCall
		phaseQuitClosing, // requestQuit: wait for Close
	},
	phaseEnded: {
		phaseIdle, // dropCall
		phaseDone, // requestQuit
	},
	phaseQuitHangingUp: {
		phaseQuitClosing, // bye: the ByeEvent, or hangUpWait over
		phaseDone,        // requestQuit again
	},
	phaseQuitClosing: {
		phaseDone, // callClosedMsg, or requestQuit again
	},
}

// can reports whether the root may move from p to next; staying is
// always allowed.
func (p phase) can(next phase) bool {
	return p == next || slices.Contains(moves[p], next)
}

// open reports whether a call is up and has not ended.
func (p phase) open() bool { return p == phaseLive || p == phaseQuitHangingUp }

// quitting reports whether the root is on its way out.
func (p phase) quitting() bool {
	return p == phaseQuitHangingUp || p == phaseQuitClosing || p == phaseDone
}

// model is the root of the UI. It owns the current call, routes messages
// to the active screen and turns the screens' intents into engine calls.
//
// A call has a generation number; messages from an older call's commands
// and events are recognised by it and dropped (and such a call closed).
type model struct {
	sh  *shared
	cfg config

	width, height int
	active        screenID
	home          *homeScreen
	invite        *inviteScreen
	join          *joinScreen
	talk          *callScreen

	gen    int
	call   Call
	cancel context.CancelFunc // stops an Invite or Join under way
	phase  phase

	// The screens before a call run inline, on the normal screen, under
	// the last code printed there; the call (and a QR code) take the
	// alternate screen. See Update.
	alt      bool   // the alternate screen has been asked for
	altAsks  int    // how many times it has been asked for
	altShown bool   // and Bubble Tea has switched to it
	printed  string // the last code printed above the UI
	titled   string // and the title printed over it

	focus focus // the terminal's focus, as it reports it
	echo  bool  // the call is the echo test: its messages are one's own
}

func newModel(sh *shared, cfg config) *model {
	if cfg.ctx == nil {
		cfg.ctx = context.Background()
	}
	if cfg.tick == nil {
		cfg.tick = tea.Tick
	}
	if cfg.listen == nil {
		cfg.listen = waitEvent
	}
	m := &model{sh: sh, cfg: cfg, width: 80, height: 24}
	m.home = newHomeScreen(sh)
	return m
}

// Init starts the clock and jumps to the first screen.
func (m *model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.tickCmd()}
	switch m.cfg.start {
	case ScreenCall:
		cmds = append(cmds, m.startInvite())
	case ScreenJoin:
		cmds = append(cmds, m.openJoin(m.cfg.joinCode))
	case ScreenEcho:
		cmds = append(cmds, m.startEcho())
	}
	return tea.Batch(cmds...)
}

func (m *model) tickCmd() tea.Cmd {
	return m.cfg.tick(time.Second, func(time.Time) tea.Msg { return tickMsg{} })
}

// to moves the root to phase next if moves allows it, and reports
// whether it did; an illegal move leaves the phase as it is.
func (m *model) to(next phase) bool {
	if !m.phase.can(next) {
		return false
	}
	m.phase = next
	return true
}

// quit moves to phaseDone and quits.
func (m *model) quit() tea.Cmd {
	m.to(phaseDone)
	return tea.Quit
}

func (m *model) current() screen { return m.screen(m.active) }

// screen returns screen id, or nil if it has not been made. Every
// message to a screen goes through it (see tell).
func (m *model) screen(id screenID) screen {
	var s screen = m.home
	switch id {
	case onInvite:
		if m.invite == nil {
			return nil
		}
		s = m.invite
	case onJoin:
		if m.join == nil {
			return nil
		}
		s = m.join
	case onCall:
		if m.talk == nil {
			return nil
		}
		s = m.talk
	}
	if m.cfg.wrap != nil {
		s = m.cfg.wrap(s)
	}
	return s
}

// tell hands msg to screen id and returns the screen's command.
func (m *model) tell(id screenID, msg tea.Msg) tea.Cmd {
	s := m.screen(id)
	if s == nil {
		return nil
	}
	_, cmd := s.Update(msg)
	return cmd
}

func (m *model) show(id screenID) {
	m.active = id
	m.screen(id).SetSize(m.width, m.screenHeight(id))
}

// fullScreen reports whether the active screen takes the alternate
// screen (see full).
func (m *model) fullScreen() bool { return m.phase != phaseDone && m.full(m.active) }

// full reports whether screen id takes the alternate screen: the call
// does, and so does a QR code, which needs every row. The others run
// inline, on the normal screen, so that the code printed above them is
// text the terminal wraps itself: selecting it, or "tmux capture-pane -J",
// gives it whole, and it stays in the scrollback after parley ends.
func (m *model) full(id screenID) bool {
	switch id {
	case onCall:
		return true
	case onInvite:
		return m.invite != nil && m.invite.code.showQR
	case onJoin:
		return m.join != nil && m.join.code.showQR
	}
	return false
}

// screenHeight is the height of screen id: the window's on the alternate
// screen; inline, what the code printed above leaves (at least 12 rows,
// or the window's if it is smaller).
func (m *model) screenHeight(id screenID) int {
	if m.full(id) || m.printed == "" {
		return m.height
	}
	rows := 2 + (lipgloss.Width(m.printed)+m.width-1)/max(m.width, 1) // the title, the code, a blank line
	return max(m.height-rows, min(m.height, 12))
}

// resize gives every screen its size.
func (m *model) resize() {
	m.home.SetSize(m.width, m.screenHeight(onHome))
	if m.invite != nil {
		m.invite.SetSize(m.width, m.screenHeight(onInvite))
	}
	if m.join != nil {
		m.join.SetSize(m.width, m.screenHeight(onJoin))
	}
	if m.talk != nil {
		m.talk.SetSize(m.width, m.screenHeight(onCall))
	}
}

// altScreenMsg says that Bubble Tea has switched to the alternate screen
// asked for the nth time.
type altScreenMsg struct{ n int }

// Update routes a message, then takes or leaves the alternate screen as
// the active screen needs (see fullScreen).
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(altScreenMsg); ok {
		m.altShown = m.alt && msg.n == m.altAsks
		return m, nil
	}
	_, cmd := m.route(msg)
	return m, m.screenMode(cmd)
}

// screenMode returns cmd with what takes or leaves the alternate screen,
// if the active screen needs the other. On quitting it leaves the
// alternate screen before quitting, so that the last, empty view clears
// the inline UI and the normal screen keeps only the printed codes.
func (m *model) screenMode(cmd tea.Cmd) tea.Cmd {
	want := m.fullScreen()
	if want == m.alt {
		return cmd
	}
	m.alt, m.altShown = want, false
	m.resize()
	switch {
	case m.phase == phaseDone:
		return tea.Sequence(tea.ExitAltScreen, cmd)
	case want:
		m.altAsks++
		return tea.Batch(cmd, tea.Sequence(tea.EnterAltScreen, msgCmd(altScreenMsg{n: m.altAsks})))
	}
	return tea.Batch(tea.ExitAltScreen, cmd)
}

// route handles a message.
func (m *model) route(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tea.KeyMsg:
		switch {
		case matches(msg, m.sh.keys.Quit):
			return m, m.requestQuit()
		case matches(msg, m.sh.keys.Redraw):
			return m, m.redraw()
		}
		if m.phase.quitting() {
			return m, nil
		}
	case tea.FocusMsg:
		m.focus = focusIn
		return m, nil
	case tea.BlurMsg:
		m.focus = focusOut
		return m, nil
	case tickMsg:
		return m, m.tickCmd()
	case interruptMsg, quitMsg:
		return m, m.requestQuit()
	case startCallMsg, openJoinMsg, startEchoMsg, goHomeMsg:
		if m.phase.quitting() {
			// One still on its way when quitting began: keep the call
			// being hung up, so that quitting finishes.
			return m, nil
		}
		return m, m.intent(msg)
	case echoStartedMsg:
		return m, m.echoStarted(msg)
	case inviteMadeMsg:
		return m, m.inviteMade(msg)
	case acceptedMsg:
		if msg.gen != m.gen || m.invite == nil {
			return m, nil
		}
		cmd := m.tell(onInvite, msg)
		if msg.err == nil && m.phase.open() {
			m.show(onCall)
		}
		return m, cmd
	case joinedMsg:
		return m, m.joined(msg)
	case eventMsg:
		return m, m.event(msg)
	case callClosedMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		switch m.phase {
		case phaseClosing:
			m.to(phaseEnded)
		case phaseQuitClosing:
			return m, m.quit()
		}
		return m, nil
	case hangUpMsg:
		if !m.phase.open() {
			return m, nil
		}
		m.call.HangUp()
		gen := m.gen
		return m, m.cfg.tick(hangUpGrace, func(time.Time) tea.Msg { return hangUpTimeoutMsg{gen: gen} })
	case hangUpTimeoutMsg:
		if msg.gen == m.gen && m.phase.open() {
			// No bye came: end the call here.
			return m, m.bye(event.ByeEvent{Reason: "hung up", Undelivered: m.talk.pending()})
		}
		return m, nil
	case copiedMsg:
		if m.active == onHome {
			return m, nil
		}
	}
	return m, m.tell(m.active, msg)
}

// intent carries out what a screen asked for.
func (m *model) intent(msg tea.Msg) tea.Cmd {
	switch msg.(type) {
	case startCallMsg:
		return m.startInvite()
	case openJoinMsg:
		return m.openJoin("")
	case startEchoMsg:
		return m.startEcho()
	case goHomeMsg:
		cmd := m.dropCall()
		m.home.setNotice("")
		m.show(onHome)
		return cmd
	}
	return nil
}

// View renders the active screen. It renders nothing once the UI has
// quit, and nothing while a full screen waits for the alternate screen:
// drawn inline, the call screen would scroll the code printed above out
// of view.
func (m *model) View() string {
	if m.phase == phaseDone || m.alt && !m.altShown {
		return ""
	}
	return m.current().View()
}

// startInvite drops any call and makes a fresh invite.
func (m *model) startInvite() tea.Cmd {
	drop := m.dropCall()
	gen := m.gen
	ctx, cancel := context.WithCancel(m.cfg.ctx)
	m.cancel = cancel
	m.invite = newInviteScreen(m.sh)
	m.show(onInvite)
	newCall := m.cfg.newCall
	return tea.Batch(drop, func() tea.Msg {
		call, err := newCall()
		if err != nil {
			return inviteMadeMsg{gen: gen, err: err}
		}
		code, err := call.Invite(ctx)
		if err != nil {
			_ = call.Close()
			return inviteMadeMsg{gen: gen, err: err}
		}
		return inviteMadeMsg{gen: gen, call: call, code: code}
	})
}

func (m *model) inviteMade(msg inviteMadeMsg) tea.Cmd {
	if msg.gen != m.gen || m.phase != phaseIdle {
		return closeCmd(msg.call)
	}
	m.cancel = nil
	if msg.err != nil {
		m.invite.fail(msg.err)
		return nil
	}
	listen := m.adopt(msg.call)
	call, gen := msg.call, m.gen
	m.invite.ready(msg.code, func(answer string) tea.Cmd {
		return func() tea.Msg { return acceptedMsg{gen: gen, err: call.Accept(answer)} }
	})
	return tea.Batch(listen, m.printCode("Your invite code; send it to your peer:", msg.code))
}

// openJoin drops any call and shows the join screen; a code given on the
// command line is checked at once.
func (m *model) openJoin(code string) tea.Cmd {
	drop := m.dropCall()
	m.join = newJoinScreen(m.sh, m.joinCmd)
	m.show(onJoin)
	if code == "" {
		return drop
	}
	return tea.Batch(drop, m.join.submitCode(code))
}

// joinCmd makes a call and joins the invite with it. A refused invite
// closes that call; the next attempt makes a new one.
func (m *model) joinCmd(invite string) tea.Cmd {
	gen := m.gen
	ctx, cancel := context.WithCancel(m.cfg.ctx)
	m.cancel = cancel
	newCall := m.cfg.newCall
	return func() tea.Msg {
		call, err := newCall()
		if err != nil {
			return joinedMsg{gen: gen, err: err}
		}
		answer, err := call.Join(ctx, invite)
		if err != nil {
			_ = call.Close()
			return joinedMsg{gen: gen, err: err}
		}
		return joinedMsg{gen: gen, call: call, answer: answer}
	}
}

func (m *model) joined(msg joinedMsg) tea.Cmd {
	if msg.gen != m.gen || m.phase != phaseIdle {
		return closeCmd(msg.call)
	}
	m.cancel = nil
	cmd := m.tell(onJoin, msg)
	if msg.err != nil {
		return cmd
	}
	return tea.Batch(cmd, m.adopt(msg.call), m.printCode("Your answer code; send it back to your peer:", msg.answer))
}

// startEcho drops any call and starts the echo test.
func (m *model) startEcho() tea.Cmd {
	if m.cfg.newEcho == nil {
		m.home.setNotice("The echo test is not available here.")
		return nil
	}
	drop := m.dropCall()
	m.home.setNotice("Starting the echo test…")
	m.show(onHome)
	gen, newEcho := m.gen, m.cfg.newEcho
	return tea.Batch(drop, func() tea.Msg {
		call, err := newEcho()
		return echoStartedMsg{gen: gen, call: call, err: err}
	})
}

func (m *model) echoStarted(msg echoStartedMsg) tea.Cmd {
	if msg.gen != m.gen || m.phase != phaseIdle {
		return closeCmd(msg.call)
	}
	if msg.err != nil {
		m.home.setNotice("Echo test: " + msg.err.Error())
		return nil
	}
	m.home.setNotice("")
	listen := m.adopt(msg.call)
	m.echo = true
	m.show(onCall)
	return listen
}

// adopt makes call the current one and starts listening to its events.
// The root is idle: every caller checks.
func (m *model) adopt(call Call) tea.Cmd {
	m.call, m.echo = call, false
	m.to(phaseLive)
	m.talk = newCallScreen(m.sh, call)
	m.talk.SetSize(m.width, m.screenHeight(onCall))
	return m.cfg.listen(m.gen, call.Events())
}

// waitEvent waits for the next event of a call; the root re-arms it after
// each one.
func waitEvent(gen int, events <-chan event.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-events
		return eventMsg{gen: gen, ev: ev, ok: ok}
	}
}

func (m *model) event(msg eventMsg) tea.Cmd {
	if msg.gen != m.gen || m.call == nil {
		return nil // an old call's: stop listening to it
	}
	if !msg.ok { // closed without a bye, if the call is still open
		return m.bye(event.ByeEvent{Reason: "the call was closed", Err: errClosed})
	}
	next := m.cfg.listen(m.gen, m.call.Events())
	switch ev := msg.ev.(type) {
	case event.ByeEvent:
		return m.bye(ev) // the last event: no re-arming
	case event.StateEvent:
		cmd := m.tell(onCall, ev)
		switch {
		case ev.State == event.StateConnected && m.active == onJoin:
			m.show(onCall)
		case ev.State == event.StateConnecting && m.active == onJoin:
			m.join.setHint(ev.Detail)
		}
		return tea.Batch(next, cmd)
	case event.ChatEvent:
		cmd := m.tell(onCall, ev)
		// Ring when the terminal says it is not in focus, or has said
		// nothing of its focus.
		if m.focus != focusIn && !m.echo {
			return tea.Batch(next, cmd, m.sh.notify.cmd())
		}
		return tea.Batch(next, cmd)
	default:
		return tea.Batch(next, m.tell(onCall, ev))
	}
}

// errClosed is the error of a call whose events ended without a bye.
var errClosed = errString("the call was closed")

// bye ends the current call, if it is open: the call screen says how,
// and the call is closed.
func (m *model) bye(ev event.ByeEvent) tea.Cmd {
	switch m.phase {
	case phaseLive:
		m.to(phaseClosing)
		m.talk.end(ev)
		m.show(onCall)
	case phaseQuitHangingUp:
		m.to(phaseQuitClosing)
		m.talk.end(ev)
	default:
		return nil // it has ended already
	}
	return m.closeCall()
}

// closeCall closes the current call in a command; callClosedMsg says it
// returned. Only bye calls it, once per call, leaving an open phase.
func (m *model) closeCall() tea.Cmd {
	call, gen := m.call, m.gen
	return func() tea.Msg {
		_ = call.Close()
		return callClosedMsg{gen: gen}
	}
}

// closeCmd closes a call that is no longer wanted.
func closeCmd(call Call) tea.Cmd {
	if call == nil {
		return nil
	}
	return func() tea.Msg {
		_ = call.Close()
		return nil
	}
}

// dropCall stops whatever the current call is doing and closes it, and
// starts a new generation, so that the old call's messages are dropped.
// Only the invite and join screens and the end of a call lead here, so
// there is no conversation to hang up politely; never while quitting.
func (m *model) dropCall() tea.Cmd {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	var cmd tea.Cmd
	if m.phase == phaseLive {
		cmd = closeCmd(m.call)
	}
	m.call = nil
	m.to(phaseIdle)
	m.gen++
	return cmd
}

// requestQuit hangs up and quits: HangUp, wait for the bye (at most
// hangUpWait), Close, quit. Asked a second time, it quits at once; Run
// closes what is left.
func (m *model) requestQuit() tea.Cmd {
	if m.phase.quitting() {
		return m.quit()
	}
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	switch m.phase {
	case phaseIdle, phaseEnded:
		return m.quit()
	case phaseClosing:
		m.to(phaseQuitClosing)
		return nil // callClosedMsg quits
	}
	m.to(phaseQuitHangingUp)
	m.call.HangUp()
	m.talk.markHangingUp()
	gen := m.gen
	return m.cfg.tick(hangUpWait, func(time.Time) tea.Msg { return hangUpTimeoutMsg{gen: gen} })
}

// printCode prints a code above the UI, on the normal screen, as one
// line that the terminal wraps itself, so that selecting it gives one
// unbroken word; the UI shrinks to leave it in view.
//
// Before the code it erases what the UI had drawn below the title:
// Bubble Tea does not erase the rest of a printed line wider than the
// window, so the old frame showed through after the end of the code. The
// erasing starts on the second row, not at the top left, where tmux would
// first scroll the whole screen into its history.
func (m *model) printCode(title, code string) tea.Cmd {
	m.printed, m.titled = code, title
	m.resize()
	return tea.Println(title + "\n" + ansi.EraseScreenBelow + code + "\n")
}

// redraw clears the screen and draws the UI anew (ctrl+l). Inline, the
// clearing takes the code printed above with it, so it prints it again.
func (m *model) redraw() tea.Cmd {
	if m.alt || m.printed == "" {
		return tea.ClearScreen
	}
	return tea.Sequence(tea.ClearScreen, tea.Println(m.titled+"\n"+ansi.EraseScreenBelow+m.printed+"\n"))
}
