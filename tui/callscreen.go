package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"parley/internal/event"
	"parley/internal/safetext"
)

type lineKind int

const (
	lineMine lineKind = iota
	linePeer
	lineCall // something about the call itself
)

type delivery int

const (
	sending delivery = iota
	delivered
	undelivered
)

// chatLine is one entry of the chat history. Its text is already
// sanitised.
type chatLine struct {
	kind   lineKind
	text   string
	at     time.Time
	id     uint64 // of a message of mine
	status delivery
}

// callScreen is the screen of a call: status, levels, safety words, the
// chat and an input line. After the call it stays, with the end said in
// plain words and what to do next.
type callScreen struct {
	sh       *shared
	call     Call
	muter    Muter
	verifier Verifier

	devicePicker DevicePicker // nil: devices cannot be switched
	picker       *picker      // the devices being picked from, if open

	state                event.State
	route                event.Route
	detail               string
	connectedAt, endedAt time.Time
	stats                *event.StatsEvent
	levels               *event.LevelsEvent
	audio                *event.AudioEvent
	words                string
	verified, muted      bool
	peerMuted            bool

	lines    []chatLine
	vp       viewport.Model
	unseen   int // lines come in while scrolled up, not yet in view
	input    chatInput
	help     help.Model
	showHelp bool

	notice    string
	noticeErr bool
	hangingUp bool
	ended     bool
	bye       event.ByeEvent

	width, height int
}

func newCallScreen(sh *shared, call Call) *callScreen {
	in := newChatInput(&sh.styles, "› ", "type a message; enter sends it")
	h := help.New()
	h.Styles = sh.styles.HelpStyle
	s := &callScreen{sh: sh, call: call, state: event.StateConnecting, input: in, help: h, vp: viewport.New(80, 10)}
	s.vp.KeyMap = viewport.KeyMap{} // scrolling is done here, never by typed letters
	s.muter, _ = unwrap(call).(Muter)
	s.verifier, _ = unwrap(call).(Verifier)
	s.devicePicker, _ = unwrap(call).(DevicePicker)
	s.SetSize(80, 24)
	return s
}

// Init does nothing: events come through the root model.
func (s *callScreen) Init() tea.Cmd { return nil }

// fixedRows is how many rows the screen uses besides the chat, with an
// input of one row: the header's five, a rule, the input, a notice and
// the footer. The header's rows are fixed, whatever they show.
const fixedRows = 9

// SetSize sets the screen's size and reflows the chat.
func (s *callScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.help.Width = width
	s.input.SetSize(width, min(maxInputRows, max(height-fixedRows, 1)))
	s.layout()
}

// layout sizes the chat to the room the input leaves, and reflows it; the
// chat stays at its end if it was there.
func (s *callScreen) layout() {
	atBottom := s.vp.AtBottom()
	extra := 0
	if !s.ended {
		extra = s.input.Height() - 1
	}
	s.vp.Width = s.width
	s.vp.Height = max(s.height-fixedRows-extra, 1)
	s.vp.SetContent(s.renderChat())
	if atBottom {
		s.vp.GotoBottom()
	}
	s.seen()
}

// refresh re-renders the chat into the viewport; it follows the end when
// asked to or when it was already there.
func (s *callScreen) refresh(follow bool) {
	atBottom := s.vp.AtBottom()
	s.vp.SetContent(s.renderChat())
	if follow || atBottom {
		s.vp.GotoBottom()
	}
	s.seen()
}

// seen forgets the count of unseen lines once the chat is at its end.
func (s *callScreen) seen() {
	if s.vp.AtBottom() {
		s.unseen = 0
	}
}

func (s *callScreen) addLine(l chatLine) {
	s.lines = append(s.lines, l)
	s.refresh(l.kind == lineMine)
	if !s.vp.AtBottom() {
		s.unseen++
	}
}

func (s *callScreen) setNotice(text string, isErr bool) { s.notice, s.noticeErr = text, isErr }

// markHangingUp shows that the call is being hung up.
func (s *callScreen) markHangingUp() {
	s.hangingUp = true
	s.setNotice("hanging up…", false)
}

