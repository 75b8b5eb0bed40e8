//go:build !linux

package rtc

// systemIfaces lists the interfaces with their addresses. Outside Linux
// parley reads no address flags: bestIPv6 tells a stable address by its
// embedded MAC address alone.
func systemIfaces() []hostIface { return portableIfaces() }
