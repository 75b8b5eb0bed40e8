// Package headless runs a call without a terminal UI, for scripts, tests
// and SSH hosts without a TTY.
//
// Standard output carries JSON lines, one object per event, each with a
// "type":
//
//	{"type":"invite","code":"PLI…"}           caller, first line
//	{"type":"answer","code":"PLA…"}           callee, first line
//	{"type":"state","state":"connected","route":"host"}
//	{"type":"chat","from":"peer","text":"…"}
//	{"type":"verify","words":"tycoon puberty beaming Babylon briefcase"}   the safety words
//	{"type":"stats","route":"host","rtt_ms":0.4,…}   with Options.Stats
//	{"type":"error","message":"…"}
//	{"type":"audio","state":"lost","message":"…"}   the sound failed mid-call; "on" once it is back
//	{"type":"undelivered","message":"2 of your messages were not delivered","ids":[4,5]}
//	{"type":"bye","reason":"peer hung up"}    always the last line
//
// "state" is connecting, connected, disconnected, failed or closed; "route"
// (host, srflx, prflx or relay) comes with connected, and "detail", when
// present, says in plain words what is going on ("reconnecting…" with
// disconnected, after 2 s without a word from the peer). "undelivered" comes just
// before "bye" when some messages never reached the peer; ids number this
// side's messages from 1, in the order they were sent.
//
// Standard input carries the peer's code first (the caller reads the
// answer as the first non-empty line; the callee reads the invite there
// unless it was given as an argument), then one chat message per line.
// A line starting with "/" is a command: /quit hangs up, /verify marks the
// safety words as compared and equal, /mute and /unmute mute and unmute
// the microphone (answered by a "mute" line; the peer gets a "peer_mute"
// line), /in NAME and /out NAME switch the microphone or the speaker
// (answered by an "audio" line); "//" sends a literal leading
// slash. EOF hangs up once every message read has been delivered, for as
// long as delivery goes on; /quit, SIGINT and SIGTERM hang up within two
// seconds, and a second SIGINT ends the process at once.
//
// Diagnostics go to standard error, never to standard output.
package headless

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"parley/internal/event"
	"parley/internal/safetext"
)

// Exit statuses.
const (
	ExitOK      = 0 // a normal hang-up by either side
	ExitFailure = 1 // a bad code, a failed or lost connection
	ExitUsage   = 2
)

// Role says which side of the call this is.
type Role int

// The two roles.
const (
	Caller Role = iota
	Callee
)

// Options configure Run.
type Options struct {
	Role Role
	// Code is the invite, for a callee given it as an argument.
	Code string
	// NewCall makes the call, with its sound (a *session.Session).
	NewCall func() (Call, error)
	// Stats prints a stats line every second while connected.
	Stats bool
	In    io.Reader
	Out   io.Writer
}

// Call is what headless mode needs of a call and its sound; a
// *session.Session is one.
type Call interface {
	Invite(ctx context.Context) (string, error)
	Accept(answer string) error
	Join(ctx context.Context, invite string) (string, error)
	Send(text string) (uint64, error)
	Verify()
	// SetMuted mutes the microphone and tells the peer.
	SetMuted(on bool)
	// HasSound reports whether there is a microphone or speaker to mute.
	HasSound() bool
	// UseDevice switches the microphone (input) or the speaker to the
	// device name names, as --audio-in and --audio-out take it; an
	// "audio" line says how it went.
	UseDevice(input bool, name string) error
	HangUp()
	HangUpWhenDelivered()
	Close() error
	Events() <-chan event.Event
}

// Run runs one call and returns the process's exit status. It returns when
// the call ends; cancelling ctx hangs up.
func Run(ctx context.Context, o Options) int {
	lines := readLines(o.In)
	defer lines.stop()
	out := newWriter(ctx, o.Out, lines.quitting)
	defer out.close()

	call, err := o.NewCall()
	if err != nil {
		return out.fail(err)
	}
	defer call.Close()

	switch o.Role {
	case Caller:
		code, err := call.Invite(ctx)
		if err != nil {
			return out.fail(err)
		}
		out.write(codeMsg{Type: "invite", Code: code})
		answer, ok := lines.first(ctx)
		if !ok {
			out.write(byeMsg{Type: "bye", Reason: "hung up"})
			return ExitOK
		}
		if err := call.Accept(answer); err != nil {
			return out.fail(err)
		}
	case Callee:
		invite := o.Code
		if strings.TrimSpace(invite) == "" {
			var ok bool
			if invite, ok = lines.first(ctx); !ok {
				out.write(byeMsg{Type: "bye", Reason: "hung up"})
				return ExitOK
			}
		}
		code, err := call.Join(ctx, invite)
		if err != nil {
			return out.fail(err)
		}
		out.write(codeMsg{Type: "answer", Code: code})
	}
	return converse(ctx, call, lines, out, o)
}

