// Package pulsetest runs a private PulseAudio daemon for tests, as
// internal/rawpeer is a private peer: its own runtime and state
// directories under the test's temporary directory, its own socket, no
// sound card, no D-Bus, no autospawn, and the devices a test makes with
// NullSink. It is started as a child process and stopped by its PID when
// the test ends, so that nothing depends on, or touches, the machine's own
// sound.
//
// It needs pulseaudio and pactl, paplay and parecord (pulseaudio-utils);
// scripts/setup --test installs them. PulseAudio refuses nothing as root
// outside --system mode: it warns ("This program is not intended to be run
// as root") and runs as a per-user daemon, which is what CI gets.
package pulsetest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Rate is the sample rate of the null sinks, of Record's recordings and
// the rate Play expects its WAV files at (paplay converts others).
const Rate = 48000

const (
	// readyTimeout bounds how long Start waits for the daemon to answer.
	readyTimeout = 10 * time.Second
	// stopTimeout is how long the daemon has to exit after SIGTERM before
	// it is killed.
	stopTimeout = 3 * time.Second
)

// Server is a running private PulseAudio daemon.
type Server struct {
	dir    string // runtime root: home, runtime, state, config
	socket string
	env    []string
	daemon string // the pulseaudio binary
	logBuf *syncBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	sinks   []nullSink    // made by NullSink, made again by Restart
	keepers []*keeper     // one a null sink, while the daemon runs
}

// nullSink is a null sink NullSink made.
type nullSink struct{ name, args string }

