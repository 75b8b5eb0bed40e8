package session

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"parley/audio"
	"parley/audio/jitter"
	"parley/internal/event"
	"parley/rtc"
	"parley/voice"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeCall is a call whose events the test sends.
type fakeCall struct {
	events chan event.Event
	mu     sync.Mutex
	muted  []bool
	closed int
}

func newFakeCall() *fakeCall { return &fakeCall{events: make(chan event.Event, 16)} }

func (f *fakeCall) WriteAudio(*rtp.Packet) error                 { return nil }
func (f *fakeCall) SetAudioReceiver(rtc.AudioReceiver)           {}
func (f *fakeCall) Stats() rtc.MediaStats                        { return rtc.MediaStats{} }
func (f *fakeCall) Invite(context.Context) (string, error)       { return "PLYI", nil }
func (f *fakeCall) Accept(string) error                          { return nil }
func (f *fakeCall) Join(context.Context, string) (string, error) { return "PLYA", nil }
func (f *fakeCall) Send(string) (uint64, error)                  { return 1, nil }
func (f *fakeCall) Verify()                                      {}
func (f *fakeCall) HangUp()                                      {}
func (f *fakeCall) HangUpWhenDelivered()                         {}
func (f *fakeCall) Events() <-chan event.Event                   { return f.events }
func (f *fakeCall) SetMuted(on bool)                             { f.mu.Lock(); f.muted = append(f.muted, on); f.mu.Unlock() }
func (f *fakeCall) Close() error                                 { f.mu.Lock(); f.closed++; f.mu.Unlock(); return nil }

// fakeSound records what the session does with it.
type fakeSound struct {
	mu       sync.Mutex
	starts   int
	startErr error
	err      error
	muted    []bool
	closed   int
	silent   bool
	stats    voice.Stats
}

func (f *fakeSound) Start(voice.Link) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	return f.startErr
}
func (f *fakeSound) SetMuted(on bool)   { f.mu.Lock(); f.muted = append(f.muted, on); f.mu.Unlock() }
func (f *fakeSound) Silent() bool       { return f.silent }
func (f *fakeSound) Stats() voice.Stats { return f.stats }
func (f *fakeSound) Err() error         { f.mu.Lock(); defer f.mu.Unlock(); return f.err }
func (f *fakeSound) Close() error       { f.mu.Lock(); f.closed++; f.mu.Unlock(); return nil }

func (f *fakeSound) startCount() int { f.mu.Lock(); defer f.mu.Unlock(); return f.starts }

