package cli

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
	t.Parallel()
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

// TestHeadlessStderrQuiet runs "parley call --headless" with the default
// microphone and speaker where no sound server answers (and, on this
// machine, there is no sound card): stderr says in one parley line that
// the call is text only, and nothing from miniaudio or ALSA, which goes
// to the log file as the README says.
func TestHeadlessStderrQuiet(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	cmd := exec.Command(parleyBinary(t), "call", "--headless", "--stun", "none", "--iface", "lo", "--loopback")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "XDG_RUNTIME_DIR="+t.TempDir(),
		"PULSE_SERVER=unix:"+filepath.Join(t.TempDir(), "none"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("") // no answer: parley ends after the invite
	_ = cmd.Run()                     // exit status 1: no answer came
	if !strings.Contains(stdout.String(), `"type":"invite"`) {
		t.Fatalf("no invite on stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" && !strings.HasPrefix(line, "parley: ") {
			t.Errorf("stderr has a line that is not parley's: %q", line)
		}
		if regexp.MustCompile(`(?i)miniaudio|alsa|snd_|pcm|pulseaudio|backend`).MatchString(line) {
			t.Errorf("stderr has a sound library's line: %q", line)
		}
	}
	if len(soundCards()) == 0 && !strings.Contains(stderr.String(), "text only") {
		t.Errorf("without a sound card stderr does not say the call is text only:\n%s", stderr.String())
	}
	log, err := os.ReadFile(filepath.Join(state, "parley", "parley.log"))
	if err != nil {
		t.Fatalf("no log file: %v", err)
	}
	if !strings.Contains(string(log), "miniaudio: ") {
		t.Errorf("the log has no miniaudio lines:\n%s", log)
	}
}
