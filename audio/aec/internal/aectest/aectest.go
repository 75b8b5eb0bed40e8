// Package aectest measures an echo canceller, noise suppressor and gain
// control on synthetic calls: real speech (espeak-ng) as the far end,
// played through a known echo path into a microphone that may also hear a
// second talker or noise, processed frame by frame with the far end as the
// reference. audio/aec's tests and the comparison of the candidate
// libraries (COMPARISON.md) both use it. Audio is 48 kHz mono int16, in
// 10 ms frames.
package aectest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"parley/internal/speech"
)

// Rate and Frame: 48 kHz, 10 ms.
const (
	Rate  = speech.Rate
	Frame = Rate / 100
)

// Canceller is what a candidate offers: the far end as it is played, the
// microphone processed in place, and the delay of the echo behind the
// reference as handed in and as estimated.
type Canceller interface {
	Playback(pcm []int16) error
	Capture(pcm []int16) error
	SetDelay(d time.Duration)
	Delay() time.Duration
	Close() error
}

// Features says what to turn on.
type Features struct{ AEC, NS, AGC bool }

// New makes a Canceller with the features given and the delay of the echo
// behind the reference handed in (0 for unknown).
type New func(f Features, delay time.Duration) (Canceller, error)

// Voices are the two talkers, made once by espeak-ng.
type Voices struct {
	// Far is the far end's talker (the echo's source), 12 s long, and Long
	// the same talker for 30 s; Near the near end's, 10 s, another voice;
	// Paused the near talker's sentences with 800 ms of silence between
	// them, for noise suppression.
	Far, Long, Near, Paused []int16
}

var (
	voicesOnce sync.Once
	voices     Voices
	voicesErr  error
)

// Speech returns the talkers, or skips the test outside CI when espeak-ng
// is missing.
func Speech(tb testing.TB) Voices {
	tb.Helper()
	voicesOnce.Do(func() {
		far, err := speech.Say("Hello from parley. This call goes straight from one terminal to the other, " +
			"with no server in the middle. Can you hear me clearly? Seven, eight, nine, ten. " +
			"The quick brown fox jumps over the lazy dog, and the dog does not mind at all.")
		if err != nil {
			voicesErr = err
			return
		}
		sentences := []string{
			"I hear you well, but there is an echo on the line.",
			"Could you turn the speaker down a little, please?",
			"Now it sounds much better than it did before.",
			"Let us try again tomorrow at nine in the morning.",
		}
		var near, paused []int16
		for _, s := range sentences {
			pcm, err := speech.SayVoice(s, "en-us+f3")
			if err != nil {
				voicesErr = err
				return
			}
			near = append(near, pcm...)
			paused = append(append(paused, pcm...), make([]int16, Rate*8/10)...)
		}
		voices = Voices{Far: fill(far, 12*Rate), Long: fill(far, 30*Rate), Near: fill(near, 10*Rate), Paused: paused}
	})
	if errors.Is(voicesErr, speech.ErrNoEspeak) && os.Getenv("CI") == "" {
		tb.Skip(voicesErr)
	}
	if voicesErr != nil {
		tb.Fatal(voicesErr)
	}
	return voices
}

// fill repeats pcm, with 300 ms of silence between repeats, to n samples.
func fill(pcm []int16, n int) []int16 {
	out := make([]int16, 0, n+len(pcm))
	for len(out) < n {
		out = append(append(out, pcm...), make([]int16, Rate*3/10)...)
	}
	return out[:n]
}

// Room is an echo path: the speaker heard by the microphone Delay late,
// through a short decaying impulse response whose energy gain is Gain dB.
type Room struct {
	Delay time.Duration
	Gain  float64
}

