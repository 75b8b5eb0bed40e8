//go:build !noaec

package aec_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"parley/audio/aec"
	"parley/audio/aec/internal/aectest"
)

// The package starts no goroutines; this checks it stays so.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newCanceller(t *testing.T, cfg aec.Config) *aec.Canceller {
	t.Helper()
	c, err := aec.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *aec.Canceller, far, mic []int16) []int16 {
	t.Helper()
	out, err := aectest.Run(c, far, mic)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConfig(t *testing.T) {
	for _, rate := range []int{0, 8000, 16000, 32000, 48000} {
		c, err := aec.New(aec.Config{Rate: rate, AEC: true, NS: true, AGC: true})
		if err != nil {
			t.Errorf("rate %d: %v", rate, err)
			continue
		}
		frame := max(rate, 8000) / 100
		if rate == 0 {
			frame = 480
		}
		if err := c.Capture(make([]int16, frame)); err != nil {
			t.Errorf("rate %d: a 10 ms capture: %v", rate, err)
		}
		c.Close()
	}
	for _, rate := range []int{44100, 96000, -1, 12345} {
		if _, err := aec.New(aec.Config{Rate: rate}); err == nil {
			t.Errorf("rate %d accepted", rate)
		}
	}
}

// TestFrameSizes: Capture takes whole 10 ms frames and leaves anything else
// alone; Playback takes any length, and what it is given in odd pieces
// lines up as if given in frames.
func TestFrameSizes(t *testing.T) {
	t.Parallel()
	c := newCanceller(t, aec.Config{AEC: true})
	for _, n := range []int{0, 480, 960, 4800} {
		if err := c.Capture(make([]int16, n)); err != nil {
			t.Errorf("capture of %d: %v", n, err)
		}
	}
	for _, n := range []int{1, 160, 479, 481, 720} {
		pcm := make([]int16, n)
		for i := range pcm {
			pcm[i] = int16(i + 1)
		}
		if err := c.Capture(pcm); !errors.Is(err, aec.ErrFrame) {
			t.Errorf("capture of %d: %v, want ErrFrame", n, err)
		}
		for i := range pcm {
			if pcm[i] != int16(i+1) {
				t.Fatalf("capture of %d changed the samples", n)
			}
		}
	}
	for _, n := range []int{0, 1, 479, 480, 1000} {
		if err := c.Playback(make([]int16, n)); err != nil {
			t.Errorf("playback of %d: %v", n, err)
		}
	}

	// The far end in pieces of 7 ms and 13 ms, the microphone in 10 ms and
	// 20 ms: the echo goes all the same.
	v := aectest.Speech(t)
	echo := aectest.Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(v.Far)
	mic := aectest.Mix(echo)
	c = newCanceller(t, aec.Config{AEC: true, Delay: 40 * time.Millisecond})
	out := append([]int16(nil), mic...)
	played := 0
	for at, i := 0, 0; at+960 <= len(out); i++ {
		n := 480 * (1 + i%2)
		for played < at+n {
			step := []int{336, 624}[played/336%2]
			c.Playback(v.Far[played:min(played+step, len(v.Far))])
			played = min(played+step, len(v.Far))
		}
		if err := c.Capture(out[at : at+n]); err != nil {
			t.Fatal(err)
		}
		at += n
	}
	if erle := aectest.ERLE(echo, out, 3*aectest.Rate, len(out)-960); erle < 20 {
		t.Errorf("ERLE with odd pieces %.1f dB, want ≥ 20", erle)
	}
}

// TestEcho: speech through a known room, 40 ms and 120 ms late, the delay
// handed in, is reduced by at least 20 dB after 3 s; and the canceller
// finds the delay.
func TestEcho(t *testing.T) {
	t.Parallel()
	v := aectest.Speech(t)
	for _, d := range []time.Duration{40 * time.Millisecond, 120 * time.Millisecond} {
		echo := aectest.Room{Delay: d, Gain: -18}.Echo(v.Far)
		c := newCanceller(t, aec.Config{AEC: true, Delay: d})
		out := run(t, c, v.Far, aectest.Mix(echo))
		erle1, erle3 := aectest.ERLE(echo, out, aectest.Rate, 2*aectest.Rate), aectest.ERLE(echo, out, 3*aectest.Rate, len(out))
		t.Logf("%v: ERLE %.1f dB after 1 s, %.1f dB after 3 s; delay %v", d, erle1, erle3, c.Delay())
		if erle3 < 20 {
			t.Errorf("%v: ERLE after 3 s %.1f dB, want ≥ 20", d, erle3)
		}
		if e := c.Delay(); (e - d).Abs() > 8*time.Millisecond {
			t.Errorf("%v: delay estimate %v", d, e)
		}
	}
}

// TestDelayHandedIn: the delay handed in is what Delay reports until the
// AEC has an estimate, clamped to 0…MaxDelay; an echo beyond the AEC's own
// reach is cancelled at once when its delay is handed in, and found within
// some 20 s when it is not, or when far too much is handed in. (160 ms too
// much, 200 for 40, is not found within 30 s: the estimator, blind to an
// echo more than 60 ms ahead of the far end, gives no two periods alike.)
func TestDelayHandedIn(t *testing.T) {
	t.Parallel()
	c := newCanceller(t, aec.Config{AEC: true, Delay: 70 * time.Millisecond})
	if got := c.Delay(); got != 70*time.Millisecond {
		t.Errorf("Delay before any audio %v, want the 70 ms handed in", got)
	}
	for _, d := range []struct{ in, want time.Duration }{{-time.Second, 0}, {30 * time.Millisecond, 30 * time.Millisecond}, {time.Second, aec.MaxDelay}} {
		c.SetDelay(d.in)
		if got := c.Delay(); got != d.want {
			t.Errorf("SetDelay(%v): Delay %v, want %v", d.in, got, d.want)
		}
	}

	v := aectest.Speech(t)
	for _, tc := range []struct {
		name        string
		room, given time.Duration
		from        int  // seconds
		estimate    bool // whether Delay should be right at the end
	}{
		{"250 ms handed in", 250 * time.Millisecond, 250 * time.Millisecond, 3, true},
		{"250 ms not handed in", 250 * time.Millisecond, 0, 22, true},
		// The estimator loses the echo after the second move, and the
		// estimate is stale.
		{"40 ms, 320 ms handed in", 40 * time.Millisecond, 320 * time.Millisecond, 24, false},
	} {
		echo := aectest.Room{Delay: tc.room, Gain: -18}.Echo(v.Long)
		c := newCanceller(t, aec.Config{AEC: true, Delay: tc.given})
		out := run(t, c, v.Long, aectest.Mix(echo))
		erle := aectest.ERLE(echo, out, tc.from*aectest.Rate, len(out))
		t.Logf("%s: ERLE from %d s %.1f dB; delay %v", tc.name, tc.from, erle, c.Delay())
		if erle < 20 {
			t.Errorf("%s: ERLE from %d s %.1f dB, want ≥ 20", tc.name, tc.from, erle)
		}
		if e := c.Delay(); tc.estimate && (e-tc.room).Abs() > 8*time.Millisecond {
			t.Errorf("%s: delay estimate %v", tc.name, e)
		}
	}

	// Moving the delay mid-call: the far end moves with it.
	echo := aectest.Room{Delay: 240 * time.Millisecond, Gain: -18}.Echo(v.Far)
	c = newCanceller(t, aec.Config{AEC: true})
	mic := aectest.Mix(echo)
	out := append([]int16(nil), mic...)
	for at := 0; at+480 <= len(out); at += 480 {
		if at == 2*aectest.Rate {
			c.SetDelay(240 * time.Millisecond)
		}
		c.Playback(v.Far[at : at+480])
		c.Capture(out[at : at+480])
	}
	if erle := aectest.ERLE(echo, out, 5*aectest.Rate, len(out)); erle < 20 {
		t.Errorf("after SetDelay at 2 s, ERLE from 5 s %.1f dB, want ≥ 20", erle)
	}
}

// TestDoubleTalk: the near end, talking over the far end's echo, comes
// through within 6 dB of its level and like itself.
func TestDoubleTalk(t *testing.T) {
	t.Parallel()
	v := aectest.Speech(t)
	end := len(v.Far)
	near := aectest.Delayed(v.Near, 3*aectest.Rate, end)
	echo := aectest.Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(v.Far)
	c := newCanceller(t, aec.Config{AEC: true, Delay: 40 * time.Millisecond})
	out := run(t, c, v.Far, aectest.Mix(echo, near))
	act := aectest.Active(near[3*aectest.Rate:])
	level := aectest.Level(out[3*aectest.Rate:], act) - aectest.Level(near[3*aectest.Rate:], act)
	res, err := aectest.Compare(near[3*aectest.Rate:], out[3*aectest.Rate:])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("near end %+.1f dB, correlation %.3f", level, res.Corr)
	if math.Abs(level) > 6 || res.Corr < 0.8 {
		t.Errorf("near end %+.1f dB (want within 6), correlation %.3f (want ≥ 0.8)", level, res.Corr)
	}
}

// TestHeadphones: with no echo path and the AEC alone, the near end
// comes through as it went in (within 0.2 dB of LSD and 0.01 of
// correlation, the target, and no later), the far end silent or
// talking; the module's own output, in use only once it finds echo, would
// cost some 1 to 2 dB of LSD (COMPARISON.md). With NS and AGC too the
// module's output is always used; its figures are logged.
func TestHeadphones(t *testing.T) {
	t.Parallel()
	v := aectest.Speech(t)
	end := len(v.Far)
	near := aectest.Delayed(v.Near, aectest.Rate/2, end)
	mic := aectest.Mix(aectest.Floats(near))
	for _, tc := range []struct {
		name string
		far  []int16
		cfg  aec.Config
	}{
		{"far end silent", make([]int16, end), aec.Config{AEC: true}},
		{"far end talking", v.Far, aec.Config{AEC: true}},
		{"far end talking, AEC+NS+AGC", v.Far, aec.Config{AEC: true, NS: true, AGC: true}},
	} {
		for _, d := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond} {
			tc.cfg.Delay = d
			c := newCanceller(t, tc.cfg)
			out := run(t, c, tc.far, mic)
			res, err := aectest.Compare(near, out)
			if err != nil {
				t.Fatal(err)
			}
			level := aectest.LevelOf(out) - aectest.LevelOf(near)
			t.Logf("%s, %v handed in: LSD %.2f dB, correlation %.4f, level %+.1f dB, latency %v, echo found %v",
				tc.name, d, res.LSD, res.Corr, level, res.Delay, c.EchoFound())
			if c.EchoFound() {
				t.Errorf("%s, %v handed in: echo found", tc.name, d)
			}
			if !tc.cfg.NS && (res.LSD > 0.2 || res.Corr < 0.99 || res.Delay != 0) {
				t.Errorf("%s, %v handed in: LSD %.2f dB (want ≤ 0.2), correlation %.4f (want ≥ 0.99), latency %v (want 0)",
					tc.name, d, res.LSD, res.Corr, res.Delay)
			}
		}
	}
}

