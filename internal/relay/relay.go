// Package relay is an in-process UDP relay that impairs the traffic it
// carries: random and bursty loss, delay, jitter (and so reordering),
// duplication and outages. Tests and the benchmark put it between two
// peers on loopback, where the kernel offers no netem.
//
// A relay has two sides. Peer A sends to SideA and peer B to SideB; what
// arrives at one side leaves from the other, towards the address last
// heard from there (or the one set with SetTarget).
package relay

import (
	"errors"
	"math/rand"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Impairment says what happens to packets in one direction.
type Impairment struct {
	// Loss is the probability that a packet is dropped, at random.
	Loss float64
	// Burst, if set, drops packets in bursts (Gilbert–Elliott) instead.
	Burst *GilbertElliott
	// Delay is added to every packet; Jitter adds a further uniform random
	// delay in [0, Jitter), which reorders packets closer than that.
	Delay, Jitter time.Duration
	// Duplicate is the probability that a packet is sent twice.
	Duplicate float64
}

// GilbertElliott is a two-state loss model: in the good state packets are
// lost with probability LossGood, in the bad state with LossBad; PGoodBad
// and PBadGood are the per-packet probabilities of changing state.
type GilbertElliott struct {
	PGoodBad, PBadGood float64
	LossGood, LossBad  float64
}

// BurstyLoss returns a Gilbert–Elliott model with the given average loss
// and mean burst length in packets; losses in the bad state are certain.
func BurstyLoss(loss, meanBurst float64) *GilbertElliott {
	pbg := 1 / meanBurst
	return &GilbertElliott{PGoodBad: loss * pbg / (1 - loss), PBadGood: pbg, LossBad: 1}
}

// Stats counts what a direction did.
type Stats struct {
	Forwarded, Dropped, Duplicated int
}

// Relay is a running relay. Its methods are safe for concurrent use.
type Relay struct {
	sides  [2]*side
	wg     sync.WaitGroup
	mu     sync.Mutex
	down   bool
	rng    *rand.Rand
	timers map[*time.Timer]struct{}
	closed bool
}

type side struct {
	conn   *net.UDPConn
	target netip.AddrPort // where packets leaving this side go
	imp    Impairment
	bad    bool
	stats  Stats
}

// New starts a relay on two loopback ports. aToB impairs what A sends to
// B; bToA what B sends to A. seed makes the impairments repeatable.
func New(aToB, bToA Impairment, seed int64) (*Relay, error) {
	r := &Relay{rng: rand.New(rand.NewSource(seed)), timers: map[*time.Timer]struct{}{}}
	for i := range r.sides {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			r.Close()
			return nil, err
		}
		r.sides[i] = &side{conn: conn}
	}
	// Packets arriving at side A travel A→B and leave from side B.
	r.sides[1].imp, r.sides[0].imp = aToB, bToA
	for i := range r.sides {
		r.wg.Add(1)
		go r.forward(i)
	}
	return r, nil
}

// SideA is the address peer A should send to.
func (r *Relay) SideA() netip.AddrPort { return r.sides[0].conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SideB is the address peer B should send to.
func (r *Relay) SideB() netip.AddrPort { return r.sides[1].conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetTargetA sets peer A's address, before A has sent anything.
func (r *Relay) SetTargetA(a netip.AddrPort) { r.setTarget(0, a) }

// SetTargetB sets peer B's address, before B has sent anything.
func (r *Relay) SetTargetB(b netip.AddrPort) { r.setTarget(1, b) }

func (r *Relay) setTarget(i int, a netip.AddrPort) {
	r.mu.Lock()
	r.sides[i].target = a
	r.mu.Unlock()
}

// SetDown starts (true) or ends (false) an outage: every packet is lost.
func (r *Relay) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// Stats returns the counts of the directions A→B and B→A.
func (r *Relay) Stats() (aToB, bToA Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sides[1].stats, r.sides[0].stats
}

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	for t := range r.timers {
		t.Stop()
	}
	r.mu.Unlock()
	for _, s := range r.sides {
		if s != nil {
			s.conn.Close()
		}
	}
	r.wg.Wait()
	return nil
}

// forward reads packets arriving at side i and sends them on from the
// other side.
func (r *Relay) forward(i int) {
	defer r.wg.Done()
	in, out := r.sides[i], r.sides[1-i]
	buf := make([]byte, 64<<10)
	for {
		n, from, err := in.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		in.target = from // replies to this side go back to the sender
		copies, delays := r.decide(out)
		to := out.target
		r.mu.Unlock()
		if !to.IsValid() {
			continue
		}
		for c := 0; c < copies; c++ {
			r.send(out.conn, pkt, to, delays[c])
		}
	}
}

// decide applies out's impairment to one packet: how many copies to send
// and after what delays. The caller holds r.mu.
func (r *Relay) decide(out *side) (int, [2]time.Duration) {
	imp := &out.imp
	lost := r.down
	if !lost {
		if g := imp.Burst; g != nil {
			if out.bad {
				out.bad = r.rng.Float64() >= g.PBadGood
			} else {
				out.bad = r.rng.Float64() < g.PGoodBad
			}
			p := g.LossGood
			if out.bad {
				p = g.LossBad
			}
			lost = r.rng.Float64() < p
		} else {
			lost = r.rng.Float64() < imp.Loss
		}
	}
	if lost {
		out.stats.Dropped++
		return 0, [2]time.Duration{}
	}
	out.stats.Forwarded++
	copies := 1
	if r.rng.Float64() < imp.Duplicate {
		copies = 2
		out.stats.Duplicated++
	}
	var d [2]time.Duration
	for c := range copies {
		d[c] = imp.Delay
		if imp.Jitter > 0 {
			d[c] += time.Duration(r.rng.Int63n(int64(imp.Jitter)))
		}
	}
	return copies, d
}

func (r *Relay) send(conn *net.UDPConn, pkt []byte, to netip.AddrPort, delay time.Duration) {
	if delay <= 0 {
		conn.WriteToUDPAddrPort(pkt, to)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		r.mu.Lock()
		delete(r.timers, t)
		closed := r.closed
		r.mu.Unlock()
		if !closed {
			conn.WriteToUDPAddrPort(pkt, to)
		}
	})
	r.timers[t] = struct{}{}
}
