package tui

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// mapEnv is an environment for termenv and for Getenv.
type mapEnv map[string]string

func (e mapEnv) Getenv(k string) string { return e[k] }
func (e mapEnv) Environ() []string {
	var l []string
	for k, v := range e {
		l = append(l, k+"="+v)
	}
	return l
}

// renderAs renders the Error style ("! …", bold red) with the profile the
// UI would choose on a terminal with env, as termenv sees it.
func renderAs(env mapEnv, terminal bool) string {
	o := termenv.NewOutput(io.Discard, termenv.WithTTY(terminal), termenv.WithEnvironment(env))
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(colourProfile(o, terminal, env.Getenv))
	r.SetHasDarkBackground(true)
	return DefaultStyles(r, env["NO_COLOR"] == "").Error.Render("x")
}

// sgrBold matches an SGR sequence that sets bold.
var sgrBold = regexp.MustCompile(`\x1b\[([0-9;]*;)?1[;m]`)

// TestColourUnderScreen: TERM=screen and tmux, which termenv takes for
// terminals without colour, keep colour (of the 8 basic ones) and bold;
// with NO_COLOR, bold only; a pipe gets neither.
func TestColourUnderScreen(t *testing.T) {
	for _, term := range []string{"screen", "screen-bce", "screen.xterm-new", "tmux", "rxvt-unicode"} {
		if p := termenv.NewOutput(io.Discard, termenv.WithTTY(true), termenv.WithEnvironment(mapEnv{"TERM": term})).ColorProfile(); p != termenv.Ascii {
			t.Logf("termenv gives TERM=%s profile %v itself", term, p)
		}
		out := renderAs(mapEnv{"TERM": term}, true)
		if !regexp.MustCompile(`\x1b\[[0-9;]*3[0-7][;m]`).MatchString(out) || !sgrBold.MatchString(out) {
			t.Errorf("TERM=%s: Error renders %q; want bold and one of the 8 basic colours", term, out)
		}
		if regexp.MustCompile(`\x1b\[[0-9;]*(9[0-7]|38;)`).MatchString(out) {
			t.Errorf("TERM=%s: Error renders %q: a bright or 256 colour, which screen may lack", term, out)
		}
		out = renderAs(mapEnv{"TERM": term, "NO_COLOR": "1"}, true)
		if sgrColour.MatchString(out) || !sgrBold.MatchString(out) {
			t.Errorf("TERM=%s NO_COLOR=1: Error renders %q; want bold and no colour", term, out)
		}
	}
	if out := renderAs(mapEnv{"TERM": "screen"}, false); strings.Contains(out, "\x1b") {
		t.Errorf("TERM=screen, not a terminal: Error renders %q; want plain text", out)
	}
	if out := renderAs(mapEnv{"TERM": "xterm-256color"}, true); !strings.Contains(out, "38;5;") {
		t.Errorf("TERM=xterm-256color: Error renders %q; want a 256-colour code", out)
	}
}
