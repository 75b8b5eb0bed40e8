package cli

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/agent"
	"parley/internal/speech"
	"parley/internal/sshtest"
	"parley/internal/syncbuf"
)

// TestSSHSpeech runs 'parley ssh' to a real OpenSSH server on loopback: a
// headless call on the "remote" side (this machine again, through sshd,
// with no sound of its own) whose microphone and speaker are the
// laptop side's (files here), and a second local parley as the peer.
// Speech crosses both ways, and the agent's counters show that the link
// carried it, as Opus. It runs alone, as TestPulseSpeech does: five
// processes with real-time audio (the two parleys and the laptop side,
// with sshd and ssh between) among eight parallel calls on two cores lose
// their deadlines, and the jitter buffers, which aim at a millisecond on
// loopback, conceal what comes late (a correlation of 0.75 seen).
func TestSSHSpeech(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	bin := parleyBinary(t)
	in, ref := speechWAV(t)
	dir := t.TempDir()
	laptopRec, peerRec := filepath.Join(dir, "laptop.wav"), filepath.Join(dir, "peer.wav")
	remote := []string{"call", "--headless", "--stun", "none", "--iface", "lo", "--loopback", "--stats"}
	start := time.Now()
	laptop := startRaw(t, bin, nil, "laptop", append([]string{"ssh", "--ssh", srv.CommandLine(), "--remote", bin,
		"--audio-in", in, "--audio-out", laptopRec, sshtest.Destination, "--"}, remote...)...)
	invite := laptop.next("invite")["code"].(string)
	t.Logf("the remote's invite came through ssh after %v", time.Since(start).Round(time.Millisecond))
	peer := startPeer(t, "peer", "join", invite, "--audio-in", in, "--audio-out", peerRec, "--stats")
	laptop.send(peer.next("answer")["code"].(string))
	for laptop.next("state")["state"] != "connected" {
	}
	length := time.Duration(len(ref)) * time.Second / speech.Rate
	time.Sleep(length + 1500*time.Millisecond)
	laptop.send("/quit")
	rest, code := laptop.rest()
	if code != 0 {
		t.Errorf("parley ssh exited %d; want the remote parley's 0", code)
	}
	if _, code := peer.rest(); code != 0 {
		t.Errorf("the peer exited %d", code)
	}
	took := time.Since(start)
	var stats map[string]any
	for _, m := range rest {
		if m["type"] == "stats" {
			stats = m
		}
	}
	if stats == nil {
		t.Fatal("the remote printed no stats line")
	}
	stderr := laptop.stderr.String()
	t.Logf("%v in all; the remote's last stats: %v", took.Round(time.Millisecond), stats)
	t.Logf("parley ssh's stderr (the remote's with it):\n%s", stderr)

	// The agent carried the audio: the remote's counters, each way about
	// a packet per 20 ms of speech, and this side's own.
	frames := float64(length / (20 * time.Millisecond))
	for _, k := range []string{"agent_packets_in", "agent_packets_out"} {
		if n, _ := stats[k].(float64); n < 0.8*frames {
			t.Errorf("%s = %v; want at least %.0f (the speech's frames)", k, stats[k], 0.8*frames)
		}
	}
	for _, k := range []string{"agent_bytes_in", "agent_bytes_out"} {
		// Opus at 32 kb/s: about 4 kB a second; PCM would be 96.
		if n, _ := stats[k].(float64); n < 2000*length.Seconds() || n > 20000*length.Seconds() {
			t.Errorf("%s = %v; want Opus's 2 to 20 kB a second of speech", k, stats[k])
		}
	}
	if d, ok := stats["agent_delay_ms"].(float64); !ok || d > 20 {
		t.Errorf("agent_delay_ms = %v; want a few milliseconds on loopback", stats["agent_delay_ms"])
	}
	if !regexp.MustCompile(`parley ssh: the audio agent carried \d+ bytes in \d+ audio packets sent, \d+ bytes in \d+ received, 0 dropped`).MatchString(stderr) {
		t.Error("parley ssh did not say what its agent carried")
	}
	if strings.Contains(stderr, "text only") {
		t.Error("the remote went text only")
	}
	// The remote parley removed the socket that sshd made for it.
	if m := regexp.MustCompile(`the audio agent at (/tmp/parley-agent-[0-9a-f]+\.sock)`).FindStringSubmatch(stderr); m == nil {
		t.Error("the remote did not say which agent it uses")
	} else if _, err := os.Lstat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the remote's socket %s is still there: %v", m[1], err)
	}

	if d := os.Getenv("PARLEY_KEEP"); d != "" {
		for _, p := range []string{peerRec, laptopRec} {
			b, _ := os.ReadFile(p)
			os.WriteFile(filepath.Join(d, "ssh-"+filepath.Base(p)), b, 0o644)
		}
	}
	for _, c := range []struct{ name, path string }{
		{"laptop → peer", peerRec},
		{"peer → laptop", laptopRec},
	} {
		got, err := audio.ReadWAVFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := speech.Compare(ref, got, 3*speech.Rate)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: %v of speech arrived %v into the recording; correlation %.3f, log-spectral distance %.2f dB",
			c.name, length.Round(time.Millisecond), res.Delay.Round(time.Millisecond), res.Corr, res.LSD)
		// As a direct call (TestSpeech, clean): Opus once, the jitter buffer once.
		if res.Corr < 0.9 {
			t.Errorf("%s: correlation %.3f; want at least 0.9", c.name, res.Corr)
		}
		if res.LSD > 5 {
			t.Errorf("%s: log-spectral distance %.2f dB; want at most 5", c.name, res.LSD)
		}
	}
}

