package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"parley/audio"
	"parley/audio/jitter"
	"parley/internal/event"
	"parley/rtc"
	"parley/voice"
)

// fakeLocal is the laptop's sound, as the agent sees it.
type fakeLocal struct {
	mu      sync.Mutex
	enc     audio.EncoderOptions
	link    voice.Link
	starts  int
	muted   []bool
	err     error
	closed  bool
	stats   voice.Stats
	silent  bool
	onLevel func(voice.Levels)
}

func (f *fakeLocal) Start(l voice.Link) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	f.link = l
	return nil
}
func (f *fakeLocal) SetMuted(on bool) { f.mu.Lock(); f.muted = append(f.muted, on); f.mu.Unlock() }
func (f *fakeLocal) Silent() bool     { return f.silent }
func (f *fakeLocal) Stats() voice.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}
func (f *fakeLocal) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
func (f *fakeLocal) Close() error            { f.mu.Lock(); f.closed = true; f.mu.Unlock(); return nil }
func (f *fakeLocal) Names() (string, string) { return "fake mic", "fake speaker" }

func (f *fakeLocal) getLink() voice.Link {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.link
}

// fakeCall is the remote's call, as the remote's Sound sees it.
type fakeCall struct {
	mu    sync.Mutex
	recv  rtc.AudioReceiver
	sent  []*rtp.Packet
	stats rtc.MediaStats
}

func (c *fakeCall) WriteAudio(p *rtp.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, p)
	return nil
}
func (c *fakeCall) SetAudioReceiver(r rtc.AudioReceiver) { c.mu.Lock(); c.recv = r; c.mu.Unlock() }
func (c *fakeCall) Stats() rtc.MediaStats                { c.mu.Lock(); defer c.mu.Unlock(); return c.stats }
func (c *fakeCall) receiver() rtc.AudioReceiver          { c.mu.Lock(); defer c.mu.Unlock(); return c.recv }
func (c *fakeCall) nsent() int                           { c.mu.Lock(); defer c.mu.Unlock(); return len(c.sent) }

// serveAgent runs an agent on a unix socket in a temporary directory.
func serveAgent(t *testing.T, open func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error)) (*Agent, string, *logBuf) {
	t.Helper()
	return serveAgentAt(t, filepath.Join(t.TempDir(), "agent.sock"), open)
}

