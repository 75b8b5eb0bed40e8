// Package cli is parley's command line: the commands, their flags and the
// config file, where logs and the sound libraries' chatter go, and exit
// statuses. Each command is a thin front over a session (internal/session):
// the terminal UI, headless JSON lines, the echo test; and devices and
// bench.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"parley/audio"
	"parley/headless"
	"parley/internal/agent"
	"parley/internal/logfile"
	"parley/internal/session"
	"parley/rtc"
	"parley/tui"
)

// Exit statuses.
const (
	ExitOK      = headless.ExitOK      // a normal hang-up by either side
	ExitFailure = headless.ExitFailure // a bad code, a failed or lost connection
	ExitUsage   = headless.ExitUsage   // a bad command line
)

// Run runs parley with the command line args (without the program name)
// and returns the exit status. Cancelling ctx (a signal) hangs up.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "ssh" {
		return runSSH(ctx, args[1:], stdin, stdout, stderr)
	}
	cmd, cfg, err := parseArgs(args, configPath(), stdout)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		fmt.Fprintln(stderr, "Run 'parley help' for usage.")
		return ExitUsage
	}
	if removable(cfg.agent) {
		// 'parley ssh' made it for this parley: once parley ends, so does
		// the SSH session, and sshd leaves the socket behind.
		defer agent.Remove(cfg.agent)
	}
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

// newSession makes a call, and opens its sound off the call's path, as
// the flags ask: the call's diagnostics go to log, the sound's to
// soundLog; say, if set, is told why the call is text only.
func newSession(cfg config, log, soundLog io.Writer, say func(string)) (*callSession, error) {
	cfg.rtc.Log = log
	c, err := rtc.New(cfg.rtc)
	if err != nil {
		return nil, err
	}
	s := &callSession{Session: session.New(c), cfg: cfg, log: soundLog}
	if inSSH() && cfg.agent != "none" {
		// Without sound here, 'parley ssh --attach' may lend it later.
		s.KeepLooking()
	}
	s.Open(opener(cfg, soundLog, say))
	return s, nil
}

// removable reports whether path is an agent's socket that 'parley ssh'
// had ssh make, by its place and name, not any socket given to --agent.
func removable(path string) bool {
	return filepath.Dir(path) == agent.RemoteDir && agent.IsSocketName(filepath.Base(path))
}

// callSession is a session with the flags it was made with, so that its
// devices can be switched by name mid-call.
type callSession struct {
	*session.Session
	mu  sync.Mutex
	cfg config
	log io.Writer
}

// errAgentDevices refuses a device switch while the sound is an audio
// agent's: its devices are on the computer running 'parley ssh'.
var errAgentDevices = errors.New("the sound is your own computer's, lent by 'parley ssh': choose its devices there, with parley ssh --audio-in NAME and --audio-out NAME")

// Devices lists the microphones and the speakers, for the TUI's picker.
func (c *callSession) Devices() (mics, speakers []tui.Device, err error) {
	if _, ok := c.Sound().(*agent.Sound); ok {
		return nil, nil, errAgentDevices
	}
	l, err := audio.Devices(audio.BackendAuto)
	if err != nil {
		return nil, nil, err
	}
	pick := func(list []audio.DeviceInfo) []tui.Device {
		var out []tui.Device
		for _, d := range list {
			id, name := d.ID, d.Name
			if id == "" {
				id = strconv.Itoa(d.Index)
			} else {
				name += " (" + d.ID + ")"
			}
			out = append(out, tui.Device{Name: name, ID: id, Default: d.Default})
		}
		return out
	}
	return pick(l.Capture), pick(l.Playback), nil
}

