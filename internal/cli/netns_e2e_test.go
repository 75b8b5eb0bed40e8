package cli

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The network-change tests run two parleys in network namespaces of their
// own, joined by a veth pair, and change one side's address mid-call.
// They need root and iproute2; CI runs them as root.

// backWithin is how soon after one side's address changes the call must
// carry chat and sound again, with no new codes.
const backWithin = 5 * time.Second

// nsSeq numbers this process's namespaces, with its pid for uniqueness.
var nsSeq atomic.Int32

// netns is a pair of network namespaces, a and b, joined by a veth pair:
// a has 10.91.0.1/24, b 10.91.0.2/24, or on IPv6 only fd00:91::1/64 and
// fd00:91::2/64.
type netns struct {
	t          *testing.T
	a, b       string // namespace names
	vetA, vetB string // interface names
}

func needNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (CI runs it as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2) to make network namespaces")
	}
}

func newNetns(t *testing.T, ipv6 bool) *netns {
	t.Helper()
	needNetns(t)
	id := fmt.Sprintf("%d%d", os.Getpid()%100000, nsSeq.Add(1))
	n := &netns{t: t, a: "parley-a" + id, b: "parley-b" + id, vetA: "pa" + id, vetB: "pb" + id}
	t.Cleanup(func() {
		// Deleting a namespace deletes its end of the veth pair, and so
		// the pair.
		exec.Command("ip", "netns", "del", n.a).Run()
		exec.Command("ip", "netns", "del", n.b).Run()
	})
	n.ip("netns", "add", n.a)
	n.ip("netns", "add", n.b)
	for _, ns := range []string{n.a, n.b} {
		// An address removed takes the others of its subnet with it
		// unless they are promoted, as desktop systems have it.
		n.ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.default.promote_secondaries=1", "net.ipv4.conf.all.promote_secondaries=1")
		n.ip("-n", ns, "link", "set", "lo", "up")
	}
	n.ip("link", "add", n.vetA, "netns", n.a, "type", "veth", "peer", "name", n.vetB, "netns", n.b)
	if ipv6 {
		// nodad: the address is usable at once, not after duplicate
		// address detection.
		n.ip("-n", n.a, "addr", "add", "fd00:91::1/64", "dev", n.vetA, "nodad")
		n.ip("-n", n.b, "addr", "add", "fd00:91::2/64", "dev", n.vetB, "nodad")
	} else {
		n.ip("-n", n.a, "addr", "add", "10.91.0.1/24", "dev", n.vetA)
		n.ip("-n", n.b, "addr", "add", "10.91.0.2/24", "dev", n.vetB)
	}
	n.ip("-n", n.a, "link", "set", n.vetA, "up")
	n.ip("-n", n.b, "link", "set", n.vetB, "up")
	return n
}

func (n *netns) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start runs parley in namespace ns, headless, sending a tone and
// printing stats.
func (n *netns) start(ns, name string, args ...string) *peer {
	n.t.Helper()
	flags := []string{"--headless", "--stun", "none", "--audio-in", "tone",
		"--audio-out", filepath.Join(n.t.TempDir(), name+".wav"), "--stats"}
	log := filepath.Join(n.t.TempDir(), name+".log")
	flags = append(flags, "--log", log)
	n.t.Cleanup(func() {
		if b, err := os.ReadFile(log); err == nil && (n.t.Failed() || os.Getenv("PARLEY_NETNS_LOG") != "") {
			n.t.Logf("%s log:\n%s", name, b)
		}
	})
	// Without the race detector: these tests are about the network, and
	// four race-checked parleys with sound would load the machine that
	// the timing tests beside them share.
	cmd := append([]string{"netns", "exec", ns, plainBinary(n.t), args[0]}, flags...)
	return startRaw(n.t, "ip", nil, name, append(cmd, args[1:]...)...)
}

// connect runs a caller in namespace a and a callee in b, joined
// through their codes, and waits until both are connected and hear each
// other.
func (n *netns) connect() (caller, callee *peer) {
	n.t.Helper()
	caller = n.start(n.a, "caller", "call")
	invite := caller.next("invite")["code"].(string)
	callee = n.start(n.b, "callee", "join", invite)
	caller.send(callee.next("answer")["code"].(string))
	for _, p := range []*peer{caller, callee} {
		for p.next("state")["state"] != "connected" {
		}
		p.audioFlows(0, 25)
	}
	return caller, callee
}

// heard returns the frames played from the peer's packets (not concealed)
// in a stats line.
func heard(s map[string]any) float64 {
	f, _ := s["frames"].(float64)
	c, _ := s["concealed"].(float64)
	return f - c
}

// drain drops the lines p has written so far.
func (p *peer) drain() {
	for {
		select {
		case <-p.events:
		default:
			return
		}
	}
}

// comeback is what a side must see again after the other's move: the
// messages typed since, in order and once, and the peer's sound.
type comeback struct {
	p     *peer
	texts []string // still to come

	base        float64 // frames heard at the first stats line since the move
	chat, sound time.Time
}

