package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"

	"parley/audio"
	"parley/internal/event"
	"parley/voice"
)

// Options configure the remote's side of a stream.
type Options struct {
	// Encoder is what the agent's encoder is to use: the remote's
	// --frame, --bitrate and --dtx.
	Encoder audio.EncoderOptions
	// OnLevels, if set, is called with the agent's levels as they
	// arrive; it must not block.
	OnLevels func(voice.Levels)
	// Who says which parley this is, for the agent's user (OpenMsg.Who).
	Who string
}

// noDevice is an agent that found no microphone or speaker.
type noDevice struct{ msg string }

func (e noDevice) Error() string        { return "on the computer running 'parley ssh': " + e.msg }
func (e noDevice) Is(target error) bool { return target == audio.ErrNoDevice }

// ErrBusy is an agent that already serves another call.
var ErrBusy = errors.New("the audio agent already serves another call")

// Sound is the remote parley's sound: the agent's microphone and speaker,
// over a stream. It relays the call's RTP both ways and never decodes
// it. It is a session.Sound.
type Sound struct {
	c     *conn
	path  string
	ready ReadyMsg
	o     Options

	mu       sync.Mutex
	link     voice.Link
	started  bool
	closed   bool
	stats    voice.Stats
	soundErr string

	quit chan struct{}
	done chan struct{}
}

// Dial connects to the agent listening at path, says hello and asks for
// its sound. An agent without a microphone or speaker gives an error
// matching audio.ErrNoDevice; one serving another call, ErrBusy; a peer
// that is not a parley agent or speaks another version, ErrRefused.
func Dial(path string, o Options) (*Sound, error) {
	nc, err := net.DialTimeout("unix", path, handshakeTimeout)
	if err != nil {
		return nil, err
	}
	s, err := start(nc, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	s.path = path
	return s, nil
}

// start runs the remote's side of the handshake on nc.
func start(nc net.Conn, o Options) (*Sound, error) {
	if err := clientHandshake(nc); err != nil {
		return nil, err
	}
	open, _ := json.Marshal(OpenMsg{FrameMS: int(o.Encoder.Frame / time.Millisecond), Bitrate: o.Encoder.Bitrate, DTX: o.Encoder.DTX, Who: o.Who})
	if err := writeFrame(nc, TypeOpen, open, handshakeTimeout); err != nil {
		return nil, fmt.Errorf("ask the audio agent for its sound: %w", err)
	}
	t, p, err := readFrameWithin(nc, openTimeout)
	if errors.Is(err, io.EOF) {
		err = errors.New("it closed the connection")
	}
	if err == nil && t != TypeReady {
		err = fmt.Errorf("%w: it answered with %s", ErrMalformed, t)
	}
	var r ReadyMsg
	if err == nil {
		err = decodeJSON(p, &r)
	}
	if err != nil {
		return nil, fmt.Errorf("the audio agent did not open its sound: %w", err)
	}
	switch {
	case r.Busy:
		return nil, ErrBusy
	case r.NoDevice:
		return nil, noDevice{r.Err}
	case r.Err != "":
		return nil, fmt.Errorf("the audio agent's sound: %s", r.Err)
	}
	s := &Sound{ready: r, o: o, quit: make(chan struct{}), done: make(chan struct{})}
	s.c = newConn(nc, s.handle)
	s.c.run()
	go s.tick()
	return s, nil
}

// Path returns the socket the Sound is connected to.
func (s *Sound) Path() string { return s.path }

// Names returns the agent's input and output, for the user.
func (s *Sound) Names() (in, out string) { return s.ready.In, s.ready.Out }

func (s *Sound) handle(t Type, m any) {
	switch t {
	case TypeRTP:
		p := m.(Packet)
		s.mu.Lock()
		link := s.link
		s.mu.Unlock()
		if link != nil {
			link.WriteAudio(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: p.Marker, SequenceNumber: p.Seq, Timestamp: p.Timestamp}, Payload: p.Payload})
		}
	case TypeStats:
		s.mu.Lock()
		s.stats = m.(voice.Stats)
		s.mu.Unlock()
	case TypeLevels:
		if s.o.OnLevels != nil {
			s.o.OnLevels(m.(voice.Levels))
		}
	case TypeError:
		s.mu.Lock()
		s.soundErr = m.(string)
		s.mu.Unlock()
	}
}

// tick pings the agent and sends it the call's figures every second.
func (s *Sound) tick() {
	defer close(s.done)
	t := time.NewTicker(statsEvery)
	defer t.Stop()
	s.c.ping()
	for {
		select {
		case <-s.quit:
			return
		case <-s.c.done():
			return
		case <-t.C:
			s.c.ping()
			s.mu.Lock()
			link := s.link
			s.mu.Unlock()
			if link != nil {
				s.c.sendCtl(TypeMedia, encodeMedia(link.Stats()))
			}
		}
	}
}

// Start relays the call's audio: the peer's packets to the agent, the
// agent's to the peer; and tells the agent to start its sound. Later
// calls do nothing.
func (s *Sound) Start(link voice.Link) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return nil
	}
	s.started = true
	s.link = link
	link.SetAudioReceiver(func(pkt *rtp.Packet, _ time.Time) {
		s.c.sendRTP(Packet{Marker: pkt.Marker, Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp, Payload: pkt.Payload})
	})
	s.c.sendCtl(TypeStart, nil)
	return nil
}

// SetMuted mutes or unmutes the agent's microphone.
func (s *Sound) SetMuted(on bool) { s.c.sendCtl(TypeMute, encodeMute(on)) }

// Silent reports whether the agent's input is silence.
func (s *Sound) Silent() bool { return s.ready.Silent }

// Stats returns the figures the agent sent last.
func (s *Sound) Stats() voice.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// LinkStats returns the link's one-way delay and what it carried.
func (s *Sound) LinkStats() event.LinkStats {
	c := s.c.counters()
	l := event.LinkStats{BytesIn: c.BytesIn, BytesOut: c.BytesOut, PacketsIn: c.PacketsIn, PacketsOut: c.PacketsOut, Dropped: c.Dropped}
	if rtt := s.c.RTT(); rtt > 0 {
		l.Delay = rtt / 2
	}
	return l
}

// Counters returns what the stream carried.
func (s *Sound) Counters() Counters { return s.c.counters() }

// ErrLost is an agent that has gone: ssh ended or the link is down.
var ErrLost = errors.New("the audio agent is gone")

// reattach is what the user runs on their computer to lend this call
// its sound again.
func reattach() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "HOST"
	}
	return "'parley ssh --attach " + host + "' on your computer"
}

// Err reports a lost agent (matching ErrLost), or the agent's own sound
// failing.
func (s *Sound) Err() error {
	select {
	case <-s.c.done():
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if !closed {
			err := s.c.Err()
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("%w: the SSH connection or 'parley ssh' ended (%s brings it back)", ErrLost, reattach())
			}
			return fmt.Errorf("%w: %v", ErrLost, err)
		}
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.soundErr != "" {
		return fmt.Errorf("on the computer running 'parley ssh': %s", s.soundErr)
	}
	return nil
}

// Close ends the stream; the agent closes its sound. It is safe to call
// more than once.
func (s *Sound) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	link := s.link
	s.mu.Unlock()
	if link != nil {
		link.SetAudioReceiver(nil)
	}
	close(s.quit)
	<-s.done
	s.c.bye(TypeBye) // the agent's user hears that the call let it go
	return nil
}
