package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"parley/audio"
)

// Report is a run's results. Times are in milliseconds.
type Report struct {
	Machine  string   `json:"machine"`
	Source   string   `json:"source"`
	Duration float64  `json:"duration_s"`
	Results  []Result `json:"results"`
	// PeakRSSMB is the largest resident set during any call, the
	// benchmark's recordings included.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	Cost      *Cost   `json:"cost,omitempty"`
	// DeviceCost is what the real device path costs, against a tone.
	DeviceCost *DeviceCost `json:"device_cost,omitempty"`
	// RealSkipped says why the real-device rows did not run, if they
	// did not.
	RealSkipped string   `json:"real_skipped,omitempty"`
	Targets     []Target `json:"targets"`
}

// DeviceCost is the CPU of a call with real devices on the private
// PulseAudio and of the same call with a tone in and nothing out, side
// by side: % of one core per peer, both peers in this process, 20 ms
// frames. Ratio is the one over the other. The sound server's own CPU,
// % of one core, is apart and not counted. SoundThreadsCPU is the part of
// DeviceCPU spent in the sound library's threads (libpulse's, that
// miniaudio runs and audio names), % of one core per peer.
type DeviceCost struct {
	DeviceCPU       float64 `json:"device_cpu_pct_per_peer"`
	SoundThreadsCPU float64 `json:"sound_threads_cpu_pct_per_peer"`
	// ClientCPU is the sound system's own client doing a peer's device
	// work (see clientRun), % of one core per peer; OverClient is what
	// the devices add to the call, DeviceCPU less ToneCPU, over it.
	ClientCPU     float64 `json:"client_cpu_pct_per_peer"`
	OverClient    float64 `json:"devices_over_client"`
	ToneCPU       float64 `json:"tone_cpu_pct_per_peer"`
	Ratio         float64 `json:"ratio"`
	ServerCPU     float64 `json:"server_cpu_pct"`
	ServerToneCPU float64 `json:"server_cpu_tone_call_pct"`
}

