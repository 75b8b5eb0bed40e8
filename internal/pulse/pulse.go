// Package pulse runs a private PulseAudio daemon: its own runtime and
// state directories, its own socket, no sound card, no D-Bus, no
// autospawn, and the devices its user makes with NullSink and Load. It is
// started as a child process and stopped by its PID, so that nothing
// depends on, or touches, the machine's own sound. Tests use it through
// internal/pulsetest; `parley bench` uses it for its real-device
// scenarios.
//
// It needs pulseaudio, and pactl and pacat (pulseaudio-utils); scripts/setup
// --test installs them. PulseAudio refuses nothing as root outside
// --system mode: it warns ("This program is not intended to be run as
// root") and runs as a per-user daemon, which is what CI gets.
package pulse

import (
	"bytes"
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
	"time"

	"parley/internal/syncbuf"
)

// Rate is the sample rate of the null sinks.
const Rate = 48000

const (
	// readyTimeout bounds how long Start waits for the daemon to answer.
	readyTimeout = 10 * time.Second
	// StopTimeout is how long the daemon, or a client of it, has to exit
	// after SIGTERM before it is killed.
	StopTimeout = 3 * time.Second
	// settleTimeout bounds how long NullSink waits for the sink.
	settleTimeout = 5 * time.Second
)

// ErrMissing is what Start and Available return where PulseAudio or its
// tools are not installed.
var ErrMissing = errors.New("PulseAudio is not installed; scripts/setup --test installs it")

// Available reports whether pulseaudio, pactl and pacat are installed,
// with an error matching ErrMissing if not.
func Available() error {
	for _, tool := range []string{"pulseaudio", "pactl", "pacat"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w (%v)", ErrMissing, err)
		}
	}
	return nil
}

// Server is a running private PulseAudio daemon.
type Server struct {
	dir     string // runtime root: home, runtime, state, config
	ownDir  bool   // made by Start, removed by Stop
	socket  string
	env     []string
	daemon  string // the pulseaudio binary
	logBuf  *syncbuf.Buffer
	stopped bool

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	modules []module      // loaded by NullSink and Load, loaded again by Restart
	keepers []*keeper     // one a null sink, while the daemon runs
}

// module is a module NullSink or Load loaded; keep names the null sink
// it makes, which gets a keeper.
type module struct{ keep, args string }

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

// Start starts a private PulseAudio daemon with its files under dir and
// waits until it answers pactl info. With dir "" it makes a temporary
// directory, which Stop removes. Where PulseAudio is not installed the
// error matches ErrMissing. The caller must Stop it.
func Start(dir string) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	daemon, _ := exec.LookPath("pulseaudio")
	ownDir := false
	socket := filepath.Join(dir, "native")
	if dir == "" || len(socket) > 100 { // a unix socket's path has at most 107 bytes
		short, err := os.MkdirTemp("", "pulse")
		if err != nil {
			return nil, err
		}
		dir, socket, ownDir = short, filepath.Join(short, "native"), true
	}
	s := &Server{dir: dir, ownDir: ownDir, socket: socket, daemon: daemon, logBuf: new(syncbuf.Buffer)}
	fail := func(err error) (*Server, error) {
		s.Stop()
		return nil, err
	}
	for _, d := range []string{"home", "runtime", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fail(err)
		}
	}
	clientConf := filepath.Join(dir, "client.conf")
	if err := os.WriteFile(clientConf, []byte("autospawn = no\n"), 0o600); err != nil {
		return fail(err)
	}
	s.env = append(CleanEnv(os.Environ()), s.ClientEnv()...)
	s.env = append(s.env, "PULSE_CLIENTCONFIG="+clientConf)
	if err := s.start(); err != nil {
		return fail(err)
	}
	return s, nil
}

