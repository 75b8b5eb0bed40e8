package audio

import (
	"math"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// encodeAll feeds pcm to e in 10 ms periods and returns the packets.
func encodeAll(t *testing.T, e *Encoder, pcm []int16) []Packet {
	t.Helper()
	var pkts []Packet
	for i := 0; i < len(pcm); i += 480 {
		if err := e.Write(pcm[i:min(i+480, len(pcm))], func(p Packet) { pkts = append(pkts, p) }); err != nil {
			t.Fatal(err)
		}
	}
	return pkts
}

// decodeAll decodes packets with a real Opus decoder, concealing withheld
// (nil) packets, and returns the PCM.
func decodeAll(t *testing.T, pkts []Packet) []int16 {
	t.Helper()
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	buf := make([]int16, 5760)
	for i, p := range pkts {
		if p.Data == nil {
			if err := dec.DecodePLC(buf[:p.Samples:p.Samples]); err != nil {
				t.Fatalf("packet %d: PLC: %v", i, err)
			}
			out = append(out, buf[:p.Samples]...)
			continue
		}
		n, err := dec.Decode(p.Data, buf)
		if err != nil {
			t.Fatalf("packet %d: decode: %v", i, err)
		}
		if n != p.Samples {
			t.Fatalf("packet %d decodes to %d samples; Samples = %d", i, n, p.Samples)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

func TestEncoderFrames(t *testing.T) {
	tone := sine(SampleRate, 440, 0.25)
	for _, tc := range []struct {
		frame   time.Duration
		samples int
	}{{10 * time.Millisecond, 480}, {20 * time.Millisecond, 960}, {40 * time.Millisecond, 1920}, {0, 960}} {
		e, err := NewEncoder(EncoderOptions{Frame: tc.frame})
		if err != nil {
			t.Fatal(err)
		}
		if e.FrameSamples() != tc.samples {
			t.Errorf("frame %v: FrameSamples() = %d; want %d", tc.frame, e.FrameSamples(), tc.samples)
		}
		pkts := encodeAll(t, e, tone)
		if len(pkts) != SampleRate/tc.samples {
			t.Errorf("frame %v: %d packets for 1 s; want %d", tc.frame, len(pkts), SampleRate/tc.samples)
		}
		total := 0
		for _, p := range pkts {
			if p.Samples != tc.samples || len(p.Data) < 3 || p.Marker {
				t.Fatalf("frame %v: packet of %d bytes covering %d samples, marker %v; want %d samples", tc.frame, len(p.Data), p.Samples, p.Marker, tc.samples)
			}
			total += p.Samples
		}
		if total != SampleRate {
			t.Errorf("frame %v: packets cover %d samples; want %d", tc.frame, total, SampleRate)
		}
		decoded := decodeAll(t, pkts)
		// Past the codec's start-up, the tone comes back, delayed by the
		// codec's look-ahead.
		c, lag := correlation(tone, decoded, 9600, 24000, 1000)
		if c < 0.95 {
			t.Errorf("frame %v: decoded tone correlates %.3f (lag %d); want > 0.95", tc.frame, c, lag)
		}
		t.Logf("frame %v: correlation %.4f at lag %d, %d bytes a packet", tc.frame, c, lag, len(pkts[len(pkts)/2].Data))
	}
	if _, err := NewEncoder(EncoderOptions{Frame: 30 * time.Millisecond}); err == nil {
		t.Error("NewEncoder(30 ms) succeeded")
	}
}

func TestEncoderSettings(t *testing.T) {
	e, err := NewEncoder(EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fec, err := e.enc.InBandFEC(); err != nil || !fec {
		t.Errorf("InBandFEC = %v, %v; want on", fec, err)
	}
	if dtx, err := e.enc.DTX(); err != nil || dtx {
		t.Errorf("DTX = %v, %v; want off by default", dtx, err)
	}
	if br, err := e.enc.Bitrate(); err != nil || br != DefaultBitrate {
		t.Errorf("Bitrate = %d, %v; want %d", br, err, DefaultBitrate)
	}
	if l, err := e.enc.PacketLossPerc(); err != nil || l != MinPacketLossPerc {
		t.Errorf("PacketLossPerc = %d, %v; want %d", l, err, MinPacketLossPerc)
	}
	// Set at run time: applied from the next frame, never below 10%.
	tone := sine(960, 440, 0.25)
	for _, tc := range []struct{ set, want int }{{25, 25}, {3, 10}, {0, 10}, {150, 100}} {
		e.SetPacketLossPerc(tc.set)
		encodeAll(t, e, tone)
		if l, _ := e.enc.PacketLossPerc(); l != tc.want || e.PacketLossPerc() != tc.want {
			t.Errorf("SetPacketLossPerc(%d): libopus has %d; want %d", tc.set, l, tc.want)
		}
	}
	e.SetBitrate(24000)
	encodeAll(t, e, tone)
	if br, _ := e.enc.Bitrate(); br != 24000 {
		t.Errorf("after SetBitrate(24000), Bitrate = %d", br)
	}

	d, err := NewEncoder(EncoderOptions{DTX: true})
	if err != nil {
		t.Fatal(err)
	}
	if dtx, _ := d.enc.DTX(); !dtx {
		t.Error("DTX option did not turn DTX on")
	}
	e.SetDTX(true)
	encodeAll(t, e, tone)
	if dtx, _ := e.enc.DTX(); !dtx {
		t.Error("SetDTX(true) did not turn DTX on")
	}
}

// chirp returns n samples of a sine sweeping from f0 to f1 Hz, a signal
// that packet-loss concealment cannot guess from the past.
func chirp(n int, f0, f1, amp float64) []int16 {
	out := make([]int16, n)
	phase := 0.0
	for i := range out {
		f := f0 + (f1-f0)*float64(i)/float64(n)
		phase += 2 * math.Pi * f / SampleRate
		out[i] = int16(amp * 32767 * math.Sin(phase))
	}
	return out
}

// TestEncoderFEC loses packets and recovers each from the in-band FEC data
// in the next one; the recovery must match what was lost, and better than
// concealment without FEC does.
func TestEncoderFEC(t *testing.T) {
	e, err := NewEncoder(EncoderOptions{PacketLossPerc: 20})
	if err != nil {
		t.Fatal(err)
	}
	sig := chirp(2*SampleRate, 300, 3000, 0.3)
	pkts := encodeAll(t, e, sig)
	// Find the codec's delay on the whole signal, with nothing lost.
	_, delay := correlation(sig, decodeAll(t, pkts), 4800, SampleRate, 1000)

	recover := func(fec bool) []int16 {
		dec, err := opus.NewDecoder(SampleRate, 1)
		if err != nil {
			t.Fatal(err)
		}
		var out []int16
		buf := make([]int16, 960)
		for i, p := range pkts {
			switch {
			case i%10 == 5: // lost
				continue
			case i%10 == 6 && fec:
				err = dec.DecodeFEC(p.Data, buf)
			case i%10 == 6:
				err = dec.DecodePLC(buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			if i%10 == 6 {
				out = append(out, buf...)
			}
			n, err := dec.Decode(p.Data, buf)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, buf[:n]...)
		}
		return out
	}
	// Score the lost frames: how well the stand-in matches the original.
	score := func(out []int16) float64 {
		var sum float64
		var n int
		for i := 15; i < len(pkts)-1; i += 10 {
			c, _ := correlation(sig, out[delay:], i*960, 960, 0)
			sum += c
			n++
		}
		return sum / float64(n)
	}
	withFEC, withPLC := score(recover(true)), score(recover(false))
	t.Logf("lost frames: FEC recovers with correlation %.3f, concealment alone %.3f (delay %d)", withFEC, withPLC, delay)
	if withFEC < 0.7 || withFEC < withPLC+0.2 {
		t.Errorf("FEC recovery correlates %.3f (concealment %.3f); want > 0.7 and well above concealment", withFEC, withPLC)
	}
}

func TestEncoderMute(t *testing.T) {
	e, err := NewEncoder(EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tone := sine(3*SampleRate, 440, 0.25)
	var pkts []Packet
	emit := func(p Packet) { pkts = append(pkts, p) }
	for i := 0; i < len(tone); i += 480 {
		e.SetMuted(i >= SampleRate && i < 2*SampleRate)
		if err := e.Write(tone[i:i+480], emit); err != nil {
			t.Fatal(err)
		}
	}
	if e.Muted() {
		t.Error("still muted")
	}
	total, withheld, markers := 0, 0, []int{}
	for i, p := range pkts {
		if p.Data == nil {
			if i < 50 || i >= 100 {
				t.Fatalf("packet %d withheld outside the mute, with DTX off", i)
			}
			withheld++
		}
		if p.Marker {
			markers = append(markers, i)
		}
		total += p.Samples
	}
	if total != len(tone) {
		t.Errorf("packets cover %d samples; want %d: muting must not stop the count", total, len(tone))
	}
	// Muted, DTX: almost nothing is sent; unmuted, the talkspurt is marked.
	if withheld < 30 {
		t.Errorf("%d of 50 packets withheld while muted; want most (DTX)", withheld)
	}
	if len(markers) != 1 || markers[0] != 100 {
		t.Errorf("markers on packets %v; want on 100, the first after unmuting", markers)
	}
	if dtx, _ := e.enc.DTX(); dtx {
		t.Error("DTX still on after unmuting")
	}
	out := decodeAll(t, pkts)
	if l := RMSDBFS(out[SampleRate+4800 : 2*SampleRate]); l > -60 {
		t.Errorf("muted audio decodes at %.1f dBFS RMS; want silence", l)
	}
	if l := RMSDBFS(out[2*SampleRate+4800:]); l < -20 {
		t.Errorf("unmuted audio decodes at %.1f dBFS RMS; want the tone back", l)
	}
	t.Logf("muted for 50 packets: %d withheld", withheld)
}

// TestEncoderDTX: in silence packets are withheld, the first small one is
// sent, the count goes on, and speech after the gap carries the marker.
func TestEncoderDTX(t *testing.T) {
	e, err := NewEncoder(EncoderOptions{DTX: true})
	if err != nil {
		t.Fatal(err)
	}
	pcm := append(sine(SampleRate/2, 440, 0.25), make([]int16, 2*SampleRate)...)
	pcm = append(pcm, sine(SampleRate/2, 440, 0.25)...)
	pkts := encodeAll(t, e, pcm)
	total, withheld, small, markers := 0, 0, 0, []int{}
	firstWithheld := -1
	for i, p := range pkts {
		total += p.Samples
		switch {
		case p.Data == nil:
			withheld++
			if firstWithheld < 0 {
				firstWithheld = i
			}
		case len(p.Data) <= 2:
			small++
		}
		if p.Marker {
			markers = append(markers, i)
		}
	}
	if total != len(pcm) {
		t.Errorf("packets cover %d samples; want %d", total, len(pcm))
	}
	if withheld < 50 {
		t.Errorf("%d of %d packets withheld in 2 s of silence; want most", withheld, len(pkts))
	}
	if small == 0 || firstWithheld < 1 || len(pkts[firstWithheld-1].Data) > 2 {
		t.Errorf("the first DTX packet was not sent before withholding (small %d, first withheld %d)", small, firstWithheld)
	}
	speech := (SampleRate/2 + 2*SampleRate) / 960 // first packet of the second tone
	if len(markers) != 2 || markers[0] != 0 || markers[1] < speech || markers[1] > speech+2 {
		t.Errorf("markers on packets %v; want 0 and about %d", markers, speech)
	}
	t.Logf("%d packets: %d withheld, %d of 1-2 bytes sent, markers %v", len(pkts), withheld, small, markers)
	decodeAll(t, pkts)
}

// costClock fakes what each frame takes to encode: the encoder reads the
// time before and after each encode, and the fake moves on by the next
// cost between the two.
type costClock struct {
	now   time.Time
	costs func(frame int) time.Duration
	reads int
}

func (c *costClock) read() time.Time {
	if c.reads%2 == 1 {
		c.now = c.now.Add(c.costs(c.reads / 2))
	}
	c.reads++
	return c.now
}

// TestEncoderAdaptsComplexity checks the adaptive complexity with real
// Opus and a fake cost per frame: it drops from 7 to 5 when the median
// frame costs more than EncodeBudget, and only then.
func TestEncoderAdaptsComplexity(t *testing.T) {
	const us = time.Microsecond
	for _, tc := range []struct {
		name     string
		frame    time.Duration
		fixed    int
		costs    func(frame int) time.Duration
		want     int
		wantTime time.Duration // of audio until the drop
	}{
		{name: "cheap", frame: 20 * time.Millisecond, costs: func(int) time.Duration { return 150 * us }, want: 7},
		{name: "dear", frame: 20 * time.Millisecond, costs: func(int) time.Duration { return 250 * us }, want: 5, wantTime: costWindow},
		{name: "dear 10 ms", frame: 10 * time.Millisecond, costs: func(int) time.Duration { return 150 * us }, want: 5, wantTime: costWindow},
		{name: "dear after a while", frame: 20 * time.Millisecond, costs: func(f int) time.Duration {
			if f < 250 {
				return 150 * us
			}
			return 250 * us
		}, want: 5, wantTime: 3 * costWindow},
		// A few frames held up by the scheduler do not count: the median.
		{name: "stalls", frame: 20 * time.Millisecond, costs: func(f int) time.Duration {
			if f%3 == 0 {
				return 10 * time.Millisecond
			}
			return 150 * us
		}, want: 7},
		{name: "fixed", frame: 20 * time.Millisecond, fixed: 7, costs: func(int) time.Duration { return time.Millisecond }, want: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEncoder(EncoderOptions{Frame: tc.frame, Complexity: tc.fixed})
			if err != nil {
				t.Fatal(err)
			}
			clock := &costClock{now: time.Unix(1_700_000_000, 0), costs: tc.costs}
			e.cost.now = clock.read
			if e.Complexity() != DefaultComplexity {
				t.Fatalf("starts at complexity %d; want %d", e.Complexity(), DefaultComplexity)
			}
			tone := sine(480, 440, 0.25)
			var dropped time.Duration
			for at := time.Duration(0); at < 10*time.Second; at += 10 * time.Millisecond {
				encodeAll(t, e, tone)
				if dropped == 0 && e.Complexity() != DefaultComplexity {
					dropped = at + 10*time.Millisecond
				}
			}
			if got, _ := e.enc.Complexity(); e.Complexity() != tc.want || got != tc.want {
				t.Errorf("complexity %d, libopus has %d; want %d", e.Complexity(), got, tc.want)
			}
			if dropped != tc.wantTime {
				t.Errorf("dropped after %v of audio; want %v", dropped, tc.wantTime)
			}
			if tc.fixed != 0 && clock.reads != 0 {
				t.Errorf("a fixed complexity timed %d encodes", clock.reads/2)
			}
		})
	}
}
