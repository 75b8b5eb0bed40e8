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
func (f *fakeSound) SetMuted(on bool)        { f.mu.Lock(); f.muted = append(f.muted, on); f.mu.Unlock() }
func (f *fakeSound) Silent() bool            { return f.silent }
func (f *fakeSound) Stats() voice.Stats      { return f.stats }
func (f *fakeSound) Err() error              { f.mu.Lock(); defer f.mu.Unlock(); return f.err }
func (f *fakeSound) Names() (string, string) { return "Mic", "Speaker" }
func (f *fakeSound) Close() error            { f.mu.Lock(); f.closed++; f.mu.Unlock(); return nil }

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
		{"sound", &fakeSound{}, "", event.AudioEvent{Available: true, In: "Mic", Out: "Speaker"}},
		{"no mic", &fakeSound{silent: true}, "", event.AudioEvent{Available: true, NoMic: true, In: "Mic", Out: "Speaker"}},
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
	c.events <- event.StateEvent{State: event.StateConnected}
	next(t, s)
	sound.mu.Lock()
	sound.err = errors.New("the sound server went away")
	sound.mu.Unlock()
	var faults []string
	time.Sleep(3 * faultPoll)
	c.events <- event.ByeEvent{Reason: "hung up"}
	for {
		e := next(t, s)
		if a, ok := e.(event.AudioEvent); ok {
			faults = append(faults, a.Fault)
		}
		if _, ok := e.(event.ByeEvent); ok {
			break
		}
	}
	if want := "the sound server went away; the call goes on as text only"; len(faults) != 1 || faults[0] != want {
		t.Errorf("faults %q; want one, %q", faults, want)
	}
}

