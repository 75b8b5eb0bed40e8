package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/pion/rtp"

	"parley/audio"
	"parley/audio/jitter"
	"parley/internal/relay"
	"parley/rtc"
	"parley/voice"
)

const (
	period    = 10 * time.Millisecond
	periodLen = rate / 100
	// fixedDelay is the fixed baseline's buffer, where NetEQ starts.
	fixedDelay = 80 * time.Millisecond
	// tail is how long the devices run on after the talk, to drain.
	tail = time.Second
)

// Receiver names, in the order of Result.Receivers.
const (
	Adaptive  = "adaptive"
	OnArrival = "on arrival"
	Fixed80   = "fixed 80 ms"
)

// connection is the two connected calls and what connecting them cost.
type connection struct {
	a, b                *rtc.Call
	inviteLen           int
	inviteTime, connect time.Duration
	// handshake is from the joiner taking the invite to the caller
	// connected, the answer applied at once: ICE and DTLS whole.
	handshake time.Duration
}

func (c *connection) close() {
	for _, call := range []*rtc.Call{c.a, c.b} {
		if call != nil {
			call.Close()
		}
	}
}

// connect makes the invite on A, joins on B, and has A accept the answer,
// with every candidate rewritten so that all traffic goes through r, if
// r is not nil.
func connect(ctx context.Context, r *relay.Relay) (_ *connection, err error) {
	c := &connection{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	cfg := rtc.Config{Loopback: true, Interfaces: rtc.LoopbackInterfaces()}
	if c.a, err = rtc.New(cfg); err != nil {
		return nil, err
	}
	if c.b, err = rtc.New(cfg); err != nil {
		return nil, err
	}
	start := time.Now()
	invite, err := c.a.Invite(ctx)
	if err != nil {
		return nil, err
	}
	c.inviteTime, c.inviteLen = time.Since(start), len(invite)
	if r != nil {
		realA, err := redirect(&invite, rtc.KindInvite, r.SideB())
		if err != nil {
			return nil, err
		}
		r.SetTargetA(realA)
	}
	joined := time.Now()
	answer, err := c.b.Join(ctx, invite)
	if err != nil {
		return nil, err
	}
	if r != nil {
		realB, err := redirect(&answer, rtc.KindAnswer, r.SideA())
		if err != nil {
			return nil, err
		}
		r.SetTargetB(realB)
	}
	start = time.Now()
	if err := c.a.Accept(answer); err != nil {
		return nil, err
	}
	if err := connected(ctx, c.a); err != nil {
		return nil, err
	}
	c.connect, c.handshake = time.Since(start), time.Since(joined)
	if err := connected(ctx, c.b); err != nil {
		return nil, err
	}
	for _, call := range []*rtc.Call{c.a, c.b} {
		go func() {
			for range call.Events() { // until Close
			}
		}()
	}
	return c, nil
}

// redirect replaces a code's candidates by to, and returns its first IPv4
// candidate: where the relay must send what is meant for its maker.
func redirect(code *string, kind rtc.Kind, to netip.AddrPort) (netip.AddrPort, error) {
	c, err := rtc.ParseCode(*code, kind)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var real netip.AddrPort
	for _, cand := range c.Candidates {
		if cand.Addr.Addr().Is4() && !real.IsValid() {
			real = cand.Addr
		}
	}
	if !real.IsValid() {
		return real, errors.New("the code has no IPv4 loopback candidate")
	}
	c.Candidates = []rtc.Candidate{{Type: rtc.CandidateHost, Addr: to}}
	*code = c.String()
	return real, nil
}

func connected(ctx context.Context, c *rtc.Call) error {
	_, err := connectedBy(ctx, c)
	return err
}

// connectedBy waits for c to connect and returns the route.
func connectedBy(ctx context.Context, c *rtc.Call) (rtc.Route, error) {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-c.Events():
			switch e := e.(type) {
			case rtc.StateEvent:
				if e.State == rtc.StateConnected {
					return e.Route, nil
				}
			case rtc.ByeEvent:
				return "", fmt.Errorf("the call ended: %s", e.Reason)
			}
		case <-timeout:
			return "", errors.New("the peers did not connect within 30 s")
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// device models one peer's sound card: every period it captures the next
// period of talk into the sender, and pulls a period from each receiver.
type device struct {
	talk    []int16
	tx      *voice.Sender
	players []receiver
	record  bool
	onTick  func(k int)

	// tickAt is when each period of talk was sent, and the receivers
	// pulled a period.
	tickAt []time.Time
	// sending and playing are the time spent in the sender (Opus
	// encoding, SRTP, the send) and in the receivers (jitter buffer,
	// Opus decoding).
	sending, playing time.Duration
	recs             [][]int16 // what each receiver played, if record
	err              error
}

// run runs the device from start, ticking on an absolute schedule, until
// the talk and the tail are over. A late tick runs late, as a late
// callback does.
func (d *device) run(ctx context.Context, start time.Time, ticks int) {
	if d.record {
		d.recs = make([][]int16, len(d.players))
		for i := range d.recs {
			d.recs[i] = make([]int16, 0, ticks*periodLen)
		}
	}
	silence := make([]int16, periodLen)
	buf := make([]int16, periodLen)
	tick := time.NewTimer(time.Until(start.Add(period)))
	defer tick.Stop()
	for k := 1; k <= ticks; k++ {
		select {
		case <-ctx.Done():
			d.err = ctx.Err()
			return
		case <-tick.C:
		}
		tick.Reset(time.Until(start.Add(time.Duration(k+1) * period)))
		pcm := silence
		if at := (k - 1) * periodLen; at+periodLen <= len(d.talk) {
			pcm = d.talk[at : at+periodLen]
		}
		t0 := time.Now()
		if err := d.tx.Write(pcm); err != nil && d.err == nil {
			d.err = err
		}
		t1 := time.Now()
		d.tickAt = append(d.tickAt, t1)
		for i, p := range d.players {
			p.Pull(buf)
			if d.record {
				d.recs[i] = append(d.recs[i], buf...)
			}
		}
		d.sending += t1.Sub(t0)
		d.playing += time.Since(t1)
		if d.onTick != nil {
			d.onTick(k)
		}
	}
}

// arrivals records when each of A's frames first reached B.
type arrivals struct {
	mu   sync.Mutex
	seq0 uint16
	at   []time.Time
}

func (a *arrivals) note(seq uint16, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := int(seq - a.seq0); f < len(a.at) && a.at[f].IsZero() {
		a.at[f] = t
	}
}

// run is one scenario's call, before analysis.
type run struct {
	conn    *connection
	talk    []int16 // what A said, markers included
	markers []int   // where in talk the markers start
	start   time.Time
	a, b    *device
	arr     *arrivals
	frame   int // samples per frame

	adaptive, fixed *jitter.Buffer
	arrival         *onArrival
	targetSum       time.Duration
	targetN         int
	bytesAB         uint64
	bytesBA         uint64
	cpu             time.Duration
	wall            time.Duration
	bare            time.Duration // connectBare's
	rssMB           float64
	lossAB, lossBA  float64
	complexity      int // A's encoder's, at the end
}

func lossPercent(s relay.Stats) float64 {
	return percent(s.Dropped, s.Dropped+s.Forwarded)
}

func percent[T int | uint64](part, whole T) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

func runScenario(ctx context.Context, s Scenario, talk []int16, d time.Duration) (*Result, error) {
	bare, err := connectBare(ctx, s.Impair)
	if err != nil {
		return nil, err
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

	run := &run{conn: conn, bare: bare, frame: int(s.Frame * rate / time.Second)}
	n := int(d * rate / time.Second)
	run.talk, run.markers = withMarkers(talk, n)
	enc := func() (*audio.Encoder, error) { return audio.NewEncoder(audio.EncoderOptions{Frame: s.Frame}) }
	encA, err := enc()
	if err != nil {
		return nil, err
	}
	encB, err := enc()
	if err != nil {
		return nil, err
	}
	jcfg := jitter.Config{Frame: s.Frame}
	if run.adaptive, err = jitter.New(jcfg); err != nil {
		return nil, err
	}
	jcfg.Fixed = fixedDelay
	if run.fixed, err = jitter.New(jcfg); err != nil {
		return nil, err
	}
	if run.arrival, err = newOnArrival(); err != nil {
		return nil, err
	}
	back, err := jitter.New(jitter.Config{Frame: s.Frame})
	if err != nil {
		return nil, err
	}
	txA, txB := voice.NewSender(encA, conn.a), voice.NewSender(encB, conn.b)
	ticks := n/periodLen + int(tail/period)
	run.arr = &arrivals{seq0: txA.Next(), at: make([]time.Time, ticks*periodLen/run.frame+1)}
	players := []receiver{run.adaptive, run.arrival, run.fixed}
	conn.b.SetAudioReceiver(func(pkt *rtp.Packet, at time.Time) {
		run.arr.note(pkt.SequenceNumber, at)
		for _, p := range players {
			p.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, at)
		}
	})
	conn.a.SetAudioReceiver(func(pkt *rtp.Packet, at time.Time) {
		back.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, at)
	})
	talkTicks := n / periodLen
	run.a = &device{talk: run.talk, tx: txA, players: []receiver{back}, onTick: func(k int) {
		if k == talkTicks {
			run.bytesAB = txA.Sent()
		}
	}}
	run.b = &device{talk: run.talk, tx: txB, players: players, record: true, onTick: func(k int) {
		if k%10 == 0 {
			run.targetSum += run.adaptive.Stats().Target
			run.targetN++
		}
		if k == talkTicks {
			run.bytesBA = txB.Sent()
		}
	}}

	cpu0 := cpuTime()
	run.start = time.Now().Add(50 * time.Millisecond)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); run.a.run(ctx, run.start, ticks) }()
	go func() { defer wg.Done(); run.b.run(ctx, run.start.Add(period/2), ticks) }()
	peakRSS := watchRSS()
	wg.Wait()
	run.wall = time.Since(run.start)
	run.cpu = cpuTime() - cpu0
	run.rssMB = peakRSS()
	run.complexity = encA.Complexity()
	conn.a.SetAudioReceiver(nil)
	conn.b.SetAudioReceiver(nil)
	for _, dev := range []*device{run.a, run.b} {
		if dev.err != nil {
			return nil, dev.err
		}
	}
	ab, ba := r.Stats()
	run.lossAB, run.lossBA = lossPercent(ab), lossPercent(ba)
	runtime.GC()
	return run.analyse(s, d), nil
}