// Result is one scenario's figures.
type Result struct {
	Scenario string  `json:"scenario"`
	About    string  `json:"about"`
	FrameMs  float64 `json:"frame_ms"`
	// Real is a call through real devices on the private PulseAudio; its
	// one receiver is parley's, both directions counted. Skipped says
	// why it did not run, if it did not.
	Real    bool   `json:"real,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	// ServerCPU is the sound server's CPU over a real call, % of a core.
	ServerCPU float64 `json:"server_cpu_pct,omitempty"`
	// PulseAttrs are the PulseAudio buffers peer A's devices got.
	PulseAttrs string     `json:"pulse_attrs,omitempty"`
	Receivers  []Receiver `json:"receivers"`
	// Stages splits the adaptive receiver's mean latency.
	Stages Stages `json:"stages"`
	// Bitrates are Opus payload, kb/s; losses are what the relay dropped,
	// in % of packets, every packet counted (chat and RTCP too).
	BitrateAB float64 `json:"bitrate_ab_kbps"`
	BitrateBA float64 `json:"bitrate_ba_kbps"`
	LossAB    float64 `json:"loss_ab_pct"`
	LossBA    float64 `json:"loss_ba_pct"`
	// CPU is the process's CPU time over the call, in % of one core, per
	// peer: half of it. The relay and the two baseline receivers count
	// in it too, so it is an upper bound.
	CPU float64 `json:"cpu_pct_per_peer"`
	// RSSMB is the largest resident set during the call, both peers in
	// one process.
	RSSMB     float64 `json:"rss_mb"`
	ConnectMs float64 `json:"connect_ms"`
	// HandshakeMs is from the joiner taking the invite to connected, the
	// answer applied at once: the whole ICE and DTLS handshake.
	HandshakeMs float64 `json:"handshake_ms"`
	// BareMs is from the caller applying a bare answer, in the standard
	// form with no candidates, to connected: the caller learns the
	// joiner's address from its checks (peer-reflexive).
	BareMs      float64 `json:"bare_answer_connect_ms"`
	InviteMs    float64 `json:"invite_ms"`
	InviteChars int     `json:"invite_chars"`
	// Complexity is the Opus complexity A's encoder ended the call at:
	// adaptive, it drops from 7 to 5 where 7 costs more than its budget.
	Complexity int `json:"opus_complexity"`
	// Echo is an echo scenario's figures (echo.go).
	Echo *Echo `json:"echo,omitempty"`
	// Mic is a microphone scenario's figures (mic.go).
	Mic *Mic `json:"mic,omitempty"`
	// SSH is the SSH scenario's figures (ssh.go).
	SSH *SSH `json:"ssh,omitempty"`
}

// Receiver is how one receiver did on A's talk.
type Receiver struct {
	Name string `json:"name"`
	// Mouth-to-ear latency over the markers found.
	P50     float64 `json:"p50_ms"`
	P95     float64 `json:"p95_ms"`
	Max     float64 `json:"max_ms"`
	Markers int     `json:"markers"`
	Found   int     `json:"found"`
	// TargetMs is the jitter buffer's mean target.
	TargetMs float64 `json:"target_ms"`
	// In % of frames (late: of packets).
	LatePct      float64 `json:"late_pct"`
	ConcealedPct float64 `json:"concealed_pct"`
	FECPct       float64 `json:"fec_pct"`
	// ShortPct is, for decode on arrival, the periods that found too
	// little audio queued.
	ShortPct float64 `json:"short_pct"`
	// Speech quality against what was said.
	LSD    float64 `json:"lsd_db"`
	Corr   float64 `json:"corr"`
	WarpMs float64 `json:"warp_ms"`
}

// Stages are where the mean mouth-to-ear latency goes: from speaking to
// the frame's packet leaving (the capture period and the frame filling),
// on the network, from arrival to the playback pull (the jitter buffer),
// and from the pull to the ear (the playback period).
type Stages struct {
	CaptureMs float64 `json:"capture_ms"`
	NetworkMs float64 `json:"network_ms"`
	BufferMs  float64 `json:"buffer_ms"`
	OutputMs  float64 `json:"output_ms"`
}

// Cost is what a plain call costs: both peers talking, 20 ms frames, no
// relay and no baseline receivers. CPU is the process's, halved: % of
// one core per peer. Of it, SendPct is the time spent sending (Opus
// encoding, SRTP, the send) and PlayPct the time spent in the jitter
// buffer (Opus decoding); the rest is receiving and scheduling. Every
// wake-up of a sleeping thread costs CPU time: SwitchesPerSec counts the
// context switches per peer, and WakeUs is what one timer wake-up costs
// on this machine, measured alone. RSS is the largest resident set of
// the process that holds both peers. Complexity is each encoder's Opus
// complexity at the end of the call.
type Cost struct {
	CPU            float64 `json:"cpu_pct_per_peer"`
	SendPct        float64 `json:"send_pct_per_peer"`
	PlayPct        float64 `json:"play_pct_per_peer"`
	SwitchesPerSec float64 `json:"context_switches_per_s_per_peer"`
	WakeUs         float64 `json:"timer_wake_us"`
	RSSMB          float64 `json:"rss_mb"`
	Complexity     []int   `json:"opus_complexity"`
}

// Target is one of the goals the benchmark checks.
type Target struct {
	What  string  `json:"what"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	// AtLeast: the value is to be Limit or more, not Limit or less.
	AtLeast bool   `json:"at_least,omitempty"`
	Status  string `json:"status"` // PASS, MISS, or "not run"
}

func (r *Report) result(name string) *Result {
	for i := range r.Results {
		if r.Results[i].Scenario == name {
			return &r.Results[i]
		}
	}
	return nil
}

func (r *Result) receiver(name string) *Receiver {
	for i := range r.Receivers {
		if r.Receivers[i].Name == name {
			return &r.Receivers[i]
		}
	}
	return nil
}

