package tui

import (
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
)

// clipboard copies text to the system clipboard with OSC 52, an escape
// sequence the terminal itself acts on, so it works over SSH too.
type clipboard struct {
	w    io.Writer // the terminal, shared with the renderer through a syncWriter
	tmux bool      // wrap the sequence in tmux's passthrough
}

// copiedMsg reports that a copy was attempted.
type copiedMsg struct {
	what string // "invite", "answer", "message"
	err  error
}

var errNoTerminal = errors.New("no terminal to copy through")

// copyCmd writes the OSC 52 sequence for text.
func (c clipboard) copyCmd(what, text string) tea.Cmd {
	return func() tea.Msg {
		if c.w == nil {
			return copiedMsg{what: what, err: errNoTerminal}
		}
		_, err := io.WriteString(c.w, osc52(text, c.tmux))
		return copiedMsg{what: what, err: err}
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
