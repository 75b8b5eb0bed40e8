//go:build aeccompare

package aectest_test

import (
	"strings"
	"testing"
	"time"

	"parley/audio/aec"
	"parley/audio/aec/internal/aectest"
	"parley/audio/aec/internal/speexdsp"
)

// The candidates, each made for the features asked for.
var candidates = []struct {
	name string
	mk   aectest.New
}{
	{"webrtc-audio-processing 0.3 (audio/aec)", func(f aectest.Features, d time.Duration) (aectest.Canceller, error) {
		return aec.New(aec.Config{AEC: f.AEC, NS: f.NS, AGC: f.AGC, Delay: d})
	}},
	{"speexdsp 1.2.1, 150 ms filter", func(f aectest.Features, d time.Duration) (aectest.Canceller, error) {
		return speexdsp.New(speexdsp.Config{AEC: f.AEC, NS: f.NS, AGC: f.AGC, Delay: d, Tail: 150 * time.Millisecond})
	}},
	{"speexdsp 1.2.1, 250 ms filter", func(f aectest.Features, d time.Duration) (aectest.Canceller, error) {
		return speexdsp.New(speexdsp.Config{AEC: f.AEC, NS: f.NS, AGC: f.AGC, Delay: d, Tail: 250 * time.Millisecond})
	}},
}

// TestCompare measures both candidates on every scenario and logs the
// table for COMPARISON.md.
func TestCompare(t *testing.T) {
	var names []string
	var rs []aectest.Results
	for _, c := range candidates {
		start := time.Now()
		names = append(names, c.name)
		rs = append(rs, aectest.Measure(t, c.mk))
		t.Logf("%s: measured in %v", c.name, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("\n%s", strings.Join(aectest.Rows(names, rs), "\n"))
}

// BenchmarkCost is the cost of a 10 ms frame (Playback and Capture) with
// AEC, NS and AGC on, the far end and the near end talking at once.
func BenchmarkCost(b *testing.B) {
	v := aectest.Speech(b)
	echo := aectest.Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(v.Far)
	mic := aectest.Mix(echo, v.Near)
	for _, c := range candidates {
		b.Run(c.name, func(b *testing.B) {
			can, err := c.mk(aectest.Features{AEC: true, NS: true, AGC: true}, 40*time.Millisecond)
			if err != nil {
				b.Fatal(err)
			}
			defer can.Close()
			frame := make([]int16, aectest.Frame)
			n := len(mic) / aectest.Frame
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				at := i % n * aectest.Frame
				can.Playback(v.Far[at : at+aectest.Frame])
				copy(frame, mic[at:])
				can.Capture(frame)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7*100, "%core")
		})
	}
}
