// Package bench measures parley's calls: latency, quality, CPU, memory and
// connect time. Two peers run in one process over real UDP on loopback,
// with the real pion stack, real Opus and the real jitter buffer, and an
// impairment relay between them (internal/relay).
//
// Each peer has a "device": a goroutine that, every 10 ms, hands one
// period of the talk to the sender (as a capture callback would) and pulls
// one period from the receivers (as a playback callback would, a period
// before it is heard). Peer B's device starts half a period after A's, the
// average phase of two unrelated sound cards. The talk is speech (espeak-ng,
// or a synthetic voice without it) with timing markers: 40 ms chirps every
// half second. Mouth-to-ear latency is from the moment a marker is spoken
// to the moment its copy is heard, found by matched filtering in what B
// played. B plays what A says through three receivers side by side: the
// adaptive jitter buffer, decode-on-arrival with no buffer, and a fixed
// 80 ms buffer.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"parley/internal/relay"
	"parley/internal/speech"
	"parley/internal/sshd"
	"parley/voice"
)

// Scenario is one network condition and frame size.
type Scenario struct {
	Name  string
	About string
	Frame time.Duration
	// Impair applies to each direction.
	Impair relay.Impairment
	// Real runs the call through real devices on a private PulseAudio
	// (see rig.go) instead of the modelled sound cards.
	Real bool
	// Echo, for a real scenario, is the delay of an echo path at peer A
	// (see echo.go); 0 is none. Proc is the processing of A's
	// microphone.
	Echo time.Duration
	Proc voice.Processing
	// Test, for a real scenario, is a microphone test (mic.go): "noise",
	// "agc-quiet" or "agc-loud".
	Test string
	// SSH, for a real scenario, runs peer A's sound through 'parley
	// ssh''s agent over a real sshd (ssh.go).
	SSH bool
}

// Scenarios returns the standard scenarios: with modelled sound cards, a
// clean network, 5% random loss with 20 ms of jitter, and 15% bursty loss
// with 40 ms of jitter, each with 20 ms and with 10 ms frames; then with
// real devices on a private PulseAudio, a clean network with 20 ms and
// 10 ms frames and 5% loss with 20 ms of jitter with 20 ms frames. Jitter
// is a uniform random extra delay, so it reorders packets too.
func Scenarios() []Scenario {
	nets := []struct {
		name, about string
		imp         relay.Impairment
	}{
		{"clean", "clean", relay.Impairment{}},
		{"loss5", "5% loss + 20 ms jitter", relay.Impairment{Loss: 0.05, Jitter: 20 * time.Millisecond}},
		{"burst15", "15% bursty loss + 40 ms jitter", relay.Impairment{Burst: relay.BurstyLoss(0.15, 3), Jitter: 40 * time.Millisecond}},
	}
	var out []Scenario
	for _, n := range nets {
		for _, f := range []time.Duration{20 * time.Millisecond, 10 * time.Millisecond} {
			ms := f.Milliseconds()
			out = append(out, Scenario{
				Name:   fmt.Sprintf("%s-%dms", n.name, ms),
				About:  fmt.Sprintf("%s, %d ms frames", n.about, ms),
				Frame:  f,
				Impair: n.imp,
			})
		}
	}
	for _, s := range []Scenario{out[0], out[1], out[2]} {
		s.Name, s.About, s.Real = "real-"+s.Name, s.About+", real devices", true
		out = append(out, s)
	}
	all := voice.Processing{AEC: true, NS: true, AGC: true}
	// Headphones: the clean real call with processing at both peers and
	// no echo path.
	base := out[len(out)-3]
	for _, p := range []voice.Processing{{AEC: true}, all} {
		s := base
		s.Name += "-" + strings.ToLower(strings.ReplaceAll(procName(p), "+", "-"))
		s.About += ", " + procName(p) + " (headphones)"
		s.Proc = p
		out = append(out, s)
	}
	for _, e := range []struct {
		delay time.Duration
		proc  voice.Processing
	}{{40 * time.Millisecond, all}, {120 * time.Millisecond, all}, {40 * time.Millisecond, voice.Processing{}}} {
		name := fmt.Sprintf("echo-%dms", e.delay.Milliseconds())
		if !e.proc.AEC {
			name += "-off"
		}
		out = append(out, Scenario{
			Name:  name,
			About: fmt.Sprintf("echo path at A, %d ms at %s, %s, real devices, 20 ms frames", e.delay.Milliseconds(), echoLevel, procName(e.proc)),
			Frame: 20 * time.Millisecond, Real: true, Echo: e.delay, Proc: e.proc,
		})
	}
	for _, m := range []struct {
		test, about string
		proc        voice.Processing
	}{
		{"noise", "speech with white noise at 10 dB SNR at A, NS", voice.Processing{NS: true}},
		{"agc-quiet", "A talking at -35 dBFS, AGC", voice.Processing{AGC: true}},
		{"agc-loud", "A peaking at -3 dBFS, AGC", voice.Processing{AGC: true}},
	} {
		out = append(out, Scenario{Name: m.test, About: m.about + ", real devices, 20 ms frames", Frame: 20 * time.Millisecond,
			Real: true, Proc: m.proc, Test: m.test})
	}
	out = append(out, Scenario{Name: "ssh-20ms", About: "clean, 20 ms frames, real devices, A's sound through parley ssh's agent (a real sshd on loopback)",
		Frame: 20 * time.Millisecond, Real: true, SSH: true})
	return out
}

