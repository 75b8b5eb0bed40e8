package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/event"
)

// TestEchoMute runs the terminal UI's echo test with a tone in and a WAV
// file out, and mutes it for two seconds: the recording goes silent while
// muted, with the tone before and after, and the listener hears that its
// peer (the talker) muted.
func TestEchoMute(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "echo.wav")
	_, cfg, err := parseArgs([]string{"echo", "--audio-in", "tone", "--audio-out", rec}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	call, err := newEcho(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	peerMuted := make(chan bool, 16)
	bye := make(chan struct{})
	go func() {
		for ev := range call.Events() {
			switch ev := ev.(type) {
			case event.PeerMutedEvent:
				peerMuted <- ev.Muted
			case event.ByeEvent:
				close(bye)
			}
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	call.SetMuted(true)
	time.Sleep(2 * time.Second)
	call.SetMuted(false)
	time.Sleep(1500 * time.Millisecond)
	// As the UI ends it: hang up, wait for the bye, close.
	call.HangUp()
	select {
	case <-bye:
	case <-time.After(5 * time.Second):
		t.Error("no bye within 5 s of hanging up")
	}
	call.Close()

	pcm, err := audio.ReadWAVFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	// RMS levels of 100 ms windows; the tone is at -15 dBFS.
	const window = audio.SampleRate / 10
	var levels []float64
	for i := 0; i+window <= len(pcm); i += window {
		levels = append(levels, audio.RMSDBFS(pcm[i:i+window]))
	}
	// The longest quiet stretch, and whether the tone plays before and
	// after it.
	bestStart, bestLen := 0, 0
	for i := 0; i < len(levels); {
		j := i
		for j < len(levels) && levels[j] < -45 {
			j++
		}
		if j-i > bestLen {
			bestStart, bestLen = i, j-i
		}
		i = j + 1
	}
	loud := func(ls []float64) bool {
		for _, l := range ls {
			if l > -20 {
				return true
			}
		}
		return false
	}
	// Two seconds muted, less the echo's delay on either side.
	if bestLen < 15 || !loud(levels[:bestStart]) || !loud(levels[bestStart+bestLen:]) {
		t.Errorf("the recording has %d ms of silence at %d ms, with the tone before: %v and after: %v; "+
			"want at least 1500 ms of silence between the tone (levels per 100 ms: %.0f)",
			bestLen*100, bestStart*100, loud(levels[:bestStart]), loud(levels[bestStart+bestLen:]), levels)
	}

	var seen []bool
	for len(peerMuted) > 0 {
		seen = append(seen, <-peerMuted)
	}
	if len(seen) < 2 || !seen[0] || seen[len(seen)-1] {
		t.Errorf("the listener heard its peer's mute as %v; want true, then false", seen)
	}
}

// TestEchoWithoutMicrophone: where no microphone opens (this machine has
// no sound card), the echo test says how to run it anyway.
func TestEchoWithoutMicrophone(t *testing.T) {
	_, cfg, err := parseArgs([]string{"echo"}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		if _, restore, err := audio.RedirectStderr(null); err == nil { // libasound's lines
			defer restore()
		}
		defer null.Close()
	}
	e, err := newEcho(context.Background(), cfg, io.Discard)
	if err == nil {
		e.Close()
		t.Skip("this machine has a microphone and a speaker")
	}
	if !strings.Contains(err.Error(), "--audio-in tone") {
		t.Errorf("the echo test without a microphone says %q; want it to offer --audio-in tone", err)
	}
}
