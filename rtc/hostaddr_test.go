package rtc

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// laptop is the interface list of a laptop on Wi-Fi with IPv6 (SLAAC with
// privacy addresses: two temporary addresses, the older one deprecated,
// and the stable one the kernel makes them from), a wired port that is
// down, Docker (its bridge, a container's veth, a compose network's
// bridge), a libvirt bridge, and a VPN with an address of each family.
func laptop() []hostIface {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	a := func(s string) hostAddr { return hostAddr{Addr: netip.MustParseAddr(s)} }
	temp := func(s string) hostAddr { return hostAddr{Addr: netip.MustParseAddr(s), Temporary: true} }
	return []hostIface{
		{Name: "lo", Flags: net.FlagUp | net.FlagLoopback | net.FlagRunning, Addrs: []hostAddr{a("127.0.0.1"), a("::1")}},
		{Name: "enp0s31f6", Flags: net.FlagBroadcast | net.FlagMulticast, Addrs: []hostAddr{a("fe80::3e52:82ff:fe11:2233")}},
		{Name: "wlp2s0", Flags: up, Addrs: []hostAddr{
			a("192.168.1.23"),
			{Addr: netip.MustParseAddr("2001:db8:85a3:4d2:1c2b:9e1f:77a0:3b15"), Temporary: true, Deprecated: true},
			temp("2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10"),
			a("2001:db8:85a3:4d2:3e52:82ff:fe44:5566"), // stable, EUI-64
			a("fd5e:2c1a:9b7f:1:3e52:82ff:fe44:5566"),  // unique local
			a("fe80::3e52:82ff:fe44:5566"),
		}},
		{Name: "docker0", Flags: up, Addrs: []hostAddr{a("172.17.0.1"), a("fe80::42:acff:fe11:1")}},
		{Name: "veth3f2a1b0", Flags: up, Addrs: []hostAddr{a("fe80::b8d4:6eff:fe2a:10c3")}},
		{Name: "br-5c2e9d1f0a7b", Flags: up, Addrs: []hostAddr{a("172.18.0.1"), a("fe80::42:1fff:fe9a:2")}},
		{Name: "virbr0", Flags: up, Addrs: []hostAddr{a("192.168.122.1")}},
		{Name: "wg0", Flags: net.FlagUp | net.FlagPointToPoint | net.FlagRunning, Addrs: []hostAddr{a("10.8.0.5"), a("fd00:8::5")}},
	}
}

// TestCandidateChoice feeds the choice of addresses a realistic interface
// list and pion's candidates on what it chose, with a server-reflexive
// address and one that only repeats a host address, and checks what a
// code carries: no link-local address, no bridge, one IPv6 address per
// interface (the temporary one still preferred, on Wi-Fi), no duplicate,
// best first.
func TestCandidateChoice(t *testing.T) {
	addrs := hostAddrs(laptop(), nil, false)
	want := []netip.Addr{
		netip.MustParseAddr("192.168.1.23"),
		netip.MustParseAddr("2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10"),
		netip.MustParseAddr("10.8.0.5"),
		netip.MustParseAddr("fd00:8::5"),
	}
	if !slices.Equal(addrs, want) {
		t.Errorf("hostAddrs(laptop) = %v; want %v", addrs, want)
	}

	// pion gathers a host candidate on each, and STUN finds a mapped
	// IPv4 address and, for IPv6 (no NAT), the host address again.
	var gathered []Candidate
	for i, a := range addrs {
		gathered = append(gathered, Candidate{Type: CandidateHost, Addr: netip.AddrPortFrom(a, uint16(50000+i))})
	}
	gathered = append(gathered,
		Candidate{Type: CandidateSrflx, Addr: netip.MustParseAddrPort("[2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10]:50001")},
		Candidate{Type: CandidateSrflx, Addr: netip.MustParseAddrPort("203.0.113.7:61000")},
		Candidate{Type: CandidateHost, Addr: netip.MustParseAddrPort("192.168.1.23:50000")},
		Candidate{Type: CandidateSrflx, Addr: netip.MustParseAddrPort("[2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10]:40000")},
	)
	got := pickCandidates(gathered)
	wantCands := []string{
		"host 192.168.1.23:50000",
		"host 10.8.0.5:50002",
		"host [2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10]:50001",
		"host [fd00:8::5]:50003",
		"srflx 203.0.113.7:61000",
	}
	var gotS []string
	for _, c := range got {
		gotS = append(gotS, c.Type.String()+" "+c.Addr.String())
	}
	if !slices.Equal(gotS, wantCands) {
		t.Errorf("pickCandidates = %q; want %q", gotS, wantCands)
	}

	// The Wi-Fi alone: the code a user there pastes.
	code := testCode(KindInvite)
	code.Candidates = pickCandidates([]Candidate{gathered[0], gathered[1], gathered[4], gathered[5]})
	t.Logf("on Wi-Fi with STUN: %v, invite %d characters", code.Candidates, len(code.String()))
}