// Update handles the call's events and the keys.
func (s *callScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	now := s.sh.clock.Now()
	switch msg := msg.(type) {
	case event.StateEvent:
		s.onState(msg, now)
	case event.ChatEvent:
		at := msg.At
		if at.IsZero() {
			at = now
		}
		s.addLine(chatLine{kind: linePeer, text: safetext.Clean(msg.Text), at: at})
	case devicesMsg:
		switch {
		case s.ended:
		case msg.err != nil:
			s.setNotice("! could not list the devices: "+oneLine(msg.err), true)
		case len(msg.mics)+len(msg.speakers) == 0:
			s.setNotice("no microphones or speakers found; see 'parley devices'", false)
		default:
			s.setNotice("", false)
			s.picker = newPicker(msg.mics, msg.speakers)
		}
	case event.DeliveredEvent:
		for i := range s.lines {
			if s.lines[i].kind == lineMine && s.lines[i].id == msg.ID {
				s.lines[i].status = delivered
			}
		}
		s.refresh(false)
	case event.ErrorEvent:
		s.setNotice("! "+oneLine(msg.Err), true)
	case event.LevelsEvent:
		s.levels = &msg
	case event.StatsEvent:
		s.stats = &msg
	case event.VerifyEvent:
		s.words = strings.Join(strings.Fields(safetext.Clean(msg.Words)), " ")
	case event.AudioEvent:
		msg.Note = oneLine(errString(msg.Note))
		switch {
		case msg.Fault != "":
			msg.Note = oneLine(errString(msg.Fault))
			s.setNotice("! "+msg.Note, true)
		case msg.Back:
			s.setNotice("✓ the sound is back", false)
		case msg.Found:
			s.setNotice(strings.Join(strings.Fields(safetext.Clean("✓ found sound: in "+msg.In+", out "+msg.Out)), " "), false)
		}
		s.audio = &msg
	case event.PeerMutedEvent:
		s.peerMuted = msg.Muted
	case copiedMsg:
		switch {
		case msg.err != nil:
			s.setNotice("! could not copy: "+msg.err.Error(), true)
		case msg.hint != "":
			s.setNotice("! "+msg.hint, true)
		default:
			s.setNotice("✓ sent the last message to your clipboard (through the terminal)", false)
		}
	case tea.KeyMsg:
		rows := s.input.Height()
		cmd := s.key(msg, now)
		if s.input.Height() != rows {
			s.layout()
		}
		return s, cmd
	}
	return s, nil
}

// errString lets oneLine clean a plain string.
type errString string

func (e errString) Error() string { return string(e) }

func (s *callScreen) onState(e event.StateEvent, now time.Time) {
	prev := s.state
	s.state, s.detail = e.State, oneLine(errString(e.Detail))
	if e.Route != "" {
		s.route = e.Route
	}
	switch {
	case e.State == event.StateConnected && prev != event.StateConnected:
		if s.connectedAt.IsZero() {
			s.connectedAt = now
			s.addLine(chatLine{kind: lineCall, text: "connected, " + routeWords(s.route), at: now})
		} else {
			s.addLine(chatLine{kind: lineCall, text: "connection back, " + routeWords(s.route), at: now})
		}
	case e.State == event.StateDisconnected && prev != event.StateDisconnected:
		text := "connection interrupted; waiting for it to come back"
		if s.detail != "" {
			text = "connection interrupted: " + s.detail
		}
		s.addLine(chatLine{kind: lineCall, text: text, at: now})
	}
}

// end shows how the call ended.
func (s *callScreen) end(bye event.ByeEvent) {
	if s.ended {
		return
	}
	now := s.sh.clock.Now()
	s.ended, s.bye, s.endedAt = true, bye, now
	s.hangingUp = false
	s.notice = ""
	s.input.focused = false
	s.stats, s.levels = nil, nil // nothing is live any more
	lost := map[uint64]bool{}
	for _, id := range bye.Undelivered {
		lost[id] = true
	}
	for i := range s.lines {
		if s.lines[i].kind == lineMine && lost[s.lines[i].id] {
			s.lines[i].status = undelivered
		}
	}
	s.lines = append(s.lines, chatLine{kind: lineCall, text: "call ended: " + byeReason(bye), at: now})
	s.layout() // the input's rows are the banner's now
	s.refresh(true)
}

