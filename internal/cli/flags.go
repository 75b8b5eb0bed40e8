package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"parley/audio"
	"parley/rtc"
	"parley/voice"
)

// config is what the command line asks for.
type config struct {
	rtc       rtc.Config
	headless  bool
	printCode bool // accepted, and without effect: the UI always prints codes
	code      string
	logPath   string

	audioIn, audioOut string
	in, out           audio.Spec
	encoder           audio.EncoderOptions
	stats             bool
	notify            bool
	processing        voice.Processing
	agent             string // --agent: a socket, "none", or "" to look for one
}

const usage = `parley: peer-to-peer voice and text calls in the terminal

Usage:
  parley                      open the terminal UI
  parley call [flags]         start a call: make an invite, paste the answer
  parley join [CODE] [flags]  join a call: paste the invite, send the answer
  parley echo [flags]         hear yourself through a whole call first
  parley devices              list microphones and speakers
  parley ssh HOST [-- ARGS]   run parley on HOST with this computer's sound
  parley bench [--json]       measure latency, quality and cost (see BENCH.md)
  parley help                 show this help

Flags:
`

// examples end the help. The one-machine call is the README's.
const examples = `
Examples:
  A call between two terminals on this machine, with no network needed:
    parley call --loopback --stun none    in the first: it shows an invite
    parley join --loopback --stun none    in the second: paste the invite,
                                          then paste its answer in the first
  A call with someone elsewhere:
    parley call                           send the invite; paste the answer
    parley join PLI…                      they answer your invite
  Hear yourself through a whole call before a real one:
    parley echo
    parley echo --audio-in tone           without a microphone: a 440 Hz tone
  Talk from a host you reach over SSH, through this computer's microphone
  and speaker ('parley ssh --help'):
    parley ssh me@host                    parley's terminal UI there
    parley ssh me@host -- call --headless
  A call driven by a script, JSON lines on stdout:
    parley call --headless --audio-in none --audio-out none

Defaults for the flags can be kept in ~/.config/parley/config.toml.
`

// writeHelp writes the help: the commands, the flags as --name, and
// examples.
func writeHelp(w io.Writer) {
	var cfg config
	fs := newFlagSet(&cfg, io.Discard)
	fmt.Fprint(w, usage)
	writeFlags(w, fs)
	fmt.Fprint(w, examples)
}

// writeFlags lists fs's flags as --name, each description wrapped at the
// help's indent, with its default where that says something.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		left := "  --" + f.Name
		if name != "" && name != "value" {
			left += " " + name
		}
		switch f.DefValue {
		case "", "false", "0", "0s":
		default:
			text += " (default " + f.DefValue + ")"
		}
		lines := wrapWords(text, 80-helpIndent)
		if len(left) > helpIndent-2 {
			fmt.Fprintln(w, left)
			left = ""
		}
		for _, l := range lines {
			fmt.Fprintf(w, "%-*s%s\n", helpIndent, left, l)
			left = ""
		}
	})
}

// helpIndent is the column where the flags' descriptions start.
const helpIndent = 24

// wrapWords breaks text into lines of at most width columns, between
// words.
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}

// parseArgs parses the command line over the defaults of the config file
// (configFile may be ""). Flags may come before or after the code. For
// "help", -h or --help it writes the help to help and returns
// flag.ErrHelp; other errors it returns, for the caller to print.
func parseArgs(args []string, configFile string, help io.Writer) (cmd string, cfg config, err error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "", "call", "join", "echo", "devices":
	case "help":
		writeHelp(help)
		return cmd, cfg, flag.ErrHelp
	default:
		return cmd, cfg, fmt.Errorf("unknown command %q", cmd)
	}
	fs := newFlagSet(&cfg, help)
	stun := fs.Lookup("stun").Value.(*listFlag)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				writeHelp(help)
			}
			return cmd, cfg, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// The config file gives defaults: its values count only for flags
	// the command line left alone.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	file, err := loadConfigFile(configFile)
	if err != nil {
		return cmd, cfg, err
	}
	for name, vals := range file {
		if given[name] {
			continue
		}
		for _, v := range vals {
			if err := fs.Set(name, v); err != nil {
				return cmd, cfg, fmt.Errorf("config file %s: %s: %v", configFile, name, err)
			}
		}
	}
	switch {
	case cmd == "join" && len(rest) > 0:
		// A code pasted with spaces or line breaks arrives in pieces.
		cfg.code = strings.Join(rest, " ")
	case len(rest) > 0:
		return cmd, cfg, fmt.Errorf("unexpected argument %q", rest[0])
	}
	switch {
	case !stun.set:
		cfg.rtc.STUN = []string{rtc.DefaultSTUN}
	case len(stun.values) == 1 && stun.values[0] == "none":
		cfg.rtc.STUN = nil
	default:
		for _, v := range stun.values {
			if v == "none" {
				return cmd, cfg, errors.New("--stun none cannot be combined with a STUN server")
			}
			if !strings.HasPrefix(v, "stun:") && !strings.HasPrefix(v, "stuns:") {
				v = "stun:" + v
			}
			cfg.rtc.STUN = append(cfg.rtc.STUN, v)
		}
	}
	cfg.rtc.Interfaces = fs.Lookup("iface").Value.(*listFlag).values
	for _, v := range fs.Lookup("turn").Value.(*listFlag).values {
		t, err := rtc.ParseTURN(v)
		if err != nil {
			return cmd, cfg, err
		}
		cfg.rtc.TURN = append(cfg.rtc.TURN, t)
	}
	if cfg.rtc.RelayOnly && len(cfg.rtc.TURN) == 0 {
		return cmd, cfg, errors.New("--relay-only needs a TURN server (--turn)")
	}
	if cfg.in, err = audio.ParseInput(cfg.audioIn); err != nil {
		return cmd, cfg, fmt.Errorf("--audio-in: %w", err)
	}
	if cfg.out, err = audio.ParseOutput(cfg.audioOut); err != nil {
		return cmd, cfg, fmt.Errorf("--audio-out: %w", err)
	}
	if cmd == "" && cfg.headless {
		return cmd, cfg, errors.New("--headless needs 'call' or 'join'")
	}
	return cmd, cfg, nil
}

