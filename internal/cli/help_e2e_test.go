package cli

import (
	"bytes"
	"flag"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestHelp: "parley help", -h and --help print the help on stdout, so
// that "parley help | less" works, with the flags spelled --flag as the
// README spells them, every flag there, lines that fit 80 columns, and
// examples, the one-machine call among them.
func TestHelp(t *testing.T) {
	t.Parallel()
	bin := parleyBinary(t)
	var names []string
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	for _, args := range [][]string{{"help"}, {"--help"}, {"call", "-h"}} {
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("parley %s: %v", strings.Join(args, " "), err)
		}
		out := stdout.String()
		if stderr.Len() > 0 {
			t.Errorf("parley %s wrote on stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
		for _, name := range names {
			if !strings.Contains(out, "  --"+name) {
				t.Errorf("parley %s does not list --%s", strings.Join(args, " "), name)
			}
		}
		if m := regexp.MustCompile(`(?m)^\s+-[a-z].*$`).FindString(out); m != "" {
			t.Errorf("parley %s spells a flag with one dash: %q", strings.Join(args, " "), m)
		}
		for _, want := range []string{"Examples:", "parley call --loopback --stun none", "parley join --loopback --stun none", "parley echo --audio-in tone"} {
			if !strings.Contains(out, want) {
				t.Errorf("parley %s: no %q in the help", strings.Join(args, " "), want)
			}
		}
		for _, l := range strings.Split(out, "\n") {
			if n := len([]rune(l)); n > 80 {
				t.Errorf("help line of %d columns: %q", n, l)
			}
		}
	}

	// Through a pipe, as "parley help | head" reads it.
	out, err := exec.Command("sh", "-c", bin+" help | head -n 4").Output()
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "parley: ") {
		t.Errorf("parley help | head -n 4 gives:\n%s", out)
	}
}

// TestUsageErrorIsShort: a mistyped flag is one line on stderr and a
// pointer to the help, not the whole help.
func TestUsageErrorIsShort(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(parleyBinary(t), "call", "--bogus")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("parley call --bogus: %v; want exit 2", err)
	}
	if want := "parley: flag provided but not defined: -bogus\nRun 'parley help' for usage.\n"; stderr.String() != want || stdout.Len() > 0 {
		t.Errorf("parley call --bogus: stdout %q, stderr %q; want stderr %q", stdout.String(), stderr.String(), want)
	}
}
