package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/pulsetest"
	"parley/internal/speech"
)

// streamsOf returns the devices that the process pid records from and
// plays into, as the sound server sees it.
func streamsOf(t *testing.T, srv *pulsetest.Server, pid int) (sources, sinks []string) {
	t.Helper()
	for _, st := range srv.Streams(t) {
		switch {
		case st.PID != pid:
		case st.Playback:
			sinks = append(sinks, st.Device)
		default:
			sources = append(sources, st.Device)
		}
	}
	return sources, sinks
}

// audioLine returns the log's "audio: in …, out …" line, the devices a
// call opened.
func audioLine(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^audio: in .*, out .*$`).Find(b)
	if m == nil {
		t.Fatalf("the log %s has no audio: in …, out … line:\n%s", path, b)
	}
	return string(m)
}

// TestPulseSpeech makes a call between two parley processes through a
// real sound server, a private PulseAudio with no card: each peer's
// microphone is the monitor of a "mouth" null sink that speech is played
// into, its speaker an "ear" null sink whose monitor is recorded. Speech
// goes both ways at once, and each ear's recording is compared with the
// speech. The caller names its devices by their server names, the callee
// by their descriptions; the server says which devices each opened, and
// each log names them.
//
// It runs alone (not in parallel), as the floods do: what it measures is
// the sound, and seven other calls on two cores warp it.
func TestPulseSpeech(t *testing.T) {
	wav, ref := firstWords(t)
	srv := pulsetest.Start(t)
	for _, side := range []string{"A", "B"} {
		s := strings.ToLower(side)
		srv.NullSink(t, "mouth_"+s, "Mouth "+side)
		srv.NullSink(t, "ear_"+s, "Ear "+side)
	}
	dir := t.TempDir()
	logA, logB := filepath.Join(dir, "caller.log"), filepath.Join(dir, "callee.log")
	start := time.Now()
	caller, callee := connectEnv(t, srv.Env(),
		// The transport alone: the microphone's clean-ups change the
		// voice on purpose (TestPulseEchoCancelled checks them).
		[]string{"--audio-in", "mouth_a.monitor", "--audio-out", "ear_a", "--log", logA, "--aec=false", "--ns=false", "--agc=false"},
		[]string{"--audio-in", "Monitor of Mouth B", "--audio-out", "Ear B", "--log", logB, "--aec=false", "--ns=false", "--agc=false"})
	for caller.next("state")["state"] != "connected" {
	}
	for callee.next("state")["state"] != "connected" {
	}
	connected := time.Since(start)

	for _, c := range []struct {
		p                 *peer
		log, source, sink string
		wantLine          string
	}{
		{caller, logA, "mouth_a.monitor", "ear_a", "audio: in Monitor of Mouth A (mouth_a.monitor), out Ear A (ear_a)"},
		{callee, logB, "mouth_b.monitor", "ear_b", "audio: in Monitor of Mouth B (mouth_b.monitor), out Ear B (ear_b)"},
	} {
		// The microphone and the speaker open one after the other, off
		// the call's path: give them a moment.
		deadline := time.Now().Add(5 * time.Second)
		for {
			src, snk := streamsOf(t, srv, c.p.cmd.Process.Pid)
			if slices.Equal(src, []string{c.source}) && slices.Equal(snk, []string{c.sink}) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s records from %v and plays into %v; want %s and %s", c.p.name, src, snk, c.source, c.sink)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := audioLine(t, c.log); got != c.wantLine {
			t.Errorf("%s's log says %q; want %q", c.p.name, got, c.wantLine)
		}
		// --log with a device: one file, opened once.
		if b, err := os.ReadFile(c.log); err != nil || bytes.Count(b, []byte("---- parley started")) != 1 {
			t.Errorf("%s's log has %d start lines (%v); want 1", c.p.name, bytes.Count(b, []byte("---- parley started")), err)
		}
	}

	// What each peer hears, its ear, is what the other's mouth said.
	heardA, heardB := filepath.Join(dir, "ear_a.wav"), filepath.Join(dir, "ear_b.wav")
	stopA := srv.Record(t, "ear_a.monitor", heardA)
	stopB := srv.Record(t, "ear_b.monitor", heardB)
	var wg sync.WaitGroup
	for _, mouth := range []string{"mouth_a", "mouth_b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Play(t, mouth, wav)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the last words' way through the call
	stopA()
	stopB()
	caller.send("/quit")
	for _, p := range []*peer{callee, caller} {
		if _, code := p.rest(); code != 0 {
			t.Errorf("%s exited %d; want 0", p.name, code)
		}
	}

	length := time.Duration(len(ref)) * time.Second / speech.Rate
	var cmp sync.WaitGroup
	for _, c := range []struct{ dir, path string }{{"caller → callee", heardB}, {"callee → caller", heardA}} {
		cmp.Add(1)
		go func() {
			defer cmp.Done()
			got, err := audio.ReadWAVFile(c.path)
			if err != nil {
				t.Error(err)
				return
			}
			// The delay, mouth to ear plus paplay's and parecord's
			// starts, is searched for up to a second.
			res, err := speech.Compare(ref, got, speech.Rate)
			if err != nil {
				t.Errorf("%s: %v", c.dir, err)
				return
			}
			t.Logf("%s: %v of speech arrived %v into the ear's recording, warped by %v; correlation %.3f, log-spectral distance %.2f dB",
				c.dir, length.Round(time.Millisecond), res.Delay.Round(time.Millisecond), res.Warp.Round(time.Millisecond), res.Corr, res.LSD)
			if d := os.Getenv("PARLEY_KEEP"); d != "" {
				if err := audio.WriteWAVFile(filepath.Join(d, "pulse_"+filepath.Base(c.path)), got); err != nil {
					t.Log(err)
				}
			}
			if res.Corr < pulseMinCorr {
				t.Errorf("%s: correlation %.3f; want at least %.2f", c.dir, res.Corr, pulseMinCorr)
			}
			if res.LSD > pulseMaxLSD {
				t.Errorf("%s: log-spectral distance %.2f dB; want at most %.1f", c.dir, res.LSD, pulseMaxLSD)
			}
		}()
	}
	cmp.Wait()
	t.Logf("connected after %v; the whole test took %v", connected.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// firstWords writes the first four seconds or so of speechWAV's speech,
// up to the quietest tenth of a second between 4 and 6 s (a pause), to a
// WAV file of the test's, and returns it and its samples.
func firstWords(t *testing.T) (string, []int16) {
	t.Helper()
	_, pcm := speechWAV(t)
	const win = speech.Rate / 10
	cut, least := len(pcm), -1.0
	for at := 4 * speech.Rate; at+win <= min(len(pcm), 6*speech.Rate); at += win / 4 {
		var e float64
		for _, v := range pcm[at : at+win] {
			e += float64(v) * float64(v)
		}
		if least < 0 || e < least {
			cut, least = at+win/2, e
		}
	}
	pcm = pcm[:cut]
	path := filepath.Join(t.TempDir(), "words.wav")
	if err := audio.WriteWAVFile(path, pcm); err != nil {
		t.Fatal(err)
	}
	return path, pcm
}

// The bounds TestPulseSpeech holds each direction to. Measured (32
// directions, -race, on a 2-core machine, alone and beside other cli
// tests): correlation 0.917 to 0.961, log-spectral distance 3.99 to
// 4.53 dB, delay 81 to 104 ms (with the microphone and the speaker one
// duplex device; as two devices, a few runs gave 42 to 58 ms), warp up to
// 19 ms; the lowest correlations and the largest distances come with a
// warp, the jitter buffer moving early in the call. Opus alone gives 0.947 and 4.07 dB
// (TestSpeech's clean call, file to file, holds 0.9 and 5 dB); the bounds
// leave room for a loaded machine.
const (
	pulseMinCorr = 0.85
	pulseMaxLSD  = 5.5
)

// TestPulseDevices lists the devices of a private PulseAudio server with
// parley devices, each with its description and its server name, and
// opens them: by server name, by description, by PULSE_SOURCE and
// PULSE_SINK, and the server's defaults. The server says each time which
// devices parley opened, and the log names them.
func TestPulseDevices(t *testing.T) {
	t.Parallel()
	srv := pulsetest.Start(t)
	srv.NullSink(t, "desk_mic", "Desk Mic") // the first: the server's default
	srv.NullSink(t, "speakers", "Desk Speakers")

	cmd := exec.Command(parleyBinary(t), "devices")
	cmd.Env = srv.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("parley devices: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Logf("parley devices:\n%s", out)
	if stderr.Len() > 0 {
		t.Errorf("parley devices wrote on stderr:\n%s", stderr.String())
	}
	mics, speakers, _ := strings.Cut(out, "Speakers (--audio-out):")
	for _, c := range []struct {
		list, what string
		want       []string
	}{
		{mics, "microphones", []string{`\d+  desk_mic\.monitor  Monitor of Desk Mic  \(default\)`, `\d+  speakers\.monitor  Monitor of Desk Speakers`}},
		{speakers, "speakers", []string{`\d+  desk_mic  +Desk Mic  \(default\)`, `\d+  speakers  +Desk Speakers`}},
	} {
		var lines []string
		for _, l := range strings.Split(c.list, "\n") {
			if strings.HasPrefix(l, "  ") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		if len(lines) != len(c.want) {
			t.Errorf("parley devices lists %d %s; want %d", len(lines), c.what, len(c.want))
			continue
		}
		for i, re := range c.want {
			if !regexp.MustCompile("^" + re + "$").MatchString(lines[i]) {
				t.Errorf("parley devices lists %q; want %s", lines[i], re)
			}
		}
	}

	for _, c := range []struct {
		name         string
		in, out      string
		env          []string
		source, sink string
		line         string
	}{
		{"server names", "desk_mic.monitor", "speakers", nil, "desk_mic.monitor", "speakers",
			"audio: in Monitor of Desk Mic (desk_mic.monitor), out Desk Speakers (speakers)"},
		{"descriptions", "Monitor of Desk Speakers", "desk mic", nil, "speakers.monitor", "desk_mic",
			"audio: in Monitor of Desk Speakers (speakers.monitor), out Desk Mic (desk_mic)"},
		{"defaults", "default", "default", nil, "desk_mic.monitor", "desk_mic",
			"audio: in Monitor of Desk Mic (desk_mic.monitor), out Desk Mic (desk_mic)"},
		{"PULSE_SOURCE and PULSE_SINK", "default", "default", []string{"PULSE_SOURCE=speakers.monitor", "PULSE_SINK=speakers"}, "speakers.monitor", "speakers",
			"audio: in Monitor of Desk Speakers (speakers.monitor), out Desk Speakers (speakers)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			log := filepath.Join(t.TempDir(), "parley.log")
			p := startEnv(t, parleyBinary(t), append(srv.Env(), c.env...), c.name, "call", "--audio-in", c.in, "--audio-out", c.out, "--log", log)
			p.next("invite")
			// The sound opens beside the invite, off the call's path.
			deadline := time.Now().Add(5 * time.Second)
			for {
				src, snk := streamsOf(t, srv, p.cmd.Process.Pid)
				if slices.Equal(src, []string{c.source}) && slices.Equal(snk, []string{c.sink}) {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("parley records from %v and plays into %v; want %s and %s", src, snk, c.source, c.sink)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			p.stdin.Close() // no answer: parley ends
			p.rest()
			if got := audioLine(t, log); got != c.line {
				t.Errorf("the log says %q; want %q", got, c.line)
			}
			// Nothing in the log names a device not opened (miniaudio
			// names the server's default).
			b, _ := os.ReadFile(log)
			for _, dev := range []string{"Desk Mic", "Desk Speakers"} {
				if !strings.Contains(c.line, dev) && strings.Contains(string(b), dev) {
					t.Errorf("the log names %s, which parley did not open:\n%s", dev, b)
				}
			}
		})
	}
}
