//go:build !noaec

package aec

// #cgo pkg-config: webrtc-audio-processing
// #cgo CXXFLAGS: -std=c++11
// #include "shim.h"
import "C"

import (
	"fmt"
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
	// for about the same speech), and a digital AGC aiming at -3 dBFS
	// peaks with up to 15 dB of gain (20 dB took a -35 dBFS talker to
	// -15.8 dBFS, past the -16 dBFS the benchmark holds it to).
	aecSuppression = 0 // EchoCancellation::kLowSuppression
	nsLevel        = 3 // NoiseSuppression::kVeryHigh
	agcTargetDBFS  = 3
	agcGainDB      = 15
)

// Canceller cleans up a microphone with the far end as reference. See the
// package documentation for the threading.
type Canceller struct {
	rate, frame int
	aec         bool
	ring        *ref.Ring

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

	delaySet atomic.Int64 // time.Duration
	estimate atomic.Int64 // time.Duration, valid when haveEst
	haveEst  atomic.Bool
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
		rate: cfg.Rate, frame: frame, aec: cfg.AEC,
		ring: ref.New(cfg.Rate, frame, MaxDelay, slip),
		c:    c, ref: make([]int16, frame),
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
		var refp *C.int16_t
		if a.aec {
			a.ring.Next(a.ref)
			refp = (*C.int16_t)(unsafe.Pointer(&a.ref[0]))
		}
		if r := C.parley_apm_process(a.c, (*C.int16_t)(unsafe.Pointer(&pcm[at])), refp); r != 0 {
			return fmt.Errorf("aec: webrtc-audio-processing: error %d", int(r))
		}
		if a.aec {
			a.track()
		}
	}
	return nil
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

// Close frees the C++ module; later calls return ErrClosed, and Close
// again does nothing.
func (a *Canceller) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	C.parley_apm_free(a.c)
	a.c = nil
	return nil
}