// next returns the session's next event.
func next(t *testing.T, s *Session) event.Event {
	t.Helper()
	select {
	case e, ok := <-s.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return nil
}

func begin(t *testing.T, sound *fakeSound, note string) (*Session, *fakeCall) {
	t.Helper()
	c := newFakeCall()
	s := New(c)
	if sound == nil {
		s.Begin(nil, note)
	} else {
		s.Begin(sound, note)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func TestAudioEventFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sound *fakeSound
		note  string
		want  event.AudioEvent
	}{
		{"sound", &fakeSound{}, "", event.AudioEvent{Available: true}},
		{"no mic", &fakeSound{silent: true}, "", event.AudioEvent{Available: true, NoMic: true}},
		{"text only", nil, "no microphone or speaker found", event.AudioEvent{Note: "no microphone or speaker found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := begin(t, tc.sound, tc.note)
			if got := next(t, s); got != tc.want {
				t.Errorf("first event %#v; want %#v", got, tc.want)
			}
		})
	}
}

func TestStartsSoundOnConnect(t *testing.T) {
	sound := &fakeSound{}
	s, c := begin(t, sound, "")
	next(t, s) // AudioEvent
	c.events <- event.StateEvent{State: event.StateConnecting}
	next(t, s)
	if n := sound.startCount(); n != 0 {
		t.Fatalf("sound started %d times while connecting; want 0", n)
	}
	for range 2 { // connected, and again after an interruption
		c.events <- event.StateEvent{State: event.StateConnected, Route: event.RouteHost}
		if e := next(t, s); e != (event.StateEvent{State: event.StateConnected, Route: event.RouteHost}) {
			t.Errorf("got %#v; want the connected state", e)
		}
	}
	if n := sound.startCount(); n != 1 {
		t.Errorf("sound started %d times; want once", n)
	}
}

func TestSoundStartFails(t *testing.T) {
	sound := &fakeSound{startErr: errors.New("the speaker is gone")}
	s, c := begin(t, sound, "")
	next(t, s)
	c.events <- event.StateEvent{State: event.StateConnected}
	if e, ok := next(t, s).(event.StateEvent); !ok || e.State != event.StateConnected {
		t.Errorf("got %#v; want the connected state first", e)
	}
	e, ok := next(t, s).(event.ErrorEvent)
	if want := "audio: the speaker is gone; the call goes on as text only"; !ok || e.Err.Error() != want {
		t.Errorf("got %#v; want an error %q", e, want)
	}
}

func TestMute(t *testing.T) {
	sound := &fakeSound{}
	s, c := begin(t, sound, "")
	s.SetMuted(true)
	s.SetMuted(false)
	if want := []bool{true, false}; !slices.Equal(sound.muted, want) || !slices.Equal(c.muted, want) {
		t.Errorf("sound muted %v, peer told %v; want %v both", sound.muted, c.muted, want)
	}

	text, c2 := begin(t, nil, "")
	text.SetMuted(true)
	if text.HasSound() || len(c2.muted) != 0 {
		t.Errorf("a text-only call: HasSound %v, peer told %v; want false, nothing", text.HasSound(), c2.muted)
	}
}

func TestStatsCarrySound(t *testing.T) {
	sound := &fakeSound{stats: voice.Stats{
		Stats:      jitter.Stats{Target: 40 * time.Millisecond, Delay: 45 * time.Millisecond, Frames: 100, Concealed: 2, FEC: 1, Late: 3},
		Levels:     voice.Levels{Mic: audio.Level{Peak: -3, RMS: -12}, Peer: audio.Level{Peak: -6, RMS: -20}},
		Complexity: 9,
	}}
	s, c := begin(t, sound, "")
	next(t, s)
	c.events <- event.StatsEvent{RTT: time.Millisecond, BitrateIn: 32000}
	e, ok := next(t, s).(event.StatsEvent)
	want := event.SoundStats{Target: 40 * time.Millisecond, Delay: 45 * time.Millisecond, Frames: 100, Concealed: 2, FEC: 1, Late: 3,
		MicPeak: -3, MicRMS: -12, PeerPeak: -6, PeerRMS: -20, Complexity: 9}
	if !ok || e.Sound == nil || *e.Sound != want || e.RTT != time.Millisecond || e.BitrateIn != 32000 {
		t.Errorf("got %#v; want the call's figures with the sound's %+v", e, want)
	}

	text, c2 := begin(t, nil, "")
	next(t, text)
	c2.events <- event.StatsEvent{RTT: time.Millisecond}
	if e, ok := next(t, text).(event.StatsEvent); !ok || e.Sound != nil {
		t.Errorf("text only: got %#v; want no sound figures", e)
	}
}

// linkSound is a sound across a link, as an audio agent's is.
type linkSound struct{ fakeSound }

func (*linkSound) LinkStats() event.LinkStats {
	return event.LinkStats{Delay: 3 * time.Millisecond, BytesIn: 100, BytesOut: 200, PacketsIn: 1, PacketsOut: 2}
}

// TestStatsCarryLink: an audio agent's sound adds its link's figures.
func TestStatsCarryLink(t *testing.T) {
	c := newFakeCall()
	s := New(c)
	s.Begin(&linkSound{}, "")
	t.Cleanup(func() { s.Close() })
	next(t, s)
	c.events <- event.StatsEvent{}
	e, ok := next(t, s).(event.StatsEvent)
	if !ok || e.Sound == nil || e.Sound.Link == nil || *e.Sound.Link != (event.LinkStats{Delay: 3 * time.Millisecond, BytesIn: 100, BytesOut: 200, PacketsIn: 1, PacketsOut: 2}) {
		t.Errorf("got %#v; want the link's figures", e)
	}
}

func TestSoundErrorSaidOnce(t *testing.T) {
	sound := &fakeSound{}
	s, c := begin(t, sound, "")
	next(t, s)
	sound.mu.Lock()
	sound.err = errors.New("the sound server went away")
	sound.mu.Unlock()
	var errs []string
	for range 3 {
		c.events <- event.StatsEvent{}
	}
	c.events <- event.ByeEvent{Reason: "hung up"}
	for {
		e := next(t, s)
		if ee, ok := e.(event.ErrorEvent); ok {
			errs = append(errs, ee.Err.Error())
		}
		if _, ok := e.(event.ByeEvent); ok {
			break
		}
	}
	if want := "audio: the sound server went away; the call goes on as text only"; len(errs) != 1 || errs[0] != want {
		t.Errorf("errors %q; want one, %q", errs, want)
	}
}

func TestLevels(t *testing.T) {
	s, _ := begin(t, &fakeSound{}, "")
	next(t, s)
	s.OnLevels(voice.Levels{Mic: audio.Level{Peak: -1, RMS: -2}, Peer: audio.Level{Peak: -3, RMS: -4}})
	if e := next(t, s); e != (event.LevelsEvent{MicPeak: -1, MicRMS: -2, PeerPeak: -3, PeerRMS: -4}) {
		t.Errorf("got %#v", e)
	}
	// Levels the front has not read are dropped, never waited for.
	for range 100 {
		s.OnLevels(voice.Levels{})
	}
}

// TestCloseUnread: Close returns, and Events closes, with events unread;
// it closes the sound and the call once, however often it is called.
func TestCloseUnread(t *testing.T) {
	sound := &fakeSound{}
	c := newFakeCall()
	s := New(c)
	s.Begin(sound, "")
	c.events <- event.StateEvent{State: event.StateConnecting}
	done := make(chan struct{})
	go func() {
		s.Close()
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with events unread")
	}
	for range s.Events() {
	}
	if sound.closed != 1 || c.closed != 1 {
		t.Errorf("sound closed %d times, call %d; want once each", sound.closed, c.closed)
	}
}

func TestCloseBeforeBegin(t *testing.T) {
	c := newFakeCall()
	s := New(c)
	s.Close()
	if _, ok := <-s.Events(); ok {
		t.Error("events open after Close")
	}
	s.Begin(&fakeSound{}, "") // too late: nothing starts
}
