package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"parley/audio"
	"parley/internal/safetext"
	"parley/rtc"
	"parley/voice"
)

// LocalSound is what the agent needs of the laptop's sound for one call;
// a *voice.Session is one.
type LocalSound interface {
	Start(voice.Link) error
	SetMuted(on bool)
	Silent() bool
	Stats() voice.Stats
	Err() error
	Close() error
	Names() (in, out string)
}

// Agent serves the laptop's sound to remote parleys over streams, one
// call at a time: each stream is one call's sound, opened when the
// stream opens and closed when it ends.
type Agent struct {
	// Open opens the sound for one call with the encoder the remote
	// asks for; onLevels is for voice.Config.OnLevels.
	Open func(enc audio.EncoderOptions, onLevels func(voice.Levels)) (LocalSound, error)
	// Logf, if set, is told of each stream: refused, begun, ended.
	Logf func(format string, a ...any)
	// OnBegin, if set, is told when a remote parley starts using the
	// sound, with who it says it is (OpenMsg.Who, which may be empty).
	OnBegin func(who string)
	// OnEnd, if set, is told when it stops: bye says that the remote let
	// the sound go (its call ended), rather than the stream breaking.
	// Neither may block.
	OnEnd func(who string, bye bool)

	mu        sync.Mutex
	listeners []net.Listener
	streams   map[net.Conn]bool
	busy      bool
	closed    bool
	total     Counters
	current   *conn
	wg        sync.WaitGroup
	quit      chan struct{}
	quitOnce  sync.Once
}

// statsEvery is how often each side sends its figures.
const statsEvery = time.Second

// openTimeout bounds the wait for the remote's Open, and for the agent's
// Ready (opening devices may take a moment).
const openTimeout = 15 * time.Second

func (a *Agent) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

func (a *Agent) init() {
	a.quitOnce.Do(func() {
		a.quit = make(chan struct{})
		a.streams = map[net.Conn]bool{}
	})
}

// Serve accepts streams on l until l is closed or the agent is, and
// returns nil then.
func (a *Agent) Serve(l net.Listener) error {
	a.init()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		l.Close()
		return nil
	}
	a.listeners = append(a.listeners, l)
	a.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			a.mu.Lock()
			closed := a.closed
			a.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			nc.Close()
			return nil
		}
		a.streams[nc] = true
		a.wg.Add(1)
		a.mu.Unlock()
		go func() {
			defer a.wg.Done()
			a.serve(nc)
			nc.Close()
			a.mu.Lock()
			delete(a.streams, nc)
			a.mu.Unlock()
		}()
	}
}

// Close stops accepting, ends every stream (closing its sound) and waits
// for them.
func (a *Agent) Close() error {
	a.init()
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.quit)
		for _, l := range a.listeners {
			l.Close()
		}
		for nc := range a.streams {
			nc.Close()
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
	return nil
}

// Counters returns what the agent's streams have carried, the current
// one's included.
func (a *Agent) Counters() Counters {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.total
	if a.current != nil {
		c = c.add(a.current.counters())
	}
	return c
}

func (a *Agent) ready(nc net.Conn, r ReadyMsg) error {
	b, _ := json.Marshal(r)
	return writeFrame(nc, TypeReady, b, handshakeTimeout)
}

