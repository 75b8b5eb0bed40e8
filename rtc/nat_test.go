package rtc

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/turn/v5"
)

// The NAT matrix runs calls on pion's virtual network (vnet), where
// nothing touches a real interface:
//
//	               WAN 0.0.0.0/0
//	  STUN/TURN server at 1.2.3.4:3478 (in process)
//	        /                              \
//	NAT 27.1.1.1                       NAT 28.1.1.1
//	LAN 10.1.0.0/24                    LAN 10.2.0.0/24
//	caller 10.1.0.1                    callee 10.2.0.1
//
// The private addresses are unreachable from the other LAN, so every
// direct path goes through both NATs (route srflx or prflx), by hole
// punching with the addresses STUN reports.

const (
	natServerIP = "1.2.3.4"
	natServer   = natServerIP + ":3478"
	natTURNUser = "parley"
	natTURNPass = "s3cret"
)

// natKind is one NAT behaviour of RFC 4787 as vnet models it.
type natKind struct {
	name string
	typ  vnet.NATType
}

var natKinds = []natKind{
	{"full-cone", vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointIndependent}},
	{"addr-restricted", vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointAddrDependent}},
	{"port-restricted", vnet.NATType{MappingBehavior: vnet.EndpointIndependent, FilteringBehavior: vnet.EndpointAddrPortDependent}},
	{"symmetric", vnet.NATType{MappingBehavior: vnet.EndpointAddrPortDependent, FilteringBehavior: vnet.EndpointAddrPortDependent}},
}

// directPath says whether peers behind NATs a and b can reach each other
// without a relay.
//
// A NAT whose mapping is endpoint-independent keeps one public port per
// socket, so the address STUN reports is the one the peer's checks reach.
// A symmetric NAT instead gives every destination a port of its own: the
// port STUN saw is bound to the STUN server and filters everyone else,
// and the checks towards the peer leave from a new port that nobody has
// told the peer about. Those checks get in only if the peer's NAT does
// not filter on the port, that is, if it is full-cone or
// address-restricted (the peer's own checks towards the symmetric side's
// STUN address have already opened it for that IP); the peer then learns
// the new port as a peer-reflexive candidate and answers.
//
// So, on vnet as with real NATs of these kinds, two pairings have no
// direct path and need TURN: symmetric with port-restricted (either way round), and symmetric
// with symmetric. Every other pairing connects directly.
func directPath(a, b vnet.NATType) bool {
	symmetric := func(n vnet.NATType) bool { return n.MappingBehavior != vnet.EndpointIndependent }
	portFiltered := func(n vnet.NATType) bool { return n.FilteringBehavior == vnet.EndpointAddrPortDependent }
	return !(symmetric(a) && portFiltered(b) || symmetric(b) && portFiltered(a))
}

// natWorld is the virtual internet of one test: the caller and callee
// networks, and the server (STUN and TURN) on the WAN.
type natWorld struct {
	caller, callee *vnet.Net
	log            *syncBuffer // vnet's and the server's warnings
}

// vnetMu serializes the building of virtual networks: vnet.NewNet and
// vnet.NewRouter number their MAC addresses with an unguarded package
// counter (transport/v5 v5.1.4, vnet/net.go, newMACAddress), which the
// race detector reports when two are built at once.
var vnetMu sync.Mutex

func newNATWorld(t *testing.T, callerNAT, calleeNAT vnet.NATType) *natWorld {
	t.Helper()
	vnetMu.Lock()
	defer vnetMu.Unlock()
	w := &natWorld{log: &syncBuffer{}}
	lf := &logging.DefaultLoggerFactory{Writer: w.log, DefaultLogLevel: logging.LogLevelWarn}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "0.0.0.0/0", LoggerFactory: lf})
	must(err)
	wanNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{natServerIP}})
	must(err)
	must(wan.AddNet(wanNet))

	lan := func(publicIP, cidr, hostIP string, nat vnet.NATType) *vnet.Net {
		t.Helper()
		r, err := vnet.NewRouter(&vnet.RouterConfig{
			CIDR:          cidr,
			StaticIPs:     []string{publicIP},
			NATType:       &nat,
			LoggerFactory: lf,
		})
		must(err)
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{hostIP}})
		must(err)
		must(r.AddNet(n))
		must(wan.AddRouter(r))
		return n
	}
	w.caller = lan("27.1.1.1", "10.1.0.0/24", "10.1.0.1", callerNAT)
	w.callee = lan("28.1.1.1", "10.2.0.0/24", "10.2.0.1", calleeNAT)

	// Starting the WAN starts its child routers; stopping it stops them.
	must(wan.Start())
	t.Cleanup(func() {
		if err := wan.Stop(); err != nil {
			t.Errorf("stop the WAN router: %v", err)
		}
	})

	conn, err := wanNet.ListenPacket("udp4", natServer)
	must(err)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "parley.test",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != natTURNUser {
				return "", nil, false
			}
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, natTURNPass), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(natServerIP), Address: natServerIP, Net: wanNet},
		}},
		LoggerFactory: lf,
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	// Registered after the WAN's cleanup, so it runs first.
	t.Cleanup(func() { srv.Close() })
	return w
}

