package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/relay"
	"parley/internal/speech"
)

var speechOnce struct {
	sync.Once
	path string
	pcm  []int16
	err  error
}

// speechWAV makes, once, a WAV of a few sentences spoken by espeak-ng.
func speechWAV(t *testing.T) (string, []int16) {
	t.Helper()
	s := &speechOnce
	s.Do(func() {
		dir, err := os.MkdirTemp("", "parley-e2e-speech")
		if err != nil {
			s.err = err
			return
		}
		s.path = filepath.Join(dir, "speech.wav")
		s.err = speech.Speak("Hello from parley. This call goes straight from one terminal to the other, "+
			"with no server in the middle. Can you hear me clearly? Seven, eight, nine, ten.", s.path)
		if s.err == nil {
			s.pcm, s.err = audio.ReadWAVFile(s.path)
		}
	})
	if errors.Is(s.err, speech.ErrNoEspeak) && os.Getenv("CI") == "" {
		t.Skip(s.err)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.path, s.pcm
}

// TestSpeech sends espeak-ng's speech from one headless parley to another,
// which records it, directly and through a relay that loses 10% of the
// packets, and compares the recording with the original.
func TestSpeech(t *testing.T) {
	for _, c := range []struct {
		name            string
		loss            float64
		minCorr, maxLSD float64
	}{
		// Opus alone gives 0.947 and 4.07 dB (internal/speech's
		// TestOpusRoundTrip).
		{"clean", 0, 0.9, 5},
		// At 10% loss (0.90 to 0.93 and 4.1 dB measured) most lost frames
		// come back from the next packet's FEC, the rest are concealed.
		{"10% loss", 0.10, 0.85, 5.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in, ref := speechWAV(t)
			rec := filepath.Join(t.TempDir(), "received.wav")
			sender := []string{"--audio-in", in, "--audio-out", "none"}
			receiver := []string{"--audio-in", "none", "--audio-out", rec, "--stats"}
			var caller, callee *peer
			var r *relay.Relay
			if c.loss == 0 {
				caller, callee = connectArgs(t, sender, receiver)
			} else {
				imp := relay.Impairment{Loss: c.loss}
				var err error
				if r, err = relay.New(imp, imp, 3); err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				caller, callee = connectViaArgs(t, r, sender, receiver)
			}
			for callee.next("state")["state"] != "connected" {
			}
			length := time.Duration(len(ref)) * time.Second / speech.Rate
			time.Sleep(length + 1500*time.Millisecond)
			caller.send("/quit")
			rest, code := callee.rest()
			if code != 0 {
				t.Errorf("callee exited %d", code)
			}
			var stats map[string]any
			for _, m := range rest {
				if m["type"] == "stats" {
					stats = m
				}
			}
			if stats == nil {
				t.Fatal("the receiver printed no stats line")
			}
			// With nothing to say ("none"), the receiver sends DTX: with
			// RTCP, 2 to 3 kb/s on the wire, where Opus's silence took 20.
			if out, _ := stats["bitrate_out"].(float64); out > 5000 {
				t.Errorf("the receiver, with --audio-in none, sends %v b/s; want under 5000 (DTX)", out)
			}
			if cx, _ := stats["opus_complexity"].(float64); cx != audio.DefaultComplexity && cx != audio.MinComplexity {
				t.Errorf("stats say Opus complexity %v; want %d or %d", stats["opus_complexity"], audio.DefaultComplexity, audio.MinComplexity)
			}
			got, err := audio.ReadWAVFile(rec)
			if err != nil {
				t.Fatal(err)
			}
			res, err := speech.Compare(ref, got, 3*speech.Rate)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v of speech arrived %v into the recording, warped by %v; correlation %.3f, log-spectral distance %.2f dB; receiver: %v",
				c.name, length.Round(time.Millisecond), res.Delay.Round(time.Millisecond), res.Warp.Round(time.Millisecond), res.Corr, res.LSD, stats)
			// PARLEY_KEEP=DIR keeps the recordings, to listen to them.
			if d := os.Getenv("PARLEY_KEEP"); d != "" {
				name := strings.NewReplacer(" ", "_", "%", "").Replace(c.name)
				if err := audio.WriteWAVFile(filepath.Join(d, name+".wav"), got); err != nil {
					t.Log(err)
				}
			}
			if res.Corr < c.minCorr {
				t.Errorf("correlation %.3f; want at least %.2f", res.Corr, c.minCorr)
			}
			if res.LSD > c.maxLSD {
				t.Errorf("log-spectral distance %.2f dB; want at most %.1f", res.LSD, c.maxLSD)
			}
			if r != nil {
				if ab, _ := r.Stats(); ab.Dropped == 0 {
					t.Error("the relay dropped nothing")
				}
				if fec, hid := stats["fec"].(float64), stats["concealed"].(float64); fec < 2*hid {
					t.Errorf("%v frames rebuilt from FEC, %v concealed; want FEC for most losses", fec, hid)
				}
			}
		})
	}
}
