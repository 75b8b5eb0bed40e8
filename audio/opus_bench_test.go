package audio_test

import (
	"errors"
	"fmt"
	"testing"

	"gopkg.in/hraban/opus.v2"

	"parley/audio"
	"parley/internal/speech"
)

// talk returns espeak-ng speech, or a synthetic voice where it is missing.
func talk(tb testing.TB) []int16 {
	pcm, err := speech.Say("Hello from parley. Can you hear me clearly? The quick brown fox jumps over the lazy dog.")
	if errors.Is(err, speech.ErrNoEspeak) {
		return speech.Synthetic(5 * speech.Rate)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return pcm
}

// roundTrip encodes pcm at the given complexity and decodes it.
func roundTrip(t *testing.T, pcm []int16, complexity int) []int16 {
	enc, err := audio.NewEncoder(audio.EncoderOptions{Complexity: complexity})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	buf := make([]int16, 960)
	for i := 0; i+480 <= len(pcm); i += 480 {
		err := enc.Write(pcm[i:i+480], func(p audio.Packet) {
			n, err := dec.Decode(p.Data, buf)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, buf[:n]...)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestDefaultComplexity checks that the default complexity, chosen for
// its CPU cost (BenchmarkEncode), sounds as good as the highest, and that
// the one the encoder drops to on a slow machine is not far behind.
func TestDefaultComplexity(t *testing.T) {
	pcm := talk(t)
	best, err := speech.Compare(pcm, roundTrip(t, pcm, 10), 2400)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("complexity 10: corr %.3f, LSD %.2f dB", best.Corr, best.LSD)
	for _, tc := range []struct {
		complexity int
		lsd        float64 // dB more than at 10, at most
	}{{audio.DefaultComplexity, 0.25}, {audio.MinComplexity, 0.45}} {
		got, err := speech.Compare(pcm, roundTrip(t, pcm, tc.complexity), 2400)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("complexity %d: corr %.3f, LSD %.2f dB", tc.complexity, got.Corr, got.LSD)
		if got.Corr < best.Corr-0.01 || got.LSD > best.LSD+tc.lsd {
			t.Errorf("complexity %d sounds worse than 10: corr %.3f against %.3f, LSD %.2f against %.2f dB",
				tc.complexity, got.Corr, best.Corr, got.LSD, best.LSD)
		}
	}
}

// Per-frame cost of Opus as parley uses it: 20 ms frames of speech at
// 32 kb/s with FEC. A peer codes 50 frames a second, so ns/op ÷ 200000 is
// its share of one core in %.
func BenchmarkEncode(b *testing.B) {
	pcm := talk(b)
	for _, c := range []int{10, 9, 8, 7, 6, 5} {
		b.Run(fmt.Sprint("complexity=", c), func(b *testing.B) {
			enc, err := audio.NewEncoder(audio.EncoderOptions{Complexity: c})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				at := (i * 960) % (len(pcm) - 960)
				if err := enc.Write(pcm[at:at+960], func(audio.Packet) {}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	pcm := talk(b)
	enc, err := audio.NewEncoder(audio.EncoderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var pkts [][]byte
	for i := 0; i+480 <= len(pcm); i += 480 {
		enc.Write(pcm[i:i+480], func(p audio.Packet) { pkts = append(pkts, p.Data) })
	}
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]int16, 960)
	for i := 0; b.Loop(); i++ {
		if _, err := dec.Decode(pkts[i%len(pkts)], out); err != nil {
			b.Fatal(err)
		}
	}
}