// impulse is the room's response without its delay: a direct tap, then
// 8 ms of taps of random sign decaying with a time constant of 2 ms, scaled
// to the gain. The same every time.
func (r Room) impulse() []float64 {
	rng := rand.New(rand.NewPCG(17, 4))
	h := make([]float64, Rate*8/1000)
	h[0] = 1
	for i := 1; i < len(h); i++ {
		h[i] = 0.5 * math.Exp(-float64(i)/(Rate*2/1000)) * rng.NormFloat64()
	}
	var e float64
	for _, v := range h {
		e += v * v
	}
	g := math.Sqrt(math.Pow(10, r.Gain/10) / e)
	for i := range h {
		h[i] *= g
	}
	return h
}

// Echo returns far through the room: what the microphone hears of it.
// (The convolution is done with FFTs, to keep the tests quick under the
// race detector.)
func (r Room) Echo(far []int16) []float64 {
	h := r.impulse()
	d := int(r.Delay * Rate / time.Second)
	n := 1
	for n < len(far)+len(h) {
		n *= 2
	}
	fft := fourier.NewFFT(n)
	x := make([]float64, n)
	for i, v := range far {
		x[i] = float64(v)
	}
	y := make([]float64, n)
	copy(y, h)
	fx, fy := fft.Coefficients(nil, x), fft.Coefficients(nil, y)
	for i := range fx {
		fx[i] *= fy[i]
	}
	conv := fft.Sequence(nil, fx)
	out := make([]float64, len(far))
	for i := d; i < len(out); i++ {
		out[i] = conv[i-d] / float64(n)
	}
	return out
}

// Mix returns the sum of the signals, rounded and clipped to int16, as
// long as the first.
func Mix(first []float64, rest ...[]int16) []int16 {
	out := make([]int16, len(first))
	for i := range out {
		v := first[i]
		for _, r := range rest {
			if i < len(r) {
				v += float64(r[i])
			}
		}
		out[i] = clip(v)
	}
	return out
}

func clip(v float64) int16 {
	return int16(max(-32768, min(32767, math.Round(v))))
}

// Floats returns pcm as float64s.
func Floats(pcm []int16) []float64 {
	f := make([]float64, len(pcm))
	for i, v := range pcm {
		f[i] = float64(v)
	}
	return f
}

// Delayed returns pcm starting at sample at, zeros before, as long as n.
func Delayed(pcm []int16, at, n int) []int16 {
	out := make([]int16, n)
	if at < n {
		copy(out[at:], pcm)
	}
	return out
}

// Scale returns pcm multiplied by g, clipped.
func Scale(pcm []int16, g float64) []int16 {
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = clip(float64(v) * g)
	}
	return out
}