// CleanEnv is env without what would point a PulseAudio client or the
// daemon elsewhere: the PULSE_ variables, D-Bus, and the display (whose
// root window can name a server).
func CleanEnv(env []string) []string {
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

// ClientEnv returns the variables that point a libpulse client at this
// server and at nothing else, as KEY=VALUE: PULSE_SERVER, a client
// configuration that never autospawns, a cookie of its own, and a D-Bus
// that is not there (a missing socket fails at once, where an unset
// address would try autolaunch).
func (s *Server) ClientEnv() []string {
	return []string{
		"PULSE_SERVER=unix:" + s.socket,
		"PULSE_CLIENTCONFIG=" + filepath.Join(s.dir, "client.conf"),
		"PULSE_COOKIE=" + filepath.Join(s.dir, "cookie"),
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(s.dir, "no-dbus"),
		"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + filepath.Join(s.dir, "no-dbus"),
	}
}

// Env returns a whole environment for a child process that should use this
// server: this process's own, less anything naming another sound server,
// default device or bus, plus ClientEnv.
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

// CPUTime returns the CPU time the daemon has used, user and system
// (Linux only).
func (s *Server) CPUTime() (time.Duration, error) {
	pid := s.PID()
	if pid == 0 {
		return 0, errors.New("pulse: the server is not running")
	}
	return cpuTime(pid)
}

// start starts the daemon, with the modules loaded so far, and waits
// until it answers.
func (s *Server) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("pulse: the server is already running")
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
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("pulse: start pulseaudio: %w", err)
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
			return fmt.Errorf("pulse: pulseaudio exited at start (%v):\n%s", cmd.ProcessState, s.logBuf.String())
		default:
		}
		if _, last = s.Pactl("info"); last == nil {
			s.mu.Lock()
			mods := append([]module(nil), s.modules...)
			s.mu.Unlock()
			for _, m := range mods {
				if err := s.load(m); err != nil {
					return err
				}
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stopDaemon()
	return fmt.Errorf("pulse: pulseaudio did not answer within %v: %v\n%s", readyTimeout, last, s.logBuf.String())
}

// Stop ends the daemon, if running, SIGTERM then SIGKILL after
// StopTimeout, waits until it is gone, and removes the directory Start
// made. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopDaemon()
	s.mu.Lock()
	remove := s.ownDir && !s.stopped
	s.stopped = true
	s.mu.Unlock()
	if remove {
		os.RemoveAll(s.dir)
	}
}

