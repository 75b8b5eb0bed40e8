package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"parley/internal/pulse"
)

// The rig: a private PulseAudio with one null sink of four channels,
// "rig", whose channels are each peer's mouth and ear:
//
//	aux0  mouth_a: what A says; A's microphone, mic_a, hears it
//	aux1  ear_a:   what A's speaker plays
//	aux2  mouth_b: what B says; mic_b hears it
//	aux3  ear_b:   what B's speaker plays
//
// mouth_a, ear_a, mouth_b and ear_b are module-remap-sinks, each one
// channel of rig; mic_a and mic_b are module-remap-sources of rig's
// monitor, channels aux0 and aux2. The speech is played into mouth_a and
// mouth_b; one recording of rig's monitor holds mouths and ears of both
// directions, sample by sample on the server's one clock, so the delay
// from a marker in a mouth to its copy in the other peer's ear is exact
// to the sample, whatever the players', the recorder's or the peers'
// own timing.
const (
	rigChannels = 4
	chMouthA    = 0
	chEarA      = 1
	chMouthB    = 2
	chEarB      = 3
)

// rig is the private sound server and its devices.
type rig struct {
	srv *pulse.Server
	env []string // what this process's environment had, to restore
}

// startRig starts the server, makes the devices and points this process's
// libpulse at the server. The error matches pulse.ErrMissing where
// PulseAudio is not installed.
func startRig() (_ *rig, err error) {
	srv, err := pulse.Start("")
	if err != nil {
		return nil, err
	}
	r := &rig{srv: srv}
	defer func() {
		if err != nil {
			r.stop()
		}
	}()
	if _, err := srv.NullSink(pulse.Sink{Name: "rig", Description: "Rig", Channels: rigChannels, ChannelMap: "aux0,aux1,aux2,aux3"}); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		ch   int
	}{{"mouth_a", chMouthA}, {"ear_a", chEarA}, {"mouth_b", chMouthB}, {"ear_b", chEarB}} {
		if err := srv.Load(fmt.Sprintf("module-remap-sink sink_name=%s master=rig channels=1 channel_map=mono master_channel_map=aux%d remix=no sink_properties=device.description=%s",
			d.name, d.ch, d.name)); err != nil {
			return nil, err
		}
	}
	for _, d := range []struct {
		name string
		ch   int
	}{{"mic_a", chMouthA}, {"mic_b", chMouthB}} {
		if err := srv.Load(fmt.Sprintf("module-remap-source source_name=%s master=rig.monitor channels=1 channel_map=mono master_channel_map=aux%d remix=no source_properties=device.description=%s",
			d.name, d.ch, d.name)); err != nil {
			return nil, err
		}
	}
	// libpulse in this process: the server's variables, and nothing that
	// names another server or a default device.
	r.env = os.Environ()
	for _, kv := range r.env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PULSE_") || strings.HasPrefix(k, "DBUS_") || k == "DISPLAY" || k == "WAYLAND_DISPLAY" {
			os.Unsetenv(k)
		}
	}
	for _, kv := range srv.ClientEnv() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	return r, nil
}

// stop stops the server and gives this process its environment back.
func (r *rig) stop() {
	r.srv.Stop()
	if r.env == nil {
		return
	}
	for _, kv := range r.srv.ClientEnv() {
		k, _, _ := strings.Cut(kv, "=")
		os.Unsetenv(k)
	}
	for _, kv := range r.env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
}

// cpu returns the server's CPU time so far, 0 if it cannot be read.
func (r *rig) cpu() time.Duration {
	d, _ := r.srv.CPUTime()
	return d
}

// player plays mono PCM into a sink with pacat, at the server's pace.
type player struct {
	cmd  *exec.Cmd
	done chan error
}

// play starts playing pcm into sink.
func (r *rig) play(sink string, pcm []int16) (*player, error) {
	cmd := exec.Command("pacat", "--playback", "--raw", "--format=s16le", fmt.Sprintf("--rate=%d", rate), "--channels=1",
		"--device="+sink, "--latency-msec=20", "--client-name=bench-mouth")
	cmd.Env = r.srv.Env()
	cmd.SysProcAttr = pulse.SysProcAttr()
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, pcm)
	cmd.Stdin = &b
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pacat: %w", err)
	}
	p := &player{cmd: cmd, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("pacat into %s: %v: %s", sink, err, bytes.TrimSpace(stderr.Bytes()))
		}
		p.done <- err
	}()
	return p, nil
}

// speak plays a into mouth_a and b into mouth_b at once, waits until
// both have played (d, the longer's length, and 5 s to spare), then
// tail more for the ears to hear the end. The players' failures come back
// in playErr, to report after the recording is stopped; err is the
// context's.
func (r *rig) speak(ctx context.Context, a, b []int16, d, tail time.Duration) (playErr, err error) {
	pa, err := r.play("mouth_a", a)
	if err != nil {
		return nil, err
	}
	pb, err := r.play("mouth_b", b)
	if err != nil {
		pa.wait(0)
		return nil, err
	}
	playErr = errors.Join(pa.wait(d+5*time.Second), pb.wait(d+5*time.Second))
	return playErr, sleep(ctx, tail)
}

// wait waits for the player to finish, at most d, and kills it then.
func (p *player) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("pacat did not finish playing in time")
	}
}

// recorder records rig's monitor, all four channels, with pacat.
type recorder struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	data []byte
	done chan struct{}
	err  error

	stopped sync.Once
	chans   [rigChannels][]int16 // what stop returns, every time
	stopErr error
}

func (r *rig) record() (*recorder, error) {
	cmd := exec.Command("pacat", "--record", "--raw", "--format=s16le", fmt.Sprintf("--rate=%d", rate),
		fmt.Sprintf("--channels=%d", rigChannels), "--channel-map=aux0,aux1,aux2,aux3", "--device=rig.monitor",
		"--latency-msec=20", "--client-name=bench-recorder")
	cmd.Env = r.srv.Env()
	cmd.SysProcAttr = pulse.SysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pacat --record: %w", err)
	}
	rec := &recorder{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(rec.done)
		buf := make([]byte, 64<<10)
		for {
			n, err := out.Read(buf)
			rec.mu.Lock()
			rec.data = append(rec.data, buf[:n]...)
			rec.mu.Unlock()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					rec.err = err
				}
				break
			}
		}
		if err := cmd.Wait(); err != nil && rec.err == nil && !isSignalled(err) {
			rec.err = fmt.Errorf("pacat --record: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
		}
	}()
	return rec, nil
}

func isSignalled(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return ws.Signaled()
		}
	}
	return false
}

// frames returns how many frames have been recorded so far.
func (rec *recorder) frames() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.data) / (2 * rigChannels)
}

// stop ends the recording and returns each channel; called again, it
// returns the same.
func (rec *recorder) stop() ([rigChannels][]int16, error) {
	rec.stopped.Do(func() { rec.chans, rec.stopErr = rec.finish() })
	return rec.chans, rec.stopErr
}

func (rec *recorder) finish() ([rigChannels][]int16, error) {
	_ = rec.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-rec.done:
	case <-time.After(pulse.StopTimeout):
		_ = rec.cmd.Process.Kill()
		<-rec.done
	}
	var ch [rigChannels][]int16
	if rec.err != nil {
		return ch, rec.err
	}
	n := len(rec.data) / (2 * rigChannels)
	for c := range ch {
		ch[c] = make([]int16, n)
	}
	for i := range n {
		for c := range ch {
			off := 2 * (i*rigChannels + c)
			ch[c][i] = int16(binary.LittleEndian.Uint16(rec.data[off:]))
		}
	}
	return ch, nil
}
