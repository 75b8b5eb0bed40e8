package rtc

import (
	"os"

	"golang.org/x/sys/unix"
)

// watchRoutes calls changed, from a goroutine of its own, whenever the
// kernel says an address, a route or a link changed (rtnetlink), so that
// a move is noticed at once rather than at the next routePoll. stop ends
// the goroutine and waits for it.
func watchRoutes(changed func()) (stop func(), err error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Nonblocking, the file reads through Go's poller, and Close ends a
	// Read in progress.
	f := os.NewFile(uintptr(fd), "rtnetlink")
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 16<<10)
		for {
			if _, err := f.Read(buf); err != nil && err != unix.ENOBUFS {
				return
			}
			changed() // what changed does not matter: pollRoute looks
		}
	}()
	return func() {
		f.Close()
		<-done
	}, nil
}
