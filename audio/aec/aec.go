//go:build !noaec

package aec

// #cgo pkg-config: webrtc-audio-processing
// #cgo CXXFLAGS: -std=c++11
// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"parley/audio/aec/internal/ref"
)

// Available says whether parley was built with the library.
const Available = true

// Tuning, from COMPARISON.md's measurements.
const (
	// margin is how much less than the delay handed in the far end is
	// held back: the AEC handles an echo a little early worse than one
	// late.
	margin = 20 * time.Millisecond
	// slip is how far Playback and Capture may drift apart before they
	// are lined up again.
	slip = 150 * time.Millisecond
	// apmOffset: the delay of the echo behind the far end handed to the
	// module is the median its estimator reports plus this (measured: the
	// module starts its far-end buffer 25 ms behind, and reports from 13 ms
	// before that; TestEcho and TestDelayHandedIn check it).
	apmOffset = 12 * time.Millisecond
	// The AEC's 128 ms filter handles an echo up to about windowHi behind
	// the far end as held back (measured); further behind in two periods
	// running, the far end is held back to put the echo margin behind it.
	// The module's estimator sees an echo up to 60 ms ahead of the far end
	// and puts one further ahead (the delay handed in was too long) at
	// about 0: below windowLo in two periods running, the far end is held
	// back lowTarget less than the estimate, where the AEC still copes if
	// the echo is where the estimate says, and the estimator sees it if it
	// is up to 160 ms ahead.
	windowLo, windowHi = 5 * time.Millisecond, 125 * time.Millisecond
	lowTarget          = 100 * time.Millisecond
	// workingDB is the echo return loss enhancement of the AEC's linear
	// filter (A_NLP) above which it is taken to be working.
	workingDB = 10
	// agree is how close two estimates must be to count as the same, and
	// aggregation the frames over which the module aggregates its delay
	// figures (5 s).
	agree       = 8 * time.Millisecond
	aggregation = 500
	// The module's settings: low echo suppression (the higher levels cost
	// the near end in double talk and with headphones, and remove no more
	// echo here), the highest noise suppression (1.7 dB more than kHigh
	// for about the same speech), and a digital AGC aiming at -4 dBFS
	// peaks with up to 15 dB of gain: a -35 dBFS talker comes out at
	// -17.1 dBFS on the benchmark's rig and -25.3 in COMPARISON.md's
	// synthetic call, inside the -26 to -16 dBFS both hold it to (at -3
	// dBFS the rig read -16.0 to -16.1, at the edge; 20 dB of gain took it
	// to -15.8).
	aecSuppression = 0 // EchoCancellation::kLowSuppression
	nsLevel        = 3 // NoiseSuppression::kVeryHigh
	agcTargetDBFS  = 4
	agcGainDB      = 15
	// With the AEC alone, the microphone goes out untouched while there
	// is no echo (see detect): the module's 48 kHz band split and merge,
	// and its suppressor's guesses, cost speech with no echo in it 1 to
	// 2 dB of LSD, and it adds 8 ms (COMPARISON.md). The module runs all
	// the same, so the AEC has converged when its output is used.
	//
	// A trial starts after the first trialRun frames of a run held to have
	// echo, if the far end was at least trialERL (6 dB) louder than the
	// microphone in them
	// (an echo path; not the near end talking, which the module sometimes
	// takes for echo, and which a trial would cost an 8 ms jump each way
	// as the module's output comes into use and goes); it ends
	// after trialFrames, or after trialCheck frames of the far end talking
	// if the module took less than trialCut (6 dB) off the microphone in
	// them. Echo figures confirm echo with A_NLP at least confirmANLP dB,
	// or ERL and ERLE both at least confirmERL dB (measured, in dB: true
	// echo at -18 and -35 dB gave A_NLP 2 to 6 in its first figures, ERL
	// 19 to 35, ERLE 6 to 36; none of it, near-end speech the module took
	// to be echo, A_NLP 0, ERL -5 to 0, ERLE 0 to 4). Echo is lost after
	// lostFrames of the far end talking with none; farActive is the far
	// end's RMS (of 32768) counted as talking. The figures (new once a
	// second) are read every figuresEvery frames.
	trialRun     = 10
	trialERL     = 4
	trialFrames  = 150
	trialCheck   = 30
	trialCut     = 4
	confirmANLP  = 2
	confirmERL   = 6
	lostFrames   = 500
	farActive    = 100
	figuresEvery = 10
)

type echoState int

const (
	noEcho echoState = iota
	onTrial
	echoFound
)

