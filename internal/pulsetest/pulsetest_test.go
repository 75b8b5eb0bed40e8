package pulsetest

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gone reports whether no process has the ID pid.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// toneWAV writes d of a 440 Hz sine at half scale as a WAV file.
func toneWAV(t *testing.T, d time.Duration) string {
	t.Helper()
	n := int(d * Rate / time.Second)
	data := make([]byte, 2*n)
	for i := range n {
		v := int16(math.Round(16384 * math.Sin(2*math.Pi*440*float64(i)/Rate)))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(path, wav(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readPCM reads a WAV file that Record wrote.
func readPCM(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[36:40]) != "data" {
		t.Fatalf("%s is not the WAV file Record writes", path)
	}
	b = b[44:]
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}

// TestServer starts a server, makes a null sink, plays a tone into it
// while recording its monitor, and checks the recording holds the tone;
// when the test ends the daemon is gone.
func TestServer(t *testing.T) {
	t.Parallel()
	var pid int
	t.Run("run", func(t *testing.T) {
		start := time.Now()
		s := Start(t)
		pid = s.PID()
		t.Logf("pulseaudio %d answered after %v", pid, time.Since(start).Round(time.Millisecond))
		if info := s.Pactl(t, "info"); !strings.Contains(info, "unix:"+s.Socket()) {
			t.Errorf("pactl info does not name our socket %s:\n%s", s.Socket(), info)
		}
		sink, monitor := s.NullSink(t, "mouth", "Test Mouth")
		if sink != "mouth" || monitor != "mouth.monitor" {
			t.Errorf("NullSink = %q, %q; want mouth, mouth.monitor", sink, monitor)
		}
		if sinks := s.Pactl(t, "list", "sinks"); !strings.Contains(sinks, "Description: Test Mouth") {
			t.Errorf("the sink has not its description:\n%s", sinks)
		}
		if srcs := s.Pactl(t, "list", "short", "sources"); !strings.Contains(srcs, "mouth.monitor") {
			t.Errorf("no monitor source:\n%s", srcs)
		}
		for _, kv := range s.Env() {
			if strings.HasPrefix(kv, "PULSE_SINK=") || strings.HasPrefix(kv, "PULSE_SOURCE=") || strings.HasPrefix(kv, "DISPLAY=") {
				t.Errorf("Env has %s", kv)
			}
		}

		rec := filepath.Join(t.TempDir(), "rec.wav")
		stop := s.Record(t, monitor, rec)
		if st := s.Streams(t); len(st) != 1 || st[0].Playback || st[0].Device != monitor || st[0].PID == 0 {
			t.Errorf("while recording, the streams are %+v; want one recording %s (the keeper's not listed)", st, monitor)
		}
		s.Play(t, sink, toneWAV(t, time.Second))
		time.Sleep(100 * time.Millisecond)
		stop()
		pcm := readPCM(t, rec)
		var peak int16
		loud := 0
		for _, v := range pcm {
			peak = max(peak, v, -v)
			if v > 8000 || v < -8000 {
				loud++
			}
		}
		t.Logf("recorded %v, peak %d, %d samples above 8000", time.Duration(len(pcm))*time.Second/Rate, peak, loud)
		// Full volume on a null sink: the tone comes back at its level,
		// give or take the resampling and the stereo round trip.
		if peak < 15000 || peak > 17500 {
			t.Errorf("the recording's peak is %d; want about 16384, the tone's", peak)
		}
		if loud < Rate/2 {
			t.Errorf("only %d samples of the recording are loud; want most of a second's", loud)
		}
	})
	if pid == 0 {
		t.Fatal("no daemon ran")
	}
	if !gone(pid) {
		t.Errorf("pulseaudio %d still runs after the test ended", pid)
	}
}

// TestKillRestart kills the daemon as a crash would, then starts it
// again: the same socket answers, with the same sinks.
func TestKillRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.NullSink(t, "ear", "Test Ear")
	pid := s.PID()
	s.Kill()
	if !gone(pid) {
		t.Fatalf("pulseaudio %d still runs after Kill", pid)
	}
	if s.PID() != 0 {
		t.Errorf("PID() = %d after Kill; want 0", s.PID())
	}
	if _, err := s.pactl("info"); err == nil {
		t.Error("pactl info answered with the server killed")
	}
	s.Restart(t)
	if s.PID() == pid || s.PID() == 0 {
		t.Errorf("PID() = %d after Restart (was %d)", s.PID(), pid)
	}
	if sinks := s.Pactl(t, "list", "short", "sinks"); !strings.Contains(sinks, "ear") {
		t.Errorf("after Restart the sinks are:\n%s\nwant ear back", sinks)
	}
	s.Restart(t) // stops the running one first
	if !gone(pid) {
		t.Errorf("pulseaudio %d runs", pid)
	}
}
