package audio

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func fakeOptions(t *testing.T, c Clock) Options {
	return Options{Clock: c, Logf: testLogf(t)}
}

// collector gathers delivered PCM.
type collector struct {
	mu      sync.Mutex
	pcm     []int16
	periods int
}

func (c *collector) deliver(pcm []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pcm = append(c.pcm, pcm...)
	c.periods++
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.periods
}

func TestToneSourcePaced(t *testing.T) {
	clock := newFakeClock()
	io, err := Open(Spec{Kind: KindTone}, Spec{Kind: KindNone}, fakeOptions(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	if io.In.Name() != "tone (440 Hz)" || io.In.Finished() != nil {
		t.Errorf("tone: Name() = %q, Finished() = %v", io.In.Name(), io.In.Finished())
	}
	var c collector
	if err := io.In.Start(c.deliver); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Millisecond)
	clock.Advance(time.Second - 5*time.Millisecond)
	waitFor(t, "100 periods", func() bool { return c.count() == 100 })
	clock.Advance(10 * time.Millisecond)
	waitFor(t, "101 periods", func() bool { return c.count() == 101 })
	io.Close()

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pcm) != 101*480 {
		t.Fatalf("delivered %d samples; want %d", len(c.pcm), 101*480)
	}
	// The tone runs on across periods without a seam.
	want := sine(len(c.pcm), 440, toneAmplitude)
	for i := range want {
		if d := int(c.pcm[i]) - int(want[i]); d < -1 || d > 1 {
			t.Fatalf("sample %d = %d; want %d", i, c.pcm[i], want[i])
		}
	}
	if l := Measure(c.pcm); math.Abs(l.Peak+12.04) > 0.1 || math.Abs(l.RMS+15.05) > 0.1 {
		t.Errorf("tone level = %+v; want -12 dBFS peak, -15 dBFS RMS", l)
	}
}

// TestFileSource checks a file plays only once started, in order, then
// silence, and that Finished closes right after its last sample.
func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{1200, 960} { // 2.5 periods, and exactly 2
		path := filepath.Join(dir, "in.wav")
		pcm := make([]int16, n)
		for i := range pcm {
			pcm[i] = int16(i + 1)
		}
		if err := WriteWAVFile(path, pcm); err != nil {
			t.Fatal(err)
		}
		clock := newFakeClock()
		io, err := Open(Spec{Kind: KindFile, Path: path}, Spec{Kind: KindNone}, fakeOptions(t, clock))
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second) // before Start: nothing lost
		var c collector
		var finishedEarly atomic.Bool
		lastPeriod := (n + 479) / 480
		err = io.In.Start(func(p []int16) {
			c.deliver(p)
			select {
			case <-io.In.Finished():
				finishedEarly.Store(true)
			default:
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= lastPeriod; i++ {
			clock.Advance(10 * time.Millisecond)
			waitFor(t, "a period", func() bool { return c.count() == i })
		}
		select {
		case <-io.In.Finished():
		case <-time.After(5 * time.Second):
			t.Fatalf("%d samples: Finished not closed after the last sample", n)
		}
		if finishedEarly.Load() {
			t.Errorf("%d samples: Finished closed before the last sample was delivered", n)
		}
		clock.Advance(20 * time.Millisecond)
		waitFor(t, "silence after the end", func() bool { return c.count() == lastPeriod+2 })
		io.Close()
		for i, s := range c.pcm {
			want := int16(0)
			if i < n {
				want = int16(i + 1)
			}
			if s != want {
				t.Fatalf("%d samples: sample %d = %d; want %d", n, i, s, want)
			}
		}
		if err := io.In.Err(); err != nil {
			t.Errorf("Err() = %v", err)
		}
	}
}

func TestFileSinkRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	clock := newFakeClock()
	io, err := Open(Spec{Kind: KindNone}, Spec{Kind: KindFile, Path: path}, fakeOptions(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	var pulls atomic.Int32
	err = io.Out.Start(func(dst []int16) {
		k := pulls.Add(1)
		for i := range dst {
			dst[i] = int16(k)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(500 * time.Millisecond)
	waitFor(t, "50 pulls", func() bool { return pulls.Load() == 50 })
	if err := io.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50*480 {
		t.Fatalf("recorded %d samples; want %d", len(got), 50*480)
	}
	for i, s := range got {
		if s != int16(i/480+1) {
			t.Fatalf("sample %d = %d; want %d", i, s, i/480+1)
		}
	}
}

// TestFileSinkDiskFull records to /dev/full: the error is reported by Err
// and Close, and the sink goes on pulling at the same pace.
func TestFileSinkDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	clock := newFakeClock()
	var logged atomic.Int32
	o := Options{Clock: clock, Logf: func(f string, a ...any) { logged.Add(1); t.Logf(f, a...) }}
	io, err := Open(Spec{Kind: KindNone}, Spec{Kind: KindFile, Path: "/dev/full"}, o)
	if err != nil {
		t.Fatal(err)
	}
	var pulls atomic.Int32
	if err := io.Out.Start(func([]int16) { pulls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	waitFor(t, "100 pulls", func() bool { return pulls.Load() == 100 })
	if err := io.Out.Err(); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Errorf("Err() = %v; want no space left", err)
	}
	if logged.Load() != 1 {
		t.Errorf("logged %d times; want once", logged.Load())
	}
	if err := io.Close(); err == nil {
		t.Error("Close() = nil; want the write error")
	}
}

func TestStartCloseRules(t *testing.T) {
	clock := newFakeClock()
	io, err := Open(Spec{Kind: KindTone}, Spec{Kind: KindNone}, fakeOptions(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	if err := io.In.Start(func([]int16) {}); err != nil {
		t.Fatal(err)
	}
	if err := io.In.Start(func([]int16) {}); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v; want ErrStarted", err)
	}
	io.Close()
	if err := io.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := io.Out.Start(func([]int16) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v; want ErrClosed", err)
	}
}

// TestPacerSkipsAfterStall: after a long stall the pacer does not burst
// every missed period.
func TestPacerSkipsAfterStall(t *testing.T) {
	clock := newFakeClock()
	var steps atomic.Int32
	p := startPacer(clock, 10*time.Millisecond, testLogf(t), func() { steps.Add(1) })
	defer p.close()
	clock.Advance(200 * time.Millisecond)
	waitFor(t, "20 steps", func() bool { return steps.Load() == 20 })
	clock.Advance(time.Minute)
	waitFor(t, "one more step", func() bool { return steps.Load() == 21 })
	clock.Advance(10 * time.Millisecond)
	waitFor(t, "back in step", func() bool { return steps.Load() == 22 })
}

// TestWallClockPace runs a tone on the real clock briefly.
func TestWallClockPace(t *testing.T) {
	io, err := Open(Spec{Kind: KindTone}, Spec{Kind: KindNone}, Options{Logf: testLogf(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	var in, out atomic.Int64
	io.In.Start(func(p []int16) { in.Add(int64(len(p))) })
	io.Out.Start(func(p []int16) { out.Add(int64(len(p))) })
	start := time.Now()
	time.Sleep(500 * time.Millisecond)
	io.Close()
	want := time.Since(start).Seconds() * SampleRate
	for _, got := range []int64{in.Load(), out.Load()} {
		if r := float64(got) / want; r < 0.75 || r > 1.1 {
			t.Errorf("%d samples in %v; want about %.0f", got, time.Since(start), want)
		}
	}
}
