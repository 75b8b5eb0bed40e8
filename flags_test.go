package main

import (
	"io"
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
		{args: "join PLYIabc --headless", cmd: "join", code: "PLYIabc", headless: true, stun: []string{rtc.DefaultSTUN}},
		{args: "join PLYIab cd --loopback", cmd: "join", code: "PLYIab cd", stun: []string{rtc.DefaultSTUN}},
		{args: "call extra", err: "unexpected argument"},
		{args: "dial", err: "unknown command"},
		{args: "--headless", err: "needs 'call' or 'join'"},
		{args: "call --stun none --stun x:1", err: "cannot be combined"},
		{args: "call --bogus", err: "not defined"},
	} {
		cmd, cfg, err := parseArgs(strings.Fields(tc.args), io.Discard)
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
