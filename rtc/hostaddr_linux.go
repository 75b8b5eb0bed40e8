package rtc

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
)

// The address flags of Linux (linux/if_addr.h). The byte in ifaddrmsg
// holds the low eight; the IFA_FLAGS attribute, where the kernel sends it
// (3.14 and later), all 32.
const (
	ifaFlags        = 8 // IFA_FLAGS
	ifaFTemporary   = 0x01
	ifaFDADFailed   = 0x08
	ifaFDeprecated  = 0x20
	ifaFTentative   = 0x40
	ifAddrMsgLength = 8 // sizeof(struct ifaddrmsg)
)

// systemIfaces lists the interfaces with their addresses and the flags
// the kernel keeps for them, read by netlink; where that fails, what the
// standard library knows.
func systemIfaces() []hostIface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return portableIfaces()
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return portableIfaces()
	}
	byIndex := map[int]int{}
	out := make([]hostIface, len(ifs))
	for i, ifc := range ifs {
		out[i] = hostIface{Name: ifc.Name, Flags: ifc.Flags}
		byIndex[ifc.Index] = i
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < ifAddrMsgLength {
			continue
		}
		a, index, ok := parseAddrMsg(m)
		if at, known := byIndex[index]; ok && known {
			out[at].Addrs = append(out[at].Addrs, a)
		}
	}
	return out
}

// parseAddrMsg reads one RTM_NEWADDR message: the address, its flags and
// the index of its interface.
func parseAddrMsg(m *syscall.NetlinkMessage) (hostAddr, int, bool) {
	family, flags := m.Data[0], uint32(m.Data[2])
	index := int(binary.NativeEndian.Uint32(m.Data[4:8]))
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return hostAddr{}, 0, false
	}
	var addr, local netip.Addr
	for _, at := range attrs {
		switch at.Attr.Type {
		case syscall.IFA_ADDRESS:
			addr, _ = netip.AddrFromSlice(at.Value)
		case syscall.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(at.Value)
		case ifaFlags:
			if len(at.Value) >= 4 {
				flags = binary.NativeEndian.Uint32(at.Value)
			}
		}
	}
	// For IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS
	// the peer's on a point-to-point link; IPv6 sends only IFA_ADDRESS.
	if family == syscall.AF_INET && local.IsValid() {
		addr = local
	}
	if !addr.IsValid() {
		return hostAddr{}, 0, false
	}
	return hostAddr{
		Addr:       addr.Unmap(),
		Temporary:  flags&ifaFTemporary != 0,
		Deprecated: flags&ifaFDeprecated != 0,
		Tentative:  flags&(ifaFTentative|ifaFDADFailed) != 0,
	}, index, true
}
