package sshtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServer logs in with the throwaway key, sees the session's
// environment, and forwards a unix socket to the remote end (-R), as
// 'parley ssh' does.
func TestServer(t *testing.T) {
	s := Start(t, Options{Env: []string{"SSHTEST=1"}})
	args := append(s.Command(), Destination, `echo "$PULSE_SERVER $SSHTEST $SSH_CONNECTION"`)
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	if f := strings.Fields(string(out)); len(f) != 6 || f[0] != "unix:/nonexistent" || f[1] != "1" {
		t.Errorf("the session's environment: %q", out)
	}

	// A unix socket here, forwarded to a fresh path there.
	dir := t.TempDir()
	local := filepath.Join(dir, "local.sock")
	l, err := net.Listen("unix", local)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("through the forward\n"))
		c.Close()
	}()
	remote := filepath.Join(dir, "remote.sock")
	args = append(s.Command(), "-o", "ExitOnForwardFailure=yes", "-R", remote+":"+local, Destination,
		"stat -c %a "+remote+"; python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(100).decode().strip())' "+remote)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 to connect to the forwarded socket")
	}
	out, err = exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "600\nthrough the forward" {
		t.Errorf("through the forwarded socket: %q; want its mode 600 and the line", got)
	}
	os.Remove(remote)
}