// Canceller cleans up a microphone with the far end as reference. See the
// package documentation for the threading.
type Canceller struct {
	rate, frame int
	aec         bool
	ring        *ref.Ring
	// gated: the AEC alone, its output used only while echo is found.
	gated bool

	// mu guards c and the tracking state: the frames processed, the
	// estimate outside the window waiting for a second period to agree
	// (if haveCand) and the frame it came at, and the frame before which
	// estimates are ignored.
	mu        sync.Mutex
	c         *C.parley_apm
	ref       []int16
	frames    int
	candidate time.Duration
	haveCand  bool
	since     int
	settled   int
	// Whether there is echo (see detect): the state, the frames running
	// the AEC took to hold echo, the frame a trial began at, the frames
	// with the far end active and no echo while found, whether a trial
	// has failed, and the module's last echo figures; raw is the
	// microphone's frame before the module.
	state                echoState
	echoRun, trial, lost int
	wary                 bool
	instant, figures     [3]C.int // figures: the C call's, not to escape
	// The far end's and the microphone's energy over the run.
	runFar, runMic float64
	// A trial's far-end frames, and the microphone's energy in them
	// before and after the module.
	trialFar          int
	trialIn, trialOut float64
	raw               []int16

	delaySet  atomic.Int64 // time.Duration
	estimate  atomic.Int64 // time.Duration, valid when haveEst
	haveEst   atomic.Bool
	echoFound atomic.Bool
}

