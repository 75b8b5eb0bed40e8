package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"parley/audio"
	"parley/headless"
	"parley/rtc"
	"parley/tui"
	"parley/voice"
)

// runEcho runs the echo test headless (the terminal UI runs it too): it
// calls this machine through the whole stack, two peers over UDP on
// loopback; the microphone (or --audio-in) goes out on one call and comes
// out of the speaker (or --audio-out) through the other's jitter buffer,
// with a real call's latency. It ends on Ctrl+C, or once a file input has
// played through.
func runEcho(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	stderr, _, restore, err := quietForDevices(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return headless.ExitFailure
	}
	defer restore()
	say := func(v any) {
		if v != nil {
			b, _ := json.Marshal(v)
			fmt.Fprintf(stdout, "%s\n", b)
		}
	}
	fail := func(err error) int {
		say(map[string]string{"type": "error", "message": err.Error()})
		say(map[string]string{"type": "bye", "reason": err.Error()})
		return headless.ExitFailure
	}

	log := io.Discard
	if cfg.logPath != "" {
		log = stderr
	}
	e, err := newEcho(ctx, cfg, log, nil)
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	talker, listener, recv, route := e.talker, e.listener, e.recv, e.route
	say(headless.Line(rtc.StateEvent{State: rtc.StateConnected, Route: route}, route, nil))
	in, _ := e.send.Names()
	_, out := recv.Names()
	fmt.Fprintf(log, "echo: %s → call over loopback → %s\n", in, out)

	var drain <-chan time.Time
	finished := e.send.Finished()
	for {
		select {
		case <-ctx.Done():
			return endEcho(talker, listener, say)
		case <-finished:
			finished = nil
			// What is still on its way and in the jitter buffer.
			drain = time.After(recv.Stats().Target + 500*time.Millisecond)
		case <-drain:
			return endEcho(talker, listener, say)
		case e, ok := <-listener.Events():
			if !ok {
				return fail(errors.New("the echo call ended"))
			}
			switch e := e.(type) {
			case rtc.StatsEvent:
				if cfg.stats {
					say(headless.Line(e, route, recv))
				}
			case rtc.ByeEvent:
				return fail(fmt.Errorf("the echo call ended: %s", e.Reason))
			}
		}
	}
}

// newTUIEcho starts the echo test for the terminal UI: the call screen
// shows the listener, whose peer is this machine's own microphone; muting
// mutes the talker, so the echo goes quiet.
func newTUIEcho(cfg config, log io.Writer) (*tuiCall, error) {
	t := newTUICall(nil)
	e, err := newEcho(context.Background(), cfg, log, t.onLevels)
	if err != nil {
		return nil, err
	}
	t.Call, t.sound, t.done = e.listener, e.recv, e.Close
	t.noMic, t.mute = e.send.Silent(), e.SetMuted
	t.first = []tui.Event{tui.StateEvent{State: tui.StateConnected, Route: string(e.route)}}
	t.start()
	return t, nil
}

// echo is the echo test: two calls on loopback, the talker sending the
// input, the listener playing it.
type echo struct {
	talker, listener *rtc.Call
	send, recv       *voice.Session
	route            rtc.Route
}

// newEcho connects the two calls and starts the audio. Chat sent to the
// talker comes back, so typing can be checked too.
func newEcho(ctx context.Context, cfg config, log io.Writer, onLevels func(voice.Levels)) (_ *echo, err error) {
	e := &echo{}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	rcfg := rtc.Config{Loopback: true, Interfaces: rtc.LoopbackInterfaces(), Log: log}
	if e.talker, err = rtc.New(rcfg); err != nil {
		return nil, err
	}
	if e.listener, err = rtc.New(rcfg); err != nil {
		return nil, err
	}
	invite, err := e.talker.Invite(ctx)
	if err != nil {
		return nil, err
	}
	answer, err := e.listener.Join(ctx, invite)
	if err != nil {
		return nil, err
	}
	if err := e.talker.Accept(answer); err != nil {
		return nil, err
	}
	if e.route, err = bothConnected(ctx, e.talker, e.listener); err != nil {
		return nil, err
	}
	go func(talker *rtc.Call) {
		for ev := range talker.Events() { // until Close
			if c, ok := ev.(rtc.ChatEvent); ok {
				talker.Send(c.Text)
			}
		}
	}(e.talker)

	none := audio.Spec{Kind: audio.KindNone}
	var levels func(voice.Levels)
	if onLevels != nil {
		levels = func(l voice.Levels) { onLevels(voice.Levels{Mic: l.Mic, Peer: e.recv.Stats().Peer}) }
	}
	e.send, err = voice.Open(voice.Config{In: cfg.in, Out: none, Encoder: cfg.encoder, OnLevels: levels})
	if errors.Is(err, audio.ErrNoDevice) {
		return nil, errors.New("no microphone found: the echo test needs one, or --audio-in tone (a 440 Hz tone) or --audio-in FILE.wav; see 'parley devices'")
	}
	if err != nil {
		return nil, err
	}
	e.recv, err = voice.Open(voice.Config{In: none, Out: cfg.out, Encoder: cfg.encoder})
	if errors.Is(err, audio.ErrNoDevice) {
		return nil, errors.New("no speaker found: the echo test needs one, or --audio-out FILE.wav; see 'parley devices'")
	}
	if err != nil {
		return nil, err
	}
	if err := e.recv.Start(e.listener); err != nil {
		return nil, err
	}
	if err := e.send.Start(e.talker); err != nil {
		return nil, err
	}
	return e, nil
}

// SetMuted mutes the microphone: the talker sends silence and tells the
// listener, whose meter for its peer then reads "muted".
func (e *echo) SetMuted(on bool) {
	e.send.SetMuted(on)
	e.talker.SetMuted(on)
}

// Close stops the audio and closes both calls.
func (e *echo) Close() {
	for _, s := range []*voice.Session{e.send, e.recv} {
		if s != nil {
			s.Close()
		}
	}
	for _, c := range []*rtc.Call{e.talker, e.listener} {
		if c != nil {
			c.Close()
		}
	}
}

// endEcho hangs up the test call and reports how it went.
func endEcho(talker, listener *rtc.Call, say func(any)) int {
	talker.HangUp()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-listener.Events():
			if _, bye := e.(rtc.ByeEvent); bye || !ok {
				say(map[string]string{"type": "bye", "reason": "hung up"})
				return headless.ExitOK
			}
		case <-timeout:
			say(map[string]string{"type": "bye", "reason": "hung up"})
			return headless.ExitOK
		}
	}
}

// bothConnected waits until both calls are connected.
func bothConnected(ctx context.Context, a, b *rtc.Call) (rtc.Route, error) {
	timeout := time.After(15 * time.Second)
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
