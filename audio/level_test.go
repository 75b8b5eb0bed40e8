package audio

import (
	"math"
	"testing"
)

func TestLevels(t *testing.T) {
	square := make([]int16, 480)
	for i := range square {
		square[i] = -32768
		if i%2 == 1 {
			square[i] = 32767
		}
	}
	tests := []struct {
		name      string
		pcm       []int16
		peak, rms float64
	}{
		{"full-scale sine", sine(SampleRate, 1000, 1), 0, -3.01},
		{"half-scale sine", sine(SampleRate, 1000, 0.5), -6.02, -9.03},
		{"full-scale square", square, 0, 0},
		{"silence", make([]int16, 480), FloorDBFS, FloorDBFS},
		{"empty", nil, FloorDBFS, FloorDBFS},
		{"one LSB", []int16{1, -1}, -90, -90},
	}
	for _, tc := range tests {
		if got := PeakDBFS(tc.pcm); math.Abs(got-tc.peak) > 0.02 {
			t.Errorf("PeakDBFS(%s) = %.3f; want %.2f", tc.name, got, tc.peak)
		}
		if got := RMSDBFS(tc.pcm); math.Abs(got-tc.rms) > 0.02 {
			t.Errorf("RMSDBFS(%s) = %.3f; want %.2f", tc.name, got, tc.rms)
		}
		if got := Measure(tc.pcm); math.IsInf(got.Peak, 0) || math.IsInf(got.RMS, 0) {
			t.Errorf("Measure(%s) = %+v; want finite", tc.name, got)
		}
	}
}

func TestMeter(t *testing.T) {
	var levels []Level
	m := NewMeter(0, func(l Level) { levels = append(levels, l) })
	if l := m.Last(); l.Peak != FloorDBFS || l.RMS != FloorDBFS {
		t.Errorf("Last() before audio = %+v; want the floor", l)
	}
	pcm := append(sine(SampleRate, 1000, 1), make([]int16, SampleRate)...)
	for i := 0; i < len(pcm); i += 700 { // blocks that straddle windows
		m.Write(pcm[i:min(i+700, len(pcm))])
	}
	if len(levels) != 40 {
		t.Fatalf("%d updates for 2 s; want 40 (one per 50 ms)", len(levels))
	}
	for i, l := range levels[:20] {
		if math.Abs(l.Peak) > 0.05 || math.Abs(l.RMS+3.01) > 0.05 {
			t.Errorf("update %d = %+v; want 0 / -3 dBFS", i, l)
		}
	}
	for i, l := range levels[20:] {
		if l.Peak != FloorDBFS || l.RMS != FloorDBFS {
			t.Errorf("update %d = %+v; want the floor", 20+i, l)
		}
	}
	if l := m.Last(); l.Peak != FloorDBFS {
		t.Errorf("Last() = %+v; want the floor", l)
	}
}