// UseDevice switches the microphone (input) or the speaker to the device
// name names, as --audio-in and --audio-out take it.
func (c *callSession) UseDevice(input bool, name string) error {
	if _, ok := c.Sound().(*agent.Sound); ok {
		return errAgentDevices
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := c.cfg
	var err error
	if input {
		cfg.in, err = audio.ParseInput(name)
	} else {
		cfg.out, err = audio.ParseOutput(name)
	}
	if err != nil {
		return err
	}
	c.cfg = cfg
	c.Switch(opener(cfg, c.log, nil))
	return nil
}

// runHeadless runs one call with JSON lines for a UI. Why the call is
// text only, if it is, goes to stderr (or --log), as "parley: …".
func runHeadless(ctx context.Context, cmd string, cfg config, stdin io.Reader, stdout, stderr io.Writer) int {
	l, err := openLogs(cfg, stderr, false)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitFailure
	}
	defer l.close()
	role := headless.Caller
	if cmd == "join" {
		role = headless.Callee
	}
	say := func(s string) { fmt.Fprintf(l.out, "parley: %s\n", s) }
	return headless.Run(ctx, headless.Options{
		Role: role,
		Code: cfg.code,
		NewCall: func() (headless.Call, error) {
			s, err := newSession(cfg, l.log, l.sound, say)
			if err != nil {
				return nil, err // a nil *Session would be a non-nil Call
			}
			return s, nil
		},
		Stats: cfg.stats,
		In:    stdin,
		Out:   stdout,
	})
}

// runTUI runs the terminal UI with diagnostics, C libraries' included, in
// the log file.
func runTUI(cmd string, cfg config, stderr io.Writer) int {
	l, err := openLogs(cfg, stderr, true)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitFailure
	}
	defer l.close()
	start := map[string]tui.Screen{"": tui.ScreenHome, "call": tui.ScreenCall, "join": tui.ScreenJoin, "echo": tui.ScreenEcho}[cmd]
	err = tui.Run(tui.Options{
		NewCall: func() (tui.Call, error) {
			s, err := newSession(cfg, l.log, l.sound, nil)
			if err != nil {
				return nil, err // a nil *Session would be a non-nil tui.Call
			}
			return s, nil
		},
		NewEcho: func() (tui.Call, error) {
			e, err := newEcho(context.Background(), cfg, l.log)
			if err != nil {
				return nil, err
			}
			return e, nil
		},
		Start:    start,
		JoinCode: cfg.code,
		Notify:   cfg.notify,
	})
	if err != nil {
		fmt.Fprintf(l.out, "parley: %v\n", err)
		return ExitFailure
	}
	if err := l.file.Err(); err != nil {
		fmt.Fprintf(l.out, "parley: could not write the log %s (%v); free some space or pass --log\n", l.file.Name(), err)
	}
	return ExitOK
}

// logs is where a command's diagnostics go, decided in one place,
// openLogs.
type logs struct {
	out   io.Writer     // parley's own one-line messages
	log   io.Writer     // the call's diagnostics
	sound io.Writer     // the sound's, miniaudio's included
	file  *logfile.File // the log file fd 2 points at, if any
	close func()
}

// openLogs sets up logging for a command. Where a sound device is used,
// and always for the terminal UI, file descriptor 2 is pointed at the log
// file (--log, or the default), so that what C libraries print stays off
// the terminal; the sound's messages go there too. The terminal UI sends
// everything there, and its last words to the real stderr. Headless mode
// writes its own messages and the call's diagnostics to stderr, or to
// --log's file when given.
func openLogs(cfg config, stderr io.Writer, ui bool) (l logs, err error) {
	var undo []func()
	l.close = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	l.out, l.log, l.sound = stderr, stderr, stderr
	if ui || cfg.usesDevice() {
		path := cfg.logPath
		if path == "" {
			if path, err = logfile.DefaultPath(); err != nil {
				return l, err
			}
		}
		if l.file, err = logfile.Open(path); err != nil {
			return l, err
		}
		orig, restore := redirectStderr(l.file)
		undo = append(undo, func() { l.file.Close() }, restore)
		if stderr == os.Stderr {
			l.out, l.log = orig, orig
		}
		l.sound = l.file
		switch {
		case ui:
			l.log = l.file
		case cfg.logPath != "":
			l.out, l.log = l.file, l.file // one file, one header
		}
		return l, nil
	}
	if cfg.logPath != "" {
		f, err := logfile.Open(cfg.logPath)
		if err != nil {
			l.close()
			return l, err
		}
		undo = append(undo, func() { f.Close() })
		l.out, l.log, l.sound = f, f, f
	}
	return l, nil
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
