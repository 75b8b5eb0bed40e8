package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pion/rtp"

	"parley/audio/aec"
	"parley/internal/relay"
	"parley/internal/speech"
	"parley/rtc"
	"parley/voice"
)

// An echo scenario is a real-device call on the rig with an echo path at
// peer A: a module-loopback from the monitor of A's speaker (ear_a) into
// the sink its microphone hears (mouth_a), at a fixed latency
// (adjust_time=0, so that it does not drift) and −18 dB, as a laptop's
// speakers leak into its microphone. A's microphone goes through
// audio/aec as voice.Session does (the far end handed to the canceller as
// it goes to the speaker, the same 20 ms start for the delay); B has no
// processing. The call, 20 ms frames on a clean network, has three
// phases, all on the rig's one recording:
//
//   - far-end single talk: B talks for 6 s, A is silent. ERLE is the
//     level of the echo in A's microphone (mouth_a) against what reaches
//     B's ear (ear_b) over the same span, 1–2 s and 3–5.5 s after the
//     echo starts;
//   - near-end single talk: A talks alone (another voice), the reference
//     of A's level at B's ear;
//   - double talk: A says the same again while B talks: A's level at B's
//     ear against alone, and the speech correlation with what A said.

// echoLevel is the echo path's attenuation.
const echoLevel = "-18dB"

// Echo is an echo scenario's figures; levels in dBFS (RMS).
type Echo struct {
	DelayMs    float64 `json:"echo_delay_ms"`
	Processing string  `json:"processing"`
	// EchoDB is the echo's level in A's microphone, far end alone.
	EchoDB float64 `json:"echo_db"`
	// ERLE1 is over 1–2 s after the echo starts, ERLE3 from 3 s.
	ERLE1 float64 `json:"erle_1s_db"`
	ERLE3 float64 `json:"erle_3s_db"`
	// A's talk at B's ear, alone and in double talk, and how it
	// correlates with what A said.
	NearAloneDB  float64 `json:"near_alone_db"`
	NearDoubleDB float64 `json:"near_double_db"`
	AloneCorr    float64 `json:"near_alone_corr"`
	DoubleCorr   float64 `json:"double_talk_corr"`
	// EstimateMs is the canceller's delay estimate at the end.
	EstimateMs float64 `json:"delay_estimate_ms"`
	// ProcCPU is the CPU time A spent in the processing (Capture and
	// Playback, the calling thread's), % of a core.
	ProcCPU float64 `json:"processing_cpu_pct"`
	// SteadyCPU and PacedCPU are the same processing's CPU on A's frames
	// of the call replayed into a new canceller: back to back, and 10 ms
	// apart as in the call (see replay.go).
	SteadyCPU float64 `json:"processing_cpu_replayed_pct"`
	PacedCPU  float64 `json:"processing_cpu_replayed_paced_pct"`
}

// procName says which processing p turns on.
func procName(p voice.Processing) string {
	var on []string
	for _, x := range []struct {
		on   bool
		name string
	}{{p.AEC, "AEC"}, {p.NS, "NS"}, {p.AGC, "AGC"}} {
		if x.on {
			on = append(on, x.name)
		}
	}
	if len(on) == 0 {
		return "off"
	}
	return strings.Join(on, "+")
}

// newProc makes the canceller for p, nil where p turns nothing on.
func newProc(p voice.Processing) (*aec.Canceller, error) {
	if !p.AEC && !p.NS && !p.AGC {
		return nil, nil
	}
	return aec.New(procConfig(p))
}

// procConfig is the canceller's configuration for p, as voice.Session
// makes it.
func procConfig(p voice.Processing) aec.Config {
	return aec.Config{Rate: rate, AEC: p.AEC, NS: p.NS, AGC: p.AGC, Delay: 20 * time.Millisecond}
}

// nearTalk is what A says in the echo scenarios, in another voice.
func nearTalk() []int16 {
	pcm, err := speech.SayVoice("This is the near end talking over the far end, one two three four five six.", "en-us+f3")
	if err != nil || len(pcm) < rate {
		return speech.Synthetic(4 * rate)
	}
	return pcm
}