// measureCost runs a plain call, both sides talking, with no relay and no
// baseline receivers, and returns what it costs per peer, both peers in
// one process.
func measureCost(ctx context.Context, talk []int16, d, frame time.Duration) (*Cost, error) {
	wake := wakeCost(ctx)
	conn, err := connect(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer conn.close()
	n := int(d * rate / time.Second)
	talk, _ = withMarkers(talk, n)
	var devs [2]*device
	var encs [2]*audio.Encoder
	for i, call := range []*rtc.Call{conn.a, conn.b} {
		enc, err := audio.NewEncoder(audio.EncoderOptions{Frame: frame})
		if err != nil {
			return nil, err
		}
		buf, err := jitter.New(jitter.Config{Frame: frame})
		if err != nil {
			return nil, err
		}
		call.SetAudioReceiver(func(pkt *rtp.Packet, at time.Time) {
			buf.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, at)
		})
		defer call.SetAudioReceiver(nil)
		devs[i] = &device{talk: talk, tx: voice.NewSender(enc, call), players: []receiver{buf}}
		encs[i] = enc
	}
	cpu0, sw0 := cpuTime(), contextSwitches()
	start := time.Now().Add(50 * time.Millisecond)
	peakRSS := watchRSS()
	var wg sync.WaitGroup
	for i, dev := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev.run(ctx, start.Add(time.Duration(i)*period/2), n/periodLen)
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	used, switches := cpuTime()-cpu0, contextSwitches()-sw0
	c := &Cost{RSSMB: peakRSS(), WakeUs: float64(wake.Nanoseconds()) / 1e3,
		Complexity: []int{encs[0].Complexity(), encs[1].Complexity()}}
	var sending, playing time.Duration
	for _, dev := range devs {
		if dev.err != nil {
			return nil, dev.err
		}
		sending += dev.sending
		playing += dev.playing
	}
	perPeer := func(t time.Duration) float64 { return 100 * t.Seconds() / wall / 2 }
	c.CPU, c.SendPct, c.PlayPct = perPeer(used), perPeer(sending), perPeer(playing)
	c.SwitchesPerSec = float64(switches) / wall / 2
	return c, nil
}

// wakeCost measures what this machine charges the process in CPU time for
// one wake-up of a sleeping goroutine: a 10 ms timer, 100 times.
func wakeCost(ctx context.Context) time.Duration {
	const n = 100
	t := time.NewTimer(period)
	defer t.Stop()
	cpu0 := cpuTime()
	for range n {
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
		}
		t.Reset(period)
	}
	return (cpuTime() - cpu0) / n
}