// stopDaemon ends the daemon and its keepers, if running.
func (s *Server) stopDaemon() {
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
	case <-time.After(StopTimeout):
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
// socket, with the modules loaded so far (their sinks and sources by
// their names, as new devices), and waits until it answers.
func (s *Server) Restart() error {
	s.stopDaemon()
	return s.start()
}

// Log returns what the daemon has printed so far.
func (s *Server) Log() string { return s.logBuf.String() }

// Pactl runs pactl with args on this server and returns what it printed,
// trimmed.
func (s *Server) Pactl(args ...string) (string, error) {
	cmd := exec.Command("pactl", args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("pactl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// PactlJSON runs pactl with JSON output and decodes it into v.
func (s *Server) PactlJSON(v any, args ...string) error {
	out, err := s.Pactl(append([]string{"--format=json"}, args...)...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("pulse: pactl %s: %v", strings.Join(args, " "), err)
	}
	return nil
}

// Sink describes a null sink for NullSink.
type Sink struct {
	// Name is its server name, a plain word; Description what it is
	// called for users ("" leaves PulseAudio's).
	Name, Description string
	// Channels is how many it has, 2 if 0; ChannelMap, if set, their
	// positions ("aux0,aux1,aux2").
	Channels   int
	ChannelMap string
}

// NullSink adds a null sink at Rate and returns the name of its monitor
// source (Name.monitor), whose description PulseAudio makes "Monitor of "
// + Description. Audio played into the sink can be recorded from the
// monitor. The sink has a keeper, a stream of silence, always playing
// into it (see keeper), and is made again by Restart.
func (s *Server) NullSink(k Sink) (monitor string, err error) {
	if k.Name == "" || strings.ContainsAny(k.Name, " \t\n'\"\\=") {
		return "", fmt.Errorf("pulse: null sink name %q: want a plain word", k.Name)
	}
	if strings.ContainsAny(k.Description, "'\"\\\n") {
		return "", fmt.Errorf("pulse: null sink description %q: no quotes, backslashes or newlines", k.Description)
	}
	if k.Channels == 0 {
		k.Channels = 2
	}
	args := fmt.Sprintf("module-null-sink sink_name=%s rate=%d channels=%d", k.Name, Rate, k.Channels)
	if k.ChannelMap != "" {
		args += " channel_map=" + k.ChannelMap
	}
	if k.Description != "" {
		args += fmt.Sprintf(` sink_properties="device.description='%s'"`, k.Description)
	}
	m := module{keep: k.Name, args: args}
	if err := s.load(m); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.modules = append(s.modules, m)
	s.mu.Unlock()
	return k.Name + ".monitor", nil
}

// Load loads a module, "module-remap-sink sink_name=… master=…", whose
// arguments hold no quoted spaces; Restart loads it again.
func (s *Server) Load(args string) error {
	m := module{args: args}
	if err := s.load(m); err != nil {
		return err
	}
	s.mu.Lock()
	s.modules = append(s.modules, m)
	s.mu.Unlock()
	return nil
}

// load loads a module; for a null sink, with its keeper, and waits until
// it renders at a low latency. The sink is suspended until the keeper is
// on it: resumed, it forgets the 2 s block it began with and starts at
// the keeper's latency.
func (s *Server) load(m module) error {
	if _, err := s.Pactl(append([]string{"load-module"}, splitArgs(m.args)...)...); err != nil {
		return err
	}
	if m.keep == "" {
		return nil
	}
	name := m.keep
	if _, err := s.Pactl("suspend-sink", name, "1"); err != nil {
		return err
	}
	if err := s.keepSink(name); err != nil {
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
		if err := s.PactlJSON(&sinks, "list", "sinks"); err != nil {
			return err
		}
		if err := s.PactlJSON(&inputs, "list", "sink-inputs"); err != nil {
			return err
		}
		if !resumed {
			for _, in := range inputs {
				if in.Properties[KeeperProp] == name {
					if _, err := s.Pactl("suspend-sink", name, "0"); err != nil {
						return err
					}
					resumed = true
				}
			}
		} else {
			for _, sk := range sinks {
				if sk.Name == name && sk.Latency.Actual < 100_000 {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pulse: null sink %s not at a low latency after %v (keeper on it: %v)", name, settleTimeout, resumed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// splitArgs splits a module's arguments at spaces outside double quotes,
// keeping the quotes, as pactl takes them one an argument.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// keepSink starts a keeper for the null sink name.
func (s *Server) keepSink(name string) error {
	cmd := exec.Command("pacat", "--playback", "--raw", "--device="+name, "--latency-msec=40",
		fmt.Sprintf("--rate=%d", Rate), "--channels=1", "--property="+KeeperProp+"="+name, "/dev/zero")
	cmd.Env = s.env
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pulse: start pacat: %w", err)
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
		return errors.New("pulse: the server is not running")
	}
	return nil
}

// KeeperProp marks the keepers' streams, which Streams leaves out.
const KeeperProp = "pulsetest.keeper"

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

// Streams lists the clients' streams, the server's own keepers and the
// streams of filter modules (module-remap-sink, …) left out.
func (s *Server) Streams() ([]Stream, error) {
	type stream struct {
		Sink, Source *int
		Driver       string
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
		if err := s.PactlJSON(q.v, "list", q.what); err != nil {
			return nil, err
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
	client := func(st stream) bool {
		return st.Properties[KeeperProp] == "" && st.Properties["application.process.id"] != ""
	}
	var out []Stream
	for _, in := range inputs {
		if client(in) {
			pid, _ := strconv.Atoi(in.Properties["application.process.id"])
			out = append(out, Stream{Playback: true, Device: name(sinks, in.Sink), PID: pid, App: in.Properties["application.name"]})
		}
	}
	for _, o := range outputs {
		if client(o) {
			pid, _ := strconv.Atoi(o.Properties["application.process.id"])
			out = append(out, Stream{Device: name(sources, o.Source), PID: pid, App: o.Properties["application.name"]})
		}
	}
	return out, nil
}
