package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"

	"parley/audio"
	"parley/internal/agent"
	"parley/voice"
)

const sshUsage = `parley ssh: run parley on a host you reach over SSH, with this computer's
microphone and speaker

Usage:
  parley ssh [flags] DESTINATION [-- PARLEY-ARGS…]
  parley ssh --attach [flags] DESTINATION [-- COMMAND…]

It serves this computer's sound as an audio agent on a private socket, has
ssh forward the socket to DESTINATION (-R), and runs parley there with
PARLEY-ARGS (none: its terminal UI) using the agent as its microphone and
speaker. Only Opus crosses the SSH connection, about 40 kb/s each way.
DESTINATION needs parley too; this computer needs parley and ssh.

With --attach it starts no parley there: it lends the sound to one already
running on DESTINATION in an SSH session (in tmux or screen, say, or one
whose connection dropped: that one went on as text only, and looks for a
new agent every second). It says in one line which parley took the sound,
and ends when that parley lets it go (its call hung up) or on Ctrl+C. Given
a COMMAND, ssh runs it there meanwhile (tmux attach, say; its words joined
as ssh joins them) and parley ssh ends with it, with its exit status.

Flags:
`

const sshExamples = `
Examples:
  parley ssh me@host                          the terminal UI on host
  parley ssh me@host -- call --headless       a call driven by JSON lines
  parley ssh --ssh "ssh -p 2222 -i ~/.ssh/work" --remote bin/parley me@host
  parley ssh --attach me@host                 lend the sound to the parley in tmux there
  parley ssh --attach me@host -- tmux attach  …and see its screen
`

// sshConfig is what parley ssh's command line asks for.
type sshConfig struct {
	ssh, remote       string
	audioIn, audioOut string
	logPath           string
	processing        voice.Processing
	attach            bool
	dest              string
	args              []string
}

func newSSHFlagSet(c *sshConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("parley ssh", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.ssh, "ssh", "ssh", "the ssh `COMMAND`, split as a shell would; it may carry options such as -p, -i, -o")
	fs.StringVar(&c.remote, "remote", "parley", "the `PATH` of parley on the remote host, found in its PATH or from the home directory there")
	fs.StringVar(&c.audioIn, "audio-in", "", "this computer's input: a device `NAME|INDEX` (see 'parley devices'), FILE.wav, tone or none")
	fs.StringVar(&c.audioOut, "audio-out", "", "this computer's output: a device `NAME|INDEX`, FILE.wav or none")
	fs.StringVar(&c.logPath, "log", "", "log `FILE` (default: parley.log in the XDG state directory, with a terminal)")
	fs.BoolVar(&c.attach, "attach", false, "lend the sound to a parley already running on DESTINATION (in tmux, say) rather than start one; after -- a COMMAND to run there meanwhile")
	fs.BoolVar(&c.processing.AEC, "aec", true, "echo cancellation here, where the speaker is (with devices)")
	fs.BoolVar(&c.processing.NS, "ns", true, "noise suppression for this computer's microphone (with devices)")
	fs.BoolVar(&c.processing.AGC, "agc", true, "automatic gain control for this computer's microphone (with devices)")
	return fs
}

func writeSSHHelp(w io.Writer) {
	fmt.Fprint(w, sshUsage)
	writeFlags(w, newSSHFlagSet(&sshConfig{}))
	fmt.Fprint(w, sshExamples)
}

// parseSSHArgs parses parley ssh's command line.
func parseSSHArgs(args []string, help io.Writer) (sshConfig, error) {
	var c sshConfig
	fs := newSSHFlagSet(&c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeSSHHelp(help)
		}
		return c, err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return c, errors.New("parley ssh needs a DESTINATION: parley ssh [flags] DESTINATION [-- PARLEY-ARGS…]")
	}
	c.dest, c.args = rest[0], rest[1:]
	if strings.HasPrefix(c.dest, "-") {
		return c, fmt.Errorf("parley ssh: flags come before the DESTINATION, not %q", c.dest)
	}
	if len(c.args) > 0 && c.args[0] == "--" {
		c.args = c.args[1:]
	}
	if c.remote == "" {
		return c, errors.New("--remote needs a PATH")
	}
	return c, nil
}