// targets checks the goals against what ran.
func targets(r *Report) []Target {
	var out []Target
	check := func(what, unit string, limit float64, value func() (float64, bool)) {
		t := Target{What: what, Limit: limit, Unit: unit, Status: "not run"}
		if v, ok := value(); ok {
			t.Value, t.Status = v, "MISS"
			if v <= limit {
				t.Status = "PASS"
			}
		}
		out = append(out, t)
	}
	// atLeast is check for a value that is to be limit or more.
	atLeast := func(what, unit string, limit float64, value func() (float64, bool)) {
		check(what, unit, limit, value)
		t := &out[len(out)-1]
		t.AtLeast = true
		if t.Status != "not run" {
			t.Status = "MISS"
			if t.Value >= limit {
				t.Status = "PASS"
			}
		}
	}
	echo := func(scenario string, f func(*Echo) float64) func() (float64, bool) {
		return func() (float64, bool) {
			res := r.result(scenario)
			if res == nil || res.Skipped != "" || res.Echo == nil {
				return 0, false
			}
			return f(res.Echo), true
		}
	}
	adaptive := func(scenario string, f func(*Receiver) float64) func() (float64, bool) {
		return func() (float64, bool) {
			res := r.result(scenario)
			if res == nil {
				return 0, false
			}
			rv := res.receiver(Adaptive)
			return f(rv), rv.Found > 0
		}
	}
	scenario := func(name string, f func(*Result) float64) func() (float64, bool) {
		return func() (float64, bool) {
			res := r.result(name)
			if res == nil {
				return 0, false
			}
			return f(res), true
		}
	}
	p50 := func(rv *Receiver) float64 { return rv.P50 }
	check("clean, 20 ms frames: mouth-to-ear p50", "ms", 60, adaptive("clean-20ms", p50))
	check("clean, 10 ms frames: mouth-to-ear p50", "ms", 40, adaptive("clean-10ms", p50))
	check("5% loss + 20 ms jitter: mouth-to-ear p50", "ms", 100, adaptive("loss5-20ms", p50))
	check("5% loss + 20 ms jitter: log-spectral distance above clean's", "dB", 0.7, func() (float64, bool) {
		clean, lossy := r.result("clean-20ms"), r.result("loss5-20ms")
		if clean == nil || lossy == nil {
			return 0, false
		}
		return lossy.receiver(Adaptive).LSD - clean.receiver(Adaptive).LSD, true
	})
	check("5% loss + 20 ms jitter: concealed", "%", 2, adaptive("loss5-20ms", func(rv *Receiver) float64 { return rv.ConcealedPct }))
	check("plain call, 20 ms frames: CPU per peer", "% of a core", 3, func() (float64, bool) {
		if r.Cost == nil {
			return 0, false
		}
		return r.Cost.CPU, true
	})
	check("plain call: peak RSS (both peers in one process)", "MB", 40, func() (float64, bool) {
		if r.Cost == nil {
			return 0, false
		}
		return r.Cost.RSSMB, true
	})
	real := func(scenario string, f func(*Receiver) float64) func() (float64, bool) {
		return func() (float64, bool) {
			res := r.result(scenario)
			if res == nil || res.Skipped != "" || len(res.Receivers) == 0 {
				return 0, false
			}
			rv := &res.Receivers[0]
			return f(rv), rv.Found > 0
		}
	}
	check("real devices, clean, 20 ms frames: mouth-to-ear p50", "ms", 55, real("real-clean-20ms", p50))
	check("real devices, clean, 10 ms frames: mouth-to-ear p50", "ms", 40, real("real-clean-10ms", p50))
	// Headphones: AEC alone against processing off, the clean real call.
	offBy := func(f func(*Receiver) float64) func() (float64, bool) {
		return func() (float64, bool) {
			off, ok := real("real-clean-20ms", f)()
			on, ok1 := real("real-clean-20ms-aec", f)()
			return math.Abs(on - off), ok && ok1
		}
	}
	check("headphones (real devices, clean, 20 ms frames, no echo path), AEC: LSD against off", "dB", 0.2, offBy(func(rv *Receiver) float64 { return rv.LSD }))
	check("headphones (real devices, clean, 20 ms frames, no echo path), AEC: correlation against off", "", 0.01, offBy(func(rv *Receiver) float64 { return rv.Corr }))
	late := func(rv *Receiver) float64 { return rv.LatePct }
	check("real devices, clean, 20 ms frames: late frames", "%", 0.1, real("real-clean-20ms", late))
	check("real devices, clean, 10 ms frames: late frames", "%", 0.1, real("real-clean-10ms", late))
	check("real devices: CPU the devices add to a call (over the same call with a tone and no output), against pacat moving the same audio", "×", 1.3, func() (float64, bool) {
		if r.DeviceCost == nil || r.DeviceCost.ToneCPU <= 0 || r.DeviceCost.ClientCPU <= 0 {
			return 0, false
		}
		return r.DeviceCost.OverClient, true
	})
	for _, d := range []string{"40", "120"} {
		name := "echo-" + d + "ms"
		about := "echo path " + d + " ms at " + echoLevel + ", AEC+NS+AGC: "
		atLeast(about+"ERLE after 1 s", "dB", 15, echo(name, func(e *Echo) float64 { return e.ERLE1 }))
		atLeast(about+"ERLE after 3 s", "dB", 25, echo(name, func(e *Echo) float64 { return e.ERLE3 }))
		check(about+"double talk, near end's level against alone", "dB", 6, echo(name, func(e *Echo) float64 { return math.Abs(e.NearDoubleDB - e.NearAloneDB) }))
		atLeast(about+"double talk, near end's speech correlation", "", 0.8, echo(name, func(e *Echo) float64 { return e.DoubleCorr }))
	}
	steady := echo("echo-40ms", func(e *Echo) float64 { return e.SteadyCPU })
	check("echo path 40 ms, AEC+NS+AGC: their CPU at peer A (the call's frames replayed back to back)", "% of a core", 1, func() (float64, bool) {
		v, ok := steady()
		return v, ok && v > 0 // 0: no thread CPU clock to measure it by
	})
	mic := func(scenario string, f func(*Mic) float64) func() (float64, bool) {
		return func() (float64, bool) {
			res := r.result(scenario)
			if res == nil || res.Skipped != "" || res.Mic == nil {
				return 0, false
			}
			return f(res.Mic), true
		}
	}
	atLeast("speech with noise at 10 dB SNR, NS: noise in the pauses reduced by", "dB", 15, mic("noise", func(m *Mic) float64 { return m.Reduction() }))
	atLeast("speech with noise at 10 dB SNR, NS: speech correlation", "", 0.85, mic("noise", func(m *Mic) float64 { return m.Corr }))
	atLeast("talker at -35 dBFS, AGC: output level", "dBFS", -26, mic("agc-quiet", func(m *Mic) float64 { return m.OutDB }))
	check("talker at -35 dBFS, AGC: output level", "dBFS", -16, mic("agc-quiet", func(m *Mic) float64 { return m.OutDB }))
	check("talker peaking at -3 dBFS, AGC: samples clipped at the far end", "samples", 0, mic("agc-loud", func(m *Mic) float64 { return float64(m.Clipped) }))
	check("A's sound through parley ssh (real devices, sshd on loopback), 20 ms frames: mouth-to-ear p50 added over local devices, less the link's one-way delay", "ms", 20, func() (float64, bool) {
		res := r.result("ssh-20ms")
		if res == nil || res.Skipped != "" || res.SSH == nil || len(res.Receivers) == 0 || res.Receivers[0].Found == 0 {
			return 0, false
		}
		return res.SSH.AddedMs - res.SSH.LinkMs, true
	})
	check("clean: connect once the answer is applied", "ms", 200, scenario("clean-20ms", func(r *Result) float64 { return r.ConnectMs }))
	check("clean: connect once an answer without candidates is applied", "ms", 50, scenario("clean-20ms", func(r *Result) float64 { return r.BareMs }))
	check("invite code length", "characters", 100, scenario("clean-20ms", func(r *Result) float64 { return float64(r.InviteChars) }))
	check("invite code made, without STUN", "ms", 100, scenario("clean-20ms", func(r *Result) float64 { return r.InviteMs }))
	return out
}