// TestSSHRemote runs parley in an SSH session of a real sshd (with no
// sound of its own there): without an agent, its text-only note says how
// to talk through the user's own computer; with no --agent, it finds the
// one 'parley ssh' forwarded, after removing a dead one left in /tmp. It
// runs alone (not in parallel), so that no other test's agent is there to
// be found.
func TestSSHRemote(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	bin := parleyBinary(t)

	t.Run("note", func(t *testing.T) {
		args := append(srv.Command(), sshtest.Destination, bin+" call --headless --stun none --agent none </dev/null")
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(string(out), "text only") {
			t.Skipf("this machine has sound, even with PULSE_SERVER pointing nowhere:\n%s", out)
		}
		for _, want := range []string{"run 'parley ssh ", "ssh -R /tmp/pulse.sock:/run/user/UID/pulse/native", "PULSE_SERVER=unix:/tmp/pulse.sock parley"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("the note does not say %q:\n%s", want, out)
			}
		}
	})

	t.Run("found", func(t *testing.T) {
		// A dead agent's socket, as sshd leaves one when its connection
		// ends, newer than the live one will be: tried first, removed.
		dead := deadSocket(t)
		os.Chtimes(dead, time.Now(), time.Now().Add(time.Hour))

		// --agent '' after the one parley ssh passes: look for one. (Where
		// it might use a device, parley logs to a file.)
		log := filepath.Join(t.TempDir(), "remote.log")
		laptop := startRaw(t, bin, nil, "laptop", "ssh", "--ssh", srv.CommandLine(), "--remote", bin,
			"--audio-in", "tone", "--audio-out", "none", sshtest.Destination, "--",
			"call", "--headless", "--stun", "none", "--iface", "lo", "--loopback", "--log", log, "--agent", "")
		laptop.next("invite")
		laptop.stdin.Close()
		if _, code := laptop.rest(); code != 0 {
			t.Errorf("parley ssh exited %d", code)
		}
		b, _ := os.ReadFile(log)
		m := regexp.MustCompile(`audio: the audio agent at (/tmp/parley-agent-[0-9a-f]+\.sock): in tone`).FindSubmatch(b)
		if m == nil {
			t.Errorf("the remote did not find the agent; its log:\n%s", b)
		} else {
			// Found, not given: the remote parley leaves it, as its SSH
			// session may outlive it. The session has ended.
			agent.Remove(string(m[1]))
		}
		if _, err := os.Lstat(dead); !os.IsNotExist(err) {
			t.Errorf("the dead socket is still there: %v", err)
		}
	})

	t.Run("interrupt", func(t *testing.T) {
		// SIGINT, as Ctrl+C sends to parley ssh and to ssh: parley ssh
		// gives the remote parley EOF, which hangs up and ends, and ssh
		// with it; ssh ignores the SIGINT meanwhile.
		laptop := startRaw(t, bin, nil, "laptop", "ssh", "--ssh", srv.CommandLine(), "--remote", bin,
			"--audio-in", "tone", "--audio-out", "none", sshtest.Destination, "--",
			"call", "--headless", "--stun", "none", "--iface", "lo", "--loopback")
		laptop.next("invite")
		// ssh first, found by the forward on its command line: it lives on.
		pgrep := func() []string {
			out, _ := exec.Command("pgrep", "-f", "^ssh .* -R /tmp/parley-agent-").Output()
			return strings.Fields(string(out))
		}
		pids := pgrep()
		if len(pids) != 1 {
			t.Fatalf("pgrep found ssh as %q; want one process", pids)
		}
		exec.Command("kill", "-INT", pids[0]).Run()
		time.Sleep(200 * time.Millisecond)
		if !slices.Equal(pgrep(), pids) {
			t.Errorf("ssh did not ignore SIGINT")
		}
		start := time.Now()
		laptop.cmd.Process.Signal(os.Interrupt)
		events, code := laptop.rest()
		took := time.Since(start)
		t.Logf("parley ssh ended %v after SIGINT", took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("parley ssh ended %v after SIGINT; want within 5 s", took)
		}
		if code != 0 || len(events) == 0 || events[len(events)-1]["type"] != "bye" || events[len(events)-1]["reason"] != "hung up" {
			t.Errorf("parley ssh exited %d after %v; want 0 after the remote's bye, hung up", code, events)
		}
		m := regexp.MustCompile(`-R (/tmp/parley-agent-[0-9a-f]+\.sock):`).FindStringSubmatch(laptop.stderr.String())
		if m == nil {
			t.Fatalf("no -R in parley ssh's log:\n%s", laptop.stderr.String())
		}
		if _, err := os.Lstat(m[1]); !os.IsNotExist(err) {
			t.Errorf("the remote parley left its socket %s: %v", m[1], err)
		}
		// The remote parley, found by its socket on its command line, is
		// gone.
		if exec.Command("pgrep", "-f", m[1]).Run() == nil {
			t.Errorf("the remote parley lives on after parley ssh ended")
		}
		// A parley killed with its session (SIGHUP, SIGPIPE) cannot remove
		// its socket: the next parley given an agent removes it.
		dead := deadSocket(t)
		args := append(srv.Command(), sshtest.Destination, bin+" call --headless --stun none --agent "+agent.NewRemoteSocket()+" </dev/null")
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if _, err := os.Lstat(dead); !os.IsNotExist(err) {
			t.Errorf("the dead socket %s is still there: %v", dead, err)
		}
	})
}