// New makes a Canceller.
func New(cfg Config) (*Canceller, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	frame := cfg.Rate / 100
	cc := C.parley_apm_config{
		rate: C.int(cfg.Rate),
		aec:  cbool(cfg.AEC), ns: cbool(cfg.NS), agc: cbool(cfg.AGC),
		aec_suppression: aecSuppression, ns_level: nsLevel,
		agc_target_dbfs: agcTargetDBFS, agc_gain_db: agcGainDB,
	}
	var e C.int
	c := C.parley_apm_new(&cc, &e)
	if c == nil {
		return nil, fmt.Errorf("aec: webrtc-audio-processing failed to start (error %d)", int(e))
	}
	a := &Canceller{
		rate: cfg.Rate, frame: frame, aec: cfg.AEC, gated: cfg.AEC && !cfg.NS && !cfg.AGC,
		ring: ref.New(cfg.Rate, frame, MaxDelay, slip),
		c:    c, ref: make([]int16, frame), raw: make([]int16, frame),
	}
	d := max(0, min(cfg.Delay, MaxDelay))
	a.ring.SetHold(a.samples(max(0, d-margin)))
	a.delaySet.Store(int64(d))
	return a, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func (a *Canceller) samples(d time.Duration) int { return int(d * time.Duration(a.rate) / time.Second) }

func (a *Canceller) duration(n int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(a.rate)
}

// Playback hands in the far end as it is played, any number of samples.
func (a *Canceller) Playback(pcm []int16) error {
	if a.aec {
		a.ring.Write(pcm)
	}
	return nil
}

// Capture processes the microphone in place, a whole number of 10 ms
// frames; anything else is left alone and ErrFrame returned.
func (a *Canceller) Capture(pcm []int16) error {
	if len(pcm)%a.frame != 0 {
		return ErrFrame
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c == nil {
		return ErrClosed
	}
	for at := 0; at < len(pcm); at += a.frame {
		f := pcm[at : at+a.frame]
		var refp *C.int16_t
		if a.aec {
			a.ring.Next(a.ref)
			refp = (*C.int16_t)(unsafe.Pointer(&a.ref[0]))
			copy(a.raw, f)
		}
		if r := C.parley_apm_process(a.c, (*C.int16_t)(unsafe.Pointer(&f[0])), refp); r != 0 {
			return fmt.Errorf("aec: webrtc-audio-processing: error %d", int(r))
		}
		if a.aec {
			a.track()
			if was := a.detect(f); a.gated {
				a.gate(f, was)
			}
		}
	}
	return nil
}

// detect follows whether there is echo, frame by frame (f is the
// module's output), and reports whether the module's output was in use
// before this frame: on trial after a run of frames the module took to
// hold echo, confirmed by its next echo figures; once a trial has failed,
// only such figures put it in use. See the constants.
func (a *Canceller) detect(f []int16) (was bool) {
	was = a.state != noEcho
	var fresh, confirmed bool
	if a.frames%figuresEvery == 0 {
		m := &a.figures
		C.parley_apm_instant(a.c, &m[0], &m[1], &m[2])
		fresh = *m != a.instant
		a.instant = *m
		confirmed = fresh && (m[2] >= confirmANLP || m[0] >= confirmERL && m[1] >= confirmERL)
	}
	echo := C.parley_apm_has_echo(a.c) != 0
	if echo {
		a.echoRun++
		a.runFar += energy(a.ref)
		a.runMic += energy(a.raw)
	} else {
		a.echoRun, a.runFar, a.runMic = 0, 0, 0
	}
	switch a.state {
	case noEcho:
		switch {
		case confirmed:
			a.state, a.lost = echoFound, 0
		case !a.wary && a.echoRun == trialRun && a.runFar >= a.runMic*trialERL:
			a.state, a.trial = onTrial, a.frames
			a.trialFar, a.trialIn, a.trialOut = 0, 0, 0
		}
	case onTrial:
		if active(a.ref) {
			a.trialFar++
			a.trialIn += energy(a.raw)
			a.trialOut += energy(f)
		}
		switch {
		case confirmed:
			a.state, a.lost = echoFound, 0
		case fresh || a.frames-a.trial >= trialFrames,
			a.trialFar == trialCheck && a.trialIn < a.trialOut*trialCut:
			a.state, a.wary = noEcho, true
		}
	case echoFound:
		switch {
		case echo:
			a.lost = 0
		case active(a.ref):
			if a.lost++; a.lost >= lostFrames {
				a.state = noEcho
			}
		}
	}
	a.echoFound.Store(a.state == echoFound)
	return was
}

// gate puts out the module's frame f while echo is found and the raw
// microphone otherwise, fading from one to the other over the frame
// where that changes.
func (a *Canceller) gate(f []int16, was bool) {
	now := a.state != noEcho
	switch {
	case was && now:
	case !was && !now:
		copy(f, a.raw)
	default:
		from, to := f, a.raw // echo lost: from the module's to raw
		if now {
			from, to = a.raw, f
		}
		n := float64(len(f))
		for i := range f {
			w := float64(i+1) / n
			f[i] = int16(math.Round((1-w)*float64(from[i]) + w*float64(to[i])))
		}
	}
}

// active says whether the far end's frame is louder than farActive.
func active(pcm []int16) bool { return energy(pcm) > farActive*farActive*float64(len(pcm)) }

func energy(pcm []int16) float64 {
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	return e
}

// track reads the AEC's delay estimate once a second and, when it puts
// the echo outside the window in two of the module's aggregation periods
// in a row (it aggregates 5 s at a time), holds the far end back to match.
func (a *Canceller) track() {
	a.frames++
	if a.frames%100 != 0 {
		return
	}
	var median, std C.int
	if C.parley_apm_delay(a.c, &median, &std) != 0 || median == -1 {
		return // no estimate yet
	}
	hold := a.duration(a.ring.Hold())
	est := hold + time.Duration(median)*time.Millisecond + apmOffset
	if a.frames < a.settled {
		return // the module's figures still mix the old hold with the new
	}
	a.estimate.Store(int64(max(0, est)))
	a.haveEst.Store(true)
	// A linear filter that removes echo is left alone, whatever the
	// estimator says: it loses track after the far end moves.
	var erl, erle, anlp C.int
	working := C.parley_apm_metrics(a.c, &erl, &erle, &anlp) == 0 && anlp >= workingDB
	if rel := est - hold; working || (rel >= windowLo && rel <= windowHi) {
		a.haveCand = false
		return
	}
	if !a.haveCand || (est-a.candidate).Abs() > agree {
		a.candidate, a.haveCand, a.since = est, true, a.frames
		return
	}
	if a.frames-a.since < aggregation {
		return
	}
	a.haveCand = false
	want := a.samples(max(0, est-margin))
	if est-hold < windowLo {
		want = a.samples(max(0, est-lowTarget))
	}
	if want != a.ring.Hold() {
		a.ring.SetHold(want)
		a.settled = a.frames + 2*aggregation
	}
}

// SetDelay hands in a new delay of the echo behind the far end (see
// Config.Delay): the far end moves at once, and the AEC adapts to what
// error is left. Delay reports it until the AEC has figures from after
// the change, some 10 s later.
func (a *Canceller) SetDelay(d time.Duration) {
	d = max(0, min(d, MaxDelay))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ring.SetHold(a.samples(max(0, d-margin)))
	a.delaySet.Store(int64(d))
	a.haveCand = false
	a.settled = a.frames + 2*aggregation
	a.haveEst.Store(false)
}

// Delay returns the delay of the echo behind the far end: the AEC's
// estimate once it has one, else the delay handed in.
func (a *Canceller) Delay() time.Duration {
	if a.haveEst.Load() {
		return time.Duration(a.estimate.Load())
	}
	return time.Duration(a.delaySet.Load())
}

// EchoFound says whether the AEC finds echo in the microphone. With the
// AEC alone, the microphone is left untouched while it does not.
func (a *Canceller) EchoFound() bool { return a.echoFound.Load() }

// Close frees the C++ module; later calls return ErrClosed, and Close
// again does nothing.
func (a *Canceller) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	C.parley_apm_free(a.c)
	a.c = nil
	return nil
}