// WriteText writes the report as tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "parley bench: %.0f s per scenario, %s with a timing marker every 0.5 s\n", r.Duration, r.Source)
	fmt.Fprintf(&b, "machine: %s\n", r.Machine)
	var modelled, real []Result
	for _, res := range r.Results {
		if res.Real {
			real = append(real, res)
		} else {
			modelled = append(modelled, res)
		}
	}
	if len(modelled) > 0 {
		fmt.Fprintf(&b, "\nmodelled sound cards (a model of each card's clock, in this process):\n\n")
		r.writeLatency(&b, modelled)
		fmt.Fprintln(&b)
		r.writeStages(&b, modelled)
	}
	if r.Cost != nil {
		c := r.Cost
		fmt.Fprintf(&b, "\nplain call (modelled cards, 20 ms frames, no relay, no baselines): CPU %.2f%% of a core per peer; RSS %.0f MB, both peers in one process\n", c.CPU, c.RSSMB)
		fmt.Fprintf(&b, "  of the CPU: sending (Opus encoding, SRTP, send) %.2f%%, jitter buffer (Opus decoding) %.2f%%, the rest (receiving, waking up) %.2f%%\n",
			c.SendPct, c.PlayPct, c.CPU-c.SendPct-c.PlayPct)
		fmt.Fprintf(&b, "  %.0f context switches a second per peer; one timer wake-up alone costs %.0f µs of CPU on this machine\n", c.SwitchesPerSec, c.WakeUs)
		fmt.Fprintf(&b, "  Opus complexity at the end: %s (adaptive: %d, or %d where encoding costs more than %g%% of a core)\n",
			strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.Complexity)), " and "), "[]"),
			audio.DefaultComplexity, audio.MinComplexity, 100*audio.EncodeBudget)
	}
	if len(real) > 0 || r.DeviceCost != nil || r.RealSkipped != "" {
		fmt.Fprintf(&b, "\nreal devices (a private PulseAudio, mouth and ear on its clock; both directions):\n")
	}
	var ran, echoes, mics, sshs []Result
	for _, res := range real {
		switch {
		case res.Skipped != "":
			fmt.Fprintf(&b, "  %s: skipped: %s\n", res.Scenario, res.Skipped)
		case res.SSH != nil:
			sshs = append(sshs, res)
		case res.Echo != nil:
			echoes = append(echoes, res)
		case res.Mic != nil:
			mics = append(mics, res)
		default:
			ran = append(ran, res)
		}
	}
	if len(ran) > 0 {
		fmt.Fprintln(&b)
		r.writeLatency(&b, ran)
		fmt.Fprintln(&b)
		r.writeStages(&b, ran)
		fmt.Fprintln(&b)
		for _, res := range ran {
			fmt.Fprintf(&b, "  %s: the sound server used %.2f%% of a core; PulseAudio gave peer A %s\n", res.Scenario, res.ServerCPU, orNone(res.PulseAttrs))
		}
	}
	if len(echoes) > 0 {
		fmt.Fprintf(&b, "\necho path at A (module-loopback from A's speaker into its microphone, adjust_time=0, %s), 20 ms frames, clean network;\n", echoLevel)
		fmt.Fprintf(&b, "A's microphone processed as parley does (B's not); levels dBFS RMS, at B's ear unless said:\n\n")
		r.writeEcho(&b, echoes)
	}
	if len(mics) > 0 {
		fmt.Fprintf(&b, "\nA's microphone processed, no echo path, B silent, 20 ms frames; dBFS, active level over the 20 ms blocks within 30 dB of the loudest:\n\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tprocessing\tin dB\tout dB\tin peak dB\tout peak dB\tclipped\tnoise in pauses in dB\tout dB\tcorr\tprocessing CPU %\t")
		for _, res := range mics {
			m := res.Mic
			noise, noiseOut, corr := "-", "-", "-"
			if res.Scenario == "noise" {
				noise, noiseOut, corr = fmt.Sprintf("%.1f", m.NoiseInDB), fmt.Sprintf("%.1f", m.NoiseOutDB), fmt.Sprintf("%.3f", m.Corr)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%.3f\t\n", res.Scenario, m.Processing, m.InDB, m.OutDB, m.InPeakDB, m.OutPeakDB, m.Clipped, noise, noiseOut, corr, m.ProcCPU)
		}
		tw.Flush()
	}
	for _, res := range sshs {
		x := res.SSH
		rv := res.Receivers[0]
		fmt.Fprintf(&b, "\n%s: the clean real-device call, 20 ms frames, in turns with A's sound local and through parley ssh's agent (ssh -N -R to a real sshd on loopback):\n", res.Scenario)
		fmt.Fprintf(&b, "  mouth-to-ear p50 %.1f ms through the agent (p95 %.1f, %d/%d markers), %.1f ms local (%d markers): %+.1f ms; the link's one-way delay %.1f ms\n",
			x.AgentP50, rv.P95, rv.Found, rv.Markers, x.LocalP50, x.LocalFound, x.AddedMs, x.LinkMs)
		fmt.Fprintf(&b, "  the link carried %.1f kb/s to the agent and %.1f kb/s from it (Opus, framing included), %d packets dropped; A→B LSD %.2f dB, correlation %.3f\n",
			x.KbpsToA, x.KbpsFromA, x.Dropped, rv.LSD, rv.Corr)
	}
	if c := r.DeviceCost; c != nil {
		fmt.Fprintf(&b, "\ndevice call (real devices, 20 ms frames, no relay) against the same call with a tone in and nothing out, and the sound system's own client, in turns:\n")
		fmt.Fprintf(&b, "  CPU %.2f%% of a core per peer with devices, %.2f%% with the tone: %.2f×; the sound server %.2f%% of a core beside it (%.2f%% in the tone call), not counted\n",
			c.DeviceCPU, c.ToneCPU, c.Ratio, c.ServerCPU, c.ServerToneCPU)
		if c.ClientCPU > 0 {
			fmt.Fprintf(&b, "  the devices add %.2f%% per peer; pacat, recording each microphone and playing into each speaker at parley's buffer sizes, takes %.2f%% per peer: %.2f× that\n",
				c.DeviceCPU-c.ToneCPU, c.ClientCPU, c.OverClient)
		}
		if c.SoundThreadsCPU > 0 {
			fmt.Fprintf(&b, "  of the %.2f%% with devices, %.2f%% in the sound library's threads (libpulse's, as miniaudio runs them: parley-mic, parley-speaker), %.2f%% in parley's own\n",
				c.DeviceCPU, c.SoundThreadsCPU, c.DeviceCPU-c.SoundThreadsCPU)
		}
	}
	fmt.Fprintln(&b, "\ntargets:")
	for _, t := range r.Targets {
		op := "≤"
		if t.AtLeast {
			op = "≥"
		}
		if t.Status == "not run" {
			fmt.Fprintf(&b, "  %-7s %s %s %g %s\n", "-", t.What, op, t.Limit, t.Unit)
			continue
		}
		dec, unit := decimals(t.Limit), " "+t.Unit
		if t.Unit == "" { // a correlation
			dec, unit = 3, ""
		}
		fmt.Fprintf(&b, "  %-7s %s: %.*f%s (%s %g)\n", t.Status, t.What, dec, t.Value, unit, op, t.Limit)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// decimals is how many decimals a target's value is given with: one,
// or as many as a limit below 1 needs.
func decimals(limit float64) int {
	switch {
	case limit < 0.2 && limit > 0:
		return 2
	}
	return 1
}

func orNone(s string) string {
	if s == "" {
		return "(not logged)"
	}
	return s
}

// writeLatency writes the latency and quality table.
func (r *Report) writeLatency(b *strings.Builder, results []Result) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treceiver\tp50 ms\tp95 ms\tmax ms\tmarkers\ttarget ms\tlate %\tconcealed %\tFEC %\tshort %\tLSD dB\tcorr\twarp ms\t")
	for _, res := range results {
		for i, rv := range res.Receivers {
			name := res.Scenario
			if i > 0 {
				name = ""
			}
			jb := func(v float64) string {
				if rv.Name == OnArrival {
					return "-"
				}
				return fmt.Sprintf("%.1f", v)
			}
			late := jb(rv.LatePct)
			if rv.Name != OnArrival {
				late = fmt.Sprintf("%.2f", rv.LatePct)
			}
			short := "-"
			if rv.Name == OnArrival || res.Real {
				short = fmt.Sprintf("%.1f", rv.ShortPct)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.3f\t%.0f\t\n",
				name, rv.Name, rv.P50, rv.P95, rv.Max, rv.Found, rv.Markers, jb(rv.TargetMs),
				late, jb(rv.ConcealedPct), jb(rv.FECPct), short, rv.LSD, rv.Corr, rv.WarpMs)
		}
	}
	tw.Flush()
}

// writeStages writes where the latency goes, and the other figures.
func (r *Report) writeStages(b *strings.Builder, results []Result) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tcapture ms\tnetwork ms\tbuffer ms\tplayout ms\tkb/s A→B\tkb/s B→A\tloss % A→B\tloss % B→A\tCPU %/peer\tRSS MB\tconnect ms\thandshake ms\tbare answer ms\tinvite ms\tinvite chars\topus cx\t")
	for _, res := range results {
		s := res.Stages
		bare := fmt.Sprintf("%.1f", res.BareMs)
		if res.Real {
			bare = "-"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.0f\t%.1f\t%.1f\t%s\t%.1f\t%d\t%d\t\n",
			res.Scenario, s.CaptureMs, tenth(s.NetworkMs), s.BufferMs, s.OutputMs, res.BitrateAB, res.BitrateBA,
			res.LossAB, res.LossBA, res.CPU, res.RSSMB, res.ConnectMs, res.HandshakeMs, bare, res.InviteMs, res.InviteChars, res.Complexity)
	}
	tw.Flush()
}