// TestSSHNoRemoteParley: a host without parley at --remote is said in
// one line, with the shell's status.
func TestSSHNoRemoteParley(t *testing.T) {
	t.Parallel()
	srv := sshtest.Start(t, sshtest.Options{})
	cmd := exec.Command(parleyBinary(t), "ssh", "--ssh", srv.CommandLine(), "--remote", "/nonexistent/parley", "--audio-in", "none", "--audio-out", "none", sshtest.Destination, "--", "call", "--headless")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 {
		t.Errorf("parley ssh: %v; want exit status 127", err)
	}
	if !strings.Contains(stderr.String(), "parley ssh: the host could not run /nonexistent/parley: install parley there, or give its path with --remote") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// attached is a 'parley ssh --attach' process: only its stderr says
// anything.
type attached struct {
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	done   chan struct{}
	err    error
}

func startAttach(t *testing.T, bin string, srv *sshtest.Server) *attached {
	t.Helper()
	a := &attached{stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(bin, "ssh", "--attach", "--ssh", srv.CommandLine(), "--audio-in", "tone", "--audio-out", "none", sshtest.Destination)
	a.cmd.Stderr = a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.done
		if t.Failed() {
			t.Logf("parley ssh --attach's stderr:\n%s", a.stderr.String())
		}
	})
	return a
}

