//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStderr points file descriptor 2 at f, so that what C libraries
// print (libasound, with no sound card, prints a lot) lands in the log and
// not on the UI. It returns a file for the original stderr and a function
// that restores it.
func redirectStderr(f interface{ Fd() uintptr }) (orig *os.File, restore func()) {
	saved, err := unix.Dup(2)
	if err != nil {
		return os.Stderr, func() {}
	}
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		unix.Close(saved)
		return os.Stderr, func() {}
	}
	orig = os.NewFile(uintptr(saved), "stderr")
	return orig, func() {
		unix.Dup2(saved, 2)
		orig.Close()
	}
}