// natCase is one call of the matrix.
type natCase struct {
	callerNAT, calleeNAT natKind
	withTURN             bool
	direct               bool // a direct path exists

	world          *natWorld
	callerLog      *syncBuffer
	calleeLog      *syncBuffer
	caller, callee *Call
	paired         chan struct{} // closed once the codes are exchanged
	pairErr        error
}

func (c *natCase) name() string { return c.callerNAT.name + "_x_" + c.calleeNAT.name }

// start builds the case's network and its two calls, and exchanges their
// codes in the background: the codes take a gathering each, and the
// calls then connect (or fail to) on their own, all cases at once.
// connectTimeout is the calls' ConnectTimeout; zero is the default.
func (c *natCase) start(t *testing.T, connectTimeout time.Duration) {
	t.Helper()
	c.world = newNATWorld(t, c.callerNAT.typ, c.calleeNAT.typ)
	c.callerLog, c.calleeLog = &syncBuffer{}, &syncBuffer{}
	newCall := func(n *vnet.Net, log *syncBuffer) *Call {
		t.Helper()
		cfg := Config{
			Net:  n,
			STUN: []string{"stun:" + natServer},
			// Gathering ends as soon as the server has answered; this
			// only bounds it on a busy machine.
			GatherTimeout:  3 * time.Second,
			ConnectTimeout: connectTimeout,
			Log:            log,
		}
		if c.withTURN {
			srv, err := ParseTURN(fmt.Sprintf("turn:%s:%s@%s", natTURNUser, natTURNPass, natServer))
			if err != nil {
				t.Fatal(err)
			}
			cfg.TURN = []TURNServer{srv}
		}
		call, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { call.Close() })
		return call
	}
	c.caller = newCall(c.world.caller, c.callerLog)
	c.callee = newCall(c.world.callee, c.calleeLog)
	c.paired = make(chan struct{})
	// Runs before the calls are closed, so that the exchange below never
	// outlives the test (a subtest left out by -run does not wait for it).
	t.Cleanup(func() { <-c.paired })
	go func() {
		defer close(c.paired)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		invite, err := c.caller.Invite(ctx)
		if err != nil {
			c.pairErr = fmt.Errorf("Invite: %w", err)
			return
		}
		answer, err := c.callee.Join(ctx, invite)
		if err != nil {
			c.pairErr = fmt.Errorf("Join: %w", err)
			return
		}
		if err := c.caller.Accept(answer); err != nil {
			c.pairErr = fmt.Errorf("Accept: %w", err)
		}
	}()
}

// check waits for the case's outcome and checks it.
func (c *natCase) check(t *testing.T, failAfter time.Duration) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("caller's log:\n%s", tail(c.callerLog.String(), 4000))
			t.Logf("callee's log:\n%s", tail(c.calleeLog.String(), 4000))
			t.Logf("vnet and server log:\n%s", tail(c.world.log.String(), 8000))
		}
	})
	<-c.paired
	if c.pairErr != nil {
		t.Fatal(c.pairErr)
	}
	if !c.direct && !c.withTURN {
		// The caller gives up after its connect timeout; the callee
		// would wait for the answer to be used much longer.
		bye := waitFailed(t, c.caller, failAfter+15*time.Second)
		t.Logf("failed as expected: %s", bye.Reason)
		if bye.Err == nil || !strings.Contains(bye.Reason, "no direct path") || !strings.Contains(bye.Reason, "add a TURN server (--turn)") {
			t.Errorf("bye = %q (err %v); want the advice to add a TURN server (--turn)", bye.Reason, bye.Err)
		}
	drain:
		for {
			select {
			case e := <-c.callee.Events():
				if s, ok := e.(StateEvent); ok && s.State == StateConnected {
					t.Errorf("the callee connected (route %s) where no direct path should exist", s.Route)
				}
			default:
				break drain
			}
		}
		return
	}
	// A direct path goes through both NATs. pion sends its checks from
	// the host socket, whose mapping is not the one STUN saw (pion asks
	// STUN from a socket of its own), so a side may learn the peer's end
	// as peer-reflexive; it always does when the peer's NAT is
	// symmetric, which gives each destination a port of its own.
	routes := func(peer natKind) []Route {
		switch {
		case !c.direct:
			return []Route{RouteRelay}
		case peer.typ.MappingBehavior != vnet.EndpointIndependent:
			return []Route{RoutePrflx}
		}
		return []Route{RouteSrflx, RoutePrflx}
	}
	s := waitConnected(t, c.caller)
	if want := routes(c.calleeNAT); !slices.Contains(want, s.Route) {
		t.Errorf("caller's route = %q (%s); want one of %q", s.Route, s.Detail, want)
	}
	if s := waitConnected(t, c.callee); !slices.Contains(routes(c.callerNAT), s.Route) {
		t.Errorf("callee's route = %q (%s); want one of %q", s.Route, s.Detail, routes(c.callerNAT))
	}
	t.Logf("%s", s.Detail)
	chatBothWays(t, c.caller, c.callee)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// chatBothWays sends a message each way and waits for each to arrive.