// TestBestIPv6 holds the order of preference among an interface's IPv6
// addresses, with and without the system's flags.
func TestBestIPv6(t *testing.T) {
	p := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		in   []hostAddr
		want string
	}{
		{"temporary over stable", []hostAddr{{Addr: p("2001:db8::3e52:82ff:fe44:5566")}, {Addr: p("2001:db8::a9c1:37ff:b2e4:6f10"), Temporary: true}}, "2001:db8::a9c1:37ff:b2e4:6f10"},
		{"a preferred stable over a deprecated temporary", []hostAddr{{Addr: p("2001:db8::1c2b:9e1f:77a0:3b15"), Temporary: true, Deprecated: true}, {Addr: p("2001:db8::3e52:82ff:fe44:5566")}}, "2001:db8::3e52:82ff:fe44:5566"},
		{"the newer temporary", []hostAddr{{Addr: p("2001:db8::1c2b:9e1f:77a0:3b15"), Temporary: true, Deprecated: true}, {Addr: p("2001:db8::a9c1:37ff:b2e4:6f10"), Temporary: true}}, "2001:db8::a9c1:37ff:b2e4:6f10"},
		{"global over unique local", []hostAddr{{Addr: p("fd5e:2c1a:9b7f:1::7")}, {Addr: p("2001:db8::7")}}, "2001:db8::7"},
		{"no flags: not the MAC-derived one", []hostAddr{{Addr: p("2001:db8::3e52:82ff:fe44:5566")}, {Addr: p("2001:db8::a9c1:37ff:b2e4:6f10")}}, "2001:db8::a9c1:37ff:b2e4:6f10"},
		{"no flags, no MAC: the first", []hostAddr{{Addr: p("2001:db8::5")}, {Addr: p("2001:db8::6")}}, "2001:db8::5"},
	} {
		got, ok := bestIPv6(tc.in)
		if !ok || got != p(tc.want) {
			t.Errorf("%s: bestIPv6 = %v; want %v", tc.name, got, tc.want)
		}
	}
	if _, ok := bestIPv6(nil); ok {
		t.Error("bestIPv6(nil) found an address")
	}
}

// TestHostAddrsOptions: Config.Interfaces names the only interfaces,
// bridges included if named; loopback only with Config.Loopback;
// tentative addresses never.
func TestHostAddrsOptions(t *testing.T) {
	ifs := laptop()
	if got := hostAddrs(ifs, []string{"docker0"}, false); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("172.17.0.1")}) {
		t.Errorf("only docker0: %v", got)
	}
	if got := hostAddrs(ifs, []string{"lo"}, true); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}) {
		t.Errorf("only lo, with loopback: %v", got)
	}
	if got := hostAddrs(ifs, []string{"lo"}, false); len(got) != 0 {
		t.Errorf("only lo, without loopback: %v", got)
	}
	ifs[2].Addrs[2].Tentative = true // the preferred temporary address
	if got := hostAddrs(ifs, []string{"wlp2s0"}, false); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("192.168.1.23"), netip.MustParseAddr("2001:db8:85a3:4d2:3e52:82ff:fe44:5566")}) {
		t.Errorf("wlp2s0 with its temporary address tentative: %v", got)
	}
}

// TestIPFilter: pion's filter lets through what hostAddrs chose, not the
// interfaces' other addresses, and an address the interfaces do not have
// (pion's virtual network) unless it is link-local.
func TestIPFilter(t *testing.T) {
	f := ipFilter(laptop, nil, false)
	for ip, want := range map[string]bool{
		"192.168.1.23":                          true,
		"2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10": true,
		"2001:db8:85a3:4d2:3e52:82ff:fe44:5566": false,
		"fd5e:2c1a:9b7f:1:3e52:82ff:fe44:5566":  false,
		"fe80::3e52:82ff:fe44:5566":             false,
		"172.17.0.1":                            false,
		"10.0.0.2":                              true,
		"fe80::1":                               false,
		"169.254.7.7":                           false,
	} {
		if got := f(net.ParseIP(ip)); got != want {
			t.Errorf("filter(%s) = %v; want %v", ip, got, want)
		}
	}
	vnet := ipFilter(nil, nil, false)
	if !vnet(net.ParseIP("1.2.3.4")) || vnet(net.ParseIP("fe80::1")) {
		t.Error("without a system list, the filter should pass all but link-local addresses")
	}
}

// TestSystemIfaces: the system's list (netlink on Linux) has the
// addresses the standard library sees, interface by interface. Other
// tests on this machine may add and remove interfaces meanwhile, so the
// two are read again, a few times, until they agree.
func TestSystemIfaces(t *testing.T) {
	key := func(ifs []hostIface) []string {
		var out []string
		for _, i := range ifs {
			var as []string
			for _, a := range i.Addrs {
				as = append(as, a.Addr.String())
			}
			slices.Sort(as)
			out = append(out, fmt.Sprint(i.Name, as))
		}
		return out
	}
	var sys, std []string
	for range 10 {
		sys, std = key(systemIfaces()), key(portableIfaces())
		if slices.Equal(sys, std) {
			t.Logf("%q", sys)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("systemIfaces: %q\nnet.Interfaces: %q", sys, std)
}
