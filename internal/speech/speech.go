// Package speech compares a received recording of speech with the
// original, for the end-to-end tests and the benchmark: it finds the delay
// by cross-correlation, then measures correlation and log-spectral
// distance. Audio is 48 kHz mono int16. It also makes speech with
// espeak-ng.
package speech

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"parley/audio"
)

// Rate is the sample rate of everything here.
const Rate = 48000

// Result is how a recording compares with its original.
type Result struct {
	// Lag is where the original starts in the recording, in samples, and
	// Delay the same as a duration.
	Lag   int
	Delay time.Duration
	// Warp is how far the delay moved during the recording: the range of
	// the segments' own lags. A jitter buffer that adapts moves it.
	Warp time.Duration
	// Corr is the correlation coefficient of the aligned signals, 1 for
	// identical ones.
	Corr float64
	// LSD is the log-spectral distance in dB over active speech, 0 for
	// identical spectra.
	LSD float64
}

const (
	// segment is the length of the pieces aligned on their own, and slack
	// how far from the overall lag each may be: receivers change their
	// delay as they go, and a shift is not a distortion.
	segment = Rate / 2
	slack   = Rate * 60 / 1000
)

// Compare finds ref in got, at a lag of at most maxLag samples, and
// measures how alike the two are there. Each half second of ref is matched
// on its own within 60 ms of the lag before it, so that a receiver's
// changes of delay count as Warp, not as distortion.
func Compare(ref, got []int16, maxLag int) (Result, error) {
	lag := Align(ref, got, maxLag)
	n := min(len(ref), len(got)-lag)
	if n < Rate/10 {
		return Result{}, fmt.Errorf("speech: only %d samples overlap", max(n, 0))
	}
	a := ref[:n]
	b := make([]int16, n)
	var loudest float64
	for at := 0; at < n; at += segment {
		loudest = max(loudest, power(a[at:min(at+segment, n)]))
	}
	// A segment keeps the lag before it unless it is loud enough to be
	// placed with confidence and matches well somewhere near.
	l, lo, hi := lag, lag, lag
	for at := 0; at < n; at += segment {
		seg := a[at:min(at+segment, n)]
		if power(seg) >= loudest/1000 {
			if pos, c := alignNear(seg, got, l+at); c >= 0.5 {
				l = pos - at
			}
		}
		lo, hi = min(lo, l), max(hi, l)
		copy(b[at:at+len(seg)], got[min(l+at, len(got)):])
	}
	return Result{
		Lag:   lag,
		Delay: time.Duration(lag) * time.Second / Rate,
		Warp:  time.Duration(hi-lo) * time.Second / Rate,
		Corr:  Corr(a, b),
		LSD:   LSD(a, b),
	}, nil
}

// alignNear returns where in got, within slack of at, seg matches best by
// normalised cross-correlation, and that correlation.
func alignNear(seg, got []int16, at int) (int, float64) {
	start := max(0, at-slack)
	end := min(len(got), at+slack+len(seg))
	if end-start < len(seg) {
		return at, 0
	}
	win := got[start:end]
	shift := Align(seg, win, len(win)-len(seg))
	// Align maximises the raw product; of it and at, take the better
	// normalised one, so that a louder stretch does not win.
	best, bestC := at, -2.0
	for _, l := range []int{shift, at - start} {
		if l < 0 || l+len(seg) > len(win) {
			continue
		}
		if c := Corr(seg, win[l:l+len(seg)]); c > bestC {
			best, bestC = start+l, c
		}
	}
	return best, bestC
}

func power(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return sum / float64(max(len(s), 1))
}

// Align returns the lag in [0, maxLag] at which got best matches ref
// (got[i+lag] ≈ ref[i]), by cross-correlation.
func Align(ref, got []int16, maxLag int) int {
	maxLag = max(0, min(maxLag, len(got)-1))
	r := CrossCorr(ref, got)
	best := 0
	for lag := 1; lag <= maxLag; lag++ {
		if r[lag] > r[best] {
			best = lag
		}
	}
	return best
}

// CrossCorr returns r, with r[lag] = Σ ref[i]·got[i+lag] for every lag in
// [0, len(got)), computed with FFTs.
func CrossCorr(ref, got []int16) []float64 {
	n := 1
	for n < len(ref)+len(got) {
		n *= 2
	}
	fft := fourier.NewFFT(n)
	x := fft.Coefficients(nil, padded(ref, n))
	y := fft.Coefficients(nil, padded(got, n))
	for i := range x {
		x[i] = cmplx.Conj(x[i]) * y[i]
	}
	r := fft.Sequence(nil, x)[:len(got)] // unnormalised: n times the sum
	for i := range r {
		r[i] /= float64(n)
	}
	return r
}

func padded(s []int16, n int) []float64 {
	f := make([]float64, n)
	for i, v := range s {
		f[i] = float64(v)
	}
	return f
}

