package cli

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parley/rtc"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args     string
		cmd      string
		stun     []string
		code     string
		headless bool
		err      string
	}{
		{args: "", stun: []string{rtc.DefaultSTUN}},
		{args: "call --headless --stun none", cmd: "call", headless: true},
		{args: "call --stun stun.example.org:3478 --stun stun:b.example:19302", cmd: "call",
			stun: []string{"stun:stun.example.org:3478", "stun:b.example:19302"}},
		{args: "join PLIabc --headless", cmd: "join", code: "PLIabc", headless: true, stun: []string{rtc.DefaultSTUN}},
		{args: "join PLIab cd --loopback", cmd: "join", code: "PLIab cd", stun: []string{rtc.DefaultSTUN}},
		{args: "call extra", err: "unexpected argument"},
		{args: "dial", err: "unknown command"},
		{args: "--headless", err: "needs 'call' or 'join'"},
		{args: "call --stun none --stun x:1", err: "cannot be combined"},
		{args: "call --bogus", err: "not defined"},
	} {
		cmd, cfg, err := parseArgs(strings.Fields(tc.args), "", io.Discard)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseArgs(%q) error = %v; want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseArgs(%q) = %v", tc.args, err)
			continue
		}
		if cmd != tc.cmd || cfg.code != tc.code || cfg.headless != tc.headless || !slices.Equal(cfg.rtc.STUN, tc.stun) {
			t.Errorf("parseArgs(%q) = %q, code %q, headless %v, stun %q; want %q, %q, %v, %q",
				tc.args, cmd, cfg.code, cfg.headless, cfg.rtc.STUN, tc.cmd, tc.code, tc.headless, tc.stun)
		}
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte(`stun = ["stun:file.example:3478"]
turn = ["turn:u:p@turn.example:3478"]
relay-only = true
iface = ["eth9"]
`), 0o600)
	_, cfg, err := parseArgs([]string{"call"}, path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.rtc.STUN, []string{"stun:file.example:3478"}) || !cfg.rtc.RelayOnly ||
		len(cfg.rtc.TURN) != 1 || cfg.rtc.TURN[0].Username != "u" || !slices.Equal(cfg.rtc.Interfaces, []string{"eth9"}) {
		t.Errorf("from the file: %+v", cfg.rtc)
	}
	// Flags override the file.
	_, cfg, err = parseArgs([]string{"call", "--stun", "none", "--iface", "lo"}, path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rtc.STUN != nil || !slices.Equal(cfg.rtc.Interfaces, []string{"lo"}) {
		t.Errorf("flags did not override the file: stun %q, iface %q", cfg.rtc.STUN, cfg.rtc.Interfaces)
	}
	os.WriteFile(path, []byte("stunn = [\"x\"]\n"), 0o600)
	if _, _, err := parseArgs([]string{"call"}, path, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown setting stunn") {
		t.Errorf("unknown key: %v", err)
	}
	if _, _, err := parseArgs([]string{"call"}, filepath.Join(t.TempDir(), "none.toml"), io.Discard); err != nil {
		t.Errorf("missing file: %v", err)
	}
}
