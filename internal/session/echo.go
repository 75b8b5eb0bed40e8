package session

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"parley/audio"
	"parley/internal/event"
	"parley/rtc"
	"parley/voice"
)

// EchoConfig says what the echo test plays through the call, and where.
type EchoConfig struct {
	In, Out audio.Spec
	Encoder audio.EncoderOptions
	Log     io.Writer
}

// Echo is the echo test: two sessions on loopback, a talker sending the
// input and a listener playing it, with a real call's latency. Its own
// methods and events are the listener's, but muting mutes the talker, so
// the echo goes quiet; chat sent comes back.
type Echo struct {
	*Session // the listener
	Talker   *Session
	Route    rtc.Route

	send, recv *voice.Session
	chatting   bool          // echoChat has been started
	done       chan struct{} // closed when it ends
	once       sync.Once
}

// connectWait bounds how long the two sides of the echo test may take to
// connect over loopback.
const connectWait = 15 * time.Second

// NewEcho connects the two calls and starts their sound.
func NewEcho(ctx context.Context, cfg EchoConfig) (_ *Echo, err error) {
	rcfg := rtc.Config{Loopback: true, Interfaces: rtc.LoopbackInterfaces(), Log: cfg.Log}
	talker, err := rtc.New(rcfg)
	if err != nil {
		return nil, err
	}
	listener, err := rtc.New(rcfg)
	if err != nil {
		talker.Close()
		return nil, err
	}
	e := &Echo{Session: New(listener), Talker: New(talker), done: make(chan struct{})}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	invite, err := talker.Invite(ctx)
	if err != nil {
		return nil, err
	}
	answer, err := listener.Join(ctx, invite)
	if err != nil {
		return nil, err
	}
	if err := talker.Accept(answer); err != nil {
		return nil, err
	}
	if e.Route, err = bothConnected(ctx, talker, listener); err != nil {
		return nil, err
	}

	none := audio.Spec{Kind: audio.KindNone}
	levels := func(l voice.Levels) { e.OnLevels(voice.Levels{Mic: l.Mic, Peer: e.recv.Stats().Peer}) }
	e.send, err = voice.Open(voice.Config{In: cfg.In, Out: none, Encoder: cfg.Encoder, OnLevels: levels})
	if errors.Is(err, audio.ErrNoDevice) {
		return nil, errors.New("no microphone found: the echo test needs one, or --audio-in tone (a 440 Hz tone) or --audio-in FILE.wav; see 'parley devices'")
	}
	if err != nil {
		return nil, err
	}
	e.recv, err = voice.Open(voice.Config{In: none, Out: cfg.Out, Encoder: cfg.Encoder})
	if errors.Is(err, audio.ErrNoDevice) {
		e.send.Close()
		return nil, errors.New("no speaker found: the echo test needs one, or --audio-out FILE.wav; see 'parley devices'")
	}
	if err != nil {
		e.send.Close()
		return nil, err
	}
	e.Session.first = []event.Event{event.StateEvent{State: event.StateConnected, Route: e.Route}}
	e.Session.mute = e.SetMuted
	e.Session.mic = e.send
	e.Session.Begin(e.recv, "")
	e.Talker.Begin(e.send, "")
	e.chatting = true
	go e.echoChat()
	if err := e.Session.StartSound(); err != nil {
		return nil, err
	}
	if err := e.Talker.StartSound(); err != nil {
		return nil, err
	}
	return e, nil
}

// echoChat sends back what the talker is sent, until the talker closes.
func (e *Echo) echoChat() {
	defer close(e.done)
	for ev := range e.Talker.Events() {
		if c, ok := ev.(event.ChatEvent); ok {
			e.Talker.Send(c.Text)
		}
	}
}

// SetMuted mutes the microphone: the talker sends silence and tells the
// listener, whose meter for its peer then reads "muted".
func (e *Echo) SetMuted(on bool) {
	e.send.SetMuted(on)
	e.Talker.call.SetMuted(on)
}

// Finished returns a channel closed once a file input has played through;
// nil for an input that never ends.
func (e *Echo) Finished() <-chan struct{} { return e.send.Finished() }

// Names returns what the input and the output are, for the user.
func (e *Echo) Names() (in, out string) {
	in, _ = e.send.Names()
	_, out = e.recv.Names()
	return in, out
}

// Target is the listener's jitter buffer target.
func (e *Echo) Target() time.Duration { return e.recv.Stats().Target }

// Close stops the sound and closes both calls, and waits for the chat
// echo to end.
func (e *Echo) Close() error {
	e.once.Do(func() {
		e.Session.Close()
		e.Talker.Close()
		if e.chatting {
			<-e.done
		}
	})
	return nil
}

// bothConnected waits until both calls are connected.
func bothConnected(ctx context.Context, a, b *rtc.Call) (rtc.Route, error) {
	timeout := time.After(connectWait)
	var route rtc.Route
	for ca, cb := false, false; !ca || !cb; {
		select {
		case e := <-a.Events():
			if s, ok := e.(rtc.StateEvent); ok && s.State == rtc.StateConnected {
				ca, route = true, s.Route
			}
			if bye, ok := e.(rtc.ByeEvent); ok {
				return "", errors.New(bye.Reason)
			}
		case e := <-b.Events():
			if s, ok := e.(rtc.StateEvent); ok && s.State == rtc.StateConnected {
				cb = true
			}
			if bye, ok := e.(rtc.ByeEvent); ok {
				return "", errors.New(bye.Reason)
			}
		case <-timeout:
			return "", errors.New("the two sides did not connect over loopback within 15 s")
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return route, nil
}
