// Package sshtest runs a real OpenSSH server for a test (internal/sshd's:
// sshd on 127.0.0.1, on a free port, with throwaway host and user keys in
// the test's temporary directory and Debian's defaults otherwise),
// stopped by its PID when the test ends. Its sessions are given
// PULSE_SERVER pointing nowhere (sshd's SetEnv), so that a parley there
// has no sound of its own.
package sshtest

import (
	"errors"
	"os"
	"testing"

	"parley/internal/sshd"
)

// Server is a running sshd.
type Server = sshd.Server

// ErrNoSSHD is a machine without sshd or ssh.
var ErrNoSSHD = sshd.ErrMissing

// Options adjust the server.
type Options struct {
	// Env is set in each session (sshd's SetEnv), after PULSE_SERVER.
	Env []string
}

// Start starts sshd for t. Without sshd, ssh or ssh-keygen it skips t,
// unless CI is set, where setup installs them: then it fails.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := sshd.Start(t.TempDir(), o.Env)
	if errors.Is(err, sshd.ErrMissing) && os.Getenv("CI") == "" {
		t.Skip("sshtest: ", err)
	}
	if err != nil {
		t.Fatal("sshtest: ", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sshd's log:\n%s", s.Log())
		}
	})
	return s
}

// Destination is the host to give ssh with Command.
const Destination = sshd.Destination
