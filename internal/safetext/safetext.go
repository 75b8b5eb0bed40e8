// Package safetext makes text from a peer safe to show in a terminal.
package safetext

import (
	"strings"
	"unicode/utf8"
)

// Clean returns s made safe to show as plain text in a terminal.
// Text from the peer (and anything that may quote it) goes through it
// before it is rendered, so that a message cannot move the cursor, change
// colours, set the window title, write to the clipboard, ring the bell or
// reorder the line around it.
//
// It removes escape sequences whole, whether introduced by ESC or by a C1
// control: CSI (ESC [ … final byte), OSC (ESC ] … BEL or ST), DCS, SOS, PM
// and APC strings (… ST) and two-character escapes (ESC c, ESC ( B). It
// removes the other C0 and C1 controls and DEL, and the bidirectional
// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069. It
// keeps line feeds, turns a tab into a space and CR LF into LF, drops a
// lone CR, and replaces invalid UTF-8 with U+FFFD.
func Clean(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	rs := []rune(s) // invalid bytes become U+FFFD here
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\n':
			b.WriteRune('\n')
		case r == '\t':
			b.WriteRune(' ')
		case r == 0x1b: // ESC
			i = skipEscape(rs, i+1) - 1
		case r == 0x9b: // CSI
			i = skipCSI(rs, i+1) - 1
		case r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f: // OSC, DCS, SOS, PM, APC
			i = skipString(rs, i+1) - 1
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			// Other controls (CR, BEL, BS, …): dropped.
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			// Bidi embeddings, overrides and isolates: dropped.
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlain reports whether s needs no change: valid UTF-8 with no control
// characters and no bidi controls.
func isPlain(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false
		case r == '\n':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return false
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return false
		}
	}
	return true
}

// skipEscape returns the index just past the escape sequence whose ESC was
// at i-1.
func skipEscape(rs []rune, i int) int {
	if i >= len(rs) {
		return i
	}
	switch rs[i] {
	case '[':
		return skipCSI(rs, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(rs, i+1)
	}
	// nF escapes: intermediate bytes, then one final byte.
	for i < len(rs) && rs[i] >= 0x20 && rs[i] <= 0x2f {
		i++
	}
	if i < len(rs) && rs[i] >= 0x30 && rs[i] <= 0x7e {
		i++
	}
	return i
}

// skipCSI returns the index just past a control sequence's final byte,
// starting after its introducer. A control character other than a final
// byte ends the sequence early and is left to the caller.
func skipCSI(rs []rune, i int) int {
	for ; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r >= 0x40 && r <= 0x7e:
			return i + 1
		case r >= 0x20 && r <= 0x3f:
			// Parameter and intermediate bytes.
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the terminator (BEL, ESC \ or
// ST) of an OSC, DCS, SOS, PM or APC string, starting after its
// introducer. An unterminated string runs to the end.
func skipString(rs []rune, i int) int {
	for ; i < len(rs); i++ {
		switch rs[i] {
		case 0x07, 0x9c:
			return i + 1
		case 0x1b:
			if i+1 < len(rs) && rs[i+1] == '\\' {
				return i + 2
			}
			return i // another escape aborts the string; the caller parses it
		}
	}
	return i
}