func serveAgentAt(t *testing.T, path string, open func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error)) (*Agent, string, *logBuf) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	a := &Agent{Open: open, Logf: logs.logf}
	done := make(chan error, 1)
	go func() { done <- a.Serve(l) }()
	t.Cleanup(func() {
		a.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a, path, logs
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuf) logf(f string, a ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(f, a...), "\n", " ")))
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAgentSound runs every message across a real unix socket: the
// encoder asked for, the devices' names, start, RTP both ways, mute, the
// call's figures one way and the sound's the other, levels, the sound's
// error, the link's delay and counters, and a lost agent.
func TestAgentSound(t *testing.T) {
	local := &fakeLocal{silent: true, stats: voice.Stats{Stats: jitter.Stats{Frames: 42, Delay: 30 * time.Millisecond}, Complexity: 5}}
	a, path, logs := serveAgent(t, func(enc audio.EncoderOptions, onLevels func(voice.Levels)) (LocalSound, error) {
		local.mu.Lock()
		local.enc, local.onLevel = enc, onLevels
		local.mu.Unlock()
		return local, nil
	})
	var levels []voice.Levels
	var lmu sync.Mutex
	s, err := Dial(path, Options{
		Encoder:  audio.EncoderOptions{Frame: 10 * time.Millisecond, Bitrate: 24000, DTX: true},
		OnLevels: func(l voice.Levels) { lmu.Lock(); levels = append(levels, l); lmu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if in, out := s.Names(); in != "fake mic" || out != "fake speaker" || !s.Silent() {
		t.Errorf("names %q, %q, silent %v", in, out, s.Silent())
	}
	if want := (audio.EncoderOptions{Frame: 10 * time.Millisecond, Bitrate: 24000, DTX: true}); local.enc != want {
		t.Errorf("the agent opened its sound with %+v; want %+v", local.enc, want)
	}

	call := &fakeCall{stats: rtc.MediaStats{PeerFractionLost: 0.125, RTT: 40 * time.Millisecond}}
	if err := s.Start(call); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "start", func() bool { return local.getLink() != nil })
	link := local.getLink()

	// The laptop's microphone, to the call.
	for i := range 10 {
		link.WriteAudio(&rtp.Packet{Header: rtp.Header{Marker: i == 0, SequenceNumber: uint16(100 + i), Timestamp: uint32(960 * i)}, Payload: []byte{0xfc, byte(i)}})
	}
	waitFor(t, "the laptop's packets at the call", func() bool { return call.nsent() == 10 })
	call.mu.Lock()
	for i, p := range call.sent {
		if p.SequenceNumber != uint16(100+i) || p.Timestamp != uint32(960*i) || p.Marker != (i == 0) || p.Payload[1] != byte(i) {
			t.Errorf("packet %d arrived as %v", i, p)
		}
	}
	call.mu.Unlock()

	// The peer's packets, to the laptop's jitter buffer.
	var got []*rtp.Packet
	var gmu sync.Mutex
	link.SetAudioReceiver(func(p *rtp.Packet, _ time.Time) { gmu.Lock(); got = append(got, p); gmu.Unlock() })
	recv := call.receiver()
	if recv == nil {
		t.Fatal("Start set no receiver on the call")
	}
	for i := range 7 {
		recv(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(480 * i)}, Payload: []byte{1, 2, byte(i)}}, time.Now())
	}
	waitFor(t, "the peer's packets at the laptop", func() bool { gmu.Lock(); defer gmu.Unlock(); return len(got) == 7 })
	if p := got[6]; p.SequenceNumber != 6 || p.Timestamp != 2880 || p.Payload[2] != 6 {
		t.Errorf("the peer's packet arrived as %v", p)
	}

	s.SetMuted(true)
	s.SetMuted(false)
	waitFor(t, "mute", func() bool {
		local.mu.Lock()
		defer local.mu.Unlock()
		return len(local.muted) > 0 && !local.muted[len(local.muted)-1]
	})

	local.onLevel(voice.Levels{Mic: audio.Level{Peak: -6, RMS: -12}})
	waitFor(t, "levels", func() bool { lmu.Lock(); defer lmu.Unlock(); return len(levels) > 0 })
	if levels[0].Mic.RMS != -12 {
		t.Errorf("levels %+v", levels[0])
	}

	// Once a second: the laptop's figures, the call's, and a ping.
	waitFor(t, "stats", func() bool { return s.Stats().Frames == 42 })
	if st := s.Stats(); st.Delay != 30*time.Millisecond || st.Complexity != 5 {
		t.Errorf("stats %+v", st)
	}
	waitFor(t, "media stats", func() bool { return link.Stats().PeerFractionLost == 0.125 })
	waitFor(t, "a ping's round trip", func() bool { return s.LinkStats().Delay > 0 })
	ls := s.LinkStats()
	if ls.PacketsIn != 10 || ls.PacketsOut != 7 || ls.BytesIn == 0 || ls.BytesOut == 0 || ls.Delay > 100*time.Millisecond {
		t.Errorf("link stats %+v", ls)
	}
	if c := a.Counters(); c.PacketsOut != 10 || c.PacketsIn != 7 {
		t.Errorf("agent counters %v", c)
	}

	if err := s.Err(); err != nil {
		t.Errorf("Err before anything failed: %v", err)
	}
	local.mu.Lock()
	local.err = errors.New("the microphone was unplugged")
	local.mu.Unlock()
	waitFor(t, "the sound's error", func() bool { return s.Err() != nil })
	if err := s.Err(); !strings.Contains(err.Error(), "unplugged") || errors.Is(err, ErrLost) {
		t.Errorf("Err = %v", err)
	}

	// The agent goes away: the remote says so.
	a.Close()
	waitFor(t, "a lost agent", func() bool { return errors.Is(s.Err(), ErrLost) })
	t.Logf("lost: %v", s.Err())
	local.mu.Lock()
	closed := local.closed
	local.mu.Unlock()
	if !closed {
		t.Error("the agent did not close its sound when the stream ended")
	}
	t.Logf("agent log:\n%s", logs)
}

