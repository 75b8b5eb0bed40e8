package speech

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"parley/audio"
)

// spoken makes a few seconds of real speech, or skips outside CI when
// espeak-ng is missing.
func spoken(t *testing.T) []int16 {
	t.Helper()
	pcm, err := Say("The quick brown fox jumps over the lazy dog. Peer to peer calls, from a terminal.")
	if errors.Is(err, ErrNoEspeak) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func delayed(s []int16, lag int) []int16 {
	return append(make([]int16, lag), s...)
}

func TestIdentical(t *testing.T) {
	ref := spoken(t)
	for _, lag := range []int{0, 1, 480, 77777} {
		r, err := Compare(ref, delayed(ref, lag), 2*Rate)
		if err != nil {
			t.Fatal(err)
		}
		if r.Lag != lag || r.Corr < 0.9999 || r.LSD > 0.01 {
			t.Errorf("delayed by %d: %+v; want that lag, correlation 1, distance 0", lag, r)
		}
	}
}

func TestNoiseAndGain(t *testing.T) {
	ref := spoken(t)
	rng := rand.New(rand.NewPCG(1, 2))
	quiet, noisy := make([]int16, len(ref)), make([]int16, len(ref))
	for i, v := range ref {
		quiet[i] = v / 4
		noisy[i] = v + int16(rng.NormFloat64()*2000)
	}
	q, _ := Compare(ref, delayed(quiet, 1000), Rate)
	if q.Lag != 1000 || q.Corr < 0.999 {
		t.Errorf("a quieter copy: %+v", q)
	}
	n, _ := Compare(ref, delayed(noisy, 1000), Rate)
	if n.Lag != 1000 || n.Corr > 0.99 || n.LSD < 3 {
		t.Errorf("a noisy copy: %+v; want lower correlation, larger distance", n)
	}
	t.Logf("quarter gain: %+v; noise: %+v", q, n)
}

// TestWarp: a copy whose delay grows by 20 ms in the middle, as an
// adaptive receiver's does, is still the same speech, with a warp of 20 ms.
func TestWarp(t *testing.T) {
	ref := spoken(t)
	mid := len(ref) / 2
	warped := append(append(append(make([]int16, 500), ref[:mid]...), make([]int16, 960)...), ref[mid:]...)
	r, err := Compare(ref, warped, Rate)
	if err != nil {
		t.Fatal(err)
	}
	if r.Corr < 0.99 || r.LSD > 0.5 || r.Warp != 20*time.Millisecond {
		t.Errorf("%+v; want correlation about 1, distance about 0, warp 20ms", r)
	}
}

// TestOpusRoundTrip measures what Opus alone does to speech, the floor for
// the end-to-end thresholds (correlation ≥ 0.85, distance ≤ 6 dB), at
// the default complexity (held, not adaptive: the same on every machine).
func TestOpusRoundTrip(t *testing.T) {
	ref := spoken(t)
	enc, err := audio.NewEncoder(audio.EncoderOptions{Complexity: audio.DefaultComplexity})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(Rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []int16
	buf := make([]int16, 5760)
	if err := enc.Write(ref, func(p audio.Packet) {
		n, err := dec.Decode(p.Data, buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}); err != nil {
		t.Fatal(err)
	}
	r, err := Compare(ref, got, Rate/10)
	if err != nil {
		t.Fatal(err)
	}
	// Measured: 0.947 and 4.07 dB at parley's complexity 7; 0.953 and
	// 3.9 dB at 10.
	if r.Corr < 0.94 || r.LSD > 4.2 {
		t.Errorf("Opus at 32 kb/s: %+v", r)
	}
	t.Logf("Opus at 32 kb/s: delay %v, correlation %.3f, distance %.2f dB", r.Delay, r.Corr, r.LSD)
}