// TestEchoComesAndGoes: the AEC alone, headphones first (the near end
// talking over the far end, nothing cancelled but for a trial at most),
// then the speakers (an
// echo path appears: found and cancelled within a few seconds), then
// headphones again (the microphone untouched once the far end has talked
// 5 s with no echo found; the module finds echo for some seconds after
// it has gone).
func TestEchoComesAndGoes(t *testing.T) {
	t.Parallel()
	v := aectest.Speech(t)
	const r = aectest.Rate
	far := append(append([]int16(nil), v.Long...), v.Long...) // 60 s
	end := len(far)
	on, off := 5*r, 10*r // the echo path, from on to off
	echo := aectest.Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(far)
	for i := range echo {
		if i < on || i >= off {
			echo[i] = 0
		}
	}
	near := make([]int16, end)
	for _, at := range []int{r / 2, off + r} {
		copy(near[at:], v.Near[:4*r])
	}
	mic := aectest.Mix(echo, near, aectest.Noise(end, aectest.DBFS(-70)))
	c := newCanceller(t, aec.Config{AEC: true, Delay: 20 * time.Millisecond})
	out := append([]int16(nil), mic...)
	found := map[int]bool{}
	var changes []string
	for at := 0; at+480 <= end; at += 480 {
		c.Playback(far[at : at+480])
		c.Capture(out[at : at+480])
		if f := c.EchoFound(); f != found[(at-480)/r] || at == 0 && f {
			changes = append(changes, fmt.Sprintf("%v at %.2f s", f, float64(at)/r))
		}
		found[at/r] = c.EchoFound()
	}
	touched := func(from, to int) int {
		n := 0
		for at := from; at < to; at += 480 {
			for i := at; i < at+480; i++ {
				if out[i] != mic[i] {
					n++
					break
				}
			}
		}
		return n
	}
	erle := aectest.ERLE(echo, out, on+3*r, off)
	t.Logf("frames touched before the echo %d of %d; ERLE from 3 s after it came %.1f dB; echo found %v; frames touched from 40 s %d",
		touched(0, on), on/480, erle, changes, touched(40*r, end-480))
	if n := touched(0, on); n > 160 {
		t.Errorf("%d frames of %d touched before the echo, want at most a trial's 150", n, on/480)
	}
	if erle < 20 || !found[9] {
		t.Errorf("echo from 5 s: ERLE from 8 s %.1f dB (want ≥ 20), found at 9 s %v", erle, found[9])
	}
	if found[40] || touched(40*r, end-480) > 0 {
		t.Errorf("echo gone at 10 s: found at 40 s %v, %d frames touched from 40 s", found[40], touched(40*r, end-480))
	}
}

