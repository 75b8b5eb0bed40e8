package headless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"parley/internal/event"
	"parley/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeCall records what Run asks of it; its events are the test's.
type fakeCall struct {
	sound  bool
	events chan event.Event

	mu        sync.Mutex
	accepted  []string
	joined    []string
	sent      []string
	muted     []bool
	verified  int
	hungUp    int
	whenDeliv int
	closed    int
	devices   []string
}

func newFake(sound bool) *fakeCall {
	return &fakeCall{sound: sound, events: make(chan event.Event, 16)}
}

func (f *fakeCall) Invite(context.Context) (string, error) { return "PLYIinvite", nil }
func (f *fakeCall) Accept(a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a == "bad" {
		return errors.New("that is not an answer code")
	}
	f.accepted = append(f.accepted, a)
	return nil
}
func (f *fakeCall) Join(_ context.Context, inv string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joined = append(f.joined, inv)
	return "PLYAanswer", nil
}
func (f *fakeCall) Send(t string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, t)
	return uint64(len(f.sent)), nil
}
func (f *fakeCall) Verify()          { f.mu.Lock(); f.verified++; f.mu.Unlock() }
func (f *fakeCall) SetMuted(on bool) { f.mu.Lock(); f.muted = append(f.muted, on); f.mu.Unlock() }
func (f *fakeCall) HasSound() bool   { return f.sound }
func (f *fakeCall) UseDevice(input bool, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices = append(f.devices, fmt.Sprint(input, " ", name))
	return nil
}
func (f *fakeCall) HangUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hungUp++; f.hungUp == 1 {
		f.events <- event.ByeEvent{Reason: "hung up"}
	}
}
func (f *fakeCall) HangUpWhenDelivered() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.whenDeliv++; f.whenDeliv == 1 {
		f.events <- event.ByeEvent{Reason: "hung up"}
	}
}
func (f *fakeCall) Close() error               { f.mu.Lock(); f.closed++; f.mu.Unlock(); return nil }
func (f *fakeCall) Events() <-chan event.Event { return f.events }

// run runs a call on f with the given input, and returns its output and
// exit status.
func run(t *testing.T, f *fakeCall, role Role, code, input string, stats bool) (string, int) {
	t.Helper()
	var out strings.Builder
	done := make(chan int)
	go func() {
		done <- Run(context.Background(), Options{
			Role: role, Code: code, Stats: stats,
			NewCall: func() (Call, error) { return f, nil },
			In:      strings.NewReader(input),
			Out:     &out,
		})
	}()
	select {
	case code := <-done:
		return out.String(), code
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s")
	}
	return "", 0
}

// syncBuffer is output that a test can wait on.
type syncBuffer struct{ syncbuf.Buffer }

