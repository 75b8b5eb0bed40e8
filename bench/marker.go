package bench

import (
	"math"

	"parley/internal/speech"
)

const (
	rate = speech.Rate
	// markerLen is a marker's length: 40 ms.
	markerLen = rate / 25
	// markerEvery is the spacing of markers; it is no multiple of a frame,
	// so markers fall everywhere in a frame.
	markerEvery = rate/2 + 37
	// markerIDs is how many different markers take turns, so that one is
	// never taken for the one before, up to this many spacings of delay.
	markerIDs = 4
	// minScore is the normalised correlation a marker's copy must reach.
	minScore = 0.6
)

// markerWave returns marker id: a 40 ms chirp under a Hann window, up or
// down, in one of two bands low enough that Opus keeps its waveform (a
// copy through Opus at 32 kb/s correlates 0.74 or better, mostly 0.97;
// different markers, 0.27 at most).
func markerWave(id int) []int16 {
	bands := [markerIDs][2]float64{{300, 1500}, {1500, 300}, {500, 2500}, {2500, 500}}
	f0, f1 := bands[id%markerIDs][0], bands[id%markerIDs][1]
	w := make([]int16, markerLen)
	T := float64(markerLen) / rate
	for i := range w {
		t := float64(i) / rate
		phase := 2 * math.Pi * (f0*t + (f1-f0)*t*t/(2*T))
		env := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(markerLen-1))
		w[i] = int16(14000 * env * math.Sin(phase))
	}
	return w
}

// withMarkers returns n samples of talk, looped, with a marker in place
// of the talk every markerEvery samples from 1 s on, stopping short of the
// last half second; and where the markers start.
func withMarkers(talk []int16, n int) ([]int16, []int) {
	out := make([]int16, n)
	for i := 0; i < n; i += len(talk) {
		copy(out[i:], talk)
	}
	var at []int
	for p, k := rate, 0; p+markerLen <= n-rate/2; p, k = p+markerEvery, k+1 {
		copy(out[p:], markerWave(k))
		at = append(at, p)
	}
	return out, at
}

// findMarker returns where in rec[from:to] marker id starts, by normalised
// cross-correlation, and the correlation there; -1 if it is nowhere above
// minScore.
func findMarker(rec []int16, id, from, to int) (int, float64) {
	from, to = max(from, 0), min(to, len(rec))
	if to-from < markerLen {
		return -1, 0
	}
	win := rec[from:to]
	tmpl := markerWave(id)
	r := speech.CrossCorr(tmpl, win) // r[l] = Σ tmpl[i]·win[l+i]
	var tt float64
	for _, v := range tmpl {
		tt += float64(v) * float64(v)
	}
	// Energy of each window of win, from prefix sums.
	sum := make([]float64, len(win)+1)
	for i, v := range win {
		sum[i+1] = sum[i] + float64(v)*float64(v)
	}
	best, bestScore := -1, minScore
	for l := 0; l+markerLen <= len(win); l++ {
		e := sum[l+markerLen] - sum[l]
		if e <= 0 {
			continue
		}
		if s := r[l] / math.Sqrt(tt*e); s > bestScore {
			best, bestScore = l, s
		}
	}
	if best < 0 {
		return -1, 0
	}
	return from + best, bestScore
}