// serve runs one stream: the handshake, the sound's opening, then the
// call's sound until the stream ends.
func (a *Agent) serve(nc net.Conn) {
	if err := serverHandshake(nc); err != nil {
		if !errors.Is(err, errEmpty) { // not a look at whether the agent lives (Clean)
			a.logf("agent: refused a connection: %v", err)
		}
		return
	}
	t, p, err := readFrameWithin(nc, openTimeout)
	if err == nil && t != TypeOpen {
		err = fmt.Errorf("it sent %s first, not open", t)
	}
	var open OpenMsg
	if err == nil {
		err = decodeJSON(p, &open)
	}
	if err != nil {
		a.logf("agent: refused a connection: %v", err)
		return
	}
	a.mu.Lock()
	busy := a.busy
	a.busy = true
	a.mu.Unlock()
	if busy {
		// The busy flag is another stream's: leave it set.
		a.logf("agent: refused a second parley: the sound serves one call at a time")
		a.ready(nc, ReadyMsg{Err: "the audio agent already serves another call", Busy: true})
		return
	}
	defer func() {
		a.mu.Lock()
		a.busy = false
		a.mu.Unlock()
	}()

	var cur atomic.Pointer[conn]
	enc := audio.EncoderOptions{Frame: time.Duration(open.FrameMS) * time.Millisecond, Bitrate: open.Bitrate, DTX: open.DTX}
	snd, err := a.Open(enc, func(l voice.Levels) {
		if c := cur.Load(); c != nil {
			c.sendCtl(TypeLevels, encodeLevels(l))
		}
	})
	if err != nil {
		a.logf("agent: no sound for the remote call: %v", err)
		a.ready(nc, ReadyMsg{Err: err.Error(), NoDevice: errors.Is(err, audio.ErrNoDevice)})
		return
	}
	defer snd.Close()
	in, out := snd.Names()
	if err := a.ready(nc, ReadyMsg{In: in, Out: out, Silent: snd.Silent()}); err != nil {
		a.logf("agent: the remote parley went away: %v", err)
		return
	}

	link := &socketLink{}
	var startOnce sync.Once
	var bye atomic.Bool
	c := newConn(nc, func(t Type, m any) {
		switch t {
		case TypeStart:
			startOnce.Do(func() {
				if err := snd.Start(link); err != nil {
					link.c.sendCtl(TypeError, []byte(err.Error()))
				}
			})
		case TypeRTP:
			link.receive(m.(Packet))
		case TypeMute:
			snd.SetMuted(m.(bool))
		case TypeBye:
			bye.Store(true)
		case TypeMedia:
			ms := m.(rtc.MediaStats)
			link.media.Store(&ms)
		}
	})
	link.c = c
	cur.Store(c)
	a.mu.Lock()
	a.current = c
	a.mu.Unlock()
	a.logf("agent: a remote parley uses the sound: in %s, out %s", in, out)
	c.run()
	who := cleanWho(open.Who)
	if a.OnBegin != nil {
		a.OnBegin(who)
	}
	if a.OnEnd != nil {
		defer func() { a.OnEnd(who, bye.Load()) }()
	}

	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	told := false
	for loop := true; loop; {
		select {
		case <-c.done():
			loop = false
		case <-a.quit:
			loop = false
		case <-tick.C:
			c.sendCtl(TypeStats, encodeStats(snd.Stats()))
			if err := snd.Err(); err != nil && !told {
				told = true
				c.sendCtl(TypeError, []byte(err.Error()))
			}
		}
	}
	c.close()
	cur.Store(nil)
	counters := c.counters()
	a.mu.Lock()
	a.total = a.total.add(counters)
	a.current = nil
	a.mu.Unlock()
	why := "the stream ended without a bye: the SSH connection or the remote parley went away"
	if bye.Load() {
		why = "the remote parley let it go"
	} else if err := c.Err(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
		why = err.Error()
	}
	a.logf("agent: the call's sound ended (%s): %v", why, counters)
}

// maxWho bounds the remote's OpenMsg.Who as the agent's user sees it.
const maxWho = 120

// cleanWho makes the remote's word for itself safe for a terminal: one
// line of printable text, at most maxWho runes.
func cleanWho(s string) string {
	s = strings.Join(strings.Fields(safetext.Clean(s)), " ")
	if r := []rune(s); len(r) > maxWho {
		s = string(r[:maxWho]) + "…"
	}
	return s
}

// socketLink is the laptop's voice.Link: its packets go to the remote
// parley's call over the stream, and the peer's come back from it.
type socketLink struct {
	c     *conn
	recv  atomic.Pointer[rtc.AudioReceiver]
	media atomic.Pointer[rtc.MediaStats]
}

// WriteAudio queues pkt for the remote, or drops it if the link is
// behind; it never fails (the drops are counted).
func (l *socketLink) WriteAudio(pkt *rtp.Packet) error {
	l.c.sendRTP(Packet{Marker: pkt.Marker, Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp, Payload: pkt.Payload})
	return nil
}

func (l *socketLink) SetAudioReceiver(r rtc.AudioReceiver) {
	if r == nil {
		l.recv.Store(nil)
		return
	}
	l.recv.Store(&r)
}

// Stats returns the call's figures that the remote sent last.
func (l *socketLink) Stats() rtc.MediaStats {
	if m := l.media.Load(); m != nil {
		return *m
	}
	return rtc.MediaStats{}
}

// receive hands one of the peer's packets to the jitter buffer, timed at
// its arrival here.
func (l *socketLink) receive(p Packet) {
	r := l.recv.Load()
	if r == nil {
		return
	}
	(*r)(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: p.Marker, SequenceNumber: p.Seq, Timestamp: p.Timestamp}, Payload: p.Payload}, time.Now())
}