// waitFor waits until the output holds s.
func (b *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output within 5 s:\n%s", s, b.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCallerScript(t *testing.T) {
	f := newFake(true)
	f.events <- event.AudioEvent{Available: true} // no line
	f.events <- event.StateEvent{State: event.StateConnected, Route: event.RouteHost, Detail: "connected directly"}
	f.events <- event.ChatEvent{ID: 1, Text: "hi\x1b[2J there"}
	f.events <- event.PeerMutedEvent{Muted: true}
	f.events <- event.LevelsEvent{} // no line
	f.events <- event.StatsEvent{RTT: time.Millisecond}
	pr, pw := io.Pipe()
	var out syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(context.Background(), Options{Role: Caller, NewCall: func() (Call, error) { return f, nil }, In: pr, Out: &out})
	}()
	io.WriteString(pw, "\n  \nPLYAanswer\n")
	out.waitFor(t, "peer_mute")
	for _, l := range []string{"hello", "//slash", "/mute", "/unmute", "/verify", "/in  Desk Mic ", "/out speakers", "/in", "/nope"} {
		io.WriteString(pw, l+"\n")
	}
	out.waitFor(t, "/nope")
	pw.Close()
	code := <-done
	want := `{"type":"invite","code":"PLYIinvite"}
{"type":"state","state":"connected","route":"host","detail":"connected directly"}
{"type":"chat","from":"peer","text":"hi there"}
{"type":"peer_mute","muted":true}
{"type":"mute","muted":true}
{"type":"mute","muted":false}
{"type":"error","message":"/in needs a device: /in NAME (see 'parley devices')"}
{"type":"error","message":"/nope: unknown command; commands: /quit, /verify, /mute, /unmute, /in NAME, /out NAME (start a line with // to send a leading slash)"}
{"type":"bye","reason":"hung up"}
`
	if out.String() != want || code != ExitOK {
		t.Errorf("exit %d, output:\n%s\nwant exit 0, output:\n%s", code, out.String(), want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.accepted) != 1 || f.accepted[0] != "PLYAanswer" {
		t.Errorf("accepted %q; want the first non-empty line", f.accepted)
	}
	if strings.Join(f.sent, "|") != "hello|/slash" {
		t.Errorf("sent %q; want hello and /slash", f.sent)
	}
	if strings.Join(f.devices, "|") != "true Desk Mic|false speakers" {
		t.Errorf("devices asked for %q; want the microphone Desk Mic, the speaker speakers", f.devices)
	}
	if len(f.muted) != 2 || !f.muted[0] || f.muted[1] || f.verified != 1 {
		t.Errorf("muted %v, verified %d; want [true false], 1", f.muted, f.verified)
	}
	if f.whenDeliv != 1 || f.closed == 0 {
		t.Errorf("at EOF: HangUpWhenDelivered %d times, closed %d; want once, closed", f.whenDeliv, f.closed)
	}
}

func TestCalleeArgument(t *testing.T) {
	f := newFake(false)
	out, code := run(t, f, Callee, "PLYIgiven", "/mute\n/quit\n", false)
	want := `{"type":"answer","code":"PLYAanswer"}
{"type":"error","message":"no audio in this call: nothing to mute"}
{"type":"bye","reason":"hung up"}
`
	if out != want || code != ExitOK {
		t.Errorf("exit %d, output:\n%s\nwant exit 0, output:\n%s", code, out, want)
	}
	if len(f.joined) != 1 || f.joined[0] != "PLYIgiven" || f.hungUp != 1 {
		t.Errorf("joined %q, hung up %d; want the argument, once", f.joined, f.hungUp)
	}
}

func TestBadAnswer(t *testing.T) {
	out, code := run(t, newFake(false), Caller, "", "bad\n", false)
	want := `{"type":"invite","code":"PLYIinvite"}
{"type":"error","message":"that is not an answer code"}
{"type":"bye","reason":"that is not an answer code"}
`
	if out != want || code != ExitFailure {
		t.Errorf("exit %d, output:\n%s\nwant exit 1, output:\n%s", code, out, want)
	}
}

func TestEOFBeforeCode(t *testing.T) {
	out, code := run(t, newFake(false), Caller, "", "", false)
	if want := "{\"type\":\"invite\",\"code\":\"PLYIinvite\"}\n{\"type\":\"bye\",\"reason\":\"hung up\"}\n"; out != want || code != ExitOK {
		t.Errorf("exit %d, output %q; want 0, %q", code, out, want)
	}
}

func TestFailedCall(t *testing.T) {
	f := newFake(false)
	f.events <- event.ByeEvent{Reason: "the connection failed", Err: errors.New("failed"), Undelivered: []uint64{2, 3}}
	pr, pw := io.Pipe() // input stays open
	defer pw.Close()
	var out strings.Builder
	code := Run(context.Background(), Options{Role: Callee, Code: "PLYI", NewCall: func() (Call, error) { return f, nil }, In: pr, Out: &out})
	want := `{"type":"answer","code":"PLYAanswer"}
{"type":"undelivered","message":"2 of your messages were not delivered","ids":[2,3]}
{"type":"bye","reason":"the connection failed"}
`
	if out.String() != want || code != ExitFailure {
		t.Errorf("exit %d, output:\n%s\nwant exit 1, output:\n%s", code, out.String(), want)
	}
}