// awaitBack reads both sides' lines until each has all its messages and
// frames more of the peer's sound than at its first stats line after the
// move, or until deadline, and returns the time of the last of them.
func awaitBack(t *testing.T, frames float64, deadline time.Time, sides ...*comeback) time.Time {
	t.Helper()
	for _, s := range sides {
		s.base = -1
	}
	timeout := time.After(time.Until(deadline) + 5*time.Second)
	var last time.Time
	for {
		done := true
		for _, s := range sides {
			done = done && !s.chat.IsZero() && !s.sound.IsZero()
		}
		if done {
			return last
		}
		cases := make([]<-chan map[string]any, len(sides))
		for i, s := range sides {
			cases[i] = s.p.events
		}
		var m map[string]any
		var s *comeback
		select {
		case m = <-cases[0]:
			s = sides[0]
		case m = <-cases[1]:
			s = sides[1]
		case <-timeout:
			for _, s := range sides {
				t.Errorf("%s: still waiting for chat %q; sound back: %v", s.p.name, s.texts, !s.sound.IsZero())
			}
			t.Fatalf("not back %v after the deadline", 5*time.Second)
		}
		if m == nil {
			t.Fatalf("%s: output ended", s.p.name)
		}
		now := time.Now()
		switch m["type"] {
		case "chat":
			if len(s.texts) == 0 || m["text"] != s.texts[0] {
				t.Fatalf("%s: got chat %v; want the next of %q", s.p.name, m, s.texts)
			}
			s.texts = s.texts[1:]
			if len(s.texts) == 0 {
				s.chat = now
			}
		case "stats":
			switch h := heard(m); {
			case s.base < 0:
				s.base = h
			case h >= s.base+frames && s.sound.IsZero():
				s.sound = now
			}
		default:
			continue
		}
		if now.After(last) {
			last = now
		}
	}
}

// TestAddressChange replaces one side's address mid-call (the new one
// added, then the old one removed, as a new DHCP lease does): chat typed
// meanwhile arrives, in order, and sound flows again, within backWithin,
// with no new codes. The other side's address stays.
func TestAddressChange(t *testing.T) {
	for _, c := range []struct {
		name, mover string
		ipv6        bool
		old, new    string // the mover's address before and after
	}{
		{"callee moves", "callee", false, "10.91.0.2/24", "10.91.0.3/24"},
		{"caller moves", "caller", false, "10.91.0.1/24", "10.91.0.4/24"},
		{"callee moves on IPv6", "callee", true, "fd00:91::2/64", "fd00:91::3/64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			mover := c.mover
			n := newNetns(t, c.ipv6)
			caller, callee := n.connect()
			ns, dev := n.b, n.vetB
			if mover == "caller" {
				ns, dev = n.a, n.vetA
			}
			caller.drain()
			callee.drain()
			add := []string{"-n", ns, "addr", "add", c.new, "dev", dev}
			if c.ipv6 {
				add = append(add, "nodad")
			}
			n.ip(add...)
			moved := time.Now() // the old address goes during the command: count from its start
			n.ip("-n", ns, "addr", "del", c.old, "dev", dev)
			caller.send("typed after the move 1")
			caller.send("typed after the move 2")
			callee.send("typed after the move, back")
			toCallee := &comeback{p: callee, texts: []string{"typed after the move 1", "typed after the move 2"}}
			toCaller := &comeback{p: caller, texts: []string{"typed after the move, back"}}
			awaitBack(t, 25, moved.Add(backWithin), toCallee, toCaller)
			var last time.Duration
			for _, s := range []*comeback{toCallee, toCaller} {
				chat, sound := s.chat.Sub(moved), s.sound.Sub(moved)
				t.Logf("%s: %s has the chat back after %v, the sound after %v", c.name, s.p.name, chat.Round(10*time.Millisecond), sound.Round(10*time.Millisecond))
				last = max(last, chat, sound)
			}
			if last > backWithin {
				t.Errorf("back %v after the move; want within %v", last.Round(10*time.Millisecond), backWithin)
			}
			caller.send("/quit")
			for _, p := range []*peer{callee, caller} {
				events, code := p.rest()
				if code != 0 {
					t.Errorf("%s exited %d; want 0", p.name, code)
				}
				if texts := chatTexts(events); len(texts) > 0 {
					t.Errorf("%s got more chat after all had come: %q", p.name, texts)
				}
			}
		})
	}
}

// TestAddressChangeOutOfReach moves the callee to an address from which
// the caller cannot be reached (another subnet, no route): the callee
// says "reconnecting…" meanwhile, and when the call is given up, that its
// network changed and the peer could not be reached from the new one.
func TestAddressChangeOutOfReach(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 15 s")
	}
	t.Parallel()
	n := newNetns(t, false)
	_, callee := n.connect()
	n.ip("-n", n.b, "addr", "add", "10.92.0.2/24", "dev", n.vetB)
	n.ip("-n", n.b, "addr", "del", "10.91.0.2/24", "dev", n.vetB)
	if s := callee.next("state"); s["state"] != "disconnected" || s["detail"] != "reconnecting…" {
		t.Errorf("callee's state after the move = %v; want disconnected, reconnecting…", s)
	}
	events, code := callee.rest()
	if code != 1 {
		t.Errorf("callee exited %d; want 1", code)
	}
	bye := events[len(events)-1]
	if r, _ := bye["reason"].(string); bye["type"] != "bye" || !strings.Contains(r, "your network changed and your peer could not be reached from the new one") {
		t.Errorf("callee's last line = %v; want a bye saying its network changed", bye)
	}
}

