// Package sshd runs a real OpenSSH server on loopback: sshd on
// 127.0.0.1, on a free port, with throwaway host and user keys in a
// directory of its own and Debian's defaults otherwise, stopped by its
// PID. Its sessions are given PULSE_SERVER pointing nowhere (sshd's
// SetEnv), so that a parley there has no sound of its own. Tests use it
// through internal/sshtest; 'parley bench' uses it for its SSH row.
package sshd

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
	"time"

	"parley/internal/syncbuf"
)

// Server is a running sshd.
type Server struct {
	// Port is the port it listens on, on 127.0.0.1.
	Port int
	// User is the user to log in as: this process's own.
	User string
	// Key is the private key that logs in.
	Key string

	cmd    *exec.Cmd
	log    *syncbuf.Buffer
	exited chan struct{}
	dir    string // removed by Stop, if Start made it
}

// ErrMissing is a machine without sshd, ssh or ssh-keygen.
var ErrMissing = errors.New("no OpenSSH server here (apt-get install openssh-server, or scripts/setup --test)")

// Available reports whether sshd, ssh and ssh-keygen are installed, with
// an error matching ErrMissing if not, and returns sshd's absolute path,
// which it needs to re-execute itself.
func Available() (string, error) {
	bin := ""
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		p, err := exec.LookPath("sshd")
		if err != nil {
			return "", ErrMissing
		}
		if bin, err = filepath.Abs(p); err != nil {
			return "", err
		}
	}
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", ErrMissing
		}
	}
	return bin, nil
}

// Start starts sshd with its files in dir ("": a temporary directory,
// which Stop removes), env set in each session after PULSE_SERVER, and
// waits until it answers. The caller must Stop it.
func Start(dir string, env []string) (*Server, error) {
	bin, err := Available()
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	made := ""
	if dir == "" {
		if dir, err = os.MkdirTemp("", "parley-sshd-"); err != nil {
			return nil, err
		}
		made = dir
	}
	fail := func(err error) (*Server, error) {
		if made != "" {
			os.RemoveAll(made)
		}
		return nil, err
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	userKey := filepath.Join(dir, "user_ed25519")
	for _, k := range []string{hostKey, userKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshd", "-f", k).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("ssh-keygen: %v: %s", err, strings.TrimSpace(string(out))))
		}
	}
	pub, err := os.ReadFile(userKey + ".pub")
	if err != nil {
		return fail(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		return fail(err)
	}
	if os.Geteuid() == 0 {
		// sshd's privilege separation needs it; Debian's service makes it.
		os.MkdirAll("/run/sshd", 0o755)
	}
	env = append([]string{"PULSE_SERVER=unix:/nonexistent"}, env...)
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return fail(err)
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
			return fail(err)
		}
		s := &Server{Port: port, User: u.Username, Key: userKey, log: &syncbuf.Buffer{}, exited: make(chan struct{}), dir: made}
		s.cmd = exec.Command(bin, "-D", "-e", "-f", conf)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		s.cmd.SysProcAttr = sysProcAttr()
		if err := s.cmd.Start(); err != nil {
			return fail(err)
		}
		go func() { s.cmd.Wait(); close(s.exited) }()
		if lastErr = s.waitReady(); lastErr != nil {
			s.cmd.Process.Kill()
			<-s.exited
			continue
		}
		return s, nil
	}
	return fail(fmt.Errorf("sshd did not start: %w", lastErr))
}

// Stop stops sshd by its PID, SIGTERM then after 5 s SIGKILL, and
// removes the directory Start made.
func (s *Server) Stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// waitReady waits for sshd to accept connections.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
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
