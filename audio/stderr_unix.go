//go:build unix

package audio

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// RedirectStderr points the process's file descriptor 2 at f (the log
// file), so that what C libraries print there, libasound and miniaudio
// with no sound card especially, lands in the log and not on the user's
// terminal. Hold it while devices are probed and opened, or for as long as
// the terminal UI runs: libasound may print again when a device closes.
//
// It returns orig, a file for the original standard error, so the program
// can still write to the terminal, and restore, which points descriptor 2
// back (orig stays open for whoever still holds it). Everything written
// to descriptor 2 meanwhile goes to f, os.Stderr and a Go panic's message
// included. It changes the whole
// process: call it from main, not from a library, and not concurrently.
func RedirectStderr(f interface{ Fd() uintptr }) (orig *os.File, restore func() error, err error) {
	saved, err := unix.Dup(2)
	if err != nil {
		return nil, nil, fmt.Errorf("redirect stderr: %w", err)
	}
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		unix.Close(saved)
		return nil, nil, fmt.Errorf("redirect stderr: %w", err)
	}
	orig = os.NewFile(uintptr(saved), "/dev/stderr")
	return orig, func() error {
		err := unix.Dup2(saved, 2)
		// orig stays open: loggers handed it may still write as the
		// program ends (pion's goroutines, after a call closes), and a
		// closed one makes them complain on the real stderr. It is
		// closed once nothing holds it.
		if err != nil {
			return fmt.Errorf("restore stderr: %w", err)
		}
		return nil
	}, nil
}