// converse relays events to the output and input lines to the call until
// the call ends.
func converse(ctx context.Context, call Call, lines *lineReader, out *writer, o Options) int {
	var route event.Route
	input := lines.c
	done := ctx.Done()
	for {
		select {
		case <-done:
			done = nil
			call.HangUp()
		case l, ok := <-input:
			if !ok {
				input = nil
				call.HangUpWhenDelivered()
				continue
			}
			if err := command(call, out, l); err != nil {
				out.write(errorMsg{Type: "error", Message: err.Error()})
			}
		case e, ok := <-call.Events():
			if !ok {
				out.write(byeMsg{Type: "bye", Reason: "closed"})
				return ExitFailure
			}
			if bye, ok := e.(event.ByeEvent); ok {
				if n := len(bye.Undelivered); n > 0 {
					out.write(undeliveredMsg{Type: "undelivered", Message: undelivered(n), IDs: bye.Undelivered})
				}
				out.write(byeMsg{Type: "bye", Reason: bye.Reason})
				if bye.Err != nil {
					return ExitFailure
				}
				return ExitOK
			}
			switch e := e.(type) {
			case event.StateEvent:
				if e.State == event.StateConnected {
					route = e.Route
				}
			case event.StatsEvent:
				if !o.Stats {
					continue
				}
			}
			if l := Line(e, route); l != nil {
				out.write(l)
			}
		}
	}
}

// errUnknownCommand is returned for a line such as "/foo".
var errUnknownCommand = errors.New("unknown command; commands: /quit, /verify, /mute, /unmute, /in NAME, /out NAME (start a line with // to send a leading slash)")

// command carries out one input line: a command, or a chat message.
func command(call Call, out *writer, line string) error {
	switch {
	case strings.TrimSpace(line) == "":
		return nil
	case strings.HasPrefix(line, "//"):
		line = line[1:]
	case strings.HasPrefix(line, "/"):
		switch strings.TrimSpace(line) {
		case "/quit":
			call.HangUp()
			return nil
		case "/verify":
			call.Verify()
			return nil
		case "/in", "/out":
			return errors.New(strings.TrimSpace(line) + " needs a device: " + strings.TrimSpace(line) + " NAME (see 'parley devices')")
		case "/mute", "/unmute":
			if !call.HasSound() {
				return errors.New("no audio in this call: nothing to mute")
			}
			on := strings.TrimSpace(line) == "/mute"
			call.SetMuted(on)
			out.write(muteMsg{Type: "mute", Muted: on})
			return nil
		}
		if f := strings.Fields(line); f[0] == "/in" || f[0] == "/out" {
			return call.UseDevice(f[0] == "/in", strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), f[0])))
		}
		return fmt.Errorf("%s: %w", strings.Fields(line)[0], errUnknownCommand)
	}
	_, err := call.Send(line)
	return err
}

type codeMsg struct {
	Type string `json:"type"`
	Code string `json:"code"`
}

