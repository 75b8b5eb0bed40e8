package bench

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"parley/internal/speech"
)

// The microphone scenarios run a call on the rig with no echo path, B
// silent, A talking into a microphone processed as s.Proc says, and
// measure what reaches B's ear against what A's microphone heard (both
// on the rig's one recording):
//
//   - noise: A's sentences with 800 ms pauses, stationary white noise
//     10 dB below the speech's active level throughout (from 1.5 s before
//     the first words); the noise's level in the pauses (from 1 s on)
//     before against after, and the speech correlation with the clean
//     talker;
//   - agc-quiet: A at −35 dBFS (RMS over active speech); the output's
//     active level from 4 s on;
//   - agc-loud: A peaking at −3 dBFS; the output's peak and its samples
//     at full scale.

// Mic is a microphone scenario's figures, levels in dBFS.
type Mic struct {
	Processing string `json:"processing"`
	// The noise scenario.
	NoiseInDB  float64 `json:"noise_in_db,omitempty"`
	NoiseOutDB float64 `json:"noise_out_db,omitempty"`
	Corr       float64 `json:"corr,omitempty"`
	// The gain scenarios: the active level in and out, the peaks, and
	// the output's samples at full scale.
	InDB      float64 `json:"in_active_db"`
	OutDB     float64 `json:"out_active_db"`
	InPeakDB  float64 `json:"in_peak_db"`
	OutPeakDB float64 `json:"out_peak_db"`
	Clipped   int     `json:"clipped_samples"`
	ProcCPU   float64 `json:"processing_cpu_pct"`
}

// Reduction is how much less noise reaches the far end in the pauses.
func (m *Mic) Reduction() float64 { return m.NoiseInDB - m.NoiseOutDB }

// activeDB is the RMS level of pcm over its active 20 ms blocks: those
// within 30 dB of the loudest.
func activeDB(pcm []int16) float64 {
	const block = rate / 50
	var loudest float64 = -200
	for i := 0; i+block <= len(pcm); i += block {
		loudest = max(loudest, dbfs(pcm[i:i+block]))
	}
	var sum float64
	var n int
	for i := 0; i+block <= len(pcm); i += block {
		if dbfs(pcm[i:i+block]) > loudest-30 {
			for _, v := range pcm[i : i+block] {
				sum += float64(v) * float64(v)
			}
			n += block
		}
	}
	return 10 * math.Log10(sum/float64(max(n, 1))/(32768*32768)+1e-12)
}

func peakDB(pcm []int16) (float64, int) {
	var peak float64
	clipped := 0
	for _, v := range pcm {
		peak = max(peak, math.Abs(float64(v)))
		if v >= math.MaxInt16 || v <= math.MinInt16 {
			clipped++
		}
	}
	return 20 * math.Log10(peak/32768+1e-12), clipped
}

// scaled returns pcm scaled by g dB, clipped to int16.
func scaled(pcm []int16, g float64) []int16 {
	k := math.Pow(10, g/20)
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(float64(v)*k))))
	}
	return out
}

// sentences returns near said k times, gap apart, after lead.
func sentences(near []int16, k, lead, gap int) []int16 {
	out := make([]int16, lead+k*(len(near)+gap))
	for i := range k {
		copy(out[lead+i*(len(near)+gap):], near)
	}
	return out
}

func runMic(ctx context.Context, rg *rig, s Scenario) (*Result, error) {
	near := nearTalk()
	var clean, said []int16
	switch s.Test {
	case "noise":
		clean = sentences(near, 3, 3*rate/2, 4*rate/5)
		noise := math.Pow(10, (activeDB(near)-10)/20) * 32768
		rnd := rand.New(rand.NewPCG(1, 2))
		said = make([]int16, len(clean))
		for i, v := range clean {
			said[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(float64(v)+noise*rnd.NormFloat64()))))
		}
	case "agc-quiet":
		clean = sentences(scaled(near, -35-activeDB(near)), 3, rate/2, 3*rate/10)
		said = clean
	case "agc-loud":
		p, _ := peakDB(near)
		clean = sentences(scaled(near, -3-p), 2, rate/2, 3*rate/10)
		said = clean
	default:
		return nil, errors.New("no such microphone test " + s.Test)
	}
	c, err := runRigCall(ctx, rg, s, said, make([]int16, len(said)))
	if err != nil {
		return nil, err
	}
	mic, ear := c.chans[chMouthA], c.chans[chEarB]
	pos := speech.Align(said[:2*rate], mic, 4*rate)
	if pos+len(said) > len(mic) {
		return nil, errors.New("mic: the recording is short")
	}
	first := 0
	for first < len(clean) && clean[first] == 0 {
		first++
	}
	lag := speech.Align(clean[first:first+2*rate], ear[pos+first:min(len(ear), pos+first+3*rate)], rate)
	out := ear[min(len(ear), pos+lag):min(len(ear), pos+lag+len(said))]
	in := mic[pos : pos+len(said)]
	m := &Mic{Processing: procName(s.Proc), ProcCPU: c.procCPU}
	m.InDB, m.OutDB = activeDB(in), activeDB(out)
	m.InPeakDB, _ = peakDB(in)
	m.OutPeakDB, m.Clipped = peakDB(out)
	switch s.Test {
	case "noise":
		// The pauses: 20 ms blocks, from 1 s on, where the clean talker
		// and the blocks beside are silent.
		const block = rate / 50
		var pin, pout []int16
		for i := rate + block; i+2*block <= min(len(clean), len(out)); i += block {
			if dbfs(clean[i-block:i+2*block]) < -70 {
				pin = append(pin, in[i:i+block]...)
				pout = append(pout, out[i:i+block]...)
			}
		}
		m.NoiseInDB, m.NoiseOutDB = dbfs(pin), dbfs(out[:0])
		if len(pout) > 0 {
			m.NoiseOutDB = dbfs(pout)
		}
		if r, err := speech.Compare(clean, ear[max(0, pos+lag-rate/10):min(len(ear), pos+lag+len(said)+rate/10)], rate/5); err == nil {
			m.Corr = r.Corr
		}
	case "agc-quiet":
		m.OutDB = activeDB(out[min(len(out), 4*rate):])
	}
	return &Result{Scenario: s.Name, About: s.About, FrameMs: ms(s.Frame), Real: true, CPU: c.cpu,
		BitrateAB: c.kbpsAB, BitrateBA: c.kbpsBA, Mic: m}, nil
}