func (s *callScreen) key(k tea.KeyMsg, now time.Time) tea.Cmd {
	keys := s.sh.keys
	if s.picker != nil {
		s.pickerKey(k)
		return nil
	}
	switch {
	case matches(k, keys.Help):
		s.showHelp = !s.showHelp
		return nil
	case s.showHelp && matches(k, keys.CloseHelp):
		s.showHelp = false
		return nil
	case matches(k, keys.LineUp):
		s.vp.ScrollUp(1)
		s.seen()
		return nil
	case matches(k, keys.LineDown):
		s.vp.ScrollDown(1)
		s.seen()
		return nil
	case matches(k, keys.PageUp):
		s.vp.PageUp()
		return nil
	case matches(k, keys.PageDown):
		s.vp.PageDown()
		s.seen()
		return nil
	case matches(k, keys.CopyMessage):
		return s.copyLast()
	}
	if s.ended {
		switch {
		case matches(k, keys.Home):
			return msgCmd(goHomeMsg{})
		case matches(k, keys.NewInvite):
			return msgCmd(startCallMsg{})
		case matches(k, keys.QuitEnded):
			return msgCmd(quitMsg{})
		}
		return nil
	}
	switch {
	case matches(k, keys.Send):
		s.send(now)
	case matches(k, keys.Mute):
		if !s.canMute() {
			what := "audio"
			if s.audio != nil && s.audio.Available {
				what = "microphone"
			}
			s.setNotice("no "+what+" in this call: nothing to mute", false)
			break
		}
		s.muted = !s.muted
		s.muter.SetMuted(s.muted)
		s.setNotice("", false)
	case matches(k, keys.Devices):
		if s.devicePicker == nil {
			s.setNotice("this call cannot switch devices", false)
			break
		}
		s.setNotice("listing the devices…", false)
		return listDevices(s.devicePicker)
	case matches(k, keys.Verify):
		switch {
		case s.verifier == nil:
			s.setNotice("this call has no safety words to compare", false)
		case s.words == "":
			s.setNotice("no safety words yet: they appear once the call is connected", false)
		default:
			s.verifier.Verify()
			s.verified = true
			s.setNotice("", false)
		}
	case matches(k, keys.HangUp):
		if !s.hangingUp {
			s.markHangingUp()
			return msgCmd(hangUpMsg{})
		}
	default:
		return s.input.Update(k)
	}
	return nil
}

