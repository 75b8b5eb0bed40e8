//go:build aeccompare

// Package speexdsp binds speexdsp 1.2.1's echo canceller and preprocessor
// (denoiser with residual echo suppression, AGC), the candidate audio/aec
// did not choose. It is kept, behind the aeccompare build tag, so that
// COMPARISON.md can be made again; nothing else builds it.
package speexdsp

/*
#cgo pkg-config: speexdsp
#include <stdlib.h>
#include <string.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

typedef struct {
	SpeexEchoState *echo;
	SpeexPreprocessState *pre;
	spx_int16_t *out;
	spx_int32_t *ir;
	int frame, taps;
} parley_aec;

static void parley_aec_free(parley_aec *a) {
	if (a == NULL) return;
	if (a->pre) speex_preprocess_state_destroy(a->pre);
	if (a->echo) speex_echo_state_destroy(a->echo);
	free(a->out);
	free(a->ir);
	free(a);
}

// parley_aec_new makes the echo canceller (if aec, with a filter of taps
// samples) and the preprocessor (if any of the three is on: the residual
// echo suppressor is part of the preprocessor's denoiser, so AEC alone
// runs it with the noise left alone). It returns NULL, and which step
// failed in *err, on failure.
static parley_aec *parley_aec_new(int rate, int frame, int taps, int aec, int ns, int agc,
		int noise_db, int echo_db, int echo_active_db, float agc_level, int agc_max_db, int *err) {
	parley_aec *a = calloc(1, sizeof *a);
	if (a == NULL) { *err = 1; return NULL; }
	a->frame = frame;
	a->taps = taps;
	if (aec) {
		a->echo = speex_echo_state_init(frame, taps);
		a->out = malloc(frame * sizeof *a->out);
		a->ir = malloc(taps * sizeof *a->ir);
		if (a->echo == NULL || a->out == NULL || a->ir == NULL) { *err = 2; parley_aec_free(a); return NULL; }
		speex_echo_ctl(a->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
	}
	if (aec || ns || agc) {
		a->pre = speex_preprocess_state_init(frame, rate);
		if (a->pre == NULL) { *err = 3; parley_aec_free(a); return NULL; }
		int on = 1, off = 0, denoise = aec || ns;
		speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_DENOISE, denoise ? &on : &off);
		int noise = ns ? noise_db : 0;
		speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise);
		speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);
		if (aec) {
			if (speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, a->echo) != 0) { *err = 4; parley_aec_free(a); return NULL; }
			speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, &echo_db);
			speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &echo_active_db);
		}
		if (speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_AGC, agc ? &on : &off) != 0 && agc) { *err = 5; parley_aec_free(a); return NULL; }
		if (agc) {
			speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &agc_level);
			speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &agc_max_db);
		}
	}
	return a;
}

// parley_aec_capture processes one frame of the microphone in place, ref
// being the frame of the far end whose echo it may hold.
static void parley_aec_capture(parley_aec *a, spx_int16_t *pcm, const spx_int16_t *ref) {
	if (a->echo) {
		speex_echo_cancellation(a->echo, pcm, ref, a->out);
		memcpy(pcm, a->out, a->frame * sizeof *pcm);
	}
	if (a->pre) speex_preprocess_run(a->pre, pcm);
}

// parley_aec_peak returns where the echo filter's largest tap is, in
// samples, and its share of the filter's energy in *share.
static int parley_aec_peak(parley_aec *a, double *share) {
	speex_echo_ctl(a->echo, SPEEX_ECHO_GET_IMPULSE_RESPONSE, a->ir);
	int best = 0;
	double e = 0, p = 0;
	for (int i = 0; i < a->taps; i++) {
		double v = (double)a->ir[i] * a->ir[i];
		e += v;
		if (v > p) { p = v; best = i; }
	}
	*share = e > 0 ? p / e : 0;
	return best;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"parley/audio/aec/internal/ref"
)

// Config says what to run, at which rate.
type Config struct {
	// Rate is the sample rate, 48000 if 0; frames are 10 ms.
	Rate int
	// AEC, NS and AGC turn on echo cancellation (with residual echo
	// suppression), noise suppression and automatic gain control.
	AEC, NS, AGC bool
	// Delay is how much later the echo of a sample handed to Playback
	// reaches Capture; SetDelay changes it.
	Delay time.Duration
	// Tail is how much of the echo's path the filter covers, from Delay
	// minus 20 ms: 150 ms if 0.
	Tail time.Duration
}

// Tuning.
const (
	margin   = 20 * time.Millisecond
	maxDelay = 500 * time.Millisecond
	slip     = 150 * time.Millisecond
	// Noise suppression's attenuation, and the residual echo suppressor's
	// (near end silent, and talking): speexdsp's defaults but for noise,
	// -15.
	noiseDB, echoDB, echoActiveDB = -30, -40, -15
	// agcLevel is the AGC's target in speexdsp's loudness units, which
	// puts speech at about -21 dBFS; agcMaxDB its largest gain.
	agcLevel = 24000
	agcMaxDB = 30
)

// ErrFrame means a Capture of a length that is not a whole number of
// frames.
var ErrFrame = errors.New("speexdsp: capture length is not a multiple of 10 ms")

// Canceller runs speexdsp on the microphone with the far end as reference.
type Canceller struct {
	rate, frame int
	ring        *ref.Ring
	mu          sync.Mutex // guards c, ref, frames, active
	c           *C.parley_aec
	ref         []int16
	delaySet    atomic.Int64
	estimate    atomic.Int64
	frames      int
	active      int
}

// New makes a Canceller.
func New(cfg Config) (*Canceller, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 48000
	}
	if cfg.Tail == 0 {
		cfg.Tail = 150 * time.Millisecond
	}
	frame := cfg.Rate / 100
	taps := int(cfg.Tail * time.Duration(cfg.Rate) / time.Second)
	a := &Canceller{rate: cfg.Rate, frame: frame, ring: ref.New(cfg.Rate, frame, maxDelay, slip), ref: make([]int16, frame)}
	var step C.int
	a.c = C.parley_aec_new(C.int(cfg.Rate), C.int(frame), C.int(taps),
		cbool(cfg.AEC), cbool(cfg.NS), cbool(cfg.AGC),
		noiseDB, echoDB, echoActiveDB, agcLevel, agcMaxDB, &step)
	if a.c == nil {
		return nil, fmt.Errorf("speexdsp: failed to start (step %d)", step)
	}
	a.SetDelay(cfg.Delay)
	return a, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Playback hands in the far end as it is played.
func (a *Canceller) Playback(pcm []int16) error {
	a.ring.Write(pcm)
	return nil
}

// Capture processes the microphone in place, whole 10 ms frames.
func (a *Canceller) Capture(pcm []int16) error {
	if len(pcm)%a.frame != 0 {
		return ErrFrame
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c == nil {
		return errors.New("speexdsp: closed")
	}
	for at := 0; at < len(pcm); at += a.frame {
		a.ring.Next(a.ref)
		f := pcm[at : at+a.frame]
		C.parley_aec_capture(a.c, (*C.spx_int16_t)(unsafe.Pointer(&f[0])), (*C.spx_int16_t)(unsafe.Pointer(&a.ref[0])))
		a.track()
	}
	return nil
}

// track updates the delay estimate about once a second from the echo
// filter's strongest tap, when the far end talked for most of that second
// and the tap stands out.
func (a *Canceller) track() {
	if a.c.echo == nil {
		return
	}
	var e int64
	for _, v := range a.ref {
		e += int64(v) * int64(v)
	}
	if e > int64(len(a.ref))*100*100 { // about -50 dBFS
		a.active++
	}
	if a.frames++; a.frames < 100 {
		return
	}
	if a.active >= 50 {
		var share C.double
		peak := int(C.parley_aec_peak(a.c, &share))
		if share > 0.05 {
			a.estimate.Store(int64(time.Duration(a.ring.Hold()+peak) * time.Second / time.Duration(a.rate)))
		}
	}
	a.frames, a.active = 0, 0
}

// SetDelay hands in a new delay of the echo behind the reference.
func (a *Canceller) SetDelay(d time.Duration) {
	d = max(0, min(d, maxDelay))
	a.ring.SetHold(int(max(0, d-margin) * time.Duration(a.rate) / time.Second))
	a.delaySet.Store(int64(d))
}

// Delay returns the estimate from the filter's strongest tap, or the delay
// handed in.
func (a *Canceller) Delay() time.Duration {
	if e := a.estimate.Load(); e != 0 {
		return time.Duration(e)
	}
	return time.Duration(a.delaySet.Load())
}

// Close frees the C state; again does nothing.
func (a *Canceller) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	C.parley_aec_free(a.c)
	a.c = nil
	return nil
}
