package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/headless.golden")

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
	caller := startPeer(t, "caller", "call", "--audio-in", "tone")
	callee := startPeer(t, "callee", "join", caller.next("invite")["code"].(string))
	caller.send(callee.next("answer")["code"].(string))

	caller.next("verify")
	callee.next("verify")
	caller.send("hello there")
	callee.next("chat")
	callee.send("//slash and ünïcode\x1b[31m")
	caller.next("chat")
	caller.send("/mute")
	caller.next("mute")
	callee.next("peer_mute")
	callee.send("/mute")
	callee.next("error")
	caller.send("/bogus")
	caller.next("error")
	callee.send("/verify")
	callee.next("verify")
	caller.send("/quit")
	_, callerExit := caller.rest()
	_, calleeExit := callee.rest()

	var got bytes.Buffer
	for _, p := range []*peer{caller, callee} {
		fmt.Fprintf(&got, "# %s\n", p.name)
		for _, l := range p.lines() {
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
