package cli

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/headless.golden")

// rawPeer is a headless parley whose output lines are kept as written.
type rawPeer struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	seen  []string
}

func startRaw(t *testing.T, name string, args ...string) *rawPeer {
	t.Helper()
	cmd := exec.Command(parleyBinary(t), slices.Concat(args[:1], loopbackFlags, args[1:])...)
	p := &rawPeer{t: t, name: name, cmd: cmd, lines: make(chan string, 64)}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

// until reads lines up to and including the first with the given type.
func (p *rawPeer) until(typ string) string {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s: output ended before a %q line; got %q", p.name, typ, p.seen)
			}
			p.seen = append(p.seen, l)
			if strings.Contains(l, `"type":"`+typ+`"`) {
				return l
			}
		case <-timeout:
			p.t.Fatalf("%s: no %q line within 30 s; got %q", p.name, typ, p.seen)
		}
	}
}

func (p *rawPeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// end reads the rest of the output and returns the exit status.
func (p *rawPeer) end() int {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				err := p.cmd.Wait()
				if ee, ok := err.(*exec.ExitError); ok {
					return ee.ExitCode()
				}
				return 0
			}
			p.seen = append(p.seen, l)
		case <-timeout:
			p.t.Fatalf("%s: did not end within 30 s; got %q", p.name, p.seen)
		}
	}
}

var (
	maskCode  = regexp.MustCompile(`"code":"[^"]*"`)
	maskWords = regexp.MustCompile(`"words":"[^"]*"`)
)

// TestHeadlessGolden runs a scripted headless call, each step waiting for
// the line it causes, and checks both sides' output byte for byte
// against testdata/headless.golden, codes and safety words masked.
// (-update rewrites it.)
func TestHeadlessGolden(t *testing.T) {
	t.Parallel()
	caller := startRaw(t, "caller", "call", "--audio-in", "tone")
	invite := caller.until("invite")
	code := strings.TrimSuffix(strings.TrimPrefix(maskCode.FindString(invite), `"code":"`), `"`)
	callee := startRaw(t, "callee", "join", code)
	answer := callee.until("answer")
	caller.send(strings.TrimSuffix(strings.TrimPrefix(maskCode.FindString(answer), `"code":"`), `"`))

	caller.until("verify")
	callee.until("verify")
	caller.send("hello there")
	callee.until("chat")
	callee.send("//slash and ünïcode\x1b[31m")
	caller.until("chat")
	caller.send("/mute")
	caller.until("mute")
	callee.until("peer_mute")
	callee.send("/mute")
	callee.until("error")
	caller.send("/bogus")
	caller.until("error")
	callee.send("/verify")
	callee.until("verify")
	caller.send("/quit")
	callerExit, calleeExit := caller.end(), callee.end()

	var got bytes.Buffer
	for _, p := range []*rawPeer{caller, callee} {
		fmt.Fprintf(&got, "# %s\n", p.name)
		for _, l := range p.seen {
			l = maskCode.ReplaceAllString(l, `"code":"CODE"`)
			l = maskWords.ReplaceAllString(l, `"words":"WORDS"`)
			fmt.Fprintln(&got, l)
		}
	}
	fmt.Fprintf(&got, "# exit %d %d\n", callerExit, calleeExit)
	path := filepath.Join("testdata", "headless.golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("headless output differs from %s (-update rewrites it):\ngot:\n%s\nwant:\n%s", path, got.Bytes(), want)
	}
}
