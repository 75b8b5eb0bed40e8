package audio

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// TestNullBackend pins the number of miniaudio's null backend: it opens,
// and its devices are the NULL ones. It also checks that malgo's own
// BackendNull is still the wrong one; if that changes, malgo was fixed and
// nullBackend should become malgo.BackendNull.
func TestNullBackend(t *testing.T) {
	ctx, err := initContext([]malgo.Backend{nullBackend}, testLogf(t))
	if err != nil {
		t.Fatalf("init null backend (malgo.Backend(%d)): %v", nullBackend, err)
	}
	defer freeContext(ctx)
	for _, kind := range []malgo.DeviceType{malgo.Capture, malgo.Playback} {
		infos, err := ctx.Devices(kind)
		if err != nil {
			t.Fatalf("list %s devices: %v", kindWord(kind), err)
		}
		if len(infos) != 1 || !strings.HasPrefix(infos[0].Name(), "NULL") {
			t.Errorf("%s devices of the null backend = %v; want one named NULL…", kindWord(kind), infos)
		}
	}

	if bad, err := initContext([]malgo.Backend{malgo.BackendNull}, testLogf(t)); err == nil {
		freeContext(bad)
		t.Errorf("malgo.BackendNull (%d) opened: malgo fixed it; use it for nullBackend", malgo.BackendNull)
	}
}

func TestDevicesNull(t *testing.T) {
	l, err := Devices(BackendNull)
	if err != nil {
		t.Fatal(err)
	}
	want := DeviceList{
		Capture:  []DeviceInfo{{Index: 0, Name: "NULL Capture Device", Default: true}},
		Playback: []DeviceInfo{{Index: 0, Name: "NULL Playback Device", Default: true}},
	}
	if len(l.Capture) != 1 || l.Capture[0] != want.Capture[0] || len(l.Playback) != 1 || l.Playback[0] != want.Playback[0] {
		t.Errorf("Devices(BackendNull) = %+v; want %+v", l, want)
	}
}

// TestNullDeviceRealTime opens the default duplex device of the null
// backend, which needs no sound card, and checks it runs at real-time pace.
func TestNullDeviceRealTime(t *testing.T) {
	io, err := Open(Spec{}, Spec{}, Options{Backend: BackendNull, Logf: testLogf(t)})
	if err != nil {
		t.Fatalf("open the null device: %v", err)
	}
	defer io.Close()
	if _, ok := io.In.(*deviceSource); !ok {
		t.Fatalf("In is %T; want the device", io.In)
	}
	if !strings.HasPrefix(io.In.Name(), "NULL") || !strings.HasPrefix(io.Out.Name(), "NULL") {
		t.Errorf("device names = %q, %q; want NULL…", io.In.Name(), io.Out.Name())
	}
	if io.In.(*deviceSource).d != io.Out.(*deviceSink).d {
		t.Error("input and output are two devices; want one duplex device")
	}

	var captured, played, badLen atomic.Int64
	if err := io.In.Start(func(pcm []int16) {
		if len(pcm) != 480 {
			badLen.Add(1)
		}
		captured.Add(int64(len(pcm)))
	}); err != nil {
		t.Fatal(err)
	}
	if err := io.Out.Start(func(dst []int16) {
		if len(dst) != 480 {
			badLen.Add(1)
		}
		played.Add(int64(len(dst)))
	}); err != nil {
		t.Fatal(err)
	}
	if err := io.In.Start(func([]int16) {}); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v; want ErrStarted", err)
	}

	// Measure over a second, after the device has settled.
	time.Sleep(100 * time.Millisecond)
	c0, p0, t0 := captured.Load(), played.Load(), time.Now()
	time.Sleep(time.Second)
	c1, p1, elapsed := captured.Load(), played.Load(), time.Since(t0)
	want := elapsed.Seconds() * SampleRate
	for _, x := range []struct {
		what string
		got  int64
	}{{"captured", c1 - c0}, {"played", p1 - p0}} {
		if r := float64(x.got) / want; r < 0.75 || r > 1.25 {
			t.Errorf("%s %d samples in %v; want about %.0f", x.what, x.got, elapsed, want)
		}
	}
	t.Logf("in %v: captured %d, played %d samples; real time is %.0f", elapsed, c1-c0, p1-p0, want)
	if badLen.Load() != 0 {
		t.Errorf("%d periods were not 480 samples", badLen.Load())
	}
	if err := io.In.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
	if err := io.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	// Nothing is delivered after Close.
	c2 := captured.Load()
	time.Sleep(30 * time.Millisecond)
	if captured.Load() != c2 {
		t.Error("deliver called after Close")
	}
}

