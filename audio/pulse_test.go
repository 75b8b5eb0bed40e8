package audio

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/pulsetest"
)

// usePulse starts a private PulseAudio server with a "mouth" and an "ear"
// null sink and points this process's libpulse at it (so the test cannot
// be parallel), with PULSE_SOURCE and PULSE_SINK unset.
func usePulse(t *testing.T) *pulsetest.Server {
	s := pulsetest.Start(t)
	s.NullSink(t, "mouth", "Mouth A")
	s.NullSink(t, "ear", "Ear A")
	for _, kv := range s.Env() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PULSE_") || strings.HasPrefix(k, "DBUS_") {
			t.Setenv(k, v)
		}
	}
	for _, k := range []string{"PULSE_SOURCE", "PULSE_SINK"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return s
}

// streamsOf returns this process's streams on s: the devices it records
// from and plays into.
func streamsOf(t *testing.T, s *pulsetest.Server) (sources, sinks []string) {
	for _, st := range s.Streams(t) {
		if st.PID != os.Getpid() {
			continue
		}
		if st.Playback {
			sinks = append(sinks, st.Device)
		} else {
			sources = append(sources, st.Device)
		}
	}
	return sources, sinks
}

// TestPulseDevices lists the devices of a real PulseAudio server and opens
// them by server name, description, part of either and index: each opens
// the device named, as the server sees it, and is named after it.
func TestPulseDevices(t *testing.T) {
	s := usePulse(t)
	l, err := Devices(BackendAuto)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("devices: %+v", l)
	want := DeviceList{
		Capture:  []DeviceInfo{{Name: "Monitor of Mouth A", ID: "mouth.monitor"}, {Name: "Monitor of Ear A", ID: "ear.monitor"}},
		Playback: []DeviceInfo{{Name: "Mouth A", ID: "mouth"}, {Name: "Ear A", ID: "ear"}},
	}
	strip := func(l []DeviceInfo) []DeviceInfo {
		out := make([]DeviceInfo, len(l))
		for i, d := range l {
			out[i] = DeviceInfo{Name: d.Name, ID: d.ID}
		}
		slices.SortFunc(out, func(a, b DeviceInfo) int { return strings.Compare(b.ID, a.ID) })
		return out
	}
	if !slices.Equal(strip(l.Capture), want.Capture) || !slices.Equal(strip(l.Playback), want.Playback) {
		t.Fatalf("Devices = %+v; want %+v", l, want)
	}
	index := func(l []DeviceInfo, id string) string {
		for _, d := range l {
			if d.ID == id {
				return strconv.Itoa(d.Index)
			}
		}
		return "?"
	}
	for _, c := range []struct{ in, out string }{
		{"mouth.monitor", "ear"},
		{"Monitor of Mouth A", "Ear A"},
		{"MOUTH", "ear a"}, // part of the server name and the description, case aside
		{index(l.Capture, "mouth.monitor"), index(l.Playback, "ear")},
	} {
		io, err := Open(Spec{Device: c.in}, Spec{Device: c.out}, Options{Logf: testLogf(t)})
		if err != nil {
			t.Errorf("Open(%q, %q): %v", c.in, c.out, err)
			continue
		}
		if in, out := io.In.Name(), io.Out.Name(); in != "Monitor of Mouth A (mouth.monitor)" || out != "Ear A (ear)" {
			t.Errorf("Open(%q, %q) names %q, %q", c.in, c.out, in, out)
		}
		if src, snk := streamsOf(t, s); !slices.Equal(src, []string{"mouth.monitor"}) || !slices.Equal(snk, []string{"ear"}) {
			t.Errorf("Open(%q, %q): the server has our streams on %v and %v; want mouth.monitor and ear", c.in, c.out, src, snk)
		}
		io.Close()
	}
	if _, err := Open(Spec{Device: "monitor"}, Spec{Kind: KindNone}, Options{Logf: testLogf(t)}); !errors.Is(err, ErrDeviceNotFound) || !strings.Contains(err.Error(), "(mouth.monitor)") {
		t.Errorf("Open(monitor) = %v; want it ambiguous, naming the devices", err)
	}
}

// TestPulseDefaultEnv opens the default devices with PULSE_SOURCE and
// PULSE_SINK set: libpulse connects to those, and the names say so.
func TestPulseDefaultEnv(t *testing.T) {
	s := usePulse(t)
	// The server's defaults are the first sink and its monitor: mouth.
	for _, c := range []struct {
		source, sink      string
		wantIn, wantOut   string
		wantSrc, wantSink string
	}{
		{"", "", "Monitor of Mouth A (mouth.monitor)", "Mouth A (mouth)", "mouth.monitor", "mouth"},
		{"ear.monitor", "ear", "Monitor of Ear A (ear.monitor)", "Ear A (ear)", "ear.monitor", "ear"},
	} {
		setenv(t, "PULSE_SOURCE", c.source)
		setenv(t, "PULSE_SINK", c.sink)
		io, err := Open(Spec{}, Spec{}, Options{Logf: testLogf(t)})
		if err != nil {
			t.Fatalf("PULSE_SOURCE=%q PULSE_SINK=%q: %v", c.source, c.sink, err)
		}
		if in, out := io.In.Name(), io.Out.Name(); in != c.wantIn || out != c.wantOut {
			t.Errorf("PULSE_SOURCE=%q PULSE_SINK=%q: names %q, %q; want %q, %q", c.source, c.sink, in, out, c.wantIn, c.wantOut)
		}
		if src, snk := streamsOf(t, s); !slices.Equal(src, []string{c.wantSrc}) || !slices.Equal(snk, []string{c.wantSink}) {
			t.Errorf("PULSE_SOURCE=%q PULSE_SINK=%q: the server has our streams on %v and %v; want %s and %s", c.source, c.sink, src, snk, c.wantSrc, c.wantSink)
		}
		io.Close()
	}
	// A variable naming no device, or set to nothing (which libpulse
	// would take as a device named ""), is said.
	for _, v := range []string{"nosuch", ""} {
		t.Setenv("PULSE_SINK", v)
		if io, err := Open(Spec{Kind: KindTone}, Spec{}, Options{Logf: testLogf(t)}); !errors.Is(err, ErrDeviceNotFound) || !strings.Contains(err.Error(), "PULSE_SINK") {
			if io != nil {
				io.Close()
			}
			t.Errorf("Open with PULSE_SINK=%q: %v; want ErrDeviceNotFound naming the variable", v, err)
		} else {
			t.Logf("PULSE_SINK=%q: %v", v, err)
		}
	}
}