// keeper is a pacat playing silence into a null sink at a low latency,
// for as long as the sink lives. A null sink with no stream renders two
// seconds at a time (its largest latency), and a stream that connects
// then waits for the rest of that block before it starts, up to 2 s,
// where a sound card's sink starts at once. With a low-latency stream
// always playing into it, it renders a few milliseconds at a time.
type keeper struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a private PulseAudio daemon and waits until it answers
// pactl info. The test is skipped where PulseAudio is not installed and
// the CI variable is unset; with CI set it fails instead. The daemon is
// stopped, SIGTERM then SIGKILL, when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	daemon, err := exec.LookPath("pulseaudio")
	if err == nil {
		for _, tool := range []string{"pactl", "paplay", "parecord"} {
			if _, err = exec.LookPath(tool); err != nil {
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no PulseAudio here (%v); scripts/setup --test installs it", err)
		}
		t.Fatalf("PulseAudio is not installed (%v); scripts/setup --test installs it", err)
	}
	dir := t.TempDir()
	socket := filepath.Join(dir, "native")
	if len(socket) > 100 { // a unix socket's path has at most 107 bytes
		short, err := os.MkdirTemp("", "pulse")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		dir, socket = short, filepath.Join(short, "native")
	}
	for _, d := range []string{"home", "runtime", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	clientConf := filepath.Join(dir, "client.conf")
	if err := os.WriteFile(clientConf, []byte("autospawn = no\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir, socket: socket, daemon: daemon, logBuf: new(syncBuffer)}
	s.env = append(cleanEnv(os.Environ()),
		"PULSE_SERVER=unix:"+socket,
		"PULSE_CLIENTCONFIG="+clientConf,
		"PULSE_COOKIE="+filepath.Join(dir, "cookie"),
		// No bus to register on or to autolaunch: a missing socket fails
		// at once, where an unset address would try autolaunch.
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(dir, "no-dbus"),
		"DBUS_SYSTEM_BUS_ADDRESS=unix:path="+filepath.Join(dir, "no-dbus"),
	)
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("pulseaudio's log:\n%s", s.logBuf.String())
		}
	})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// cleanEnv is env without what would point a PulseAudio client or the
// daemon elsewhere: the PULSE_ variables, D-Bus, and the display (whose
// root window can name a server).
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PULSE_") || strings.HasPrefix(k, "DBUS_") || k == "DISPLAY" || k == "WAYLAND_DISPLAY" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Env returns a whole environment for a child process that should use this
// server: the test's own, less anything naming another sound server,
// default device or bus, plus PULSE_SERVER for this one and a client
// configuration that never autospawns. A test adds to it (PULSE_SINK=…)
// and sets it as exec.Cmd.Env.
func (s *Server) Env() []string { return append([]string(nil), s.env...) }

// Socket returns the path of the server's socket.
func (s *Server) Socket() string { return s.socket }

// PID returns the daemon's process ID, 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// start starts the daemon, with the null sinks made so far, and waits
// until it answers.
func (s *Server) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("pulsetest: the server is already running")
	}
	args := []string{
		"-n", // no default.pa: only what is loaded here
		"--daemonize=no", "--system=no", "--use-pid-file=no",
		"--exit-idle-time=-1", "--disallow-exit=yes",
		"--log-target=stderr",
		"-L", fmt.Sprintf("module-native-protocol-unix socket=%s auth-anonymous=1", s.socket),
	}
	cmd := exec.Command(s.daemon, args...)
	cmd.Env = append(s.Env(),
		"HOME="+filepath.Join(s.dir, "home"),
		"XDG_CONFIG_HOME="+filepath.Join(s.dir, "home", ".config"),
		"XDG_RUNTIME_DIR="+filepath.Join(s.dir, "runtime"),
		"PULSE_RUNTIME_PATH="+filepath.Join(s.dir, "runtime", "pulse"),
		"PULSE_STATE_PATH="+filepath.Join(s.dir, "state"),
	)
	cmd.Stdout, cmd.Stderr = s.logBuf, s.logBuf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("pulsetest: start pulseaudio: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("pulsetest: pulseaudio exited at start (%v):\n%s", cmd.ProcessState, s.logBuf.String())
		default:
		}
		if _, last = s.pactl("info"); last == nil {
			s.mu.Lock()
			sinks := append([]nullSink(nil), s.sinks...)
			s.mu.Unlock()
			for _, k := range sinks {
				if err := s.loadSink(k); err != nil {
					return err
				}
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("pulsetest: pulseaudio did not answer within %v: %v\n%s", readyTimeout, last, s.logBuf.String())
}

// stop ends the daemon, if running: SIGTERM, then SIGKILL after
// stopTimeout, and waits until it is gone.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, done, keepers := s.cmd, s.done, s.keepers
	s.cmd, s.done, s.keepers = nil, nil, nil
	s.mu.Unlock()
	for _, k := range keepers {
		_ = k.cmd.Process.Kill()
		<-k.done
	}
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(stopTimeout):
	}
	_ = cmd.Process.Kill()
	<-done
}

// Kill kills the daemon with SIGKILL, as a crash would, and waits until
// it is gone. Restart starts it again.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done, keepers := s.cmd, s.done, s.keepers
	s.cmd, s.done, s.keepers = nil, nil, nil
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
	for _, k := range keepers {
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}

// Restart stops the daemon if it runs and starts it again on the same
// socket, with the null sinks made so far (by their names, as new
// devices), and waits until it answers.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// Log returns what the daemon has printed so far.
func (s *Server) Log() string { return s.logBuf.String() }