// TestBusyAndNoDevice: a second remote while one is served is told the
// agent is busy; an agent without sound says so, as audio.ErrNoDevice.
func TestBusyAndNoDevice(t *testing.T) {
	var noDevice atomic.Bool
	_, path, _ := serveAgent(t, func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error) {
		if noDevice.Load() {
			return nil, audio.ErrNoDevice
		}
		return &fakeLocal{}, nil
	})
	first, err := Dial(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(path, Options{}); !errors.Is(err, ErrBusy) {
		t.Errorf("a second Dial: %v; want ErrBusy", err)
	}
	first.Close()
	noDevice.Store(true)
	// The agent notices the first stream's end at once; allow it a moment.
	var err2 error
	waitFor(t, "the agent free again", func() bool {
		_, err2 = Dial(path, Options{})
		return !errors.Is(err2, ErrBusy)
	})
	if !errors.Is(err2, audio.ErrNoDevice) {
		t.Errorf("Dial with no device: %v; want audio.ErrNoDevice", err2)
	}
	t.Logf("no device: %v", err2)
}

// rawHello says hello with a version of the test's choosing.
func rawHello(v uint16) []byte { return binary.BigEndian.AppendUint16([]byte(magic), v) }

// TestHandshake: a wrong peer or another version is refused on both
// sides, each with one clear line.
func TestHandshake(t *testing.T) {
	old := handshakeTimeout
	handshakeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { handshakeTimeout = old })

	_, path, logs := serveAgent(t, func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error) {
		return &fakeLocal{}, nil
	})
	// A remote of version 2 at this agent.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(rawHello(Version + 1))
	var b [helloLen]byte
	if _, err := c.Read(b[:]); err != nil || string(b[:]) != string(hello()) {
		t.Errorf("the agent answered %q, %v; want its hello", b, err)
	}
	c.Close()
	// Something that is not parley at this agent.
	c, _ = net.Dial("unix", path)
	c.Write([]byte("GET / HTTP/1.1\r\n"))
	c.Close()
	waitFor(t, "two refusals", func() bool { return strings.Count(logs.String(), "refused") == 2 })
	log := logs.String()
	for _, want := range []string{"the remote parley speaks version 2 of parley's agent protocol, and this parley version 1", `"GET / HTTP"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the agent's log lacks %q:\n%s", want, log)
		}
	}

	// The remote at agents that are not this one.
	for _, c := range []struct {
		name  string
		serve func(net.Conn)
		want  string
	}{
		{"version 2", func(c net.Conn) { c.Write(rawHello(2)) }, "the audio agent speaks version 2 of parley's agent protocol, and this parley version 1: run the same release of parley on both computers"},
		{"ssh-agent", func(c net.Conn) { time.Sleep(time.Second) }, "the audio agent sent no parley hello within 300ms"},
		{"a server that greets", func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")) }, `the audio agent is not parley: it sent "SSH-2.0-Op" where parley's hello belongs`},
		{"closes", func(c net.Conn) {}, "the audio agent closed the connection before its hello"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s")
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				nc, err := l.Accept()
				if err != nil {
					return
				}
				c.serve(nc)
				nc.Close()
			}()
			_, err = Dial(p, Options{})
			l.Close()
			<-done
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Dial: %v; want ErrRefused saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the refusal is more than one line: %q", err)
			}
		})
	}
}

// remoteByHand is a remote parley that says hello, asks for the sound
// and starts it, and then does what the test says.
func remoteByHand(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := clientHandshake(c); err != nil {
		t.Fatal(err)
	}
	open, _ := json.Marshal(OpenMsg{})
	writeFrame(c, TypeOpen, open, time.Second)
	if typ, _, err := readFrameWithin(c, 5*time.Second); err != nil || typ != TypeReady {
		t.Fatalf("read %s, %v; want ready", typ, err)
	}
	writeFrame(c, TypeStart, nil, time.Second)
	return c
}

