package bench

import (
	"slices"
	"sort"
	"time"

	"parley/audio/jitter"
	"parley/internal/speech"
)

// maxLatency bounds the search for a marker's copy.
const maxLatency = 2 * time.Second

// at returns when sample i of the talk was spoken.
func (r *run) at(i int) time.Time { return r.start.Add(time.Duration(i) * time.Second / rate) }

// playedAt returns when sample j of B's recordings was heard: a period
// after its pull, as a device plays what it is given once the period
// before has played.
func (r *run) playedAt(j int) time.Time {
	return r.b.tickAt[j/periodLen].Add(period + time.Duration(j%periodLen)*time.Second/rate)
}

// firstHeardAfter returns the first sample of B's recordings heard at t
// or later (approximately, to the period).
func (r *run) firstHeardAfter(t time.Time) int {
	m := sort.Search(len(r.b.tickAt), func(m int) bool { return !r.b.tickAt[m].Add(2 * period).Before(t) })
	return m * periodLen
}

// stageSums add up, over markers, where the adaptive receiver's latency
// went.
type stageSums struct {
	capture, network, buffer, output time.Duration
	n                                int
}

// latencies finds each marker in rec and returns the mouth-to-ear delays,
// and for the adaptive receiver the stages.
func (r *run) latencies(rec []int16, stages *stageSums) []time.Duration {
	var out []time.Duration
	for k, m := range r.markers {
		spoken := r.at(m)
		from := r.firstHeardAfter(spoken)
		to := r.firstHeardAfter(spoken.Add(maxLatency))
		if to <= from {
			to = len(rec)
		}
		j, _ := findMarker(rec, k, from, to)
		if j < 0 {
			continue
		}
		heard := r.playedAt(j)
		out = append(out, heard.Sub(spoken))
		if stages == nil {
			continue
		}
		// The frame the marker starts in: when it was sent, when it came.
		f := m / r.frame
		q := ((f+1)*r.frame - 1) / periodLen
		if q >= len(r.a.tickAt) || f >= len(r.arr.at) || r.arr.at[f].IsZero() {
			continue
		}
		sent, came, pulled := r.a.tickAt[q], r.arr.at[f], r.b.tickAt[j/periodLen]
		stages.capture += sent.Sub(spoken)
		stages.network += came.Sub(sent)
		stages.buffer += pulled.Sub(came)
		stages.output += heard.Sub(pulled)
		stages.n++
	}
	return out
}

func (r *run) analyse(s Scenario, d time.Duration) *Result {
	res := &Result{
		Scenario:    s.Name,
		About:       s.About,
		FrameMs:     ms(s.Frame),
		InviteChars: r.conn.inviteLen,
		InviteMs:    ms(r.conn.inviteTime),
		ConnectMs:   ms(r.conn.connect),
		HandshakeMs: ms(r.conn.handshake),
		BareMs:      ms(r.bare),
		BitrateAB:   float64(r.bytesAB) * 8 / d.Seconds() / 1000,
		BitrateBA:   float64(r.bytesBA) * 8 / d.Seconds() / 1000,
		LossAB:      r.lossAB,
		LossBA:      r.lossBA,
		CPU:         100 * r.cpu.Seconds() / r.wall.Seconds() / 2,
		RSSMB:       r.rssMB,
		Complexity:  r.complexity,
	}
	names := []string{Adaptive, OnArrival, Fixed80}
	r.arr.mu.Lock()
	defer r.arr.mu.Unlock()
	for i, rec := range r.b.recs {
		rv := Receiver{Name: names[i], Markers: len(r.markers)}
		var st *stageSums
		if names[i] == Adaptive {
			st = &stageSums{}
		}
		lat := r.latencies(rec, st)
		rv.Found = len(lat)
		if len(lat) > 0 {
			slices.Sort(lat)
			rv.P50, rv.P95, rv.Max = ms(rank(lat, 50)), ms(rank(lat, 95)), ms(lat[len(lat)-1])
		}
		if st != nil && st.n > 0 {
			n := time.Duration(st.n)
			res.Stages = Stages{
				CaptureMs: ms(st.capture / n),
				NetworkMs: ms(st.network / n),
				BufferMs:  ms(st.buffer / n),
				OutputMs:  ms(st.output / n),
			}
		}
		if c, err := speech.Compare(r.talk, rec, 3*rate); err == nil {
			rv.LSD, rv.Corr, rv.WarpMs = c.LSD, c.Corr, ms(c.Warp)
		}
		switch names[i] {
		case Adaptive:
			rv.fromJitter(r.adaptive.Stats())
			if r.targetN > 0 {
				rv.TargetMs = ms(r.targetSum / time.Duration(r.targetN))
			}
		case Fixed80:
			rv.fromJitter(r.fixed.Stats())
			rv.TargetMs = ms(fixedDelay)
		case OnArrival:
			rv.ShortPct = r.arrival.shortPercent()
		}
		res.Receivers = append(res.Receivers, rv)
	}
	return res
}

func (rv *Receiver) fromJitter(s jitter.Stats) {
	frames := s.Frames + s.FEC + s.Concealed
	rv.LatePct = percent(s.Late, frames+s.Late)
	rv.ConcealedPct = percent(s.Concealed, frames)
	rv.FECPct = percent(s.FEC, frames)
}

// rank returns the p-th percentile of sorted, by nearest rank.
func rank(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
