package rtc

import (
	"net"
	"net/netip"
	"slices"
)

// The addresses a call gathers host candidates on are chosen as a user's
// machine has them: every interface that interfaceFilter lets through
// (no container or VM bridges), its IPv4 addresses, and at most one of its
// IPv6 addresses, never a link-local one. Codes get pasted anywhere, so
// the IPv6 address is a temporary (privacy, RFC 8981) one where the
// interface has one; see bestIPv6.

// hostAddr is one address of a network interface, with what the system
// says of it (Linux: the IFA_F_* flags; elsewhere nothing is known).
type hostAddr struct {
	Addr netip.Addr
	// Temporary is an IPv6 privacy address (IFA_F_TEMPORARY).
	Temporary bool
	// Deprecated is past its preferred lifetime: it still works, but is
	// not for new connections (IFA_F_DEPRECATED).
	Deprecated bool
	// Tentative is not usable yet, or never will be: duplicate address
	// detection has not finished, or failed (IFA_F_TENTATIVE,
	// IFA_F_DADFAILED).
	Tentative bool
}

// hostIface is a network interface and its addresses.
type hostIface struct {
	Name  string
	Flags net.Flags
	Addrs []hostAddr
}

// hostAddrs returns the addresses to gather on, interface by interface in
// the system's order: each interface's IPv4 addresses, then its best IPv6
// one. only and loopback are Config.Interfaces and Config.Loopback.
func hostAddrs(ifs []hostIface, only []string, loopback bool) []netip.Addr {
	allowed := interfaceFilter(only)
	var out []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || !allowed(ifc.Name) || ifc.Flags&net.FlagLoopback != 0 && !loopback {
			continue
		}
		var v6 []hostAddr
		for _, a := range ifc.Addrs {
			ip := a.Addr.Unmap()
			switch {
			case !ip.IsValid(), ip.IsLinkLocalUnicast(), ip.IsMulticast(), ip.IsUnspecified(), a.Tentative:
			case ip.Is4():
				out = append(out, ip)
			default:
				v6 = append(v6, hostAddr{ip, a.Temporary, a.Deprecated, false})
			}
		}
		if best, ok := bestIPv6(v6); ok {
			out = append(out, best)
		}
	}
	return out
}

// bestIPv6 picks one of an interface's usable IPv6 addresses: one still
// preferred (not deprecated) before one that is not; then a temporary one
// before a stable one; then a global one before a unique local one
// (fc00::/7, which reaches no further than the site); then one that does
// not embed the interface's MAC address (modified EUI-64, "ff:fe" in the
// middle), which is how a stable address is told where the system gives
// no flags; then the first.
func bestIPv6(as []hostAddr) (netip.Addr, bool) {
	if len(as) == 0 {
		return netip.Addr{}, false
	}
	rank := func(a hostAddr) [4]int {
		return [4]int{boolInt(a.Deprecated), boolInt(!a.Temporary), boolInt(isULA(a.Addr)), boolInt(isEUI64(a.Addr))}
	}
	best := slices.MinFunc(as, func(a, b hostAddr) int {
		ra, rb := rank(a), rank(b)
		return slices.Compare(ra[:], rb[:])
	})
	return best.Addr, true
}

func isULA(a netip.Addr) bool { return netip.MustParsePrefix("fc00::/7").Contains(a) }

// isEUI64 reports whether an IPv6 address's interface identifier is a
// modified EUI-64, made from a MAC address.
func isEUI64(a netip.Addr) bool {
	b := a.As16()
	return b[11] == 0xff && b[12] == 0xfe
}

// ipFilter returns pion's IP filter for host candidates: an address
// hostAddrs chooses among the system's interfaces passes; another address
// of theirs does not; an address they do not have (pion's virtual
// network, or an address that came since) passes unless it is link-local.
// The interfaces are read again at each call, so that a gathering sees
// them as they are then.
func ipFilter(list func() []hostIface, only []string, loopback bool) func(net.IP) bool {
	return func(raw net.IP) bool {
		ip, ok := netip.AddrFromSlice(raw)
		if !ok {
			return false
		}
		ip = ip.Unmap()
		if ip.IsLinkLocalUnicast() {
			return false
		}
		if list == nil {
			return true
		}
		ifs := list()
		if slices.Contains(hostAddrs(ifs, only, loopback), ip) {
			return true
		}
		for _, ifc := range ifs {
			if slices.ContainsFunc(ifc.Addrs, func(a hostAddr) bool { return a.Addr.Unmap() == ip }) {
				return false
			}
		}
		return true
	}
}

// portableIfaces lists the interfaces with what the standard library
// knows of them: addresses, without flags.
func portableIfaces() []hostIface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]hostIface, 0, len(ifs))
	for _, i := range ifs {
		hi := hostIface{Name: i.Name, Flags: i.Flags}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					hi.Addrs = append(hi.Addrs, hostAddr{Addr: ip.Unmap()})
				}
			}
		}
		out = append(out, hi)
	}
	return out
}
