package cli

import (
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestShellSplit(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{"ssh", []string{"ssh"}, ""},
		{"  ssh  -p 2222\t-i key ", []string{"ssh", "-p", "2222", "-i", "key"}, ""},
		{`ssh -o 'ProxyCommand ssh -W %h:%p jump' host`, []string{"ssh", "-o", "ProxyCommand ssh -W %h:%p jump", "host"}, ""},
		{`ssh -i "my key" -o "A=\"b\" \$c \x"`, []string{"ssh", "-i", "my key", "-o", `A="b" $c \x`}, ""},
		{`ssh -i my\ key a''b`, []string{"ssh", "-i", "my key", "ab"}, ""},
		{`ssh -i ~/.ssh/id ~ a~b`, []string{"ssh", "-i", home + "/.ssh/id", home, "a~b"}, ""},
		{"", nil, ""},
		{`ssh 'oops`, nil, "unterminated '"},
		{`ssh "oops`, nil, `unterminated "`},
	} {
		got, err := shellSplit(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("shellSplit(%q) = %q, %v; want an error saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("shellSplit(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestShellJoin: what shellJoin quotes, a POSIX shell splits back into
// the same words, with nothing expanded.
func TestShellJoin(t *testing.T) {
	words := []string{"parley", "call", "--agent", "/tmp/parley-agent-00.sock", "", "it's", `"$HOME"`, "a b", "`id`", "x;y", "é", "\\"}
	line := shellJoin(words)
	out, err := exec.Command("sh", "-c", `for w in `+line+`; do printf '[%s]\n' "$w"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, w := range words {
		want.WriteString("[" + w + "]\n")
	}
	if string(out) != want.String() {
		t.Errorf("sh split %s into\n%s\nwant\n%s", line, out, want.String())
	}
	if got := remotePath("~/bin/par ley"); got != "~/'bin/par ley'" {
		t.Errorf("remotePath = %q", got)
	}
}

func TestRemoteArgs(t *testing.T) {
	const s = "/tmp/parley-agent-00.sock"
	for _, c := range []struct{ in, want string }{
		{"", "--agent " + s},
		{"call --headless", "call --agent " + s + " --headless"},
		{"join PLI", "join --agent " + s + " PLI"},
		{"--notify=false", "--agent " + s + " --notify=false"},
		{"bench --json", "bench --json"},
	} {
		if got := strings.Join(remoteArgs(strings.Fields(c.in), s), " "); got != c.want {
			t.Errorf("remoteArgs(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestParseSSHArgs(t *testing.T) {
	c, err := parseSSHArgs(strings.Fields("--ssh ssh --remote bin/parley --audio-in tone me@host -- call --headless"), io.Discard)
	if err != nil || c.dest != "me@host" || c.remote != "bin/parley" || c.audioIn != "tone" || strings.Join(c.args, " ") != "call --headless" {
		t.Errorf("parseSSHArgs: %+v, %v", c, err)
	}
	if c, err := parseSSHArgs([]string{"host", "call"}, io.Discard); err != nil || c.ssh != "ssh" || c.remote != "parley" || c.args[0] != "call" {
		t.Errorf("parseSSHArgs(host call): %+v, %v", c, err)
	}
	for _, args := range [][]string{nil, {"--bogus", "h"}, {"--remote", "", "h"}} {
		if _, err := parseSSHArgs(args, io.Discard); err == nil {
			t.Errorf("parseSSHArgs(%q) gave no error", args)
		}
	}
}

func TestHeadlessArgs(t *testing.T) {
	for _, c := range []struct {
		args string
		want bool
	}{
		{"", false}, {"call", false}, {"call --headless", true}, {"join -headless=true", true},
		{"call --headless=false", false}, {"join headless", false},
	} {
		if got := headlessArgs(strings.Fields(c.args)); got != c.want {
			t.Errorf("headlessArgs(%q) = %v", c.args, got)
		}
	}
}
