package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"parley/audio"
	"parley/headless"
	"parley/rtc"
	"parley/voice"
)

// runEcho calls this machine through the whole stack, two peers over UDP
// on loopback: the microphone (or --audio-in) goes out on one call and
// comes back to the speaker (or --audio-out) through the other's jitter
// buffer, with a real call's latency. It ends on Ctrl+C, or once a file
// input has played through.
func runEcho(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	if cfg.usesDevice() {
		orig, restore, err := quietStderr(cfg.logPath)
		if err != nil {
			fmt.Fprintf(stderr, "parley: %v\n", err)
			return headless.ExitFailure
		}
		defer restore()
		if stderr == os.Stderr {
			stderr = orig
		}
	}
	say := func(v any, text string) {
		if cfg.headless {
			if v == nil {
				return
			}
			b, _ := json.Marshal(v)
			fmt.Fprintf(stdout, "%s\n", b)
		} else if text != "" {
			fmt.Fprintln(stdout, text)
		}
	}
	fail := func(err error) int {
		say(map[string]string{"type": "error", "message": err.Error()}, "")
		say(map[string]string{"type": "bye", "reason": err.Error()}, "")
		if !cfg.headless {
			fmt.Fprintf(stderr, "parley: echo: %v\n", err)
		}
		return headless.ExitFailure
	}

	log := io.Discard
	if cfg.logPath != "" {
		log = stderr
	}
	rcfg := rtc.Config{Loopback: true, Interfaces: loopbackInterfaces(), Log: log}
	talker, err := rtc.New(rcfg)
	if err != nil {
		return fail(err)
	}
	defer talker.Close()
	listener, err := rtc.New(rcfg)
	if err != nil {
		return fail(err)
	}
	defer listener.Close()
	invite, err := talker.Invite(ctx)
	if err != nil {
		return fail(err)
	}
	answer, err := listener.Join(ctx, invite)
	if err != nil {
		return fail(err)
	}
	if err := talker.Accept(answer); err != nil {
		return fail(err)
	}
	route, err := bothConnected(ctx, talker, listener)
	if err != nil {
		return fail(err)
	}
	say(headless.Line(rtc.StateEvent{State: rtc.StateConnected, Route: route}, route, nil), "")
	go func() {
		for range talker.Events() { // until Close
		}
	}()

	none := audio.Spec{Kind: audio.KindNone}
	send, err := voice.Open(voice.Config{In: cfg.in, Out: none, Encoder: cfg.encoder})
	if errors.Is(err, audio.ErrNoDevice) {
		return fail(errors.New("no microphone found: the echo test needs one, or --audio-in FILE.wav; see 'parley devices'"))
	}
	if err != nil {
		return fail(err)
	}
	defer send.Close()
	recv, err := voice.Open(voice.Config{In: none, Out: cfg.out, Encoder: cfg.encoder})
	if errors.Is(err, audio.ErrNoDevice) {
		return fail(errors.New("no speaker found: the echo test needs one, or --audio-out FILE.wav; see 'parley devices'"))
	}
	if err != nil {
		return fail(err)
	}
	defer recv.Close()
	if err := recv.Start(listener); err != nil {
		return fail(err)
	}
	if err := send.Start(talker); err != nil {
		return fail(err)
	}
	in, _ := send.Names()
	_, out := recv.Names()
	say(nil, fmt.Sprintf("Echo test: %s → call over loopback → %s. Speak: you hear yourself as your peer would. Ctrl+C stops.", in, out))

	var drain <-chan time.Time
	finished := send.Finished()
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
					say(headless.Line(e, route, recv), "")
				}
			case rtc.ByeEvent:
				return fail(fmt.Errorf("the echo call ended: %s", e.Reason))
			}
		}
	}
}

// endEcho hangs up the test call and reports how it went.
func endEcho(talker, listener *rtc.Call, say func(any, string)) int {
	talker.HangUp()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-listener.Events():
			if _, bye := e.(rtc.ByeEvent); bye || !ok {
				say(map[string]string{"type": "bye", "reason": "hung up"}, "Echo test done.")
				return headless.ExitOK
			}
		case <-timeout:
			say(map[string]string{"type": "bye", "reason": "hung up"}, "Echo test done.")
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

// loopbackInterfaces names the loopback interfaces ("lo", "lo0").
func loopbackInterfaces() []string {
	ifs, _ := net.Interfaces()
	var names []string
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 && i.Flags&net.FlagUp != 0 {
			names = append(names, i.Name)
		}
	}
	return names
}