func TestNewCallFails(t *testing.T) {
	var out strings.Builder
	code := Run(context.Background(), Options{NewCall: func() (Call, error) { return nil, errors.New("no network") }, In: strings.NewReader(""), Out: &out})
	if want := "{\"type\":\"error\",\"message\":\"no network\"}\n{\"type\":\"bye\",\"reason\":\"no network\"}\n"; out.String() != want || code != ExitFailure {
		t.Errorf("exit %d, output %q; want 1, %q", code, out.String(), want)
	}
}

func TestSignalHangsUp(t *testing.T) {
	f := newFake(false)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan int)
	go func() {
		done <- Run(ctx, Options{Role: Callee, Code: "PLYI", NewCall: func() (Call, error) { return f, nil }, In: pr, Out: io.Discard})
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != ExitOK || f.hungUp != 1 {
			t.Errorf("exit %d, hung up %d; want 0, once", code, f.hungUp)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling did not end the call")
	}
}

func TestLineStats(t *testing.T) {
	e := event.StatsEvent{RTT: 1234 * time.Microsecond, LossIn: 0.01234, LossOut: 0.5, Jitter: 2 * time.Millisecond, BitrateIn: 32000, BitrateOut: 31000}
	if got, want := string(marshal(Line(e, event.RouteRelay))), `{"type":"stats","route":"relay","rtt_ms":1.2,"loss_in":0.012,"loss_out":0.5,"jitter_ms":2,"bitrate_in":32000,"bitrate_out":31000}`; got != want {
		t.Errorf("text only:\n got %s\nwant %s", got, want)
	}
	e.Sound = &event.SoundStats{Target: 40 * time.Millisecond, Delay: 41260 * time.Microsecond, Frames: 7, Concealed: 1, FEC: 2, Late: 3, MicPeak: -3.04, MicRMS: -12, PeerPeak: -6, PeerRMS: -20.55, Complexity: 9}
	if got, want := string(marshal(Line(e, event.RouteHost))), `{"type":"stats","route":"host","rtt_ms":1.2,"loss_in":0.012,"loss_out":0.5,"jitter_ms":2,"bitrate_in":32000,"bitrate_out":31000,"jb_target_ms":40,"jb_delay_ms":41.3,"frames":7,"concealed":1,"fec":2,"late":3,"mic_peak_dbfs":-3,"mic_rms_dbfs":-12,"peer_peak_dbfs":-6,"peer_rms_dbfs":-20.6,"opus_complexity":9}`; got != want {
		t.Errorf("with sound:\n got %s\nwant %s", got, want)
	}
	e.Sound.Link = &event.LinkStats{Delay: 2560 * time.Microsecond, BytesIn: 10, BytesOut: 20, PacketsIn: 1, PacketsOut: 2, Dropped: 3}
	if got, want := string(marshal(Line(e, event.RouteHost))), `"opus_complexity":9,"agent_delay_ms":2.6,"agent_bytes_in":10,"agent_bytes_out":20,"agent_packets_in":1,"agent_packets_out":2,"agent_dropped":3}`; !strings.HasSuffix(got, want) {
		t.Errorf("with an audio agent:\n got %s\nwant it to end %s", got, want)
	}
	if got, want := string(marshal(Line(event.AudioEvent{Fault: "the sound server went away"}, ""))), `{"type":"audio","state":"lost","message":"the sound server went away"}`; got != want {
		t.Errorf("a lost sound:\n got %s\nwant %s", got, want)
	}
	if got, want := string(marshal(Line(event.AudioEvent{Available: true, Back: true}, ""))), `{"type":"audio","state":"on","message":"the sound is back"}`; got != want {
		t.Errorf("the sound back:\n got %s\nwant %s", got, want)
	}
	for _, e := range []event.Event{event.AudioEvent{}, event.AudioEvent{Available: true}, event.LevelsEvent{}, event.DeliveredEvent{ID: 1}} {
		if l := Line(e, ""); l != nil {
			t.Errorf("%T has a line %v; want none", e, l)
		}
	}
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
