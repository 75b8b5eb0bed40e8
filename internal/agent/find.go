package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RemoteDir is where 'parley ssh' has ssh put the agent's socket on the
// remote host. The laptop cannot name the remote user's own directories
// (their home or XDG_RUNTIME_DIR are not known before logging in, and
// sshd takes the -R path as it is: no ~, no creating directories, a
// relative path from sshd's own working directory), so it uses /tmp,
// which every Unix has, with a fresh random name for each connection:
// sshd makes the socket the user's, mode 0600 (StreamLocalBindMask), and
// /tmp's sticky bit keeps others from removing or replacing it. A fresh
// name also keeps clear of stale sockets, which sshd refuses to bind over
// (StreamLocalBindUnlink no, its default).
const RemoteDir = "/tmp"

const (
	socketPrefix = "parley-agent-"
	socketSuffix = ".sock"
)

// NewRemoteSocket returns a fresh path for an agent's socket on the
// remote host, in RemoteDir.
func NewRemoteSocket() string {
	var b [16]byte
	rand.Read(b[:])
	return RemoteDir + "/" + socketPrefix + hex.EncodeToString(b[:]) + socketSuffix
}

// IsSocketName reports whether name (a base name) is one NewRemoteSocket
// makes.
func IsSocketName(name string) bool {
	hexPart, ok := strings.CutPrefix(name, socketPrefix)
	if !ok {
		return false
	}
	hexPart, ok = strings.CutSuffix(hexPart, socketSuffix)
	if !ok || len(hexPart) != 32 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// ErrNotOurs is a path that is not a socket this user may trust: not a
// socket, someone else's, or open to others.
var ErrNotOurs = errors.New("not a socket of this user's alone")

// Check reports whether path is a socket that only this user can use
// (its own, with no permission for group or others): only such a socket
// is trusted with the call's audio.
func Check(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%s: %w (it is not a socket)", path, ErrNotOurs)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %w (mode %v)", path, ErrNotOurs, fi.Mode().Perm())
	}
	if !ownedByMe(fi) {
		return fmt.Errorf("%s: %w (another user's)", path, ErrNotOurs)
	}
	return nil
}

// Remove removes path if it is a socket this user may trust, such as an
// agent's socket whose SSH connection has ended.
func Remove(path string) error {
	if err := Check(path); err != nil {
		return err
	}
	return os.Remove(path)
}

// Find returns the agents' sockets in dir (RemoteDir, on a remote host)
// that this user may trust, newest first.
func Find(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type found struct {
		path string
		mod  int64
	}
	var live []found
	for _, e := range entries {
		if !IsSocketName(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if Check(path) != nil {
			continue
		}
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		live = append(live, found{path, fi.ModTime().UnixNano()})
	}
	slices.SortFunc(live, func(a, b found) int { return int(b.mod - a.mod) })
	paths := make([]string, len(live))
	for i, f := range live {
		paths[i] = f.path
	}
	return paths
}

// Clean removes the sockets in dir that Find would find but that nothing
// listens on any more: their SSH connection has ended, and sshd left them
// behind. (A parley killed with its SSH session, by SIGHUP or SIGPIPE,
// cannot remove its own.)
func Clean(dir string) {
	for _, path := range Find(dir) {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
		} else if isRefused(err) {
			os.Remove(path)
		}
	}
}

// DialAny connects to the newest agent in dir that is free, as Find
// finds them; it returns nil and no error when there is none. It removes
// the sockets that nothing listens on any more: their SSH connection has
// ended.
func DialAny(dir string, o Options) (*Sound, error) {
	var first error
	for _, path := range Find(dir) {
		s, err := Dial(path, o)
		if err == nil {
			return s, nil
		}
		if isRefused(err) {
			os.Remove(path)
			continue
		}
		if first == nil && !errors.Is(err, ErrBusy) {
			first = fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil, first
}
