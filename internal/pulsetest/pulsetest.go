// Package pulsetest runs a private PulseAudio daemon for tests, as
// internal/rawpeer is a private peer: internal/pulse's, its files under
// the test's temporary directory, the devices a test makes with NullSink,
// stopped by its PID when the test ends, so that nothing depends on, or
// touches, the machine's own sound.
//
// It needs pulseaudio and pactl, paplay and parecord (pulseaudio-utils);
// scripts/setup --test installs them. PulseAudio refuses nothing as root
// outside --system mode: it warns ("This program is not intended to be run
// as root") and runs as a per-user daemon, which is what CI gets.
package pulsetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/internal/pulse"
)

// Rate is the sample rate of the null sinks, of Record's recordings and
// the rate Play expects its WAV files at (paplay converts others).
const Rate = pulse.Rate

// Server is a running private PulseAudio daemon (see internal/pulse).
type Server struct {
	srv *pulse.Server
}

// Start starts a private PulseAudio daemon and waits until it answers
// pactl info. The test is skipped where PulseAudio is not installed and
// the CI variable is unset; with CI set it fails instead. The daemon is
// stopped, SIGTERM then SIGKILL, when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	err := pulse.Available()
	if err == nil {
		for _, tool := range []string{"paplay", "parecord"} {
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
	srv, err := pulse.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("pulseaudio's log:\n%s", srv.Log())
		}
	})
	return &Server{srv: srv}
}

// Pulse returns the server itself, for what this package does not wrap.
func (s *Server) Pulse() *pulse.Server { return s.srv }

// Env returns a whole environment for a child process that should use this
// server: the test's own, less anything naming another sound server,
// default device or bus, plus PULSE_SERVER for this one and a client
// configuration that never autospawns. A test adds to it (PULSE_SINK=…)
// and sets it as exec.Cmd.Env.
func (s *Server) Env() []string { return s.srv.Env() }

// Socket returns the path of the server's socket.
func (s *Server) Socket() string { return s.srv.Socket() }

// PID returns the daemon's process ID, 0 when it is not running.
func (s *Server) PID() int { return s.srv.PID() }

// Kill kills the daemon with SIGKILL, as a crash would, and waits until
// it is gone. Restart starts it again.
func (s *Server) Kill() { s.srv.Kill() }

// Restart stops the daemon if it runs and starts it again on the same
// socket, with the null sinks made so far (by their names, as new
// devices), and waits until it answers.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.srv.Restart(); err != nil {
		t.Fatal(err)
	}
}

// Log returns what the daemon has printed so far.
func (s *Server) Log() string { return s.srv.Log() }

func (s *Server) pactl(args ...string) (string, error) { return s.srv.Pactl(args...) }

// Pactl runs pactl with args on this server and returns what it printed,
// trimmed; it fails the test if pactl fails. Call it from the test's
// goroutine.
func (s *Server) Pactl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.srv.Pactl(args...)
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
// keeper, a stream of silence, always playing into it.
func (s *Server) NullSink(t testing.TB, name, description string) (sink, monitor string) {
	t.Helper()
	monitor, err := s.srv.NullSink(pulse.Sink{Name: name, Description: description})
	if err != nil {
		t.Fatal(err)
	}
	return name, monitor
}

// Stream is a client's stream on the server: a playback stream into a
// sink (a sink input) or a recording stream from a source (a source
// output).
type Stream = pulse.Stream

// Streams lists the clients' streams, the server's own keepers left out.
func (s *Server) Streams(t testing.TB) []Stream {
	t.Helper()
	st, err := s.srv.Streams()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Play plays a WAV file into sink with paplay, and returns when it has
// been played. It reports a failure with t.Errorf, so that it can run on
// a goroutine of its own.
func (s *Server) Play(t testing.TB, sink, wavPath string) {
	t.Helper()
	cmd := exec.Command("paplay", "--device="+sink, "--latency-msec=20", wavPath)
	cmd.Env = s.srv.Env()
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
	cmd.Env = s.srv.Env()
	var pcm, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &pcm, &stderr
	cmd.SysProcAttr = pulse.SysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("pulsetest: parecord: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			// parecord writes what it has and exits 0 on SIGTERM.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			timer := time.AfterFunc(pulse.StopTimeout, func() { _ = cmd.Process.Kill() })
			err := cmd.Wait()
			if !timer.Stop() {
				err = fmt.Errorf("did not end within %v of SIGTERM", pulse.StopTimeout)
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
