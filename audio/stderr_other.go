//go:build !unix

package audio

import "os"

// RedirectStderr does nothing on this platform: it returns os.Stderr and a
// restore function that does nothing. On Unix it points file descriptor 2
// at f.
func RedirectStderr(f interface{ Fd() uintptr }) (orig *os.File, restore func() error, err error) {
	return os.Stderr, func() error { return nil }, nil
}