// TestSecondNetwork gives the callee a second network while the first
// works (a second link to the caller's machine), then takes the first
// away: the call moves over with no chat message delayed by more than
// maxDelay, while both sides type every 100 ms, and the sound goes on.
// With only a default route (a wired port under Wi-Fi), the second
// network takes over when the first goes; with a route to the peer that
// the kernel prefers at once (a VPN's), before.
func TestSecondNetwork(t *testing.T) {
	for _, c := range []struct {
		name   string
		routes [][]string // the callee's routes through the second network
	}{
		{"taken when the first goes", [][]string{{"default", "via", "10.93.0.1"}}},
		{"taken at once", [][]string{{"default", "via", "10.93.0.1"}, {"10.91.0.1/32", "via", "10.93.0.1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			secondNetwork(t, c.routes)
		})
	}
}

func secondNetwork(t *testing.T, routes [][]string) {
	const maxDelay = time.Second
	n := newNetns(t, false)
	caller, callee := n.connect()
	// Both sides' lines are read as they come, and stamped then.
	type line struct {
		p  *peer
		m  map[string]any
		at time.Time
	}
	lines := make(chan line, 1024)
	var readers sync.WaitGroup
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopReading := func() {
		stopOnce.Do(func() { close(stop) })
		readers.Wait()
	}
	t.Cleanup(stopReading)
	for _, p := range []*peer{caller, callee} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case m := <-p.events:
					lines <- line{p, m, time.Now()}
					if m == nil {
						return
					}
				case <-stop:
					return
				}
			}
		}()
	}

	// Each side types every 100 ms, from 1 s before the second network
	// comes to 2.5 s after the first goes.
	const every, count = 100 * time.Millisecond, 50
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	errs := make(chan error, 2)
	for _, p := range []*peer{caller, callee} {
		go func() {
			for k := range count {
				text := fmt.Sprintf("%s %d", p.name, k)
				mu.Lock()
				sentAt[text] = time.Now()
				mu.Unlock()
				if _, err := io.WriteString(p.stdin, text+"\n"); err != nil {
					errs <- err
					return
				}
				time.Sleep(every)
			}
			errs <- nil
		}()
	}
	time.Sleep(time.Second)
	a2, b2 := n.vetA+"x", n.vetB+"x"
	n.ip("link", "add", a2, "netns", n.a, "type", "veth", "peer", "name", b2, "netns", n.b)
	n.ip("-n", n.a, "addr", "add", "10.93.0.1/24", "dev", a2)
	n.ip("-n", n.b, "addr", "add", "10.93.0.2/24", "dev", b2)
	n.ip("-n", n.a, "link", "set", a2, "up")
	n.ip("-n", n.b, "link", "set", b2, "up")
	for _, r := range routes {
		n.ip(append(append([]string{"-n", n.b, "route", "add"}, r...), "dev", b2)...)
	}
	time.Sleep(time.Second)
	gone := time.Now()
	n.ip("-n", n.b, "addr", "del", "10.91.0.2/24", "dev", n.vetB)
	n.ip("-n", n.b, "link", "set", n.vetB, "down")

	// Each chat line must be the next of the other side's, within
	// maxDelay of its typing.
	next := map[*peer]int{caller: 0, callee: 0}
	other := map[*peer]string{caller: "callee", callee: "caller"}
	var worst time.Duration
	timeout := time.After(20 * time.Second)
	for next[caller] < count || next[callee] < count {
		var l line
		select {
		case l = <-lines:
		case <-timeout:
			t.Fatalf("not all chat came within 20 s: caller has %d, callee %d of %d", next[caller], next[callee], count)
		}
		p, m := l.p, l.m
		if m == nil {
			t.Fatalf("%s: output ended", p.name)
		}
		if m["type"] != "chat" {
			continue
		}
		now := l.at
		want := fmt.Sprintf("%s %d", other[p], next[p])
		if m["text"] != want {
			t.Fatalf("%s got %v; want %q next", p.name, m, want)
		}
		next[p]++
		mu.Lock()
		at := sentAt[want]
		mu.Unlock()
		d := now.Sub(at)
		worst = max(worst, d)
		if d > maxDelay {
			t.Errorf("%q took %v (typed %v after the first network went)", want, d.Round(10*time.Millisecond), at.Sub(gone).Round(10*time.Millisecond))
		}
	}
	stopReading()
	t.Logf("the longest a chat message took: %v", worst.Round(time.Millisecond))
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*peer{caller, callee} {
		now := p.audioFlows(0, 0)
		p.audioFlows(now, 25)
	}
	caller.send("/quit")
	for _, p := range []*peer{callee, caller} {
		if _, code := p.rest(); code != 0 {
			t.Errorf("%s exited %d; want 0", p.name, code)
		}
	}
}
