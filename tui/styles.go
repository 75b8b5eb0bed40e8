package tui

import (
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"
)

// Styles holds every style of the UI. Colour only ever adds to what the
// words and symbols already say (✓, !, MUTED, "connected"), so the UI
// reads the same without it.
type Styles struct {
	Title     lipgloss.Style // "parley" and the screen's name
	Heading   lipgloss.Style // a numbered step
	Code      lipgloss.Style // an invite or answer code
	Dim       lipgloss.Style // hints, timestamps, placeholders
	Error     lipgloss.Style // a line that starts with "! "
	Success   lipgloss.Style // a line that starts with "✓ "
	Selected  lipgloss.Style // the home menu's current item
	Box       lipgloss.Style // the border of a paste box
	Cursor    lipgloss.Style // the paste box's cursor
	Me        lipgloss.Style // "you" in the chat
	Peer      lipgloss.Style // "peer" in the chat
	Event     lipgloss.Style // a line about the call in the chat
	Rule      lipgloss.Style // horizontal rules
	Good      lipgloss.Style // connected
	Warn      lipgloss.Style // connecting, interrupted, MUTED
	Meter     lipgloss.Style // the filled part of a level meter
	MeterOff  lipgloss.Style // the empty part of a level meter
	Banner    lipgloss.Style // the end-of-call line
	HelpStyle help.Styles
}

// colourProfile returns the profile the UI renders with on the terminal
// o: what termenv detects, except that
//
//   - TERM=screen, tmux and their kin (screen-bce, tmux-direct…), which tmux
//     and GNU screen set by default, name no colours, and termenv takes them
//     for terminals without colour or bold; they have 8 colours, so on a
//     terminal they are ANSI, as are rxvt, putty, konsole and Eterm;
//   - CLICOLOR_FORCE gives colour where termenv finds none (as termenv's
//     EnvColorProfile does);
//   - with NO_COLOR a terminal keeps bold, underline and reverse video: ANSI
//     at most, the styles then having no colour.
//
// terminal says whether o writes to a terminal.
func colourProfile(o *termenv.Output, terminal bool, getenv func(string) string) termenv.Profile {
	p := o.ColorProfile()
	if p == termenv.Ascii {
		t := getenv("TERM")
		for _, family := range []string{"screen", "tmux", "rxvt", "putty", "konsole", "eterm"} {
			if terminal && strings.HasPrefix(strings.ToLower(t), family) {
				p = termenv.ANSI
			}
		}
		if f := getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
			p = termenv.ANSI
		}
	}
	if getenv("NO_COLOR") != "" && p != termenv.Ascii {
		p = termenv.ANSI
	}
	return p
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(f.Fd())
}

// colour is one colour for light and dark backgrounds at each colour depth.
// The ANSI colours are of the 8 that every colour terminal has (0-7), not
// the bright ones (8-15), which TERM=screen's terminals may lack.
func colour(lightTrue, light256, light16, darkTrue, dark256, dark16 string) lipgloss.CompleteAdaptiveColor {
	return lipgloss.CompleteAdaptiveColor{
		Light: lipgloss.CompleteColor{TrueColor: lightTrue, ANSI256: light256, ANSI: light16},
		Dark:  lipgloss.CompleteColor{TrueColor: darkTrue, ANSI256: dark256, ANSI: dark16},
	}
}

// DefaultStyles returns parley's styles for renderer r. With withColour
// false (NO_COLOR) they use no colour at all, only bold, underline and
// reverse video.
func DefaultStyles(r *lipgloss.Renderer, withColour bool) Styles {
	var (
		accent  lipgloss.TerminalColor = colour("#4B3FD1", "62", "4", "#A99BFF", "141", "5")
		dim     lipgloss.TerminalColor = colour("#6C6C6C", "242", "0", "#9A9A9A", "247", "7")
		red     lipgloss.TerminalColor = colour("#B3142B", "160", "1", "#FF7A8C", "210", "1")
		green   lipgloss.TerminalColor = colour("#1C7530", "28", "2", "#74DB8F", "78", "2")
		yellow  lipgloss.TerminalColor = colour("#8A5A00", "130", "3", "#F5C16C", "221", "3")
		cyan    lipgloss.TerminalColor = colour("#005F87", "24", "6", "#7FDBFF", "117", "6")
		peerCol lipgloss.TerminalColor = colour("#8A3B00", "130", "5", "#FFB37A", "216", "3")
	)
	if !withColour {
		accent, dim, red, green, yellow, cyan, peerCol = lipgloss.NoColor{}, lipgloss.NoColor{}, lipgloss.NoColor{},
			lipgloss.NoColor{}, lipgloss.NoColor{}, lipgloss.NoColor{}, lipgloss.NoColor{}
	}
	s := r.NewStyle
	h := help.Styles{
		Ellipsis:       s().Foreground(dim),
		ShortKey:       s().Bold(true),
		ShortDesc:      s().Foreground(dim),
		ShortSeparator: s().Foreground(dim),
		FullKey:        s().Bold(true),
		FullDesc:       s().Foreground(dim),
		FullSeparator:  s().Foreground(dim),
	}
	return Styles{
		Title:     s().Bold(true).Foreground(accent),
		Heading:   s().Bold(true),
		Code:      s().Bold(true).Foreground(cyan),
		Dim:       s().Foreground(dim),
		Error:     s().Bold(true).Foreground(red),
		Success:   s().Foreground(green),
		Selected:  s().Bold(true).Foreground(accent),
		Box:       s().Border(lipgloss.NormalBorder()).BorderForeground(dim).Padding(0, 1),
		Cursor:    s().Reverse(true),
		Me:        s().Bold(true).Foreground(accent),
		Peer:      s().Bold(true).Foreground(peerCol),
		Event:     s().Foreground(dim).Italic(true),
		Rule:      s().Foreground(dim),
		Good:      s().Bold(true).Foreground(green),
		Warn:      s().Bold(true).Foreground(yellow),
		Meter:     s().Foreground(green),
		MeterOff:  s().Foreground(dim),
		Banner:    s().Bold(true),
		HelpStyle: h,
	}
}