// echoPath loads the loopback at A and returns what unloads it.
func (r *rig) echoPath(delay time.Duration) (func(), error) {
	out, err := r.srv.Pactl("load-module", "module-loopback", "source=ear_a.monitor", "sink=mouth_a",
		fmt.Sprintf("latency_msec=%d", delay.Milliseconds()), "adjust_time=0", "source_dont_move=true", "sink_dont_move=true")
	if err != nil {
		return nil, fmt.Errorf("echo path: %w", err)
	}
	idx := strings.TrimSpace(out)
	undo := func() {
		_, _ = r.srv.Pactl("unload-module", idx)
		_, _ = r.srv.Pactl("set-source-volume", "ear_a.monitor", "0dB")
	}
	if _, err := r.srv.Pactl("set-source-volume", "ear_a.monitor", echoLevel); err != nil {
		undo()
		return nil, fmt.Errorf("echo path: %w", err)
	}
	return undo, nil
}

// runEcho runs one echo scenario on the rig.
func runEcho(ctx context.Context, rg *rig, s Scenario, talk []int16) (*Result, error) {
	near := nearTalk()
	const farAlone, gap = 6 * rate, rate
	nearAt := farAlone + gap
	doubleAt := nearAt + len(near) + gap
	n := doubleAt + len(near) + gap/2
	mouthA := make([]int16, n)
	copy(mouthA[nearAt:], near)
	copy(mouthA[doubleAt:], near)
	far, _ := withMarkers(talk, farAlone+len(near)+gap)
	mouthB := make([]int16, n)
	copy(mouthB, far[:farAlone])
	copy(mouthB[doubleAt:], far[farAlone:])

	c, err := runRigCall(ctx, rg, s, mouthA, mouthB)
	if err != nil {
		return nil, err
	}
	chans, estimate := c.chans, c.estimate
	e, err := analyseEcho(chans, mouthB[:3*rate], near, nearAt, doubleAt)
	if err != nil {
		return nil, err
	}
	e.DelayMs, e.Processing, e.EstimateMs = ms(s.Echo), procName(s.Proc), ms(estimate)
	e.ProcCPU = c.procCPU
	if c.tape != nil {
		if e.SteadyCPU, e.PacedCPU, err = c.tape.replay(procConfig(s.Proc)); err != nil {
			return nil, fmt.Errorf("replaying the processing: %w", err)
		}
	}
	return &Result{
		Scenario:  s.Name,
		About:     s.About,
		FrameMs:   ms(s.Frame),
		Real:      true,
		CPU:       c.cpu,
		BitrateAB: c.kbpsAB,
		BitrateBA: c.kbpsBA,
		Echo:      e,
	}, nil
}

// rigCall is a call on the rig, 20 ms frames as s says, A's microphone
// processed as s.Proc, with s's echo path: mouthA and mouthB are played
// into the two mouths together. It returns the rig's recording and A's
// figures.
type rigCall struct {
	chans    [rigChannels][]int16
	estimate time.Duration
	procCPU  float64   // % of a core
	tape     *procTape // A's processing's input, if it had processing
	cpu      float64   // % of a core per peer
	kbpsAB   float64
	kbpsBA   float64
}

func runRigCall(ctx context.Context, rg *rig, s Scenario, mouthA, mouthB []int16) (*rigCall, error) {
	n := max(len(mouthA), len(mouthB))
	if s.Echo > 0 {
		undo, err := rg.echoPath(s.Echo)
		if err != nil {
			return nil, err
		}
		defer undo()
	}
	r, err := relay.New(s.Impair, s.Impair, 1)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	conn, err := connect(ctx, r)
	if err != nil {
		return nil, err
	}
	defer conn.close()
	room := n + 10*rate
	a, err := openRealPeer("A", "mic_a", "ear_a", s.Frame, conn.a, room)
	if err != nil {
		return nil, err
	}
	defer a.io.Close()
	if a.proc, err = newProc(s.Proc); err != nil {
		return nil, err
	}
	if a.proc != nil {
		defer a.proc.Close()
		if s.Echo > 0 {
			a.tape = newProcTape(2 * room)
		}
	}
	b, err := openRealPeer("B", "mic_b", "ear_b", s.Frame, conn.b, room)
	if err != nil {
		return nil, err
	}
	defer b.io.Close()
	for _, pc := range []struct {
		call *rtc.Call
		p    *realPeer
	}{{conn.a, a}, {conn.b, b}} {
		pc.call.SetAudioReceiver(func(pkt *rtp.Packet, at time.Time) {
			pc.p.buf.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, at)
		})
		defer pc.call.SetAudioReceiver(nil)
	}
	rec, err := rg.record()
	if err != nil {
		return nil, err
	}
	defer rec.stop()
	for _, p := range []*realPeer{a, b} {
		if err := p.start(); err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.name, err)
		}
	}
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	cpu0, start := cpuTime(), time.Now()
	d := time.Duration(n) * time.Second / rate
	playErr, err := rg.speak(ctx, mouthA, mouthB, d, tail)
	if err != nil {
		return nil, err
	}
	wall, used := time.Since(start), cpuTime()-cpu0
	var estimate time.Duration
	if a.proc != nil {
		estimate = a.proc.Delay()
	}
	a.io.Close()
	b.io.Close()
	chans, err := rec.stop()
	for _, err := range []error{playErr, err, a.err, b.err} {
		if err != nil {
			return nil, err
		}
	}
	return &rigCall{
		chans: chans, estimate: estimate, tape: a.tape,
		procCPU: 100 * time.Duration(a.procCPU.Load()).Seconds() / wall.Seconds(),
		cpu:     100 * used.Seconds() / wall.Seconds() / 2,
		kbpsAB:  float64(a.tx.Sent()) * 8 / wall.Seconds() / 1000,
		kbpsBA:  float64(b.tx.Sent()) * 8 / wall.Seconds() / 1000,
	}, nil
}

