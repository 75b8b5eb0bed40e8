package cli

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/pulsetest"
	"parley/internal/speech"
)

// rmsDB is the level of pcm in dB (full scale 0), over its second half.
func rmsDB(pcm []int16) float64 {
	pcm = pcm[len(pcm)/2:]
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	return 10 * math.Log10(e/float64(max(len(pcm), 1))/(32768*32768)+1e-12)
}

// echoLoss runs a call through srv with an echo path at the caller: its
// speaker's sink leaks into its microphone's sink 40 ms late at −18 dB
// (module-loopback, adjust_time=0 so that it does not drift), as a laptop's
// speakers do. The callee talks; the caller is silent. It returns how much
// lower what reaches the callee is than the echo in the caller's
// microphone, over the second half of the speech (the first is for the
// canceller to converge), with the caller's flags extra.
func echoLoss(t *testing.T, extra ...string) float64 {
	erle, _ := echoCall(t, false, extra...)
	return erle
}

// echoCall is echoLoss, and with doubleTalk the caller then talks too,
// in another voice, while the callee goes on: it returns how the caller's
// words reached the callee.
func echoCall(t *testing.T, doubleTalk bool, extra ...string) (float64, speech.Result) {
	t.Helper()
	wav, _ := speechWAV(t)
	srv := pulsetest.Start(t)
	for _, s := range []string{"mouth_a", "ear_a", "mouth_b", "ear_b"} {
		srv.NullSink(t, s, s)
	}
	srv.Pactl(t, "load-module", "module-loopback", "source=ear_a.monitor", "sink=mouth_a",
		"latency_msec=40", "adjust_time=0", "source_dont_move=true", "sink_dont_move=true")
	srv.Pactl(t, "set-source-volume", "ear_a.monitor", "-18dB")
	caller, callee := connectEnv(t, srv.Env(),
		append([]string{"--audio-in", "mouth_a.monitor", "--audio-out", "ear_a", "--stats"}, extra...),
		[]string{"--audio-in", "mouth_b.monitor", "--audio-out", "ear_b", "--aec=false"})
	for caller.next("state")["state"] != "connected" {
	}
	for callee.next("state")["state"] != "connected" {
	}
	time.Sleep(500 * time.Millisecond)
	dir := t.TempDir()
	micPath, farPath := filepath.Join(dir, "mic_a.wav"), filepath.Join(dir, "far.wav")
	stopMic := srv.Record(t, "mouth_a.monitor", micPath)
	stopFar := srv.Record(t, "ear_b.monitor", farPath)
	srv.Play(t, "mouth_b", wav)
	time.Sleep(300 * time.Millisecond)
	stopMic()
	stopFar()
	var dt speech.Result
	if doubleTalk {
		near := filepath.Join(dir, "near.wav")
		if err := speech.SpeakVoice("This is the near end talking over the far end, one two three four five six.", "en-us+f3", near); err != nil {
			t.Fatal(err)
		}
		nearPCM, err := audio.ReadWAVFile(near)
		if err != nil {
			t.Fatal(err)
		}
		heard := filepath.Join(dir, "heard.wav")
		stop := srv.Record(t, "ear_b.monitor", heard)
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.Play(t, "mouth_b", wav)
		}()
		srv.Play(t, "mouth_a", near)
		<-done
		time.Sleep(300 * time.Millisecond)
		stop()
		got, err := audio.ReadWAVFile(heard)
		if err != nil {
			t.Fatal(err)
		}
		if dt, err = speech.Compare(nearPCM, got, speech.Rate); err != nil {
			t.Fatal(err)
		}
		t.Logf("double talk: the caller's words reached the callee with correlation %.3f", dt.Corr)
	}
	caller.send("/quit")
	rest, _ := caller.rest()
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i]["type"] == "stats" {
			t.Logf("the caller's last stats: %v", rest[i])
			break
		}
	}
	callee.rest()

	mic, err := audio.ReadWAVFile(micPath)
	if err != nil {
		t.Fatal(err)
	}
	far, err := audio.ReadWAVFile(farPath)
	if err != nil {
		t.Fatal(err)
	}
	erle := rmsDB(mic) - rmsDB(far)
	t.Logf("%v: echo in the microphone %.1f dB, at the far end %.1f dB: %.1f dB less", extra, rmsDB(mic), rmsDB(far), erle)
	return erle, dt
}

// TestPulseEchoCancelled: with the defaults (echo cancellation, noise
// suppression and gain control on for devices) the echo of the far end's
// voice that reaches it back is at least 15 dB below the echo in the
// microphone; with --aec=false --ns=false --agc=false it is not (the
// echo path is real).
//
// Measured: 0.5 dB without, 42 to 73 dB with (the canceller finding the
// echo 46 ms behind), and in double talk the caller's words reach the
// callee with correlation 0.93: the bounds leave room for a loaded
// machine. It runs alone, as TestPulseSpeech does: with seven other
// calls on two cores it once measured the echo 13.8 dB louder at the far
// end (the canceller lost, the gain control raising what it left).
func TestPulseEchoCancelled(t *testing.T) {
	if off := echoLoss(t, "--aec=false", "--ns=false", "--agc=false"); off > 6 {
		t.Errorf("without echo cancellation the echo is %.1f dB lower at the far end; want it to cross (under 6 dB)", off)
	}
	on, dt := echoCall(t, true)
	if on < 15 {
		t.Errorf("with echo cancellation the echo is only %.1f dB lower at the far end; want at least 15 dB", on)
	}
	if dt.Corr < 0.6 {
		t.Errorf("in double talk the caller's words reach the callee with correlation %.3f; want them heard (0.6 or more)", dt.Corr)
	}
}