// Find returns the standard scenarios named, or an error naming the ones
// there are.
func Find(names []string) ([]Scenario, error) {
	all := Scenarios()
	if len(names) == 0 {
		return all, nil
	}
	var out []Scenario
	for _, name := range names {
		found := false
		for _, s := range all {
			if s.Name == name {
				out, found = append(out, s), true
			}
		}
		if !found {
			var known []string
			for _, s := range all {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("no scenario %q; there are %v", name, known)
		}
	}
	return out, nil
}

// Options configure a run.
type Options struct {
	Scenarios []Scenario
	// Duration is how long each call talks; 0 means 20 s.
	Duration time.Duration
	// Talk is the speech to send, 48 kHz mono; nil makes it with
	// espeak-ng, or a synthetic voice where espeak-ng is missing.
	Talk []int16
	// Cost adds a plain call, with no relay or baselines, for the CPU
	// and memory figures per peer.
	Cost bool
	// DeviceCost adds, side by side, a call with real devices on a private
	// PulseAudio and the same call with a tone in and nothing out, for
	// what the device path costs.
	DeviceCost bool
	// Progress, if set, receives a line as each scenario starts.
	Progress io.Writer
}

// Run runs the scenarios one after the other.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Duration == 0 {
		o.Duration = 20 * time.Second
	}
	if o.Duration < 3*time.Second {
		return nil, errors.New("the duration must be at least 3 s")
	}
	if o.Duration > 10*time.Minute {
		return nil, errors.New("the duration must be at most 10 min")
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	rep := &Report{Machine: machine(), Duration: o.Duration.Seconds()}
	talk, source, err := makeTalk(o.Talk)
	if err != nil {
		return nil, err
	}
	rep.Source = source
	var rg *rig
	rigErr := error(nil)
	needRig := func() *rig {
		if rg == nil && rigErr == nil {
			fmt.Fprintf(o.Progress, "bench: starting a private PulseAudio for the real devices…\n")
			if rg, rigErr = startRig(); rigErr != nil {
				fmt.Fprintf(o.Progress, "bench: %v: the real-device rows are skipped\n", rigErr)
				rep.RealSkipped = rigErr.Error()
			}
		}
		return rg
	}
	defer func() {
		if rg != nil {
			rg.stop()
		}
	}()
	// First, in a process that has made no call yet, as a user's parley
	// is: the real-device rows leave memory of the sound libraries behind
	// (libpulse, the canceller), which no garbage collection returns.
	if o.Cost {
		fmt.Fprintf(o.Progress, "bench: a plain call, for CPU and memory (%v)…\n", o.Duration)
		debug.FreeOSMemory()
		cost, err := measureCost(ctx, talk, o.Duration, 20*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("plain call: %w", err)
		}
		rep.Cost = cost
		rep.PeakRSSMB = max(rep.PeakRSSMB, cost.RSSMB)
	}
	for _, s := range o.Scenarios {
		if s.Real && needRig() == nil {
			rep.Results = append(rep.Results, Result{Scenario: s.Name, About: s.About, FrameMs: ms(s.Frame), Real: true, Skipped: rigErr.Error()})
			continue
		}
		if s.SSH {
			fmt.Fprintf(o.Progress, "bench: %s: A's sound local, then through the agent (%v each)…\n", s.About, o.Duration)
		} else if s.Test != "" || s.Echo > 0 {
			fmt.Fprintf(o.Progress, "bench: %s…\n", s.About) // their own length
		} else {
			fmt.Fprintf(o.Progress, "bench: %s (%v)…\n", s.About, o.Duration)
		}
		debug.FreeOSMemory()
		var res *Result
		var err error
		if s.SSH {
			res, err = runSSH(ctx, rg, s, talk, o.Duration)
			if errors.Is(err, sshd.ErrMissing) {
				fmt.Fprintf(o.Progress, "bench: %v: the SSH row is skipped\n", err)
				res, err = &Result{Scenario: s.Name, About: s.About, FrameMs: ms(s.Frame), Real: true, Skipped: err.Error()}, nil
			}
		} else if s.Real && s.Test != "" {
			res, err = runMic(ctx, rg, s)
		} else if s.Real && s.Echo > 0 {
			res, err = runEcho(ctx, rg, s, talk)
		} else if s.Real {
			res, err = runReal(ctx, rg, s, talk, o.Duration)
		} else {
			res, err = runScenario(ctx, s, talk, o.Duration)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		rep.Results = append(rep.Results, *res)
		if !s.Real {
			rep.PeakRSSMB = max(rep.PeakRSSMB, res.RSSMB)
		}
	}
	if o.DeviceCost && needRig() != nil {
		fmt.Fprintf(o.Progress, "bench: a call with real devices, one with a tone and pacat on the devices, side by side, for CPU (%v)…\n", 3*o.Duration)
		c, err := measureDeviceCost(ctx, rg, talk, o.Duration)
		if err != nil {
			return nil, fmt.Errorf("device cost: %w", err)
		}
		rep.DeviceCost = c
	}
	rep.Targets = targets(rep)
	return rep, nil
}

// talkText is what espeak-ng says; it loops for longer runs.
const talkText = "Hello from parley. This call goes straight from one terminal to the other, " +
	"with no server in the middle. Can you hear me clearly? Seven, eight, nine, ten. " +
	"The quick brown fox jumps over the lazy dog, and the five boxing wizards jump quickly."

// makeTalk returns the speech to send and says what it is.
func makeTalk(given []int16) ([]int16, string, error) {
	if given != nil {
		return given, "the given speech", nil
	}
	pcm, err := speech.Say(talkText)
	switch {
	case errors.Is(err, speech.ErrNoEspeak):
		return speech.Synthetic(20 * speech.Rate), "a synthetic voice (espeak-ng not found)", nil
	case err != nil:
		return nil, "", err
	}
	return pcm, "espeak-ng speech", nil
}