type stateMsg struct {
	Type   string `json:"type"`
	State  string `json:"state"`
	Route  string `json:"route,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type chatMsg struct {
	Type string `json:"type"`
	From string `json:"from"`
	Text string `json:"text"`
}

type muteMsg struct {
	Type  string `json:"type"`
	Muted bool   `json:"muted"`
}

type verifyMsg struct {
	Type     string `json:"type"`
	Words    string `json:"words"`
	Verified bool   `json:"verified,omitempty"`
}

// statsMsg is the --stats line. Times are in milliseconds, losses are
// fractions, bitrates bits per second, levels dBFS.
type statsMsg struct {
	Type       string  `json:"type"`
	Route      string  `json:"route"`
	RTT        float64 `json:"rtt_ms"`
	LossIn     float64 `json:"loss_in"`
	LossOut    float64 `json:"loss_out"`
	Jitter     float64 `json:"jitter_ms"`
	BitrateIn  int     `json:"bitrate_in"`
	BitrateOut int     `json:"bitrate_out"`

	JitterTarget *float64 `json:"jb_target_ms,omitempty"`
	JitterDelay  *float64 `json:"jb_delay_ms,omitempty"`
	Frames       *uint64  `json:"frames,omitempty"`
	Concealed    *uint64  `json:"concealed,omitempty"`
	FEC          *uint64  `json:"fec,omitempty"`
	Late         *uint64  `json:"late,omitempty"`
	MicPeak      *float64 `json:"mic_peak_dbfs,omitempty"`
	MicRMS       *float64 `json:"mic_rms_dbfs,omitempty"`
	PeerPeak     *float64 `json:"peer_peak_dbfs,omitempty"`
	PeerRMS      *float64 `json:"peer_rms_dbfs,omitempty"`
	Complexity   *int     `json:"opus_complexity,omitempty"`
	AEC          bool     `json:"aec,omitempty"`
	NS           bool     `json:"ns,omitempty"`
	AGC          bool     `json:"agc,omitempty"`
	EchoDelay    *float64 `json:"aec_delay_ms,omitempty"`

	// With an audio agent ('parley ssh'): the link's one-way delay, which
	// adds to mouth-to-ear, and what the link carried.
	AgentDelay      *float64 `json:"agent_delay_ms,omitempty"`
	AgentBytesIn    *uint64  `json:"agent_bytes_in,omitempty"`
	AgentBytesOut   *uint64  `json:"agent_bytes_out,omitempty"`
	AgentPacketsIn  *uint64  `json:"agent_packets_in,omitempty"`
	AgentPacketsOut *uint64  `json:"agent_packets_out,omitempty"`
	AgentDropped    *uint64  `json:"agent_dropped,omitempty"`
}

func newStatsMsg(e event.StatsEvent, route event.Route) statsMsg {
	m := statsMsg{
		Type: "stats", Route: string(route),
		RTT: ms(e.RTT), LossIn: round3(e.LossIn), LossOut: round3(e.LossOut), Jitter: ms(e.Jitter),
		BitrateIn: e.BitrateIn, BitrateOut: e.BitrateOut,
	}
	if s := e.Sound; s != nil {
		m.JitterTarget, m.JitterDelay = ptr(ms(s.Target)), ptr(ms(s.Delay))
		m.Frames, m.Concealed, m.FEC, m.Late = ptr(s.Frames), ptr(s.Concealed), ptr(s.FEC), ptr(s.Late)
		m.MicPeak, m.MicRMS = ptr(round1(s.MicPeak)), ptr(round1(s.MicRMS))
		m.PeerPeak, m.PeerRMS = ptr(round1(s.PeerPeak)), ptr(round1(s.PeerRMS))
		m.Complexity = ptr(s.Complexity)
		m.AEC, m.NS, m.AGC = s.AEC, s.NS, s.AGC
		if s.AEC {
			m.EchoDelay = ptr(ms(s.EchoDelay))
		}
		if l := s.Link; l != nil {
			m.AgentDelay = ptr(ms(l.Delay))
			m.AgentBytesIn, m.AgentBytesOut = ptr(l.BytesIn), ptr(l.BytesOut)
			m.AgentPacketsIn, m.AgentPacketsOut = ptr(l.PacketsIn), ptr(l.PacketsOut)
			m.AgentDropped = ptr(l.Dropped)
		}
	}
	return m
}

func ptr[T any](v T) *T { return &v }

func ms(d time.Duration) float64 { return round1(float64(d) / float64(time.Millisecond)) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

type errorMsg struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// undeliveredMsg lists the messages the peer never received, by the ids
// their "sent" lines gave.
type undeliveredMsg struct {
	Type    string   `json:"type"`
	Message string   `json:"message"`
	IDs     []uint64 `json:"ids"`
}

func undelivered(n int) string {
	if n == 1 {
		return "1 of your messages was not delivered"
	}
	return fmt.Sprintf("%d of your messages were not delivered", n)
}

type byeMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// writer writes JSON lines from a goroutine of its own. A slow reader
// holds back write, and so the call's events, whose queue then drops the
// peer's messages unacknowledged. Once the user asks to leave (ctx is
// done: a signal; or leave is closed: /quit was read) write waits at most
// stallWait for room: a reader that reads loses nothing, and once one has
// not made room in that time it counts as stopped, write no longer waits,
// and what cannot be written is dropped. Without that, a reader that has
// stopped reading would keep the hang-up from happening, and /quit, read
// by the loop that writes, from ever being seen. A write error (a closed
// pipe) is remembered and the rest is dropped, since nobody is reading.
// write is for one goroutine, Run's.
type writer struct {
	lines   chan []byte
	done    chan struct{}
	quit    <-chan struct{}
	leave   <-chan struct{}
	stalled bool // the reader made no room within stallWait
}

// stallWait is how long, once the user has asked to leave, write waits for
// a reader to make room before it counts as stopped.
const stallWait = 100 * time.Millisecond

func newWriter(ctx context.Context, out io.Writer, leave <-chan struct{}) *writer {
	w := &writer{lines: make(chan []byte, 64), done: make(chan struct{}), quit: ctx.Done(), leave: leave}
	go func() {
		defer close(w.done)
		var err error
		for b := range w.lines {
			if err == nil {
				_, err = out.Write(b)
			}
		}
	}()
	return w
}

func (w *writer) write(v any) {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	select {
	case w.lines <- b:
		return
	case <-w.quit:
	case <-w.leave:
	}
	if !w.stalled {
		t := time.NewTimer(stallWait)
		defer t.Stop()
		select {
		case w.lines <- b:
			return
		case <-t.C:
			w.stalled = true
		}
	}
	select {
	case w.lines <- b:
	default:
	}
}

// close lets the last lines out, waiting at most flushWait for a reader
// that has stopped reading.
func (w *writer) close() {
	close(w.lines)
	select {
	case <-w.done:
	case <-time.After(flushWait):
	}
}

// flushWait bounds the wait for the last lines at exit.
const flushWait = 200 * time.Millisecond

func (w *writer) fail(err error) int {
	w.write(errorMsg{Type: "error", Message: err.Error()})
	w.write(byeMsg{Type: "bye", Reason: err.Error()})
	return ExitFailure
}

// Line returns the JSON object that reports e, or nil for an event that
// has no line. route is the call's route, for stats.
func Line(e event.Event, route event.Route) any {
	switch e := e.(type) {
	case event.StateEvent:
		return stateMsg{Type: "state", State: string(e.State), Route: string(e.Route), Detail: e.Detail}
	case event.ChatEvent:
		return chatMsg{Type: "chat", From: "peer", Text: safetext.Clean(e.Text)}
	case event.VerifyEvent:
		return verifyMsg{Type: "verify", Words: e.Words, Verified: e.Verified}
	case event.PeerMutedEvent:
		return muteMsg{Type: "peer_mute", Muted: e.Muted}
	case event.ErrorEvent:
		return errorMsg{Type: "error", Message: e.Err.Error()}
	case event.StatsEvent:
		return newStatsMsg(e, route)
	case event.ByeEvent:
		return byeMsg{Type: "bye", Reason: e.Reason}
	case event.AudioEvent:
		switch {
		case e.Fault != "":
			return audioMsg{Type: "audio", State: "lost", Message: e.Fault}
		case e.Back:
			return audioMsg{Type: "audio", State: "on", Message: "the sound is back", In: e.In, Out: e.Out}
		case e.Found:
			return audioMsg{Type: "audio", State: "on", Message: "found sound: in " + e.In + ", out " + e.Out, In: e.In, Out: e.Out}
		case e.Switched:
			return audioMsg{Type: "audio", State: "on", Message: "in " + e.In + ", out " + e.Out, In: e.In, Out: e.Out}
		}
	}
	return nil
}

// audioMsg says that the sound failed mid-call ("lost": the call goes on
// as text only) or came back ("on").
type audioMsg struct {
	Type    string `json:"type"`
	State   string `json:"state"`
	Message string `json:"message"`
	In      string `json:"in,omitempty"`
	Out     string `json:"out,omitempty"`
}

// lineReader delivers input lines on c, which is closed at EOF. Its
// goroutine ends at EOF, or after stop once the next line arrives.
// quitting is closed as soon as a /quit line is read, before it is
// delivered.
type lineReader struct {
	c        chan string
	quit     chan struct{}
	once     sync.Once
	quitting chan struct{}
}

func readLines(r io.Reader) *lineReader {
	l := &lineReader{c: make(chan string), quit: make(chan struct{}), quitting: make(chan struct{})}
	go func() {
		defer close(l.c)
		br := bufio.NewReader(r)
		quitSeen := false
		for {
			s, err := br.ReadString('\n')
			if s != "" {
				line := strings.TrimRight(s, "\r\n")
				if strings.TrimSpace(line) == "/quit" && !quitSeen {
					quitSeen = true
					close(l.quitting)
				}
				select {
				case l.c <- line:
				case <-l.quit:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return l
}

// first returns the first non-empty line; false at EOF or cancellation.
func (l *lineReader) first(ctx context.Context) (string, bool) {
	for {
		select {
		case s, ok := <-l.c:
			if !ok {
				return "", false
			}
			if strings.TrimSpace(s) != "" {
				return s, true
			}
		case <-ctx.Done():
			return "", false
		}
	}
}

func (l *lineReader) stop() { l.once.Do(func() { close(l.quit) }) }