// TestWindow: a remote that never acknowledges (a link that carries
// nothing back) gets Window packets; the rest are dropped and counted,
// and nothing queues.
func TestWindow(t *testing.T) {
	local := &fakeLocal{}
	a, path, _ := serveAgent(t, func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error) { return local, nil })
	remoteByHand(t, path)
	waitFor(t, "start", func() bool { return local.getLink() != nil })
	link := local.getLink()
	const n = 500
	for i := range n {
		link.WriteAudio(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Payload: make([]byte, 100)})
	}
	waitFor(t, "the window's packets written", func() bool { return a.Counters().PacketsOut == Window })
	if c := a.Counters(); c.Dropped != n-Window {
		t.Errorf("counters %v; want %d dropped", c, n-Window)
	}
}

// TestIdle: a remote that goes silent (the link is down, not closed) is
// given up after idleTimeout, and its sound closed.
func TestIdle(t *testing.T) {
	old := idleTimeout
	idleTimeout = 200 * time.Millisecond
	t.Cleanup(func() { idleTimeout = old })
	local := &fakeLocal{}
	_, path, logs := serveAgent(t, func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error) { return local, nil })
	remoteByHand(t, path)
	waitFor(t, "the silent stream closed", func() bool { local.mu.Lock(); defer local.mu.Unlock(); return local.closed })
	if !strings.Contains(logs.String(), "nothing arrived") {
		t.Errorf("the agent's log does not say why:\n%s", logs)
	}
}