// runSSH runs parley ssh: the audio agent here, ssh with the socket
// forwarded, and parley on the remote host with it. It returns ssh's
// exit status, which is the remote parley's unless ssh failed (255).
func runSSH(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sc, err := parseSSHArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var sshArgv []string
	if err == nil {
		if sshArgv, err = shellSplit(sc.ssh); err == nil && len(sshArgv) == 0 {
			err = errors.New("--ssh is empty")
		}
	}
	cfg := config{audioIn: sc.audioIn, audioOut: sc.audioOut, logPath: sc.logPath, agent: "none", processing: sc.processing}
	if err == nil {
		if cfg.in, err = audio.ParseInput(sc.audioIn); err != nil {
			err = fmt.Errorf("--audio-in: %w", err)
		}
	}
	if err == nil {
		if cfg.out, err = audio.ParseOutput(sc.audioOut); err != nil {
			err = fmt.Errorf("--audio-out: %w", err)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		fmt.Fprintln(stderr, "Run 'parley ssh --help' for usage.")
		return ExitUsage
	}
	tty := false
	if f, ok := stdin.(*os.File); ok {
		tty = term.IsTerminal(f.Fd())
	}
	// With a terminal, ssh and the remote parley's screen own it: what
	// this side has to say goes to the log, and its last words after.
	l, err := openLogs(cfg, stderr, tty)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitFailure
	}
	defer l.close()
	fail := func(err error) int {
		fmt.Fprintf(l.out, "parley ssh: %v\n", err)
		return ExitFailure
	}

	dir, err := os.MkdirTemp("", "parley-ssh-") // 0700
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", local)
	if err != nil {
		return fail(fmt.Errorf("listen on %s: %w", local, err))
	}
	if err := os.Chmod(local, 0o600); err != nil {
		ln.Close()
		return fail(err)
	}
	logf := func(f string, a ...any) { fmt.Fprintf(l.log, f+"\n", a...) }
	a := &agent.Agent{
		Open: func(enc audio.EncoderOptions, onLevels func(voice.Levels)) (agent.LocalSound, error) {
			v, err := voice.Open(voice.Config{
				In: cfg.in, Out: cfg.out,
				Audio:      audio.Options{Logf: func(f string, a ...any) { fmt.Fprintf(l.sound, f+"\n", a...) }},
				Encoder:    enc,
				OnLevels:   onLevels,
				Processing: cfg.processing, // echo cancellation where the speaker is
			})
			if err != nil {
				return nil, err
			}
			return v, nil
		},
		Logf: logf,
	}
	remoteSock := agent.NewRemoteSocket()
	argv := append(sshArgv[1:len(sshArgv):len(sshArgv)],
		"-R", remoteSock+":"+local,
		// Without the forward the remote parley would have no sound: say
		// so rather than go on.
		"-o", "ExitOnForwardFailure=yes")
	// forwardOnly: --attach with no COMMAND, ssh runs nothing (-N) and
	// only holds the forward open.
	forwardOnly := sc.attach && len(sc.args) == 0
	useTTY := tty && !headlessArgs(sc.args)
	if sc.attach {
		useTTY = tty && !forwardOnly
	}
	if useTTY {
		// The remote parley's terminal UI needs one (or the COMMAND's,
		// tmux attach); JSON lines do not want one (a terminal would echo
		// stdin and end lines in \r\n).
		argv = append(argv, "-t")
	}
	switch {
	case forwardOnly:
		argv = append(argv, "-N", sc.dest)
	case sc.attach:
		// The COMMAND's words joined as ssh joins them, for the remote
		// shell to split.
		argv = append(argv, sc.dest, strings.Join(sc.args, " "))
	default:
		argv = append(argv, sc.dest, remotePath(sc.remote)+" "+shellJoin(remoteArgs(sc.args, remoteSock)))
	}

	// With --attach, which parley took the sound, and when it lets it go:
	// without a COMMAND, that ends parley ssh.
	released := make(chan struct{})
	if sc.attach {
		say := l.out
		if useTTY {
			say = l.log // the COMMAND's screen
		}
		var once sync.Once
		a.OnBegin = func(who string) {
			if who == "" {
				who = "a parley"
			}
			fmt.Fprintf(say, "parley ssh: lent this computer's sound to %s\n", who)
		}
		a.OnEnd = func(who string, bye bool) {
			if who == "" {
				who = "the parley"
			}
			if !bye {
				// The stream broke: ssh says why, or the parley there
				// reconnects through the forward.
				fmt.Fprintf(l.log, "parley ssh: the stream to %s broke\n", who)
				return
			}
			if forwardOnly {
				fmt.Fprintf(say, "parley ssh: %s let the sound go (its call ended); ending\n", who)
				once.Do(func() { close(released) })
				return
			}
			fmt.Fprintf(say, "parley ssh: %s let the sound go (its call ended)\n", who)
		}
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	defer func() {
		a.Close()
		if err := <-served; err != nil {
			logf("agent: %v", err)
		}
	}()

	var cmd *exec.Cmd
	if !useTTY && runtime.GOOS != "windows" {
		// ssh keeps ignoring SIGINT if it starts with it ignored: Ctrl+C
		// is then this side's alone, which hangs the remote call up (EOF,
		// below) rather than cutting it off. With a terminal, Ctrl+C is a
		// key that goes to the remote parley.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `trap '' INT; exec "$0" "$@"`, sshArgv[0]}, argv...)...)
	} else {
		cmd = exec.Command(sshArgv[0], argv...)
	}
	cmd.Stdout, cmd.Stderr = stdout, l.out
	hangUp := func() {}
	wait := hangUpWait
	switch {
	case forwardOnly:
		wait = 0 // nothing there to hang up: ssh is ended at once
	case useTTY:
		cmd.Stdin = stdin // the terminal itself, for ssh to make raw
	default:
		w, err := cmd.StdinPipe()
		if err != nil {
			return fail(err)
		}
		hangUp = relayStdin(stdin, w)
	}
	logf("parley ssh: %s", shellJoin(cmd.Args))
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("run %s: %w", sshArgv[0], err))
	}
	if forwardOnly {
		fmt.Fprintf(l.out, "parley ssh: this computer's sound waits on %s for a parley running there in an SSH session (it takes it within a second); Ctrl+C ends\n", sc.dest)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	// end waits up to d for ssh to end by itself, then ends it.
	end := func(d time.Duration) error {
		select {
		case err := <-waited:
			return err
		case <-time.After(d):
		}
		if cmd.Process.Signal(syscall.SIGTERM) != nil {
			cmd.Process.Kill()
		}
		select {
		case err := <-waited:
			return err
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			return <-waited
		}
	}
	select {
	case err = <-waited:
	case <-released:
		end(0)
		err = nil
	case <-ctx.Done():
		// Ctrl+C, or a signal: the remote parley reads EOF and hangs up,
		// as a headless parley does, and ssh ends with it; or, after a
		// while, ssh is ended, and the remote parley with it.
		hangUp()
		err = end(wait)
	}
	a.Close()
	if c := a.Counters(); c != (agent.Counters{}) {
		fmt.Fprintf(l.out, "parley ssh: the audio agent carried %v\n", c)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return ExitOK
	case ctx.Err() != nil:
		// Ended by a signal: a hang-up, as in headless mode. The remote
		// parley's own status if it could say one, 0 if ssh was ended.
		if errors.As(err, &ee) && ee.ExitCode() >= 0 && ee.ExitCode() <= ExitUsage {
			return ee.ExitCode()
		}
		return ExitOK
	case errors.As(err, &ee) && ee.ExitCode() == 255:
		// ssh's own failure (it says what first): the remote parley's
		// statuses are 0 to 2.
		fmt.Fprintf(l.out, "parley ssh: %s failed (status 255): it could not log in, or the host's sshd does not forward unix sockets (AllowStreamLocalForwarding), or the connection was lost\n", sshArgv[0])
		return 255
	case errors.As(err, &ee) && (ee.ExitCode() == 126 || ee.ExitCode() == 127):
		// The remote shell's: no such command, or not executable.
		if sc.attach {
			fmt.Fprintf(l.out, "parley ssh: the host could not run %s\n", strings.Join(sc.args, " "))
			return ee.ExitCode()
		}
		fmt.Fprintf(l.out, "parley ssh: the host could not run %s: install parley there, or give its path with --remote\n", shellQuote(sc.remote))
		return ee.ExitCode()
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	case errors.As(err, &ee):
		fmt.Fprintf(l.out, "parley ssh: %s was ended by a signal (%v): the SSH connection is gone\n", sshArgv[0], ee.ProcessState)
		return ExitFailure
	}
	return fail(err)
}