// analyseEcho measures an echo call in the rig's recording. farHead is the
// start of what B said; near is what A said, at nearAt and doubleAt of
// A's mouth.
func analyseEcho(chans [rigChannels][]int16, farHead, near []int16, nearAt, doubleAt int) (*Echo, error) {
	mic, ear, mouthB := chans[chMouthA], chans[chEarB], chans[chMouthB]
	if len(mouthB) < doubleAt+len(near) {
		return nil, errors.New("echo: the recording is short")
	}
	// Where B's talk starts on the rig; where A's first words are (B
	// silent then, so mouth_a is A alone); A's second words are the
	// same stream doubleAt−nearAt later.
	posB := speech.Align(farHead, mouthB, 4*rate)
	// The two peers' players start within a few ms of each other: A's
	// first words are looked for within half a second of where B's start
	// puts them, not as far as the second.
	from := max(0, posB+nearAt-rate/2)
	if from >= len(mic) {
		return nil, errors.New("echo: the recording is short")
	}
	posNear := from + speech.Align(near, mic[from:min(len(mic), from+len(near)+rate)], rate)
	posDouble := posNear + doubleAt - nearAt
	// A's talk to B's ear: the lag.
	seg := mic[posNear : posNear+len(near)]
	lag := speech.Align(seg, ear[posNear:min(len(ear), posNear+len(near)+rate)], rate)
	// The echo starts where A's microphone first hears something after B
	// starts.
	echoAt := -1
	for i := posB; i+rate/100 <= posNear; i += rate / 100 {
		if dbfs(mic[i:i+rate/100]) > -55 {
			echoAt = i
			break
		}
	}
	e := &Echo{}
	window := func(ch []int16, from, to int) []int16 {
		from, to = max(0, min(from, len(ch))), max(0, min(to, len(ch)))
		return ch[from:to]
	}
	if echoAt >= 0 {
		end := min(echoAt+11*rate/2, posNear-rate/2)
		w1, w3 := [2]int{echoAt + rate, echoAt + 2*rate}, [2]int{echoAt + 3*rate, end}
		erle := func(w [2]int) float64 {
			return dbfs(window(mic, w[0], w[1])) - dbfs(window(ear, w[0]+lag, w[1]+lag))
		}
		e.EchoDB = dbfs(window(mic, echoAt, end))
		e.ERLE1, e.ERLE3 = erle(w1), erle(w3)
	}
	alone := window(ear, posNear+lag, posNear+lag+len(near))
	double := window(ear, posDouble+lag, posDouble+lag+len(near))
	e.NearAloneDB, e.NearDoubleDB = dbfs(alone), dbfs(double)
	pad := rate / 10
	if c, err := speech.Compare(near, window(ear, posNear+lag-pad, posNear+lag+len(near)+pad), 2*pad); err == nil {
		e.AloneCorr = c.Corr
	}
	if c, err := speech.Compare(near, window(ear, posDouble+lag-pad, posDouble+lag+len(near)+pad), 2*pad); err == nil {
		e.DoubleCorr = c.Corr
	}
	return e, nil
}

// dbfs is the RMS level of pcm, full scale 0 dB.
func dbfs(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return 10 * math.Log10(sum/float64(max(len(pcm), 1))/(32768*32768)+1e-12)
}