func chatBothWays(t *testing.T, a, b *Call) {
	t.Helper()
	for _, d := range [][2]*Call{{a, b}, {b, a}} {
		text := fmt.Sprintf("hello across the NATs %p", d[0])
		id, err := d[0].Send(text)
		if err != nil {
			t.Fatal(err)
		}
		if m := next[ChatEvent](t, d[1]); m.Text != text || m.ID != id {
			t.Errorf("got %+v; want %q with id %d", m, text, id)
		}
		if got := next[DeliveredEvent](t, d[0]); got.ID != id {
			t.Errorf("delivered %d; want %d", got.ID, id)
		}
	}
}

// waitFailed reads c's events until its ByeEvent, which it returns; the
// call must not have connected.
func waitFailed(t *testing.T, c *Call, within time.Duration) ByeEvent {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				t.Fatal("events closed without a ByeEvent")
			}
			switch e := e.(type) {
			case StateEvent:
				if e.State == StateConnected {
					t.Fatalf("connected (route %s) where no direct path should exist", e.Route)
				}
			case ByeEvent:
				return e
			}
		case <-timeout:
			t.Fatalf("the call neither connected nor failed within %v", within)
		}
	}
}

// TestNATMatrix calls between every ordered pairing of NAT types (caller
// behind the first, callee behind the second), first with STUN only
// (turn=false) and then with a TURN server too (turn=true).
//
// With STUN only, each pairing with a direct path (see directPath)
// connects through the NATs and chat flows both ways; the three without
// one (port-restricted_x_symmetric, symmetric_x_port-restricted and
// symmetric_x_symmetric) fail after the connect timeout, with the
// doctor's advice to add a TURN server. With TURN, the pairings with a
// direct path still take it, and the other three connect through the
// relay.
//
// All 32 calls start at once, before the subtests: the matrix is mostly
// waiting (gathering, ICE's acceptance delays, the connect timeout), and
// t.Parallel alone runs only GOMAXPROCS subtests at a time (-parallel),
// which on two cores took 27 s instead of 7. So all calls start even when
// -run picks out one subtest.
func TestNATMatrix(t *testing.T) {
	// The calls that must fail give up after this connect timeout. The
	// others keep the default (30 s), to be safe on a loaded machine;
	// they connect within a second or two (pion's ICE waits 0.5 s before
	// it nominates a server-reflexive pair, 2 s for a relay; parley does
	// not wait for a peer-reflexive one).
	const failAfter = 6 * time.Second
	groups := map[bool][]*natCase{}
	for _, withTURN := range []bool{false, true} {
		for _, a := range natKinds {
			for _, b := range natKinds {
				c := &natCase{callerNAT: a, calleeNAT: b, withTURN: withTURN, direct: directPath(a.typ, b.typ)}
				var timeout time.Duration
				if !c.direct && !withTURN {
					timeout = failAfter
				}
				c.start(t, timeout)
				groups[withTURN] = append(groups[withTURN], c)
			}
		}
	}
	for _, withTURN := range []bool{false, true} {
		t.Run(fmt.Sprintf("turn=%v", withTURN), func(t *testing.T) {
			for _, c := range groups[withTURN] {
				t.Run(c.name(), func(t *testing.T) {
					t.Parallel()
					c.check(t, failAfter)
				})
			}
		})
	}
}

// TestNATDirectPath pins the expectation down, so that a change to
// directPath shows up as a change of the matrix.
func TestNATDirectPath(t *testing.T) {
	var needTURN []string
	for _, a := range natKinds {
		for _, b := range natKinds {
			if !directPath(a.typ, b.typ) {
				needTURN = append(needTURN, a.name+"_x_"+b.name)
			}
		}
	}
	want := []string{"port-restricted_x_symmetric", "symmetric_x_port-restricted", "symmetric_x_symmetric"}
	if strings.Join(needTURN, " ") != strings.Join(want, " ") {
		t.Errorf("pairings without a direct path: %v; want %v", needTURN, want)
	}
}