// socket waits for the agent's socket to be there on the "remote" side,
// forwarded by sshd, and returns its path.
func (a *attached) socket(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := regexp.MustCompile(`-R (/tmp/parley-agent-[0-9a-f]+\.sock):`).FindStringSubmatch(a.stderr.String()); m != nil {
			if agent.Check(m[1]) == nil {
				return m[1]
			}
		}
		select {
		case <-a.done:
			t.Fatalf("parley ssh --attach ended: %v\n%s", a.err, a.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no forwarded socket within 20 s:\n%s", a.stderr.String())
	return ""
}

// waitFor waits up to d for a line of a's stderr matching re.
func (a *attached) waitFor(t *testing.T, d time.Duration, re string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !regexp.MustCompile(re).MatchString(a.stderr.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("parley ssh --attach did not say %q within %v:\n%s", re, d, a.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flowing waits for a stats line of p's with the agent carrying at least
// n packets each way, and returns it.
func flowing(t *testing.T, p *peer, n float64) map[string]any {
	t.Helper()
	for {
		st := p.next("stats")
		in, _ := st["agent_packets_in"].(float64)
		out, _ := st["agent_packets_out"].(float64)
		if in >= n && out >= n {
			return st
		}
	}
}

// TestSSHDropped lends a running, text-only parley in an SSH session
// the sound of 'parley ssh --attach', drops the SSH connection under its
// call, and reconnects with another 'parley ssh --attach': the remote
// parley goes text only with a one-line notice, then finds the new agent
// and the sound flows again. The remote parley must outlive its SSH
// connection, as it would in tmux: the test starts it itself, as this
// user on this machine (the sshd's host), with the environment an SSH
// session there has (SSH_CONNECTION, and PULSE_SERVER pointing nowhere,
// as the server's SetEnv gives) rather than through sshd, so that killing
// ssh does not end it. The agents and the drop are real: sshd forwards
// each 'parley ssh --attach's socket into /tmp, and ssh is killed with
// SIGKILL, as a dead link ends it. It runs alone, as TestSSHRemote does,
// so that no other test's agent is there to be found.
func TestSSHDropped(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	bin := parleyBinary(t)

	// The remote parley starts text only, as one started in tmux over a
	// plain ssh would, and keeps looking for an agent.
	log := filepath.Join(t.TempDir(), "remote.log")
	env := append(os.Environ(), "SSH_CONNECTION=127.0.0.1 50000 127.0.0.1 "+strconv.Itoa(srv.Port), "PULSE_SERVER=unix:/nonexistent")
	remote := startRaw(t, bin, env, "remote", "call", "--headless", "--stun", "none", "--iface", "lo", "--loopback", "--stats", "--log", log)
	invite := remote.next("invite")["code"].(string)
	peer := startPeer(t, "peer", "join", invite, "--audio-in", "tone")
	remote.send(peer.next("answer")["code"].(string))
	for remote.next("state")["state"] != "connected" {
	}
	first := startAttach(t, bin, srv)
	sock1 := first.socket(t)
	there := time.Now()
	if found := remote.next("audio"); found["state"] != "on" || !strings.HasPrefix(found["message"].(string), "found sound: in tone") {
		t.Errorf("the remote said %v; want the agent's sound found", found)
	}
	t.Logf("the text-only remote found the first agent %v after its socket was there", time.Since(there).Round(time.Millisecond))
	first.waitFor(t, 5*time.Second, `parley ssh: lent this computer's sound to parley \(pid `+strconv.Itoa(remote.cmd.Process.Pid)+`\) on `)
	st := flowing(t, remote, 25)
	t.Logf("through the first agent: %v packets in, %v out", st["agent_packets_in"], st["agent_packets_out"])

	// The link drops: ssh dies.
	out, _ := exec.Command("pgrep", "-f", "^ssh .* -R "+sock1+":").Output()
	pids := strings.Fields(string(out))
	if len(pids) != 1 {
		t.Fatalf("pgrep found ssh as %q; want one process", pids)
	}
	dropped := time.Now()
	exec.Command("kill", "-KILL", pids[0]).Run()
	lost := remote.next("audio")
	t.Logf("the remote said %v after %v", lost, time.Since(dropped).Round(time.Millisecond))
	if lost["state"] != "lost" || !strings.Contains(lost["message"].(string), "text only until it is back") ||
		!strings.Contains(lost["message"].(string), "parley ssh --attach") {
		t.Errorf("the remote said %v; want the sound lost, text only until it is back, and how to bring it back", lost)
	}
	if d := time.Since(dropped); d > 3*time.Second {
		t.Errorf("the remote noticed the lost agent after %v; want within 3 s", d)
	}
	select {
	case <-first.done:
	case <-time.After(10 * time.Second):
		t.Fatal("parley ssh --attach did not end with its ssh")
	}
	var ee *exec.ExitError
	if !errors.As(first.err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("the first parley ssh --attach: %v; want a failure", first.err)
	}
	if !strings.Contains(first.stderr.String(), "the SSH connection is gone") {
		t.Errorf("the first parley ssh --attach did not say the connection is gone:\n%s", first.stderr.String())
	}
	t.Logf("the first parley ssh --attach said:\n%s", first.stderr.String())
	// Chat goes on meanwhile.
	remote.send("still here")
	for peer.next("chat")["text"] != "still here" {
	}

	// Reconnect: the running parley finds the new agent.
	second := startAttach(t, bin, srv)
	sock2 := second.socket(t)
	found := time.Now()
	back := remote.next("audio")
	took := time.Since(found)
	t.Logf("the remote said %v %v after the new socket was there", back, took.Round(time.Millisecond))
	if back["state"] != "on" {
		t.Errorf("the remote said %v; want the sound back", back)
	}
	if took > 3*time.Second {
		t.Errorf("the remote found the new agent after %v; want within about a second (3 s at most)", took)
	}
	second.waitFor(t, 5*time.Second, `parley ssh: lent this computer's sound to parley \(pid `+strconv.Itoa(remote.cmd.Process.Pid)+`\) on `)
	st = flowing(t, remote, 25)
	t.Logf("through the second agent: %v packets in, %v out", st["agent_packets_in"], st["agent_packets_out"])
	// A device switch there is refused: the devices are the laptop's.
	remote.send("/in tone")
	if e := remote.next("error"); !strings.Contains(e["message"].(string), "parley ssh --audio-in NAME") {
		t.Errorf("/in through the agent: %v; want it refused, saying where to switch", e)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "the audio agent at "+sock2) {
		t.Errorf("the remote's log does not name the new agent %s:\n%s", sock2, b)
	}
	if _, err := os.Lstat(sock1); !os.IsNotExist(err) {
		t.Errorf("the dead agent's socket %s is still there: %v", sock1, err)
	}

	// The remote hangs up: parley ssh --attach lets go and ends.
	remote.send("/quit")
	if _, code := remote.rest(); code != 0 {
		t.Errorf("the remote exited %d", code)
	}
	select {
	case <-second.done:
	case <-time.After(10 * time.Second):
		t.Fatal("parley ssh --attach did not end when the remote hung up")
	}
	if second.err != nil {
		t.Errorf("the second parley ssh --attach: %v; want status 0", second.err)
	}
	for _, want := range []string{"let the sound go (its call ended); ending", "parley ssh: the audio agent carried "} {
		if !strings.Contains(second.stderr.String(), want) {
			t.Errorf("the second parley ssh --attach did not say %q:\n%s", want, second.stderr.String())
		}
	}
	t.Logf("the second parley ssh --attach said:\n%s", second.stderr.String())
	agent.Remove(sock2) // the remote found it, and leaves it
}

// TestSSHAttachCommand: 'parley ssh --attach DEST -- COMMAND' runs the
// COMMAND there, as ssh would (its words joined for the remote shell),
// with the agent forwarded meanwhile, and ends with its status.
func TestSSHAttachCommand(t *testing.T) {
	t.Parallel()
	srv := sshtest.Start(t, sshtest.Options{})
	cmd := exec.Command(parleyBinary(t), "ssh", "--attach", "--ssh", srv.CommandLine(), "--audio-in", "none", "--audio-out", "none", sshtest.Destination, "--",
		"for s in /tmp/parley-agent-*.sock; do test -S $s && echo forwarded && break; done; exit 3")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("parley ssh --attach: %v; want the COMMAND's status 3\n%s", err, stderr.String())
	}
	if string(out) != "forwarded\n" {
		t.Errorf("stdout %q; want the COMMAND's, with the agent's socket there", out)
	}
}

// deadSocket leaves a socket in agent.RemoteDir that nobody listens on,
// as sshd leaves one when its connection ends; it is removed at the end.
func deadSocket(t *testing.T) string {
	t.Helper()
	dead := agent.NewRemoteSocket()
	l, err := net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	os.Chmod(dead, 0o600)
	t.Cleanup(func() { os.Remove(dead) })
	return dead
}
