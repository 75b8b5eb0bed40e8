package tui

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// clipboard copies text to the system clipboard with OSC 52, an escape
// sequence the terminal itself acts on, so it works over SSH too.
type clipboard struct {
	w    io.Writer // the terminal, shared with the renderer through a syncWriter
	tmux bool      // wrap the sequence in tmux's passthrough
	// tmuxOption reads one of tmux's global options, as "tmux show -gv
	// NAME" prints it; nil when not in tmux, or not to be asked.
	tmuxOption func(name string) (string, error)
}

// copiedMsg reports that a copy was attempted.
type copiedMsg struct {
	what string // "invite", "answer", "message"
	err  error
	// hint, when set, says that the copy will not reach the clipboard
	// and how to let it through: tmux's settings drop it.
	hint string
}

var errNoTerminal = errors.New("no terminal to copy through")

// copyCmd writes the OSC 52 sequence for text.
func (c clipboard) copyCmd(what, text string) tea.Cmd {
	return func() tea.Msg {
		if c.w == nil {
			return copiedMsg{what: what, err: errNoTerminal}
		}
		_, err := io.WriteString(c.w, osc52(text, c.tmux))
		return copiedMsg{what: what, err: err, hint: c.tmuxHint()}
	}
}

// tmuxHint says how to turn on what a copy needs inside tmux, when
// neither of the two ways osc52 takes through tmux is open: tmux passes an
// application's OSC 52 on to the outer terminal only with set-clipboard
// on (its default, external, lets only tmux's own copy mode set the
// clipboard), and the wrapped sequence only with allow-passthrough on. It
// says nothing when tmux cannot be asked.
func (c clipboard) tmuxHint() string {
	if !c.tmux || c.tmuxOption == nil {
		return ""
	}
	clip, err := c.tmuxOption("set-clipboard")
	if err != nil || clip == "on" {
		return ""
	}
	if pass, err := c.tmuxOption("allow-passthrough"); err == nil && (pass == "on" || pass == "all") {
		return ""
	}
	return `tmux drops the copy: run "tmux set -g set-clipboard on", then copy again`
}

// newClipboard copies through the terminal w; tmuxEnv is $TMUX.
func newClipboard(w io.Writer, tmuxEnv string) clipboard {
	if tmuxEnv == "" {
		return clipboard{w: w}
	}
	return clipboard{w: w, tmux: true, tmuxOption: tmuxShow(tmuxEnv)}
}

// tmuxShow returns a tmuxOption that asks the tmux server named in $TMUX
// ("socket,pid,session"), quietly and within a second.
func tmuxShow(tmuxEnv string) func(name string) (string, error) {
	socket, _, _ := strings.Cut(tmuxEnv, ",")
	return func(name string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "tmux", "-S", socket, "show-options", "-gv", name).Output()
		return strings.TrimSpace(string(out)), err
	}
}

// osc52 returns the sequence that asks the terminal to put text on the
// clipboard.
//
// Inside tmux it returns the sequence twice: plain, which tmux takes
// itself (into its paste buffers, and on to the outer terminal) when
// set-clipboard is on, and wrapped in tmux's DCS passthrough (each ESC
// doubled), which tmux hands to the outer terminal when allow-passthrough
// is on. Either setting is then enough; with both, the same text is set
// twice.
func osc52(text string, tmux bool) string {
	seq := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\x07"
	if tmux {
		seq += "\x1bPtmux;" + strings.ReplaceAll(seq, "\x1b", "\x1b\x1b") + "\x1b\\"
	}
	return seq
}

// syncWriter serialises writes, so that a clipboard sequence never lands in
// the middle of a frame the renderer is writing.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// syncFile is a syncWriter over a file that still looks like a terminal to
// Bubble Tea (it has Fd), so raw mode and window sizes keep working.
type syncFile struct {
	syncWriter
	f *os.File
}

func (s *syncFile) Read(p []byte) (int, error) { return s.f.Read(p) }
func (s *syncFile) Close() error               { return nil } // the caller owns the file
func (s *syncFile) Fd() uintptr                { return s.f.Fd() }

// lockedOutput wraps w for shared use by the renderer and the clipboard.
func lockedOutput(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return &syncFile{syncWriter: syncWriter{w: f}, f: f}
	}
	return &syncWriter{w: w}
}
