package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var sanitizeTests = []struct {
	name, in, want string
}{
	{"plain", "hello, world", "hello, world"},
	{"unicode", "héllo 👋 日本", "héllo 👋 日本"},
	{"line feed kept", "one\ntwo", "one\ntwo"},
	{"CR LF", "one\r\ntwo", "one\ntwo"},
	{"lone CR", "abc\rxyz", "abcxyz"},
	{"tab", "a\tb", "a b"},
	{"bell", "ding\x07dong", "dingdong"},
	{"backspace", "ab\x08c", "abc"},
	{"NUL and DEL", "a\x00b\x7fc", "abc"},
	{"SGR colour", "\x1b[31mred\x1b[0m", "red"},
	{"clear screen", "\x1b[2J\x1b[Hhi", "hi"},
	{"CSI with intermediates", "a\x1b[1 qb", "ab"},
	{"private CSI", "\x1b[?1049hx", "x"},
	{"OSC title, BEL", "\x1b]0;pwned\x07text", "text"},
	{"OSC title, ST", "\x1b]2;pwned\x1b\\text", "text"},
	{"OSC 52 clipboard", "\x1b]52;c;ZXZpbA==\x07ok", "ok"},
	{"OSC 8 hyperlink", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
	{"unterminated OSC", "ok\x1b]0;never ends", "ok"},
	{"OSC cut by CSI", "\x1b]0;t\x1b[31mred", "red"},
	{"DCS", "\x1bPq#0;2;0;0;0\x1b\\after", "after"},
	{"APC", "\x1b_Gf=100;AAAA\x1b\\img", "img"},
	{"PM and SOS", "\x1b^pm\x1b\\\x1bXsos\x1b\\x", "x"},
	{"two-char escape", "a\x1bcb", "ab"},
	{"charset escape", "a\x1b(Bb", "ab"},
	{"lone ESC at end", "abc\x1b", "abc"},
	{"C1 CSI", "a\u009b31mb", "ab"},
	{"C1 OSC", "a\u009d0;t\u009cb", "ab"},
	{"C1 DCS", "a\u0090x\u009cb", "ab"},
	{"other C1", "a\u0085b\u008db", "abb"},
	{"bidi override", "abc\u202edcba", "abcdcba"},
	{"bidi embeddings", "\u202aa\u202bb\u202cc\u202dd", "abcd"},
	{"bidi isolates", "\u2066a\u2067b\u2068c\u2069", "abc"},
	{"marks kept", "a\u200eb", "a\u200eb"},
	{"invalid UTF-8", "a\xffb", "a\ufffdb"},
	{"raw C1 byte", "a\x9bb", "a\ufffdb"},
}

func TestClean(t *testing.T) {
	for _, tt := range sanitizeTests {
		if got := Clean(tt.in); got != tt.want {
			t.Errorf("%s: Clean(%q) = %q; want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// FuzzClean checks that the output is valid UTF-8 with no control
// character but line feeds, no bidi control, and stable.
func FuzzClean(f *testing.F) {
	for _, tt := range sanitizeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Clean(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Clean(%q) = %q: not valid UTF-8", in, out)
		}
		for _, r := range out {
			if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) ||
				(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("Clean(%q) = %q: holds %U", in, out, r)
			}
		}
		if again := Clean(out); again != out {
			t.Fatalf("Clean is not stable: %q, then %q", out, again)
		}
		if strings.Count(out, "\n") > strings.Count(in, "\n")+strings.Count(in, "\r") {
			t.Fatalf("Clean(%q) = %q: added line breaks", in, out)
		}
	})
}
