package rtc

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"
)

// addrMsg builds an RTM_NEWADDR message as the kernel sends it: the
// ifaddrmsg (family, prefix length, the low byte of the flags, scope,
// interface index), then attributes.
func addrMsg(family byte, index uint32, flags8 byte, attrs ...[]byte) *syscall.NetlinkMessage {
	data := []byte{family, 64, flags8, 0}
	data = binary.NativeEndian.AppendUint32(data, index)
	for _, a := range attrs {
		data = append(data, a...)
	}
	return &syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: syscall.RTM_NEWADDR}, Data: data}
}

func rtattr(typ uint16, value []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(value)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, value...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// TestParseAddrMsg reads the flags of addresses from netlink messages:
// from IFA_FLAGS where the kernel sends it, else from the header's byte;
// and an IPv4 address from IFA_LOCAL.
func TestParseAddrMsg(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::a9c1:37ff:b2e4:6f10").AsSlice()
	flags := func(f uint32) []byte { return binary.NativeEndian.AppendUint32(nil, f) }
	for _, tc := range []struct {
		name string
		msg  *syscall.NetlinkMessage
		want hostAddr
	}{
		{"temporary, in IFA_FLAGS", addrMsg(syscall.AF_INET6, 3, 0, rtattr(syscall.IFA_ADDRESS, v6), rtattr(ifaFlags, flags(ifaFTemporary|0x100))),
			hostAddr{Addr: netip.AddrFrom16([16]byte(v6)), Temporary: true}},
		{"temporary and deprecated, in the header", addrMsg(syscall.AF_INET6, 3, ifaFTemporary|ifaFDeprecated, rtattr(syscall.IFA_ADDRESS, v6)),
			hostAddr{Addr: netip.AddrFrom16([16]byte(v6)), Temporary: true, Deprecated: true}},
		{"stable, managing temporaries", addrMsg(syscall.AF_INET6, 3, 0, rtattr(syscall.IFA_ADDRESS, v6), rtattr(ifaFlags, flags(0x100|0x80))),
			hostAddr{Addr: netip.AddrFrom16([16]byte(v6))}},
		{"tentative", addrMsg(syscall.AF_INET6, 3, ifaFTentative, rtattr(syscall.IFA_ADDRESS, v6)),
			hostAddr{Addr: netip.AddrFrom16([16]byte(v6)), Tentative: true}},
		{"IPv4 point-to-point", addrMsg(syscall.AF_INET, 3, 0, rtattr(syscall.IFA_ADDRESS, []byte{10, 8, 0, 1}), rtattr(syscall.IFA_LOCAL, []byte{10, 8, 0, 5})),
			hostAddr{Addr: netip.MustParseAddr("10.8.0.5")}},
	} {
		got, index, ok := parseAddrMsg(tc.msg)
		if !ok || index != 3 || got != tc.want {
			t.Errorf("%s: parseAddrMsg = %+v, %d, %v; want %+v, 3", tc.name, got, index, ok, tc.want)
		}
	}
	if _, _, ok := parseAddrMsg(addrMsg(syscall.AF_INET6, 3, 0)); ok {
		t.Error("a message without an address was read")
	}
}