// TestNoiseAndGain: noise suppression and AGC reach their targets.
func TestNoiseAndGain(t *testing.T) {
	t.Parallel()
	v := aectest.Speech(t)
	clean := v.Paused
	noise := aectest.Noise(len(clean), aectest.DBFS(aectest.LevelOf(clean)-10))
	mic := aectest.Mix(aectest.Floats(clean), noise)
	out := run(t, newCanceller(t, aec.Config{NS: true}), make([]int16, len(mic)), mic)
	pauses := aectest.Active(clean)
	for i := range pauses {
		pauses[i] = !pauses[i] && i >= 50
	}
	reduced := aectest.Level(mic, pauses) - aectest.Level(out, pauses)
	res, err := aectest.Compare(clean, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("noise in pauses -%.1f dB, speech correlation %.3f", reduced, res.Corr)
	if reduced < 15 || res.Corr < 0.85 {
		t.Errorf("noise reduced %.1f dB (want ≥ 15), correlation %.3f (want ≥ 0.85)", reduced, res.Corr)
	}

	silent := make([]int16, len(v.Near))
	quiet := aectest.Scale(v.Near, aectest.DBFS(-35-aectest.LevelOf(v.Near)))
	out = run(t, newCanceller(t, aec.Config{AGC: true}), silent, quiet)
	level := aectest.Level(out[4*aectest.Rate:], aectest.Active(quiet[4*aectest.Rate:]))
	p, _ := aectest.Peak(v.Near)
	out = run(t, newCanceller(t, aec.Config{AGC: true}), silent, aectest.Scale(v.Near, aectest.DBFS(-3-p)))
	peak, clipped := aectest.Peak(out)
	t.Logf("AGC: -35 dBFS in, %.1f dBFS out; -3 dBFS peaks in, %.1f dBFS out, %d clipped", level, peak, clipped)
	if level < -26 || level > -16 || clipped > 0 {
		t.Errorf("AGC: %.1f dBFS (want -26 to -16), %d clipped", level, clipped)
	}
}

func TestClose(t *testing.T) {
	c, err := aec.New(aec.Config{AEC: true, NS: true, AGC: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.Capture(make([]int16, 480)); !errors.Is(err, aec.ErrClosed) {
		t.Errorf("Capture after Close: %v, want ErrClosed", err)
	}
	c.Playback(make([]int16, 480))
	c.SetDelay(time.Millisecond)
	c.Delay()
}

// TestConcurrent runs Playback and Capture on two goroutines, as a duplex
// device's two sides do, with SetDelay and Delay on a third and Close at
// the end (for the race detector).
func TestConcurrent(t *testing.T) {
	c, err := aec.New(aec.Config{AEC: true, NS: true, AGC: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(3)
	go func() {
		defer wg.Done()
		pcm := aectest.Noise(480, 0.1)
		for i := 0; i < 300; i++ {
			c.Playback(pcm)
		}
	}()
	go func() {
		defer wg.Done()
		pcm := make([]int16, 480)
		for i := 0; i < 300; i++ {
			c.Capture(pcm)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.SetDelay(time.Duration(i%100) * time.Millisecond)
			c.Delay()
		}
	}()
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
	c.Close()
}

func TestNoAllocation(t *testing.T) {
	c := newCanceller(t, aec.Config{AEC: true, NS: true, AGC: true, Delay: 40 * time.Millisecond})
	far := aectest.Noise(480, 0.1)
	mic := make([]int16, 480)
	if n := testing.AllocsPerRun(200, func() {
		c.Playback(far)
		c.Capture(mic)
		c.Delay()
	}); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// BenchmarkFrame is the cost of a 10 ms frame with AEC, NS and AGC on.
func BenchmarkFrame(b *testing.B) {
	v := aectest.Speech(b)
	echo := aectest.Room{Delay: 40 * time.Millisecond, Gain: -18}.Echo(v.Far)
	mic := aectest.Mix(echo, v.Near)
	c, err := aec.New(aec.Config{AEC: true, NS: true, AGC: true, Delay: 40 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	frame := make([]int16, 480)
	n := len(mic) / 480
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at := i % n * 480
		c.Playback(v.Far[at : at+480])
		copy(frame, mic[at:])
		c.Capture(frame)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7*100, "%core")
}
