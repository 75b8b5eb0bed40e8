package sshd

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStartStop: a server in a directory of its own logs in with its
// key, and Stop ends it and removes the directory.
func TestStartStop(t *testing.T) {
	s, err := Start("", []string{"SSHD_TEST=1"})
	if errors.Is(err, ErrMissing) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := s.dir
	args := append(s.Command(), Destination, `echo "$PULSE_SERVER $SSHD_TEST"`)
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	s.Stop()
	if err != nil || strings.TrimSpace(string(out)) != "unix:/nonexistent 1" {
		t.Errorf("%v: %v: %q", args, err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("its directory %s is still there: %v", dir, err)
	}
	if s.cmd.ProcessState == nil {
		t.Error("sshd has not exited")
	}
}