// TestVoice runs a real voice.Session at the agent (a tone in, a WAV
// out) with a call that plays the laptop's packets back to it: the tone
// crosses the socket as Opus both ways, the agent's jitter buffer plays
// it, and its figures reach the remote.
func TestVoice(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "out.wav")
	_, path, _ := serveAgent(t, func(enc audio.EncoderOptions, onLevels func(voice.Levels)) (LocalSound, error) {
		return voice.Open(voice.Config{In: audio.Spec{Kind: audio.KindTone}, Out: audio.Spec{Kind: audio.KindFile, Path: rec}, Encoder: enc, OnLevels: onLevels})
	})
	var nlevels int
	var mu sync.Mutex
	s, err := Dial(path, Options{OnLevels: func(voice.Levels) { mu.Lock(); nlevels++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	call := &echoCall{}
	s.Start(call)
	waitFor(t, "the tone played at the agent", func() bool { return s.Stats().Frames > 25 })
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	st, ls := s.Stats(), s.LinkStats()
	t.Logf("agent's stats %+v; link %+v; %d levels", st.Stats, ls, nlevels)
	if st.Peer.RMS < -30 || nlevels == 0 {
		t.Errorf("the agent's speaker plays at %v dBFS RMS, %d levels", st.Peer.RMS, nlevels)
	}
	waitFor(t, "the recording", func() bool { fi, err := os.Stat(rec); return err == nil && fi.Size() > 44 })
}

// echoCall sends what it is given straight back, as a peer that echoes.
type echoCall struct {
	mu   sync.Mutex
	recv rtc.AudioReceiver
}

func (c *echoCall) WriteAudio(p *rtp.Packet) error {
	c.mu.Lock()
	r := c.recv
	c.mu.Unlock()
	if r != nil {
		r(p, time.Now())
	}
	return nil
}
func (c *echoCall) SetAudioReceiver(r rtc.AudioReceiver) { c.mu.Lock(); c.recv = r; c.mu.Unlock() }
func (c *echoCall) Stats() rtc.MediaStats                { return rtc.MediaStats{} }

// TestFind: only this user's sockets of the agent's name pattern, closed
// to others, are found; a dead one is removed when tried.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	name := func() string { return filepath.Join(dir, filepath.Base(NewRemoteSocket())) }
	// A live agent's socket, by a good name, as sshd makes it.
	good := name()
	_, _, logs := serveAgentAt(t, good, func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error) { return &fakeLocal{}, nil })
	os.Chmod(good, 0o600)
	// A dead one: its listener closed, its file left, as sshd leaves it.
	dead := name()
	l, err := net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	os.Chmod(dead, 0o600)
	// One open to others, a plain file and another name: never found.
	open := name()
	l2, err := net.Listen("unix", open)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	os.Chmod(open, 0o666)
	plain := name()
	os.WriteFile(plain, nil, 0o600)
	other := filepath.Join(dir, "parley-agent-x.sock")
	l3, _ := net.Listen("unix", other)
	defer l3.Close()

	now := time.Now()
	os.Chtimes(dead, now, now.Add(time.Second)) // newest: tried first
	found := Find(dir)
	if len(found) != 2 || found[0] != dead || found[1] != good {
		t.Errorf("Find = %v; want %v, %v", found, dead, good)
	}
	s, err := DialAny(dir, Options{})
	if err != nil || s == nil {
		t.Fatalf("DialAny: %v, %v", s, err)
	}
	s.Close()
	if _, err := os.Lstat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead socket is still there: %v", err)
	}
	if err := Check(open); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Check of a socket open to others: %v", err)
	}
	if !IsSocketName(filepath.Base(NewRemoteSocket())) || IsSocketName("parley-agent-x.sock") {
		t.Error("IsSocketName")
	}
	if p := NewRemoteSocket(); !strings.HasPrefix(p, "/tmp/parley-agent-") || len(p) > 100 {
		t.Errorf("NewRemoteSocket = %q", p)
	}
	var _ event.LinkStats = s.LinkStats()

	// Clean removes a dead one and keeps the live one, whose agent is not
	// bothered by the look.
	dead = name()
	l, err = net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	os.Chmod(dead, 0o600)
	Clean(dir)
	if found := Find(dir); len(found) != 1 || found[0] != good {
		t.Errorf("after Clean, Find = %v; want only %v", found, good)
	}
	time.Sleep(50 * time.Millisecond)
	if strings.Contains(logs.String(), "refused") {
		t.Errorf("Clean's look was logged as a refusal:\n%s", logs)
	}
}

// TestBye: the agent hears who took its sound (made safe for a terminal),
// and whether the remote let it go (Sound.Close sends a bye) or the
// stream broke.
func TestBye(t *testing.T) {
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	type end struct {
		who string
		bye bool
	}
	begun, ended := make(chan string, 2), make(chan end, 2)
	a := &Agent{
		Open:    func(audio.EncoderOptions, func(voice.Levels)) (LocalSound, error) { return &fakeLocal{}, nil },
		OnBegin: func(who string) { begun <- who },
		OnEnd:   func(who string, bye bool) { ended <- end{who, bye} },
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(l) }()
	defer func() { a.Close(); <-done }()

	who := "parley (pid 7) on host\x1b]0;owned\x07\n, in tmux" + strings.Repeat("x", 200)
	for _, broken := range []bool{false, true} {
		s, err := Dial(l.Addr().String(), Options{Who: who})
		if err != nil {
			t.Fatal(err)
		}
		s.Start(&fakeCall{})
		var got string
		select {
		case got = <-begun:
		case <-time.After(5 * time.Second):
			t.Fatal("OnBegin was not called")
		}
		if want := "parley (pid 7) on host , in tmux"; !strings.HasPrefix(got, want) || len([]rune(got)) != maxWho+1 {
			t.Errorf("OnBegin(%q); want %q… cut at %d runes", got, want, maxWho)
		}
		if broken {
			s.c.close() // no bye: as ssh dying ends it
		}
		s.Close()
		select {
		case e := <-ended:
			if e.who != got || e.bye == broken {
				t.Errorf("broken %v: OnEnd(%q, %v); want %q, bye %v", broken, e.who, e.bye, got, !broken)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("OnEnd was not called")
		}
	}
}
