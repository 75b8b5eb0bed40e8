// Command parley makes peer-to-peer voice and text calls from a terminal.
//
// Usage:
//
//	parley                  the terminal UI
//	parley call [flags]     start a call: print an invite, read the answer
//	parley join [CODE]      answer an invite
//	parley echo             hear yourself through a whole call
//	parley devices          list microphones and speakers
//	parley bench            measure latency, quality and cost
//
// Run "parley help" for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"parley/audio"
	"parley/headless"
	"parley/internal/logfile"
	"parley/rtc"
	"parley/tui"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runBench(ctx, args[1:], stdout, stderr)
	}
	cmd, cfg, err := parseArgs(args, configPath(), stdout)
	if errors.Is(err, flag.ErrHelp) {
		return headless.ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		fmt.Fprintln(stderr, "Run 'parley help' for usage.")
		return headless.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal hangs up; the next one ends parley at once.
	go func() {
		<-ctx.Done()
		stop()
	}()

	switch {
	case cmd == "devices":
		return listDevices(stdout, stderr)
	case cmd == "echo" && cfg.headless:
		return runEcho(ctx, cfg, stdout, stderr)
	case !cfg.headless:
		return runTUI(cmd, cfg, stderr)
	}
	return runHeadless(ctx, cmd, cfg, stdin, stdout, stderr)
}

// runHeadless runs one call with JSON lines for a UI.
func runHeadless(ctx context.Context, cmd string, cfg config, stdin io.Reader, stdout, stderr io.Writer) int {
	stderr, soundLog, restore, err := quietForDevices(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return headless.ExitFailure
	}
	defer restore()
	if cfg.logPath != "" {
		log, err := logfile.Open(cfg.logPath)
		if err != nil {
			fmt.Fprintf(stderr, "parley: %v\n", err)
			return headless.ExitFailure
		}
		defer log.Close()
		stderr = log
	}
	if soundLog == nil {
		soundLog = stderr
	}
	sound, note, err := openSound(cfg, soundLog, nil)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return headless.ExitFailure
	}
	if note != "" {
		fmt.Fprintf(stderr, "parley: %s\n", note)
	}
	if sound != nil {
		defer sound.Close()
	}
	role := headless.Caller
	if cmd == "join" {
		role = headless.Callee
	}
	cfg.rtc.Log = stderr
	return headless.Run(ctx, headless.Options{
		Role:    role,
		Code:    cfg.code,
		NewCall: func() (*rtc.Call, error) { return rtc.New(cfg.rtc) },
		Audio:   sound,
		Stats:   cfg.stats,
		In:      stdin,
		Out:     stdout,
	})
}

// quietForDevices sends the sound libraries' chatter to the log file when
// a sound device is used: what C libraries print on file descriptor 2,
// and soundLog, for what miniaudio reports through parley. It returns
// where parley's own messages go (the terminal still); soundLog is nil
// when no device is used.
func quietForDevices(cfg config, stderr io.Writer) (out, soundLog io.Writer, restore func(), err error) {
	if !cfg.usesDevice() {
		return stderr, nil, func() {}, nil
	}
	orig, log, restore, err := quietStderr(cfg.logPath)
	if err != nil {
		return stderr, nil, nil, err
	}
	if stderr == os.Stderr {
		stderr = orig
	}
	return stderr, log, restore, nil
}

// quietStderr points file descriptor 2 at the log file, so that what the
// sound libraries print stays off the terminal. orig is the real stderr.
func quietStderr(path string) (orig *os.File, log io.Writer, restore func(), err error) {
	if path == "" {
		if path, err = logfile.DefaultPath(); err != nil {
			return nil, nil, nil, err
		}
	}
	f, err := logfile.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	orig, undo := redirectStderr(f)
	return orig, f, func() { undo(); f.Close() }, nil
}

// runTUI runs the terminal UI with diagnostics, C libraries' included, in
// the log file.
func runTUI(cmd string, cfg config, stderr io.Writer) int {
	path := cfg.logPath
	if path == "" {
		var err error
		if path, err = logfile.DefaultPath(); err != nil {
			fmt.Fprintf(stderr, "parley: %v\n", err)
			return headless.ExitFailure
		}
	}
	log, err := logfile.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return headless.ExitFailure
	}
	defer log.Close()
	orig, restore := redirectStderr(log)
	defer restore()

	start := map[string]tui.Screen{"": tui.ScreenHome, "call": tui.ScreenCall, "join": tui.ScreenJoin, "echo": tui.ScreenEcho}[cmd]
	cfg.rtc.Log = log
	err = tui.Run(tui.Options{
		NewCall: func() (tui.Call, error) {
			c, err := rtc.New(cfg.rtc)
			if err != nil {
				return nil, err
			}
			t := newTUICall(c)
			if t.sound, t.note, err = openSound(cfg, log, t.onLevels); err != nil {
				c.Close()
				return nil, err
			}
			t.noMic = t.sound != nil && t.sound.Silent()
			t.start()
			return t, nil
		},
		NewEcho: func() (tui.Call, error) {
			t, err := newTUIEcho(cfg, log)
			if err != nil {
				return nil, err
			}
			return t, nil
		},
		Start:    start,
		JoinCode: cfg.code,
		Notify:   cfg.notify,
	})
	if err != nil {
		fmt.Fprintf(orig, "parley: %v\n", err)
		return headless.ExitFailure
	}
	if err := log.Err(); err != nil {
		fmt.Fprintf(orig, "parley: could not write the log %s (%v); free some space or pass --log\n", log.Name(), err)
	}
	return headless.ExitOK
}

// redirectStderr is audio.RedirectStderr, leaving stderr alone where it
// cannot be redirected.
func redirectStderr(f interface{ Fd() uintptr }) (orig *os.File, restore func()) {
	orig, undo, err := audio.RedirectStderr(f)
	if err != nil {
		return os.Stderr, func() {}
	}
	return orig, func() { undo() }
}