// Corr returns the Pearson correlation coefficient of a and b, which
// should be of equal length; the extra samples of the longer are ignored.
func Corr(a, b []int16) float64 {
	n := min(len(a), len(b))
	var sa, sb float64
	for i := range n {
		sa += float64(a[i])
		sb += float64(b[i])
	}
	ma, mb := sa/float64(n), sb/float64(n)
	var ab, aa, bb float64
	for i := range n {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

const (
	frameLen = Rate / 50 // 20 ms
	hop      = frameLen / 2
	fftLen   = 1024
	// lowBin and highBin bound the band compared: 100 Hz to 8 kHz, where
	// speech is (and what wideband Opus keeps whole).
	lowBin  = 100 * fftLen / Rate
	highBin = 8000 * fftLen / Rate
	// activeRange: a frame counts as speech when its energy is within this
	// many dB of the loudest frame's.
	activeRange = 40
	// floorRange: powers are floored this many dB below the frame's
	// loudest bin, so that the distance follows the spectrum's shape
	// where it matters rather than the noise between harmonics.
	floorRange = 50
)

// LSD returns the log-spectral distance between ref and got in dB: for
// each 20 ms frame (Hann window, half overlap), the root mean square over
// the bins from 100 Hz to 8 kHz of 10·log10 of the ratio of their powers,
// each floored 50 dB below the frame's strongest bin; averaged over the
// frames where ref is active speech, within 40 dB of its loudest frame.
func LSD(ref, got []int16) float64 {
	n := min(len(ref), len(got))
	fft := fourier.NewFFT(fftLen)
	window := make([]float64, frameLen)
	for i := range window {
		window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(frameLen-1))
	}
	spectrum := func(s []int16) []float64 {
		buf := make([]float64, fftLen)
		for i, v := range s {
			buf[i] = float64(v) * window[i]
		}
		c := fft.Coefficients(nil, buf)
		p := make([]float64, highBin-lowBin)
		for k := range p {
			p[k] = real(c[lowBin+k])*real(c[lowBin+k]) + imag(c[lowBin+k])*imag(c[lowBin+k])
		}
		return p
	}
	var refs, gots [][]float64
	var energy []float64
	var peaks []float64
	var loudest float64
	for at := 0; at+frameLen <= n; at += hop {
		r, g := spectrum(ref[at:at+frameLen]), spectrum(got[at:at+frameLen])
		var e, peak float64
		for _, v := range r {
			e += v
			peak = max(peak, v)
		}
		refs, gots, energy, peaks = append(refs, r), append(gots, g), append(energy, e), append(peaks, peak)
		loudest = max(loudest, e)
	}
	if loudest == 0 {
		return 0
	}
	var sum float64
	var frames int
	for f := range refs {
		if energy[f] < loudest*math.Pow(10, -activeRange/10.0) {
			continue
		}
		floor := peaks[f] * math.Pow(10, -floorRange/10.0)
		var sq float64
		for k := range refs[f] {
			d := 10 * math.Log10((refs[f][k]+floor)/(gots[f][k]+floor))
			sq += d * d
		}
		sum += math.Sqrt(sq / float64(len(refs[f])))
		frames++
	}
	if frames == 0 {
		return 0
	}
	return sum / float64(frames)
}

// ErrNoEspeak means espeak-ng or sox is not installed.
var ErrNoEspeak = errors.New("speech: espeak-ng and sox are needed (scripts/setup --test installs them)")

// Speak writes text, spoken by espeak-ng, to path as a 48 kHz mono 16-bit
// WAV file.
func Speak(text, path string) error { return SpeakVoice(text, "en", path) }

// SpeakVoice is Speak with another of espeak-ng's voices, such as
// "en-us+f3", for a second talker.
func SpeakVoice(text, voice, path string) error {
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return ErrNoEspeak
		}
	}
	dir, err := os.MkdirTemp("", "parley-speech")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	raw := filepath.Join(dir, "raw.wav")
	if out, err := exec.Command("espeak-ng", "-v", voice, "-s", "150", "-w", raw, text).CombinedOutput(); err != nil {
		return fmt.Errorf("espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "48000", "-c", "1", "-b", "16", path, "norm", "-3").CombinedOutput(); err != nil {
		return fmt.Errorf("sox: %v: %s", err, out)
	}
	return nil
}

// Say returns text spoken by espeak-ng as 48 kHz mono PCM.
func Say(text string) ([]int16, error) { return SayVoice(text, "en") }

// SayVoice is Say with another of espeak-ng's voices.
func SayVoice(text, voice string) ([]int16, error) {
	dir, err := os.MkdirTemp("", "parley-speech")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "speech.wav")
	if err := SpeakVoice(text, voice, path); err != nil {
		return nil, err
	}
	return audio.ReadWAVFile(path)
}

// Synthetic returns n samples of a voice-like signal, for tests and for
// machines without espeak-ng: 700 ms of a buzzy vowel with a gliding
// pitch, then 300 ms of silence, over and over.
func Synthetic(n int) []int16 {
	pcm := make([]int16, n)
	phase := 0.0
	for i := range pcm {
		cyc := i % Rate
		if cyc >= Rate*7/10 {
			continue
		}
		t := float64(cyc) / Rate
		f0 := 120 + 40*math.Sin(2*math.Pi*1.3*t)
		phase += 2 * math.Pi * f0 / Rate
		v := 0.0
		for h := 1.0; h <= 12; h++ {
			v += math.Sin(h*phase) / h
		}
		pcm[i] = int16(6000 * math.Sin(math.Pi*t/0.7) * v)
	}
	return pcm
}