func newFlagSet(cfg *config, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	// Errors come back from Parse, and the caller prints them; the help
	// is writeHelp's.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&cfg.headless, "headless", false, "no UI: JSON lines on stdout, chat lines on stdin")
	fs.BoolVar(&cfg.printCode, "print-code", false, "no effect, kept for old scripts: the UI always prints codes on the normal screen, one line each")
	fs.BoolVar(&cfg.rtc.SDP, "sdp", false, "exchange standard session descriptions (base64 JSON) instead of compact codes")
	fs.Var(&listFlag{}, "stun", "STUN server `URL` (repeatable); 'none' for no STUN (default "+rtc.DefaultSTUN+")")
	fs.Var(&listFlag{}, "turn", "TURN server `turn:USER:PASS@HOST:PORT` (also turns:, ?transport=tcp; repeatable)")
	fs.BoolVar(&cfg.rtc.RelayOnly, "relay-only", false, "connect only through a TURN relay: the peer never learns your address")
	fs.Var(&listFlag{}, "iface", "gather candidates only on this network interface `NAME` (repeatable)")
	fs.BoolVar(&cfg.rtc.Loopback, "loopback", false, "include loopback candidates, for calls on one machine")
	fs.BoolVar(&cfg.rtc.MDNS, "mdns", false, "resolve a browser's .local candidates (with --sdp)")
	fs.StringVar(&cfg.audioIn, "audio-in", "", "what to send: a device `NAME|INDEX` (see 'parley devices'), FILE.wav, tone or none")
	fs.StringVar(&cfg.audioOut, "audio-out", "", "where the peer's audio goes: a device `NAME|INDEX`, FILE.wav or none")
	fs.StringVar(&cfg.agent, "agent", "", "use the microphone and speaker of 'parley ssh' through its `SOCKET` ('parley ssh' passes it); 'none' never to; without it, in an SSH session parley looks for one")
	fs.DurationVar(&cfg.encoder.Frame, "frame", audio.DefaultFrame, "Opus frame `LENGTH`: 10ms, 20ms or 40ms")
	fs.IntVar(&cfg.encoder.Bitrate, "bitrate", audio.DefaultBitrate, "Opus bitrate: `N` bits per second")
	fs.BoolVar(&cfg.encoder.DTX, "dtx", false, "send almost nothing during silence (Opus DTX)")
	fs.BoolVar(&cfg.stats, "stats", false, "with --headless: a stats line every second")
	fs.BoolVar(&cfg.processing.AEC, "aec", true, "echo cancellation, where the microphone and the speaker are both devices; --aec=false with headphones if you like")
	fs.BoolVar(&cfg.processing.NS, "ns", true, "noise suppression for the microphone (with devices)")
	fs.BoolVar(&cfg.processing.AGC, "agc", true, "automatic gain control for the microphone (with devices)")
	fs.BoolVar(&cfg.notify, "notify", true, "ring the bell (or notify the desktop) for a message that arrives while you look elsewhere; --notify=false for silence")
	fs.StringVar(&cfg.logPath, "log", "", "log `FILE` (default: parley.log in the XDG state directory)")
	return fs
}

// listFlag is a repeatable string flag that knows whether it was given.
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }
func (l *listFlag) Set(v string) error {
	l.values, l.set = append(l.values, v), true
	return nil
}
