package audio

import (
	"math"
	"sync/atomic"
	"time"
)

// FloorDBFS is the lowest level reported, in dBFS: digital silence and
// anything quieter reads as this rather than -Inf.
const FloorDBFS = -90.0

// DefaultMeterWindow is how much audio a Meter sums up per update: 50 ms,
// so about 20 updates a second.
const DefaultMeterWindow = 50 * time.Millisecond

// fullScale is the reference for 0 dBFS: a sample of -32768, or a square
// wave of ±32768, is 0 dBFS; a full-scale sine reads 0 dBFS peak and
// -3.01 dBFS RMS.
const fullScale = 32768.0

// Level is the loudness of a block of audio.
type Level struct {
	// Peak is the largest magnitude of a sample, in dBFS.
	Peak float64
	// RMS is the root mean square, in dBFS.
	RMS float64
}

// dbfs converts an amplitude (0 to 1 of full scale) to dBFS, at or above
// FloorDBFS.
func dbfs(a float64) float64 {
	if a <= 0 {
		return FloorDBFS
	}
	return max(20*math.Log10(a), FloorDBFS)
}

func peakOf(pcm []int16) int32 {
	var p int32
	for _, s := range pcm {
		v := int32(s)
		if v < 0 {
			v = -v
		}
		p = max(p, v)
	}
	return p
}

func sumSquares(pcm []int16) float64 {
	var sum int64
	for _, s := range pcm {
		sum += int64(s) * int64(s)
	}
	return float64(sum)
}

// PeakDBFS returns the peak level of pcm in dBFS: 0 for full scale,
// FloorDBFS for silence or an empty block.
func PeakDBFS(pcm []int16) float64 { return dbfs(float64(peakOf(pcm)) / fullScale) }

// RMSDBFS returns the RMS level of pcm in dBFS: about -3 for a full-scale
// sine, FloorDBFS for silence or an empty block.
func RMSDBFS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return FloorDBFS
	}
	return dbfs(math.Sqrt(sumSquares(pcm)/float64(len(pcm))) / fullScale)
}

// Measure returns the peak and RMS levels of pcm.
func Measure(pcm []int16) Level { return Level{Peak: PeakDBFS(pcm), RMS: RMSDBFS(pcm)} }

// Meter sums up a stream of audio into a Level per window (50 ms by
// default, about 20 a second), for the mic and the peer meters in the UI.
// Write is for one goroutine at a time, normally the one that carries the
// audio; Last may be called from any goroutine.
type Meter struct {
	window  int
	onLevel func(Level)
	n       int
	peak    int32
	sumSq   float64
	last    atomic.Uint64 // two float32s: peak in the high half, RMS in the low
}

// NewMeter returns a Meter that sums up window of audio at a time (0 means
// DefaultMeterWindow) and calls onLevel, if not nil, on the goroutine that
// calls Write, each time a window is complete. onLevel must not block: hand
// the Level to the UI with a non-blocking send.
func NewMeter(window time.Duration, onLevel func(Level)) *Meter {
	if window <= 0 {
		window = DefaultMeterWindow
	}
	n, _ := samplesIn(window)
	m := &Meter{window: max(n, 1), onLevel: onLevel}
	m.store(Level{Peak: FloorDBFS, RMS: FloorDBFS})
	return m
}

// Write adds audio; blocks of any length are fine.
func (m *Meter) Write(pcm []int16) {
	for len(pcm) > 0 {
		c := min(len(pcm), m.window-m.n)
		m.peak = max(m.peak, peakOf(pcm[:c]))
		m.sumSq += sumSquares(pcm[:c])
		m.n += c
		pcm = pcm[c:]
		if m.n < m.window {
			return
		}
		l := Level{
			Peak: dbfs(float64(m.peak) / fullScale),
			RMS:  dbfs(math.Sqrt(m.sumSq/float64(m.n)) / fullScale),
		}
		m.n, m.peak, m.sumSq = 0, 0, 0
		m.store(l)
		if m.onLevel != nil {
			m.onLevel(l)
		}
	}
}

func (m *Meter) store(l Level) {
	m.last.Store(uint64(math.Float32bits(float32(l.Peak)))<<32 | uint64(math.Float32bits(float32(l.RMS))))
}

// Last returns the Level of the last complete window, FloorDBFS for both
// before the first.
func (m *Meter) Last() Level {
	v := m.last.Load()
	return Level{Peak: float64(math.Float32frombits(uint32(v >> 32))), RMS: float64(math.Float32frombits(uint32(v)))}
}
