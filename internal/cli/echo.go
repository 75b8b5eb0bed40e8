package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"parley/headless"
	"parley/internal/event"
	"parley/internal/session"
)

// runEcho runs the echo test headless (the terminal UI runs it too): it
// calls this machine through the whole stack, two peers over UDP on
// loopback; the microphone (or --audio-in) goes out on one call and comes
// out of the speaker (or --audio-out) through the other's jitter buffer,
// with a real call's latency. It ends on Ctrl+C, or once a file input has
// played through.
func runEcho(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	l, err := openLogs(cfg, stderr, false)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitFailure
	}
	defer l.close()
	say := func(v any) {
		if v != nil {
			b, _ := json.Marshal(v)
			fmt.Fprintf(stdout, "%s\n", b)
		}
	}
	fail := func(err error) int {
		say(headless.Line(event.ErrorEvent{Err: err}, ""))
		say(headless.Line(event.ByeEvent{Reason: err.Error()}, ""))
		return ExitFailure
	}
	log := io.Discard
	if cfg.logPath != "" {
		log = l.log
	}
	e, err := newEcho(ctx, cfg, log)
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	in, o := e.Names()
	fmt.Fprintf(log, "echo: %s → call over loopback → %s\n", in, o)

	var drain <-chan time.Time
	finished := e.Finished()
	for {
		select {
		case <-ctx.Done():
			return endEcho(e, say)
		case <-finished:
			finished = nil
			// What is still on its way and in the jitter buffer.
			drain = time.After(e.Target() + 500*time.Millisecond)
		case <-drain:
			return endEcho(e, say)
		case ev, ok := <-e.Events():
			if !ok {
				return fail(errors.New("the echo call ended"))
			}
			switch ev := ev.(type) {
			case event.StateEvent:
				if ev.State == event.StateConnected {
					say(headless.Line(ev, e.Route))
				}
			case event.StatsEvent:
				if cfg.stats {
					say(headless.Line(ev, e.Route))
				}
			case event.ByeEvent:
				return fail(fmt.Errorf("the echo call ended: %s", ev.Reason))
			}
		}
	}
}

// newEcho starts the echo test as the flags ask.
func newEcho(ctx context.Context, cfg config, log io.Writer) (*session.Echo, error) {
	return session.NewEcho(ctx, session.EchoConfig{In: cfg.in, Out: cfg.out, Encoder: cfg.encoder, Log: log})
}

// echoByeWait bounds the wait for the listener's bye once the talker has
// hung up.
const echoByeWait = 5 * time.Second

// endEcho hangs up the test call and reports how it went.
func endEcho(e *session.Echo, say func(any)) int {
	e.Talker.HangUp()
	timeout := time.After(echoByeWait)
	for {
		select {
		case ev, ok := <-e.Events():
			if _, bye := ev.(event.ByeEvent); bye || !ok {
				say(headless.Line(event.ByeEvent{Reason: "hung up"}, ""))
				return ExitOK
			}
		case <-timeout:
			say(headless.Line(event.ByeEvent{Reason: "hung up"}, ""))
			return ExitOK
		}
	}
}
