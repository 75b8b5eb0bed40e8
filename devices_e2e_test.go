package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// soundCards lists the machine's ALSA PCM devices.
func soundCards() []string {
	m, _ := filepath.Glob("/dev/snd/pcmC*")
	return m
}

// TestDevicesWithoutCard runs "parley devices" where no sound server
// answers: it lists no ALSA plugin ("Discard all samples", the rate
// converters, …), prints nothing on stderr, and without a sound card says
// so in one line.
func TestDevicesWithoutCard(t *testing.T) {
	cmd := exec.Command(parleyBinary(t), "devices")
	// A runtime directory of its own: no PulseAudio or PipeWire answers.
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir(), "PULSE_SERVER=unix:"+filepath.Join(t.TempDir(), "none"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("parley devices: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if regexp.MustCompile(`(?i)plugin|discard all samples|rate converter|JACK|Open Sound System|PulseAudio`).MatchString(out) {
		t.Errorf("parley devices lists ALSA plugins:\n%s", out)
	}
	if stderr.Len() > 0 {
		t.Errorf("parley devices wrote on stderr:\n%s", stderr.String())
	}
	if cards := soundCards(); len(cards) > 0 {
		t.Logf("this machine has sound cards (%v): not checking the no-card line", cards)
		return
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "No sound devices found") {
		t.Errorf("parley devices without a sound card prints:\n%s\nwant one line saying there are none", out)
	}
}