// send sends the input's text, line breaks and all (but for blank lines
// at its start and end). On an error the text stays in the input.
func (s *callScreen) send(now time.Time) {
	text := strings.Trim(s.input.Value(), "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	id, err := s.call.Send(text)
	if err != nil {
		s.setNotice("! not sent: "+oneLine(err), true)
		return
	}
	s.setNotice("", false)
	s.input.Reset()
	s.addLine(chatLine{kind: lineMine, text: safetext.Clean(text), at: now, id: id})
}

func (s *callScreen) copyLast() tea.Cmd {
	for i := len(s.lines) - 1; i >= 0; i-- {
		if s.lines[i].kind == linePeer {
			return s.sh.clip.copyCmd("message", s.lines[i].text)
		}
	}
	s.setNotice("nothing to copy yet: your peer has sent no message", false)
	return nil
}

// pending lists the ids of my messages not yet received.
func (s *callScreen) pending() []uint64 {
	var ids []uint64
	for _, l := range s.lines {
		if l.kind == lineMine && l.status == sending {
			ids = append(ids, l.id)
		}
	}
	return ids
}

// routeWords says how the call travels.
func routeWords(route event.Route) string {
	switch route {
	case event.RouteHost:
		return "direct (local network)"
	case event.RouteSrflx:
		return "direct (through NAT)"
	case event.RoutePrflx:
		return "direct (an address found while connecting)"
	case event.RouteRelay:
		return "relayed (through a TURN server)"
	}
	return "direct"
}

// byeReason says how a call ended, in plain words.
func byeReason(bye event.ByeEvent) string {
	r := oneLine(errString(bye.Reason))
	switch {
	case r == "hung up" && bye.Err == nil:
		r = "you hung up"
	case r == "":
		r = "the call ended"
	}
	if n := len(bye.Undelivered); n == 1 {
		r += "; 1 message was not delivered"
	} else if n > 1 {
		r += fmt.Sprintf("; %d messages were not delivered", n)
	}
	return r
}

// View renders the screen.
func (s *callScreen) View() string {
	st := &s.sh.styles
	w := s.width
	rule := st.Rule.Render(strings.Repeat("─", max(w, 1)))
	rows := []string{
		s.headerView(),
		truncate(s.statsView(), w),
		truncate(s.metersView(), w),
		truncate(s.wordsView(), w),
		rule,
	}
	if s.picker != nil {
		rows = append(rows, frame(s.pickerView(), "", w, s.vp.Height))
	} else if s.showHelp {
		var all []key.Binding
		for _, g := range s.FullHelp() {
			all = append(all, g...)
		}
		rows = append(rows, frame(keyList(st, all, w), "", w, s.vp.Height))
	} else {
		rows = append(rows, s.vp.View())
	}
	rows = append(rows, s.belowChat(rule))
	if s.ended {
		banner := wrapText(st.Banner.Render(byeReason(s.bye)+" — "+s.nextSteps()), w)
		rows = append(rows, frame(banner, "", w, 2))
	} else {
		rows = append(rows, truncateLines(s.input.View(), w))
		switch {
		case s.notice != "" && s.noticeErr:
			rows = append(rows, truncate(st.Error.Render(s.notice), w))
		case s.notice != "":
			rows = append(rows, truncate(s.notice, w))
		case s.detail != "" && s.state != event.StateConnected:
			rows = append(rows, truncate(st.Dim.Render(s.detail), w))
		default:
			rows = append(rows, "")
		}
	}
	rows = append(rows, footer(s.help, s.ShortHelp(), w))
	return frame(strings.Join(rows, "\n"), "", w, s.height)
}

// belowChat is the rule under the chat; while scrolled up it counts the
// lines that came in since ("3 new ↓").
func (s *callScreen) belowChat(rule string) string {
	if s.unseen == 0 || s.showHelp {
		return rule
	}
	st := &s.sh.styles
	label := fmt.Sprintf(" %d new ↓ ", s.unseen)
	left := max(s.width-lipgloss.Width(label)-2, 0)
	return truncate(st.Rule.Render(strings.Repeat("─", left))+st.Warn.Render(label)+st.Rule.Render("──"), s.width)
}

func (s *callScreen) nextSteps() string {
	if s.bye.Err != nil {
		return "n: try again with a new invite · enter: home · q: quit"
	}
	return "enter: home · n: new invite · q: quit"
}

func (s *callScreen) headerView() string {
	st := &s.sh.styles
	now := s.sh.clock.Now()
	var state string
	switch {
	case s.ended:
		state = st.Heading.Render("call ended")
	case s.hangingUp:
		state = st.Warn.Render("hanging up…")
	case s.state == event.StateConnected:
		state = st.Good.Render("connected") + " · " + routeWords(s.route)
	case s.state == event.StateDisconnected:
		state = st.Warn.Render("interrupted, reconnecting…")
	case s.state == event.StateFailed:
		state = st.Error.Render("connection failed")
	case s.state == event.StateClosed:
		state = st.Heading.Render("closed")
	default:
		state = st.Warn.Render("connecting…")
	}
	left := st.Title.Render("parley") + " · " + state
	if !s.connectedAt.IsZero() {
		end := now
		if s.ended {
			end = s.endedAt
		}
		left += " · " + fmtElapsed(end.Sub(s.connectedAt))
	}
	var mic string
	switch {
	case s.ended:
	case s.audio != nil && !s.audio.Available:
		mic = "text only"
	case s.audio != nil && s.audio.NoMic:
		mic = "no mic"
	case s.muter == nil:
		mic = "mic —"
	case s.muted:
		mic = st.Warn.Render("MUTED")
	default:
		mic = "mic on"
	}
	return spread(left, mic, s.width)
}

func (s *callScreen) statsView() string {
	st := &s.sh.styles
	if s.textOnly() {
		// No audio: loss, the jitter buffer and the bitrate say nothing.
		if s.stats == nil {
			return st.Dim.Render("RTT —")
		}
		return "RTT " + fmtMillis(s.stats.RTT)
	}
	if s.stats == nil {
		return st.Dim.Render("RTT — · loss — · buffer — · bitrate —")
	}
	x := s.stats
	var rates string
	if x.BitrateIn < 1_000_000 && x.BitrateOut < 1_000_000 {
		rates = fmt.Sprintf("↓%d ↑%d kb/s", (x.BitrateIn+500)/1000, (x.BitrateOut+500)/1000)
	} else {
		rates = "↓" + fmtRate(x.BitrateIn) + " ↑" + fmtRate(x.BitrateOut)
	}
	var buffer time.Duration
	link := ""
	if x.Sound != nil {
		buffer = x.Sound.Delay
		if l := x.Sound.Link; l != nil {
			// The audio agent's link adds its delay each way.
			link = " + ssh " + fmtMillis(l.Delay)
		}
	}
	line := fmt.Sprintf("RTT %s · loss ↓%s ↑%s · buffer %s%s · %s",
		fmtMillis(x.RTT), fmtLoss(x.LossIn), fmtLoss(x.LossOut), fmtMillis(buffer), link, rates)
	return line + cleanUps(x.Sound)
}

// cleanUps says which of the microphone's clean-ups run, and the echo's
// delay the canceller found, in few columns: " · AEC 104 ms NS AGC" (echo
// cancellation, noise suppression, gain control).
func cleanUps(s *event.SoundStats) string {
	if s == nil {
		return ""
	}
	var on []string
	if s.AEC {
		on = append(on, "AEC "+fmtMillis(s.EchoDelay))
	}
	if s.NS {
		on = append(on, "NS")
	}
	if s.AGC {
		on = append(on, "AGC")
	}
	if len(on) == 0 {
		return ""
	}
	return " · " + strings.Join(on, " ")
}

func (s *callScreen) metersView() string {
	st := &s.sh.styles
	if s.textOnly() {
		note := s.audio.Note
		if note == "" {
			note = "no audio — text only"
		}
		return st.Warn.Render("audio: ") + note
	}
	half := (s.width - 3) / 2
	var micRMS, micPeak, peerRMS, peerPeak float64
	have := s.levels != nil
	if have {
		micRMS, micPeak, peerRMS, peerPeak = s.levels.MicRMS, s.levels.MicPeak, s.levels.PeerRMS, s.levels.PeerPeak
	}
	note := func(muted bool) string {
		if muted {
			return "muted"
		}
		return ""
	}
	micNote := note(s.muted)
	if s.audio != nil && s.audio.NoMic {
		micNote = "no mic"
	}
	return s.meter("mic", micRMS, micPeak, have, micNote, half) + "   " + s.meter("peer", peerRMS, peerPeak, have, note(s.peerMuted), half)
}

// meterFloor is the quietest level a meter shows, in dBFS.
const meterFloor = -60.0

// meter draws one level meter of width cells: the bar is filled to the
// RMS level, a │ marks the peak, and the RMS level is written after it.
func (s *callScreen) meter(label string, rms, peak float64, have bool, note string, width int) string {
	st := &s.sh.styles
	val := "  —   "
	switch {
	case note != "":
		val = fmt.Sprintf("%-6s", note)
	case have:
		val = fmt.Sprintf("%3.0f dB", math.Max(math.Min(rms, 0), -99))
	}
	barW := max(width-4-1-1-6, 3)
	pos := func(db float64) int {
		if math.IsNaN(db) || db <= meterFloor {
			return 0
		}
		return int(math.Round(math.Min(db-meterFloor, -meterFloor) / -meterFloor * float64(barW)))
	}
	filled, peakAt := 0, -1
	if have && note == "" {
		filled = pos(rms)
		peakAt = pos(peak) - 1
	}
	var on, off strings.Builder
	for i := 0; i < barW; i++ {
		switch {
		case i < filled:
			on.WriteRune('█')
		case i == peakAt:
			off.WriteRune('│')
		default:
			off.WriteRune('░')
		}
	}
	return fmt.Sprintf("%-4s ", label) + st.Meter.Render(on.String()) + st.MeterOff.Render(off.String()) + " " + val
}

// wordsView shows the safety words whole (five words of the PGP list
// take up to 53 columns) and as much of the hint after them as fits.
func (s *callScreen) wordsView() string {
	st := &s.sh.styles
	label := "safety words: "
	if s.words == "" {
		return label + st.Dim.Render("—")
	}
	if lipgloss.Width(label+s.words) > s.width {
		label = "words: "
	}
	line := label + st.Heading.Render(s.words)
	var hints []string
	switch key := s.sh.keys.Verify.Help().Key; {
	case s.verified:
		hints = []string{" " + st.Success.Render("✓ you said they match"), " " + st.Success.Render("✓")}
	case s.ended:
		// Too late to compare them.
	case s.verifier != nil:
		hints = []string{st.Dim.Render(" — compare aloud; " + key + ": they match"), st.Dim.Render(" — " + key + ": they match")}
	default:
		hints = []string{st.Dim.Render(" — compare them aloud with your peer"), st.Dim.Render(" — compare them aloud")}
	}
	for _, h := range hints {
		if lipgloss.Width(line+h) <= s.width {
			return line + h
		}
	}
	return line
}

// renderChat lays the chat out at the screen's width: time, who, text,
// and a mark for my messages (… sending, ✓ received, ✗ not delivered).
func (s *callScreen) renderChat() string {
	st := &s.sh.styles
	if len(s.lines) == 0 {
		if s.state == event.StateConnected {
			return st.Dim.Render("No messages yet. Type below; enter sends.")
		}
		return st.Dim.Render("Messages you type are sent once the call connects.")
	}
	const indent = 12 // "15:04 peer  "
	textW := max(s.width-indent, 10)
	var out []string
	for _, l := range s.lines {
		stamp := st.Dim.Render(l.at.Format("15:04")) + " "
		var who, mark string
		style := func(text string) string { return text }
		switch l.kind {
		case lineMine:
			who = st.Me.Render("you ")
			switch l.status {
			case sending:
				mark = st.Dim.Render("…")
			case delivered:
				mark = st.Success.Render("✓")
			case undelivered:
				mark = st.Error.Render("✗ not delivered")
			}
		case linePeer:
			who = st.Peer.Render("peer")
		case lineCall:
			who = st.Event.Render("──  ")
			style = func(text string) string { return st.Event.Render(text) }
		}
		// Line breaks in a message are rows of their own, under its text.
		wrapped := wrapWords(l.text, textW)
		for i := range wrapped {
			wrapped[i] = style(wrapped[i])
		}
		if n := len(wrapped) - 1; mark != "" && lipgloss.Width(wrapped[n])+1+lipgloss.Width(mark) <= textW {
			wrapped[n] += " " + mark
		} else if mark != "" {
			wrapped = append(wrapped, mark)
		}
		for i, wl := range wrapped {
			if i == 0 {
				out = append(out, stamp+who+"  "+wl)
			} else {
				out = append(out, strings.Repeat(" ", indent)+wl)
			}
		}
	}
	return strings.Join(out, "\n")
}

// canMute reports whether the call has a microphone to mute: a Muter,
// and audio that is not text only, with a microphone.
func (s *callScreen) canMute() bool {
	return s.muter != nil && (s.audio == nil || s.audio.Available && !s.audio.NoMic)
}

// textOnly reports whether the call is known to have no audio.
func (s *callScreen) textOnly() bool { return s.audio != nil && !s.audio.Available }

// ShortHelp lists the call's main keys for the footer.
func (s *callScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	scroll := key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "scroll"))
	if s.ended {
		return []key.Binding{k.Home, k.NewInvite, scroll, k.QuitEnded}
	}
	copyMsg := k.CopyMessage
	copyMsg.SetHelp(copyMsg.Help().Key, "copy")
	bs := []key.Binding{k.HangUp, copyMsg, scroll, k.Help}
	if s.canMute() {
		mute := k.Mute
		if s.muted {
			mute.SetHelp(mute.Help().Key, "unmute")
		}
		bs = append([]key.Binding{mute}, bs...)
	}
	return bs
}

// FullHelp lists all of the call's keys.
func (s *callScreen) FullHelp() [][]key.Binding {
	k := s.sh.keys
	first := []key.Binding{k.Send}
	if s.canMute() {
		first = append(first, k.Mute)
	}
	first = append(first, k.HangUp, k.Verify)
	if s.devicePicker != nil {
		first = append(first, k.Devices)
	}
	return [][]key.Binding{
		first,
		{k.LineUp, k.LineDown, k.PageUp, k.PageDown},
		{k.CopyMessage, k.Redraw, k.Help, k.CloseHelp, k.Quit},
	}
}