// TestSoundReopens: a sound that fails is said once, closed, and opened
// again until it opens; then it is said to be back, started, and keeps
// the mute.
func TestSoundReopens(t *testing.T) {
	first, second := &fakeSound{}, &fakeSound{}
	var mu sync.Mutex
	opens := 0
	c := newFakeCall()
	s := New(c)
	s.Open(func(func(voice.Levels)) (Sound, string, error) {
		mu.Lock()
		defer mu.Unlock()
		switch opens++; opens {
		case 1:
			return first, "", nil
		case 2:
			return nil, "", errors.New("the sound server is not there")
		case 3:
			return nil, "no microphone or speaker found", nil
		}
		return second, "", nil
	})
	defer s.Close()
	if e := next(t, s); e != (event.AudioEvent{Available: true, In: "Mic", Out: "Speaker"}) {
		t.Fatalf("got %#v; want the sound", e)
	}
	c.events <- event.StateEvent{State: event.StateConnected}
	next(t, s)
	s.SetMuted(true)
	first.mu.Lock()
	first.err = errors.New("sound device Mic stopped answering")
	first.mu.Unlock()
	lost := time.Now()
	e, ok := next(t, s).(event.AudioEvent)
	if !ok || e.Fault != "sound device Mic stopped answering; the call goes on as text only until it is back" {
		t.Fatalf("got %#v; want the fault", e)
	}
	if d := time.Since(lost); d > 2*faultPoll {
		t.Errorf("the fault was said after %v", d)
	}
	if s.HasSound() {
		t.Error("HasSound while the sound is lost")
	}
	if e := next(t, s); e != (event.AudioEvent{Available: true, In: "Mic", Out: "Speaker", Back: true}) {
		t.Fatalf("got %#v; want the sound back", e)
	}
	if d := time.Since(lost); d < 2*reopenEvery || d > 3*reopenEvery+time.Second {
		t.Errorf("back after %v; want after the two failed tries, about %v", d, 2*reopenEvery)
	}
	first.mu.Lock()
	closed := first.closed
	first.mu.Unlock()
	second.mu.Lock()
	defer second.mu.Unlock()
	if closed != 1 || second.starts != 1 || len(second.muted) != 1 || !second.muted[0] {
		t.Errorf("the failed sound closed %d times; the new one started %d times, muted %v; want 1, 1, [true]", closed, second.starts, second.muted)
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

// TestOpenOffThePath: the call's events pass while the sound is still
// opening; once open, the AudioEvent comes, and the sound starts since
// the call has connected.
func TestOpenOffThePath(t *testing.T) {
	sound := &fakeSound{}
	release := make(chan struct{})
	c := newFakeCall()
	s := New(c)
	s.Open(func(func(voice.Levels)) (Sound, string, error) {
		<-release
		return sound, "", nil
	})
	defer s.Close()
	c.events <- event.StateEvent{State: event.StateConnecting}
	c.events <- event.StateEvent{State: event.StateConnected}
	for _, want := range []event.State{event.StateConnecting, event.StateConnected} {
		if e, ok := next(t, s).(event.StateEvent); !ok || e.State != want {
			t.Fatalf("got %#v while the sound opens; want %s", e, want)
		}
	}
	if s.HasSound() || sound.startCount() != 0 {
		t.Fatal("sound before it opened")
	}
	close(release)
	if e := next(t, s); e != (event.AudioEvent{Available: true, In: "Mic", Out: "Speaker"}) {
		t.Errorf("got %#v; want the AudioEvent", e)
	}
	if !s.HasSound() || sound.startCount() != 1 {
		t.Errorf("HasSound %v, started %d times; want true, once", s.HasSound(), sound.startCount())
	}
}

func TestOpenFails(t *testing.T) {
	c := newFakeCall()
	s := New(c)
	s.Open(func(func(voice.Levels)) (Sound, string, error) {
		return nil, "", errors.New("the sound server at unix:/x does not answer")
	})
	defer s.Close()
	want := event.AudioEvent{Note: "audio: the sound server at unix:/x does not answer; the call goes on as text only"}
	if e := next(t, s); e != want {
		t.Errorf("got %#v; want %#v", e, want)
	}
	if s.HasSound() {
		t.Error("HasSound after a failed open")
	}
}

// TestCloseWhileOpening: Close does not wait for a sound system that
// does not answer beyond openCloseWait, and what opens after it is closed.
func TestCloseWhileOpening(t *testing.T) {
	sound := &fakeSound{}
	release := make(chan struct{})
	returned := make(chan struct{})
	c := newFakeCall()
	s := New(c)
	s.Open(func(func(voice.Levels)) (Sound, string, error) {
		<-release
		defer close(returned)
		return sound, "", nil
	})
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > openCloseWait+time.Second {
		t.Errorf("Close took %v with the sound still opening", d)
	}
	close(release)
	<-returned
	deadline := time.Now().Add(5 * time.Second)
	for {
		sound.mu.Lock()
		n := sound.closed
		sound.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sound that opened after Close was closed %d times; want once", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSwitch swaps in a sound opened anew, closing the old one and
// starting the new; a switch that fails leaves the sound as it was.
func TestSwitch(t *testing.T) {
	old, fresh := &fakeSound{}, &fakeSound{}
	s, c := begin(t, old, "")
	next(t, s)
	c.events <- event.StateEvent{State: event.StateConnected}
	next(t, s)
	s.Switch(func(func(voice.Levels)) (Sound, string, error) { return nil, "", errors.New(`no speaker "nosuch"`) })
	if e, ok := next(t, s).(event.ErrorEvent); !ok || e.Err.Error() != `audio: no speaker "nosuch"; the sound stays as it was` {
		t.Errorf("got %#v; want the failed switch said", e)
	}
	s.Switch(func(func(voice.Levels)) (Sound, string, error) { return fresh, "", nil })
	if e := next(t, s); e != (event.AudioEvent{Available: true, In: "Mic", Out: "Speaker", Switched: true}) {
		t.Errorf("got %#v; want the switch said", e)
	}
	old.mu.Lock()
	closed := old.closed
	old.mu.Unlock()
	if closed != 1 || fresh.startCount() != 1 {
		t.Errorf("old closed %d times, new started %d; want once each", closed, fresh.startCount())
	}
}

// TestKeepLooking: a call that opens text only, told to keep looking,
// says so once, looks again every reopenEvery, and starts the sound it
// finds (connected meanwhile), with Found.
func TestKeepLooking(t *testing.T) {
	found := &fakeSound{}
	var mu sync.Mutex
	opens := 0
	c := newFakeCall()
	s := New(c)
	s.KeepLooking()
	start := time.Now()
	s.Open(func(func(voice.Levels)) (Sound, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if opens++; opens <= 2 {
			return nil, "no microphone or speaker here — text only", nil
		}
		return found, "", nil
	})
	defer s.Close()
	if e := next(t, s); e != (event.AudioEvent{Note: "no microphone or speaker here — text only"}) {
		t.Fatalf("got %#v; want text only, once", e)
	}
	c.events <- event.StateEvent{State: event.StateConnected}
	next(t, s)
	if e := next(t, s); e != (event.AudioEvent{Available: true, In: "Mic", Out: "Speaker", Found: true}) {
		t.Fatalf("got %#v; want the sound found", e)
	}
	if d := time.Since(start); d < 2*reopenEvery || d > 3*reopenEvery+time.Second {
		t.Errorf("found after %v; want after the two text-only tries, about %v", d, 2*reopenEvery)
	}
	if found.startCount() != 1 || !s.HasSound() {
		t.Errorf("the found sound started %d times, HasSound %v; want 1, true", found.startCount(), s.HasSound())
	}
}