func TestNullDeviceByNameAndIndex(t *testing.T) {
	o := Options{Backend: BackendNull, Logf: testLogf(t)}
	io, err := Open(Spec{Device: "null capture"}, Spec{Device: "0"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if io.In.Name() != "NULL Capture Device" || io.Out.Name() != "NULL Playback Device" {
		t.Errorf("names = %q, %q", io.In.Name(), io.Out.Name())
	}
	io.Close()

	// One side a device, the other a tone or none: a one-sided device.
	io, err = Open(Spec{Kind: KindTone}, Spec{Device: "NULL PLAYBACK device"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if io.Out.(*deviceSink).d.capRing != nil {
		t.Error("playback-only device has a capture side")
	}
	io.Close()

	// One half closed cannot be started again while the other runs.
	io, err = Open(Spec{}, Spec{}, o)
	if err != nil {
		t.Fatal(err)
	}
	io.In.Close()
	if err := io.In.Start(func([]int16) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v; want ErrClosed", err)
	}
	if err := io.Out.Start(func([]int16) {}); err != nil {
		t.Errorf("Start of the other half = %v", err)
	}
	io.Close()

	// A mistyped device leaves an existing recording alone.
	rec := filepath.Join(t.TempDir(), "rec.wav")
	if err := WriteWAVFile(rec, make([]int16, 480)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Spec{Device: "no such mic"}, Spec{Kind: KindFile, Path: rec}, o); !errors.Is(err, ErrDeviceNotFound) {
		t.Errorf("Open(no such mic, rec.wav) = %v; want ErrDeviceNotFound", err)
	}
	if got, err := ReadWAVFile(rec); err != nil || len(got) != 480 {
		t.Errorf("rec.wav after a failed Open: %d samples, %v; want it untouched", len(got), err)
	}

	for _, tc := range []struct{ in, out Spec }{
		{Spec{Device: "no such mic"}, Spec{}},
		{Spec{}, Spec{Device: "3"}},
		{Spec{Device: "1"}, Spec{Kind: KindNone}},
	} {
		io, err := Open(tc.in, tc.out, o)
		if !errors.Is(err, ErrDeviceNotFound) {
			t.Errorf("Open(%v, %v) = %v; want ErrDeviceNotFound", tc.in, tc.out, err)
		}
		if io != nil {
			io.Close()
		}
	}
}

func TestFindDeviceAmbiguous(t *testing.T) {
	ctx, err := initContext([]malgo.Backend{nullBackend}, testLogf(t))
	if err != nil {
		t.Fatal(err)
	}
	defer freeContext(ctx)
	capture, _ := ctx.Devices(malgo.Capture)
	playback, _ := ctx.Devices(malgo.Playback)
	both := append(capture, playback...)
	if _, err := findDevice(both, nil, malgo.Capture, "null"); !errors.Is(err, ErrDeviceNotFound) || !strings.Contains(err.Error(), "matches 2") {
		t.Errorf("findDevice(null) = %v; want an ambiguity error", err)
	}
	if i, err := findDevice(both, nil, malgo.Capture, "null playback device"); err != nil || i != 1 {
		t.Errorf("findDevice(exact name) = %d, %v; want 1", i, err)
	}
}

// TestNoDevice opens through a backend that cannot start (malgo's wrong
// BackendNull), as on a machine with no sound at all.
func TestNoDevice(t *testing.T) {
	o := Options{backends: []malgo.Backend{malgo.BackendNull}, Logf: testLogf(t)}
	for _, tc := range []struct{ in, out Spec }{
		{Spec{}, Spec{}},
		{Spec{}, Spec{Kind: KindNone}},
		{Spec{Kind: KindNone}, Spec{}},
	} {
		io, err := Open(tc.in, tc.out, o)
		if !errors.Is(err, ErrNoDevice) {
			t.Errorf("Open(%v, %v) = %v; want ErrNoDevice", tc.in, tc.out, err)
		}
		if io != nil {
			io.Close()
		}
	}

	// A device the user named that fails to open is not "no device".
	io, err := Open(Spec{Device: "USB"}, Spec{}, o)
	if !errors.Is(err, ErrDeviceOpen) || errors.Is(err, ErrNoDevice) {
		t.Errorf("Open(named) = %v; want ErrDeviceOpen", err)
	}
	if io != nil {
		io.Close()
	}

	// A tone with no speaker still runs, and says the speaker is missing.
	io, err = Open(Spec{Kind: KindTone}, Spec{}, o)
	if err != nil {
		t.Fatalf("Open(tone, default) = %v", err)
	}
	if !strings.Contains(io.Out.Name(), "no speaker") {
		t.Errorf("Out.Name() = %q; want it to say no speaker", io.Out.Name())
	}
	io.Close()
}

// newTestDevice returns a device with rings and a worker but no miniaudio
// device, to drive onData by hand.
func newTestDevice(period int) *device {
	return &device{
		logf:     func(string, ...any) {},
		period:   period,
		lead:     playbackLead(nullBackend, period),
		capRing:  newRing(max(16*period, 8192)),
		playRing: newRing(max(16*period, 8192)),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

func bytesOf(s []int16) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 2*len(s))
}

// TestDeviceCallbackNoAlloc checks the device callback allocates nothing,
// drops capture when the ring is full and plays silence when it is empty.
func TestDeviceCallbackNoAlloc(t *testing.T) {
	d := newTestDevice(480)
	in, out := make([]int16, 480), make([]int16, 480)
	for i := range in {
		in[i] = int16(i)
		out[i] = 1234
	}
	d.playing.Store(true)
	allocs := testing.AllocsPerRun(100, func() { d.onData(bytesOf(out), bytesOf(in), 480) })
	if allocs != 0 {
		t.Errorf("onData allocates %v times a call; want 0", allocs)
	}
	// 101 calls of 480 into a ring of 8192: the ring is full and the rest
	// was dropped, not waited for.
	if got := d.capRing.len(); got != 8192 {
		t.Errorf("capture ring holds %d; want it full at 8192", got)
	}
	if got, want := d.overruns.Load(), uint64(101*480-8192); got != want {
		t.Errorf("overruns = %d; want %d", got, want)
	}
	for i, s := range out {
		if s != 0 {
			t.Fatalf("out[%d] = %d on underrun; want silence", i, s)
		}
	}
	if d.underruns.Load() != 101*480 {
		t.Errorf("underruns = %d; want %d", d.underruns.Load(), 101*480)
	}
}

// TestDeviceWorker drives the worker through onData as a device would and
// checks captured audio arrives in order and pulled audio is played after
// the lead of silence.
func TestDeviceWorker(t *testing.T) {
	const period = 480
	d := newTestDevice(period)
	go d.run()
	defer func() { close(d.stop); <-d.done }()

	delivered := make(chan int16, 100)
	pulled := make(chan int16, 100)
	var k int16
	var mu sync.Mutex
	d.cbMu.Lock()
	d.deliver = func(pcm []int16) {
		for _, s := range pcm[1:] {
			if s != pcm[0] {
				t.Errorf("delivered period mixes %d and %d", pcm[0], s)
				break
			}
		}
		delivered <- pcm[0]
	}
	d.pull = func(dst []int16) {
		mu.Lock()
		k++
		for i := range dst {
			dst[i] = k
		}
		mu.Unlock()
		pulled <- k
	}
	d.cbMu.Unlock()

	in, out := make([]int16, period), make([]int16, period)
	var played []int16
	for call := int16(1); call <= 10; call++ {
		for i := range in {
			in[i] = call
		}
		d.onData(bytesOf(out), bytesOf(in), period)
		played = append(played, out[0])
		select {
		case v := <-delivered:
			if v != call {
				t.Fatalf("delivered period %d; want %d", v, call)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing delivered")
		}
		select {
		case <-pulled:
		case <-time.After(5 * time.Second):
			t.Fatal("nothing pulled")
		}
	}
	// The first callback came before playback was primed, then the lead
	// but one period in silence, then what was pulled, in order.
	want := []int16{0}
	for range (d.lead - 1) / period {
		want = append(want, 0)
	}
	for k := int16(1); len(want) < 10; k++ {
		want = append(want, k)
	}
	for i := range want {
		if played[i] != want[i] {
			t.Fatalf("played %v; want %v", played, want)
		}
	}
}