// tenth rounds v to a tenth without a sign on zero: on loopback the
// network stage's mean can come out a hair below 0 (a packet's send time
// is taken when the send returns, by which time it may have arrived), and
// "-0.0" would suggest more than that.
func tenth(v float64) float64 {
	r := math.Round(v*10) / 10
	if r == 0 {
		return 0
	}
	return r
}

// writeEcho writes the echo scenarios' table.
func (r *Report) writeEcho(b *strings.Builder, results []Result) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\techo ms\tprocessing\techo in mic dB\tERLE 1-2 s dB\tERLE 3-5.5 s dB\tnear alone dB\tnear in double talk dB\tcorr alone\tcorr double talk\tdelay estimate ms\tprocessing CPU %\tCPU %/peer\t")
	for _, res := range results {
		e := res.Echo
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%.0f\t%.3f\t%.2f\t\n",
			res.Scenario, e.DelayMs, e.Processing, e.EchoDB, e.ERLE1, e.ERLE3, e.NearAloneDB, e.NearDoubleDB, e.AloneCorr, e.DoubleCorr, e.EstimateMs, e.ProcCPU, res.CPU)
	}
	tw.Flush()
	for _, res := range results {
		if e := res.Echo; e.SteadyCPU > 0 {
			fmt.Fprintf(b, "  %s: the processing's CPU on A's frames of the call, replayed into a new canceller: %.2f%% of a core back to back, %.2f%% with its frames 10 ms apart as in the call (%.2f%% in the call)\n",
				res.Scenario, e.SteadyCPU, e.PacedCPU, e.ProcCPU)
		}
	}
}