// setenv sets k to v for the test, or unsets it for "".
func setenv(t *testing.T, k, v string) {
	t.Setenv(k, v)
	if v == "" {
		os.Unsetenv(k)
	}
}

func TestDeviceNameLine(t *testing.T) {
	for msg, want := range map[string]bool{
		"  Monitor of Mouth A (Capture)\n":                                  true,
		"  Null Output (Playback)\n":                                        true,
		"    Format:      16-bit Signed Integer -> 16-bit Signed Integer\n": false,
		"[PulseAudio] Failed to connect (Capture)\n":                        false,
		"    Channels:    1 -> 1 (Playback)\n":                              false,
	} {
		if got := deviceNameLine(msg); got != want {
			t.Errorf("deviceNameLine(%q) = %v; want %v", msg, got, want)
		}
	}
}

// TestPulseOutputPeriod opens a microphone and a speaker on a real server
// with a speaker period of its own: the speaker's stream asks the server
// for that much buffer and the speaker pulls that much at a time, while
// the microphone keeps Period.
func TestPulseOutputPeriod(t *testing.T) {
	usePulse(t)
	var mu sync.Mutex
	var lines []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}
	io, err := Open(Spec{Device: "mouth.monitor"}, Spec{Device: "ear"}, Options{OutputPeriod: 5 * time.Millisecond, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	sizes := make(chan int, 64)
	if err := io.Out.Start(func(dst []int16) {
		select {
		case sizes <- len(dst):
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		select {
		case n := <-sizes:
			if n != 240 {
				t.Fatalf("the speaker pulled %d samples at a time; want 240 (5 ms)", n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the speaker pulled nothing in 5 s")
		}
	}
	io.Close()
	mu.Lock()
	defer mu.Unlock()
	var play, capture bool
	for _, l := range lines {
		// miniaudio's requests, in bytes: mono s16, 2 bytes a sample.
		play = play || strings.Contains(l, "Playback attr:") && strings.Contains(l, "tlength=480,")
		capture = capture || strings.Contains(l, "Capture attr:") && strings.Contains(l, "fragsize=960;")
	}
	if !play || !capture {
		t.Errorf("want the playback stream to ask for tlength=480 and the capture stream for fragsize=960; the log:\n%s", strings.Join(lines, "\n"))
	}
}

// TestPulseThreadNames: the sound library's threads that serve a
// microphone and a speaker are named for them, as top -H shows them.
func TestPulseThreadNames(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc/self/task here")
	}
	usePulse(t)
	io, err := Open(Spec{Device: "mouth.monitor"}, Spec{Device: "ear"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	pulled, delivered := make(chan struct{}, 1), make(chan struct{}, 1)
	// note signals c, without waiting, each time audio moves.
	note := func(c chan struct{}) func([]int16) {
		return func([]int16) {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
	if err := io.Out.Start(note(pulled)); err != nil {
		t.Fatal(err)
	}
	if err := io.In.Start(note(delivered)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []chan struct{}{pulled, delivered} {
		select {
		case <-c:
		case <-time.After(5 * time.Second):
			t.Fatal("no audio moved in 5 s")
		}
	}
	names := map[string]int{}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		if b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/comm"); err == nil {
			names[strings.TrimSpace(string(b))]++
		}
	}
	if names["parley-mic"] != 1 || names["parley-speaker"] != 1 {
		t.Errorf("threads by name: %v; want one parley-mic and one parley-speaker", names)
	}
}

// TestPulseCaptureWake: with Options.Frame, a microphone wakes parley
// once a frame: its periods come in whole frames, back to back.
func TestPulseCaptureWake(t *testing.T) {
	usePulse(t)
	io, err := Open(Spec{Device: "mouth.monitor"}, Spec{Kind: KindNone}, Options{Frame: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	type call struct {
		n  int
		at time.Time
	}
	calls := make(chan call, 512)
	if err := io.In.Start(func(pcm []int16) {
		select {
		case calls <- call{len(pcm), time.Now()}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	var got []call
	timeout := time.After(5 * time.Second)
	for len(got) < 100 {
		select {
		case c := <-calls:
			got = append(got, c)
		case <-timeout:
			t.Fatalf("%d periods in 5 s", len(got))
		}
	}
	// A wake's periods come within a millisecond or so of each other;
	// wakes are about 20 ms apart.
	group, groups := 0, 0
	for i, c := range got {
		if c.n != 480 {
			t.Fatalf("a delivery of %d samples; want 480 (10 ms)", c.n)
		}
		if i > 0 && c.at.Sub(got[i-1].at) > 5*time.Millisecond {
			if group%960 != 0 {
				t.Fatalf("a wake delivered %d samples; want whole 20 ms frames", group)
			}
			group, groups = 0, groups+1
		}
		group += c.n
	}
	if groups < 30 {
		t.Errorf("%d wakes for %d periods; want about one for two", groups, len(got))
	}
}