// Run plays far and captures mic through c, frame by frame: each frame of
// the far end is handed to Playback, then the frame of the microphone
// captured at the same time to Capture. It returns what Capture made.
func Run(c Canceller, far, mic []int16) ([]int16, error) {
	n := min(len(far), len(mic)) / Frame * Frame
	out := append([]int16(nil), mic[:n]...)
	for at := 0; at < n; at += Frame {
		if err := c.Playback(far[at : at+Frame]); err != nil {
			return nil, err
		}
		if err := c.Capture(out[at : at+Frame]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Energy returns the sum of squares of s[from:to].
func Energy[T int16 | float64](s []T, from, to int) float64 {
	var e float64
	for _, v := range s[from:min(to, len(s))] {
		e += float64(v) * float64(v)
	}
	return e
}

// DB returns 10·log10(a/b), at most 99.
func DB(a, b float64) float64 {
	if b <= 0 {
		return 99
	}
	return min(99, 10*math.Log10(a/b))
}

// ERLE is the echo return loss enhancement in dB over [from, to): the
// echo the microphone heard against what is left of it.
func ERLE(echo []float64, out []int16, from, to int) float64 {
	return DB(Energy(echo, from, to), Energy(out, from, to))
}

// Active returns which 20 ms frames of pcm are speech: within 40 dB of the
// loudest frame.
func Active(pcm []int16) []bool {
	const f = Rate / 50
	var loudest float64
	for at := 0; at+f <= len(pcm); at += f {
		loudest = max(loudest, Energy(pcm, at, at+f))
	}
	act := make([]bool, len(pcm)/f)
	for i := range act {
		act[i] = loudest > 0 && Energy(pcm, i*f, i*f+f) >= loudest*1e-4
	}
	return act
}

// Level returns the RMS level in dBFS of s over the 20 ms frames marked in
// act (a full-scale square wave is 0 dBFS).
func Level(s []int16, act []bool) float64 {
	const f = Rate / 50
	var e float64
	var n int
	for i, a := range act {
		if a && i*f+f <= len(s) {
			e += Energy(s, i*f, i*f+f)
			n += f
		}
	}
	if n == 0 || e == 0 {
		return -99
	}
	return 10 * math.Log10(e/float64(n)/(32768*32768))
}

// LevelOf is Level over pcm's own active frames.
func LevelOf(pcm []int16) float64 { return Level(pcm, Active(pcm)) }

// Peak returns the largest magnitude in s in dBFS, and how many samples
// are at full scale.
func Peak(s []int16) (float64, int) {
	var p, clipped int
	for _, v := range s {
		a := int(v)
		if a < 0 {
			a = -a
		}
		p = max(p, a)
		if a >= 32767 {
			clipped++
		}
	}
	if p == 0 {
		return -99, clipped
	}
	return 20 * math.Log10(float64(p)/32768), clipped
}

// Compare aligns out with ref (within 50 ms) and returns their speech
// correlation and log-spectral distance.
func Compare(ref, out []int16) (speech.Result, error) {
	return speech.Compare(ref, out, Rate/20)
}

// Noise returns n samples of white Gaussian noise at rms (of 32768), the
// same every time.
func Noise(n int, rms float64) []int16 {
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]int16, n)
	for i := range out {
		out[i] = clip(rng.NormFloat64() * rms * 32768)
	}
	return out
}

// DBFS converts a level in dBFS to an RMS amplitude of 32768.
func DBFS(db float64) float64 { return math.Pow(10, db/20) }

// Results are the figures of one candidate, all in dB unless said.
type Results struct {
	// ERLE after 1 s (over 1–2 s) and after 3 s (over 3–12 s) of far-end
	// single talk, the delay handed in, for each room delay (40, 120 ms),
	// with AEC alone; and the delay the canceller estimated at the end.
	ERLE1, ERLE3 [2]float64
	Est          [2]time.Duration
	// The same, the canceller told nothing of the delay (0): Unknown1,
	// Unknown3, UnknownEst, at 120 ms.
	Unknown1, Unknown3 float64
	UnknownEst         time.Duration
	// Far1, Far3: 250 ms, beyond the filter, not handed in: ERLE over
	// 20–21 s and 22–30 s (after the canceller had time to find it).
	// FarEst at the end.
	Far1, Far3 float64
	FarEst     time.Duration
	// Moved1, Moved3: the room's delay moves from 40 to 120 ms at 5 s, the
	// canceller told 40 ms; ERLE over 6–7 s and 8–12 s. MovedEst at the end.
	Moved1, Moved3 float64
	MovedEst       time.Duration
	// Double talk at 40 ms (AEC alone): the near talker joins at 3 s; their
	// level in the output against their level alone, and the correlation
	// with them alone, from 3 s.
	DTLevel, DTCorr float64
	// Headphones: no echo path, both talking; the near end against its
	// clean self, with AEC alone and with all three on; and with AEC alone,
	// the far end silent (a clean call). PhonesLag is the latency the
	// processing adds.
	PhonesLSD, PhonesCorr       float64
	PhonesAllLSD, PhonesAllCorr float64
	QuietLSD, QuietCorr         float64
	PhonesLag                   time.Duration
	// Noise suppression (NS alone): the paused talker with white noise at
	// 10 dB SNR; the noise removed in the pauses after the first second,
	// and the speech correlation with the clean talker.
	NSReduction, NSCorr float64
	// AGC alone: a talker at -35 dBFS, the level of the output from 4 s;
	// one peaking at -3 dBFS, the output's peak and clipped samples.
	AGCQuiet, AGCLoudPeak float64
	AGCClipped            int
}

// Measure runs every scenario through canceller made by mk.
func Measure(tb testing.TB, mk New) Results {
	tb.Helper()
	v := Speech(tb)
	var r Results
	run := func(f Features, delay time.Duration, far, mic []int16) ([]int16, time.Duration) {
		tb.Helper()
		c, err := mk(f, delay)
		if err != nil {
			tb.Fatal(err)
		}
		defer c.Close()
		out, err := Run(c, far, mic)
		if err != nil {
			tb.Fatal(err)
		}
		return out, c.Delay()
	}
	aec := Features{AEC: true}
	all := Features{AEC: true, NS: true, AGC: true}
	end := len(v.Far)
	for i, d := range []time.Duration{40 * time.Millisecond, 120 * time.Millisecond} {
		echo := Room{Delay: d, Gain: -18}.Echo(v.Far)
		out, est := run(aec, d, v.Far, Mix(echo))
		r.ERLE1[i], r.ERLE3[i], r.Est[i] = ERLE(echo, out, Rate, 2*Rate), ERLE(echo, out, 3*Rate, end), est
		if i == 1 {
			out, est := run(aec, 0, v.Far, Mix(echo))
			r.Unknown1, r.Unknown3, r.UnknownEst = ERLE(echo, out, Rate, 2*Rate), ERLE(echo, out, 3*Rate, end), est
		}
	}
	{
		echo := Room{Delay: 250 * time.Millisecond, Gain: -18}.Echo(v.Long)
		out, est := run(aec, 0, v.Long, Mix(echo))
		r.Far1, r.Far3, r.FarEst = ERLE(echo, out, 20*Rate, 21*Rate), ERLE(echo, out, 22*Rate, len(v.Long)), est
	}
	{
		e40 := Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(v.Far)
		e120 := Room{Delay: 120 * time.Millisecond, Gain: -18}.Echo(v.Far)
		echo := append(e40[:5*Rate:5*Rate], e120[5*Rate:]...)
		out, est := run(aec, 40*time.Millisecond, v.Far, Mix(echo))
		r.Moved1, r.Moved3, r.MovedEst = ERLE(echo, out, 6*Rate, 7*Rate), ERLE(echo, out, 8*Rate, end), est
	}
	{
		near := Delayed(v.Near, 3*Rate, end)
		echo := Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(v.Far)
		out, _ := run(aec, 40*time.Millisecond, v.Far, Mix(echo, near))
		act := Active(near[3*Rate:])
		r.DTLevel = Level(out[3*Rate:], act) - Level(near[3*Rate:], act)
		res, err := Compare(near[3*Rate:], out[3*Rate:])
		if err != nil {
			tb.Fatal(err)
		}
		r.DTCorr = res.Corr
	}
	{
		near := Delayed(v.Near, Rate/2, end)
		mic := Mix(Floats(near))
		for i, f := range []Features{aec, all} {
			out, _ := run(f, 40*time.Millisecond, v.Far, mic)
			res, err := Compare(near, out)
			if err != nil {
				tb.Fatal(err)
			}
			if i == 0 {
				r.PhonesLSD, r.PhonesCorr, r.PhonesLag = res.LSD, res.Corr, res.Delay
			} else {
				r.PhonesAllLSD, r.PhonesAllCorr = res.LSD, res.Corr
			}
		}
		out, _ := run(aec, 40*time.Millisecond, make([]int16, end), mic)
		res, err := Compare(near, out)
		if err != nil {
			tb.Fatal(err)
		}
		r.QuietLSD, r.QuietCorr = res.LSD, res.Corr
	}
	{
		clean := v.Paused
		noise := Noise(len(clean), DBFS(LevelOf(clean)-10))
		mic := Mix(Floats(clean), noise)
		silent := make([]int16, len(clean))
		out, _ := run(Features{NS: true}, 0, silent, mic)
		pauses := Active(clean)
		for i := range pauses {
			pauses[i] = !pauses[i] && i >= 50 // after the first second
		}
		r.NSReduction = Level(mic, pauses) - Level(out, pauses)
		res, err := Compare(clean, out)
		if err != nil {
			tb.Fatal(err)
		}
		r.NSCorr = res.Corr
	}
	{
		silent := make([]int16, len(v.Near))
		quiet := Scale(v.Near, DBFS(-35-LevelOf(v.Near)))
		out, _ := run(Features{AGC: true}, 0, silent, quiet)
		r.AGCQuiet = Level(out[4*Rate:], Active(quiet[4*Rate:]))
		p, _ := Peak(v.Near)
		loud := Scale(v.Near, DBFS(-3-p))
		out, _ = run(Features{AGC: true}, 0, silent, loud)
		r.AGCLoudPeak, r.AGCClipped = Peak(out)
	}
	return r
}

// Rows returns the results as the lines of a Markdown table, one figure a
// row, with the target and PASS or MISS.
func Rows(names []string, rs []Results) []string {
	type row struct {
		what, target string
		f            func(Results) string
		ok           func(Results) bool
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
	dB := func(v float64) string { return fmt.Sprintf("%.1f dB", v) }
	rows := []row{
		{"ERLE after 1 s, 40 ms delay handed in", "≥ 15 dB", func(r Results) string { return dB(r.ERLE1[0]) }, func(r Results) bool { return r.ERLE1[0] >= 15 }},
		{"ERLE after 3 s, 40 ms delay handed in", "≥ 25 dB", func(r Results) string { return dB(r.ERLE3[0]) }, func(r Results) bool { return r.ERLE3[0] >= 25 }},
		{"delay estimate, 40 ms", "", func(r Results) string { return ms(r.Est[0]) }, nil},
		{"ERLE after 1 s, 120 ms delay handed in", "≥ 15 dB", func(r Results) string { return dB(r.ERLE1[1]) }, func(r Results) bool { return r.ERLE1[1] >= 15 }},
		{"ERLE after 3 s, 120 ms delay handed in", "≥ 25 dB", func(r Results) string { return dB(r.ERLE3[1]) }, func(r Results) bool { return r.ERLE3[1] >= 25 }},
		{"delay estimate, 120 ms", "", func(r Results) string { return ms(r.Est[1]) }, nil},
		{"ERLE after 1 s, 120 ms, delay not handed in", "≥ 15 dB", func(r Results) string { return dB(r.Unknown1) }, func(r Results) bool { return r.Unknown1 >= 15 }},
		{"ERLE after 3 s, 120 ms, delay not handed in", "≥ 25 dB", func(r Results) string { return dB(r.Unknown3) }, func(r Results) bool { return r.Unknown3 >= 25 }},
		{"delay estimate, 120 ms not handed in", "", func(r Results) string { return ms(r.UnknownEst) }, nil},
		{"ERLE over 20–21 s, 250 ms, delay not handed in", "≥ 15 dB", func(r Results) string { return dB(r.Far1) }, func(r Results) bool { return r.Far1 >= 15 }},
		{"ERLE over 22–30 s, 250 ms, delay not handed in", "≥ 25 dB", func(r Results) string { return dB(r.Far3) }, func(r Results) bool { return r.Far3 >= 25 }},
		{"delay estimate, 250 ms not handed in (at 30 s)", "", func(r Results) string { return ms(r.FarEst) }, nil},
		{"ERLE 1 s after the delay moves 40 → 120 ms", "≥ 15 dB", func(r Results) string { return dB(r.Moved1) }, func(r Results) bool { return r.Moved1 >= 15 }},
		{"ERLE 3 s after the delay moves 40 → 120 ms", "≥ 25 dB", func(r Results) string { return dB(r.Moved3) }, func(r Results) bool { return r.Moved3 >= 25 }},
		{"delay estimate after the move (7 s after)", "", func(r Results) string { return ms(r.MovedEst) }, nil},
		{"double talk: near-end level vs alone", "within 6 dB", func(r Results) string { return fmt.Sprintf("%+.1f dB", r.DTLevel) }, func(r Results) bool { return math.Abs(r.DTLevel) <= 6 }},
		{"double talk: correlation with clean near end", "≥ 0.80", func(r Results) string { return fmt.Sprintf("%.3f", r.DTCorr) }, func(r Results) bool { return r.DTCorr >= 0.8 }},
		{"headphones, AEC: LSD vs clean near end", "≤ 0.2 dB", func(r Results) string { return fmt.Sprintf("%.2f dB", r.PhonesLSD) }, func(r Results) bool { return r.PhonesLSD <= 0.2 }},
		{"headphones, AEC: correlation", "≥ 0.99", func(r Results) string { return fmt.Sprintf("%.4f", r.PhonesCorr) }, func(r Results) bool { return r.PhonesCorr >= 0.99 }},
		{"headphones, AEC, far end silent: LSD", "≤ 0.2 dB", func(r Results) string { return fmt.Sprintf("%.2f dB", r.QuietLSD) }, func(r Results) bool { return r.QuietLSD <= 0.2 }},
		{"headphones, AEC, far end silent: correlation", "≥ 0.99", func(r Results) string { return fmt.Sprintf("%.4f", r.QuietCorr) }, func(r Results) bool { return r.QuietCorr >= 0.99 }},
		{"latency added (headphones, AEC)", "", func(r Results) string { return fmt.Sprintf("%.1f ms", float64(r.PhonesLag.Microseconds())/1000) }, nil},
		{"headphones, AEC+NS+AGC: LSD", "(reported)", func(r Results) string { return fmt.Sprintf("%.2f dB", r.PhonesAllLSD) }, nil},
		{"headphones, AEC+NS+AGC: correlation", "(reported)", func(r Results) string { return fmt.Sprintf("%.4f", r.PhonesAllCorr) }, nil},
		{"NS: noise in pauses reduced, 10 dB SNR", "≥ 15 dB", func(r Results) string { return dB(r.NSReduction) }, func(r Results) bool { return r.NSReduction >= 15 }},
		{"NS: speech correlation", "≥ 0.85", func(r Results) string { return fmt.Sprintf("%.3f", r.NSCorr) }, func(r Results) bool { return r.NSCorr >= 0.85 }},
		{"AGC: −35 dBFS talker comes out at", "−26 to −16 dBFS", func(r Results) string { return fmt.Sprintf("%.1f dBFS", r.AGCQuiet) }, func(r Results) bool { return r.AGCQuiet >= -26 && r.AGCQuiet <= -16 }},
		{"AGC: −3 dBFS peak input, output peak", "", func(r Results) string { return fmt.Sprintf("%.1f dBFS", r.AGCLoudPeak) }, nil},
		{"AGC: −3 dBFS peak input, clipped samples", "0", func(r Results) string { return fmt.Sprint(r.AGCClipped) }, func(r Results) bool { return r.AGCClipped == 0 }},
	}
	head := "| figure | target |"
	sep := "|---|---|"
	for _, n := range names {
		head += " " + n + " |"
		sep += "---|"
	}
	lines := []string{head, sep}
	for _, w := range rows {
		l := "| " + w.what + " | " + w.target + " |"
		for _, r := range rs {
			cell := w.f(r)
			if w.ok != nil {
				if w.ok(r) {
					cell += " PASS"
				} else {
					cell += " MISS"
				}
			}
			l += " " + cell + " |"
		}
		lines = append(lines, l)
	}
	return lines
}