// hangUpWait is how long parley ssh waits, after Ctrl+C, for the remote
// parley to hang up on EOF before it ends ssh: a headless parley hangs up
// at once unless messages are still being delivered.
const hangUpWait = 5 * time.Second

// relayStdin copies stdin to w until stdin ends, and returns a function
// that closes w at once: EOF for the remote parley. (The copy may stay
// blocked reading stdin until the process ends.)
func relayStdin(stdin io.Reader, w io.WriteCloser) (eof func()) {
	var mu sync.Mutex
	closed := false
	eof = func() {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			closed = true
			w.Close()
		}
	}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := stdin.Read(buf)
			mu.Lock()
			if !closed && n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
			mu.Unlock()
			if err != nil {
				eof()
				return
			}
		}
	}()
	return eof
}

// headlessArgs reports whether the remote parley's arguments ask for
// headless mode.
func headlessArgs(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		switch strings.TrimLeft(a, "-") {
		case "headless", "headless=true", "headless=1":
			if strings.HasPrefix(a, "-") {
				return true
			}
		}
	}
	return false
}

// remoteArgs puts --agent SOCKET into the remote parley's arguments,
// after its command if it has one.
func remoteArgs(args []string, sock string) []string {
	flag := []string{"--agent", sock}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return append(flag, args...)
	}
	if args[0] == "bench" || args[0] == "help" {
		return args // no sound of the agent's
	}
	return append(append([]string{args[0]}, flag...), args[1:]...)
}

// remotePath quotes the remote parley's path for the remote shell, with
// a leading ~/ left for it to expand.
func remotePath(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return "~/" + shellQuote(rest)
	}
	return shellQuote(p)
}

// shellJoin quotes args for a POSIX shell, as ssh's remote command is
// run by the remote user's shell.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellSplit splits a command line into words as a POSIX shell would,
// with its quoting ('…', "…", \) and no expansion at all, but for a ~ or
// ~/ that starts a word, which is the home directory.
func shellSplit(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	home := func() {
		if h, err := os.UserHomeDir(); err == nil {
			w.WriteString(h)
		} else {
			w.WriteByte('~')
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '~' && !inWord && (i+1 == len(s) || s[i+1] == '/' || s[i+1] == ' ' || s[i+1] == '\t'):
			inWord = true
			home()
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("--ssh %q: an unterminated '", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; ; i++ {
				if i == len(s) {
					return nil, fmt.Errorf("--ssh %q: an unterminated \"", s)
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					w.WriteByte(s[i])
				}
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
