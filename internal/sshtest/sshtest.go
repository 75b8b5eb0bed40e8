// Package sshtest runs a real OpenSSH server for a test: sshd on
// 127.0.0.1, on a free port, with throwaway host and user keys in the
// test's temporary directory and Debian's defaults otherwise, stopped by
// its PID when the test ends. Its sessions are given PULSE_SERVER
// pointing nowhere (sshd's SetEnv), so that a parley there has no sound
// of its own.
package sshtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"parley/internal/syncbuf"
)

// Server is a running sshd.
type Server struct {
	// Port is the port it listens on, on 127.0.0.1.
	Port int
	// User is the user to log in as: the test's own.
	User string
	// Key is the private key that logs in.
	Key string

	cmd *exec.Cmd
	log *syncbuf.Buffer
}

// ErrNoSSHD is a machine without sshd or ssh.
var ErrNoSSHD = errors.New("sshtest: no OpenSSH server here (apt-get install openssh-server, or scripts/setup --test)")

// sshd returns the absolute path of sshd, which it needs to re-execute
// itself.
func sshd() (string, error) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("sshd"); err == nil {
		return filepath.Abs(p)
	}
	return "", ErrNoSSHD
}

// Options adjust the server.
type Options struct {
	// Env is set in each session (sshd's SetEnv), after PULSE_SERVER.
	Env []string
}

// Start starts sshd for t. Without sshd or ssh-keygen it skips t, unless
// CI is set, where setup installs them: then it fails.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	bin, err := sshd()
	if err == nil {
		_, err = exec.LookPath("ssh-keygen")
		if err != nil {
			err = ErrNoSSHD
		}
	}
	if err == nil {
		_, err = exec.LookPath("ssh")
		if err != nil {
			err = ErrNoSSHD
		}
	}
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host_ed25519")
	userKey := filepath.Join(dir, "user_ed25519")
	for _, k := range []string{hostKey, userKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshtest", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(userKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd's privilege separation needs it; Debian's service makes it.
		os.MkdirAll("/run/sshd", 0o755)
	}
	env := append([]string{"PULSE_SERVER=unix:/nonexistent"}, o.Env...)
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "sshd_config")
		// Debian's defaults but for what a throwaway server on a temporary
		// directory needs.
		cfg := strings.Join([]string{
			"Port " + strconv.Itoa(port),
			"ListenAddress 127.0.0.1",
			"HostKey " + hostKey,
			"AuthorizedKeysFile " + auth,
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"UsePAM no",
			"StrictModes no", // the temporary directory's modes
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"SetEnv " + strings.Join(env, " "),
		}, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{Port: port, User: u.Username, Key: userKey, log: &syncbuf.Buffer{}}
		s.cmd = exec.Command(bin, "-D", "-e", "-f", conf)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { s.cmd.Wait(); close(exited) }()
		if lastErr = s.waitReady(exited); lastErr != nil {
			s.cmd.Process.Kill()
			<-exited
			continue
		}
		t.Cleanup(func() {
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				s.cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("sshd's log:\n%s", s.log.String())
			}
		})
		return s
	}
	t.Fatalf("sshd did not start: %v", lastErr)
	return nil
}

// waitReady waits for sshd to accept connections.
func (s *Server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited: %s", s.log.String())
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			b := make([]byte, 4)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = c.Read(b)
			c.Close()
			if err == nil && string(b) == "SSH-" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd did not answer on %s within 10 s: %s", s.addr(), s.log.String())
}

func (s *Server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Log returns what sshd has logged.
func (s *Server) Log() string { return s.log.String() }

// Command returns the ssh command line that logs in, without the
// destination (Destination is one): no configuration file, the
// throwaway key, no host key checking, no prompts.
func (s *Server) Command() []string {
	return []string{"ssh", "-F", "/dev/null", "-i", s.Key, "-p", strconv.Itoa(s.Port), "-l", s.User,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"}
}

// CommandLine is Command as one line for a shell (parley ssh --ssh).
func (s *Server) CommandLine() string {
	args := s.Command()
	for i, a := range args {
		if strings.ContainsAny(a, " '\"\\$`") {
			args[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(args, " ")
}

// Destination is the host to give ssh with Command.
const Destination = "127.0.0.1"

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