// pactl runs pactl on this server.
func (s *Server) pactl(args ...string) (string, error) {
	cmd := exec.Command("pactl", args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("pactl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Pactl runs pactl with args on this server and returns what it printed,
// trimmed; it fails the test if pactl fails. Call it from the test's
// goroutine.
func (s *Server) Pactl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.pactl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// NullSink adds a null sink, at Rate and in stereo as most sound cards
// are, whose server name is name and whose description is description,
// and returns its name and the name of its monitor source (name.monitor),
// whose description PulseAudio makes "Monitor of " + description. Audio
// played into the sink can be recorded from the monitor. The sink has a
// keeper, a stream of silence, always playing into it (see keeper).
func (s *Server) NullSink(t testing.TB, name, description string) (sink, monitor string) {
	t.Helper()
	if name == "" || strings.ContainsAny(name, " \t\n'\"\\=") {
		t.Fatalf("pulsetest: null sink name %q: want a plain word", name)
	}
	if strings.ContainsAny(description, "'\"\\\n") {
		t.Fatalf("pulsetest: null sink description %q: no quotes, backslashes or newlines", description)
	}
	k := nullSink{name, fmt.Sprintf(`module-null-sink sink_name=%s rate=%d channels=2 sink_properties="device.description='%s'"`,
		name, Rate, description)}
	if err := s.loadSink(k); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.sinks = append(s.sinks, k)
	s.mu.Unlock()
	return name, name + ".monitor"
}

// loadSink loads a null sink and its keeper, and waits until it renders
// at a low latency. The sink is suspended until the keeper is on it:
// resumed, it forgets the 2 s block it began with and starts at the
// keeper's latency.
func (s *Server) loadSink(k nullSink) error {
	if _, err := s.pactl(append([]string{"load-module"}, strings.Fields(k.args)...)...); err != nil {
		return err
	}
	if _, err := s.pactl("suspend-sink", k.name, "1"); err != nil {
		return err
	}
	if err := s.keep(k.name); err != nil {
		return err
	}
	deadline := time.Now().Add(settleTimeout)
	resumed := false
	for {
		var sinks []struct {
			Name    string
			Latency struct{ Actual float64 }
		}
		var inputs []struct {
			Sink       int
			Properties map[string]string
		}
		if err := s.pactlJSON(&sinks, "list", "sinks"); err != nil {
			return err
		}
		if err := s.pactlJSON(&inputs, "list", "sink-inputs"); err != nil {
			return err
		}
		if !resumed {
			for _, in := range inputs {
				if in.Properties[keeperProp] == k.name {
					if _, err := s.pactl("suspend-sink", k.name, "0"); err != nil {
						return err
					}
					resumed = true
				}
			}
		} else {
			for _, sk := range sinks {
				if sk.Name == k.name && sk.Latency.Actual < 100_000 {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pulsetest: null sink %s not at a low latency after %v (keeper on it: %v)", k.name, settleTimeout, resumed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settleTimeout bounds how long loadSink waits for the sink.
const settleTimeout = 5 * time.Second

// keep starts a keeper for the null sink name.
func (s *Server) keep(name string) error {
	cmd := exec.Command("pacat", "--playback", "--raw", "--device="+name, "--latency-msec=40",
		fmt.Sprintf("--rate=%d", Rate), "--channels=2", "--property="+keeperProp+"="+name, "/dev/zero")
	cmd.Env = s.env
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pulsetest: start pacat: %w", err)
	}
	k := &keeper{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(k.done)
	}()
	s.mu.Lock()
	running := s.cmd != nil
	if running {
		s.keepers = append(s.keepers, k)
	}
	s.mu.Unlock()
	if !running {
		_ = cmd.Process.Kill()
		<-k.done
		return errors.New("pulsetest: the server is not running")
	}
	return nil
}

// pactlJSON runs pactl with JSON output and decodes it into v.
func (s *Server) pactlJSON(v any, args ...string) error {
	out, err := s.pactl(append([]string{"--format=json"}, args...)...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("pulsetest: pactl %s: %v", strings.Join(args, " "), err)
	}
	return nil
}

// keeperProp marks the keepers' streams, which Streams leaves out.
const keeperProp = "pulsetest.keeper"

// Stream is a client's stream on the server: a playback stream into a
// sink (a sink input) or a recording stream from a source (a source
// output).
type Stream struct {
	// Playback says whether it plays into a sink; else it records.
	Playback bool
	// Device is the server name of its sink or source.
	Device string
	// PID is the client's process ID, App its application name.
	PID int
	App string
}

// Streams lists the clients' streams, the server's own keepers left out.
func (s *Server) Streams(t testing.TB) []Stream {
	t.Helper()
	type stream struct {
		Sink, Source *int
		Properties   map[string]string
	}
	type device struct {
		Index int
		Name  string
	}
	var inputs, outputs []stream
	var sinks, sources []device
	for _, q := range []struct {
		v    any
		what string
	}{{&inputs, "sink-inputs"}, {&outputs, "source-outputs"}, {&sinks, "sinks"}, {&sources, "sources"}} {
		if err := s.pactlJSON(q.v, "list", q.what); err != nil {
			t.Fatal(err)
		}
	}
	name := func(devs []device, i *int) string {
		for _, d := range devs {
			if i != nil && d.Index == *i {
				return d.Name
			}
		}
		return "?"
	}
	var out []Stream
	for _, in := range inputs {
		if in.Properties[keeperProp] == "" {
			pid, _ := strconv.Atoi(in.Properties["application.process.id"])
			out = append(out, Stream{Playback: true, Device: name(sinks, in.Sink), PID: pid, App: in.Properties["application.name"]})
		}
	}
	for _, o := range outputs {
		pid, _ := strconv.Atoi(o.Properties["application.process.id"])
		out = append(out, Stream{Device: name(sources, o.Source), PID: pid, App: o.Properties["application.name"]})
	}
	return out
}

// Play plays a WAV file into sink with paplay, and returns when it has
// been played. It reports a failure with t.Errorf, so that it can run on
// a goroutine of its own.
func (s *Server) Play(t testing.TB, sink, wavPath string) {
	t.Helper()
	cmd := exec.Command("paplay", "--device="+sink, "--latency-msec=20", wavPath)
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("pulsetest: paplay %s into %s: %v: %s", wavPath, sink, err, bytes.TrimSpace(out))
	}
}

// Record records source (a monitor, say) with parecord, as 16-bit mono
// PCM at Rate, until stop is called, which writes the recording to
// wavPath as a WAV file. stop is also called when the test ends, and is
// safe to call more than once. A failure is reported with t.Errorf.
func (s *Server) Record(t testing.TB, source, wavPath string) (stop func()) {
	t.Helper()
	cmd := exec.Command("parecord", "--raw", "--device="+source, "--format=s16le",
		fmt.Sprintf("--rate=%d", Rate), "--channels=1", "--latency-msec=10")
	cmd.Env = s.env
	var pcm, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &pcm, &stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("pulsetest: parecord: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			// parecord writes what it has and exits 0 on SIGTERM.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			timer := time.AfterFunc(stopTimeout, func() { _ = cmd.Process.Kill() })
			err := cmd.Wait()
			if !timer.Stop() {
				err = fmt.Errorf("did not end within %v of SIGTERM", stopTimeout)
			}
			if err != nil {
				t.Errorf("pulsetest: parecord %s: %v: %s", source, err, bytes.TrimSpace(stderr.Bytes()))
			}
			data := pcm.Bytes()
			if err := os.WriteFile(wavPath, wav(data[:len(data)/2*2]), 0o644); err != nil {
				t.Errorf("pulsetest: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// wav is a 16-bit mono PCM WAV file at Rate holding data.
func wav(data []byte) []byte {
	var b bytes.Buffer
	u32 := func(v int) { _ = binary.Write(&b, binary.LittleEndian, uint32(v)) }
	u16 := func(v int) { _ = binary.Write(&b, binary.LittleEndian, uint16(v)) }
	b.WriteString("RIFF")
	u32(36 + len(data))
	b.WriteString("WAVEfmt ")
	u32(16)       // the fmt chunk's size
	u16(1)        // PCM
	u16(1)        // mono
	u32(Rate)     // samples a second
	u32(2 * Rate) // bytes a second
	u16(2)        // bytes a frame
	u16(16)       // bits a sample
	b.WriteString("data")
	u32(len(data))
	b.Write(data)
	return b.Bytes()
}

// syncBuffer is a bytes.Buffer safe for concurrent use: the daemon writes
// its log while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
