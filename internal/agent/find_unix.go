//go:build unix

package agent

import (
	"errors"
	"os"
	"syscall"
)

func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// isRefused reports whether a connection failed because nothing listens
// on the socket.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
