package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"parley/audio"
	"parley/audio/aec"
	"parley/audio/jitter"
	"parley/internal/pulse"
	"parley/internal/relay"
	"parley/internal/speech"
	"parley/rtc"
	"parley/voice"
)

// A real-device scenario runs the call through the rig (see rig.go): each
// peer opens its microphone and speaker as parley does, with audio.Open,
// on the private PulseAudio, and everything else is as in the modelled
// scenarios: real pion over loopback through the relay, real Opus, the
// jitter buffer.

// realPeer is one peer of a real-device call, instrumented: what its
// microphone delivered and when, what its speaker pulled and when.
type realPeer struct {
	name      string
	io        *audio.IO
	enc       *audio.Encoder
	tx        *voice.Sender
	buf       *jitter.Buffer
	arr       *arrivals      // when the other peer's frames came
	proc      *aec.Canceller // nil: no processing
	procCPU   atomic.Int64   // ns of CPU time in proc's Capture and Playback
	tape      *procTape      // nil, or what is handed to proc, to replay
	log       *logLines
	sendingNs time.Duration

	mu       sync.Mutex
	captured []int16
	capCalls []event // the delivers: the count after each, and when it returned
	pulled   []int16
	pulls    []event // the pulls: the count before each, and when it began
	err      error
}

// event is a deliver or a pull: a sample count and a time.
type event struct {
	n  int
	at time.Time
}

// logLines keeps a device's log.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, a...))
}

// short returns the samples the device log says were dropped from the
// capture and played short, when the devices closed.
func (l *logLines) short() (dropped, short int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if _, v, ok := strings.Cut(line, " closed: "); ok {
			var d, s int
			if _, err := fmt.Sscanf(v, "%d samples of capture dropped, %d of playback short", &d, &s); err == nil {
				dropped, short = dropped+d, short+s
			}
		}
	}
	return dropped, short
}

// pulseAttrs returns what the log says of the PulseAudio buffers the
// devices got, in a line.
func (l *logLines) pulseAttrs() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		for _, p := range []string{"Capture attr:", "Playback actual attr:"} {
			if _, v, ok := strings.Cut(line, p); ok {
				side := "capture"
				if strings.HasPrefix(p, "Playback") {
					side = "playback"
				}
				out = append(out, side+strings.ReplaceAll(v, ";", ","))
			}
		}
	}
	return strings.Join(out, "; ")
}

func openRealPeer(name, mic, speaker string, frame time.Duration, link *rtc.Call, n int) (*realPeer, error) {
	p := &realPeer{name: name, log: &logLines{}}
	io, err := audio.Open(audio.Spec{Kind: audio.KindDevice, Device: mic}, audio.Spec{Kind: audio.KindDevice, Device: speaker},
		audio.Options{OutputPeriod: audio.OutputPeriodFor(frame), Frame: frame, Logf: p.log.logf})
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", name, err)
	}
	p.io = io
	enc, err := audio.NewEncoder(audio.EncoderOptions{Frame: frame})
	if err != nil {
		io.Close()
		return nil, err
	}
	if p.buf, err = jitter.New(jitter.Config{Frame: frame}); err != nil {
		io.Close()
		return nil, err
	}
	p.enc, p.tx = enc, voice.NewSender(enc, link)
	p.captured = make([]int16, 0, n)
	p.pulled = make([]int16, 0, n)
	p.capCalls = make([]event, 0, n/periodLen*2)
	p.pulls = make([]event, 0, n/periodLen*2)
	return p, nil
}

func (p *realPeer) deliver(pcm []int16) {
	t0 := time.Now()
	if p.proc != nil {
		var err error
		if p.tape != nil {
			p.tape.add(true, pcm)
		}
		p.timed(func() { err = p.proc.Capture(pcm) })
		if err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
	}
	err := p.tx.Write(pcm)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sendingNs += now.Sub(t0)
	if err != nil && p.err == nil {
		p.err = err
	}
	if len(p.captured)+len(pcm) <= cap(p.captured) {
		p.captured = append(p.captured, pcm...)
		p.capCalls = append(p.capCalls, event{len(p.captured), now})
	}
}

// timed runs f and counts the CPU time it took in procCPU: the thread's,
// or where that cannot be read the wall time, an upper bound.
func (p *realPeer) timed(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, ok := threadCPU()
	t0 := time.Now()
	f()
	d := time.Since(t0)
	if c1, ok1 := threadCPU(); ok && ok1 {
		d = c1 - c0
	}
	p.procCPU.Add(int64(d))
}

func (p *realPeer) pull(dst []int16) {
	now := time.Now()
	p.buf.Pull(dst)
	if p.proc != nil {
		if p.tape != nil {
			p.tape.add(false, dst)
		}
		p.timed(func() { p.proc.Playback(dst) }) // the far end, as it goes to the speaker
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pulled)+len(dst) <= cap(p.pulled) {
		p.pulls = append(p.pulls, event{len(p.pulled), now})
		p.pulled = append(p.pulled, dst...)
	}
}

func (p *realPeer) start() error {
	if err := p.io.Out.Start(p.pull); err != nil {
		return err
	}
	return p.io.In.Start(p.deliver)
}

// runReal runs one real-device scenario on the rig.
func runReal(ctx context.Context, rg *rig, s Scenario, talk []int16, d time.Duration) (*Result, error) {
	r, err := relay.New(s.Impair, s.Impair, 1)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	conn, err := connect(ctx, r)
	if err != nil {
		return nil, err
	}
	defer conn.close()

	n := int(d * rate / time.Second)
	said, markers := withMarkers(talk, n)
	room := n + 10*rate // the talk, the start and the tail
	a, err := openRealPeer("A", "mic_a", "ear_a", s.Frame, conn.a, room)
	if err != nil {
		return nil, err
	}
	defer a.io.Close()
	b, err := openRealPeer("B", "mic_b", "ear_b", s.Frame, conn.b, room)
	if err != nil {
		return nil, err
	}
	defer b.io.Close()
	// Processing, where the scenario has it, at both peers (no echo
	// path: headphones).
	for _, p := range []*realPeer{a, b} {
		if p.proc, err = newProc(s.Proc); err != nil {
			return nil, err
		}
		if p.proc != nil {
			defer p.proc.Close()
		}
	}
	frame := int(s.Frame * rate / time.Second)
	a.arr = &arrivals{seq0: b.tx.Next(), at: make([]time.Time, room/frame+1)}
	b.arr = &arrivals{seq0: a.tx.Next(), at: make([]time.Time, room/frame+1)}
	for _, pc := range []struct {
		call *rtc.Call
		p    *realPeer
	}{{conn.a, a}, {conn.b, b}} {
		pc.call.SetAudioReceiver(func(pkt *rtp.Packet, at time.Time) {
			pc.p.arr.note(pkt.SequenceNumber, at)
			pc.p.buf.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, at)
		})
		defer pc.call.SetAudioReceiver(nil)
	}

	rec, err := rg.record()
	if err != nil {
		return nil, err
	}
	defer rec.stop()
	for _, p := range []*realPeer{a, b} {
		if err := p.start(); err != nil {
			return nil, fmt.Errorf("peer %s: %w", p.name, err)
		}
	}
	// A moment for the streams to settle before the talk.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	cpu0, srv0 := cpuTime(), rg.cpu()
	start := time.Now()
	peakRSS := watchRSS()
	playErr, err := rg.speak(ctx, said, said, d, tail)
	if err != nil {
		return nil, err
	}
	wall := time.Since(start)
	used, srvUsed := cpuTime()-cpu0, rg.cpu()-srv0
	rss := peakRSS()
	a.io.Close()
	b.io.Close()
	chans, err := rec.stop()
	for _, err := range []error{playErr, err, a.err, b.err} {
		if err != nil {
			return nil, err
		}
	}
	ab, ba := r.Stats()
	runtime.GC()

	res := &Result{
		Scenario:    s.Name,
		About:       s.About,
		FrameMs:     ms(s.Frame),
		Real:        true,
		InviteChars: conn.inviteLen,
		InviteMs:    ms(conn.inviteTime),
		ConnectMs:   ms(conn.connect),
		HandshakeMs: ms(conn.handshake),
		BitrateAB:   float64(a.tx.Sent()) * 8 / wall.Seconds() / 1000,
		BitrateBA:   float64(b.tx.Sent()) * 8 / wall.Seconds() / 1000,
		LossAB:      lossPercent(ab),
		LossBA:      lossPercent(ba),
		CPU:         100 * used.Seconds() / wall.Seconds() / 2,
		ServerCPU:   100 * srvUsed.Seconds() / wall.Seconds(),
		RSSMB:       rss,
		Complexity:  a.enc.Complexity(),
		PulseAttrs:  a.log.pulseAttrs(),
	}
	an := realAnalysis{markers: markers, frame: frame, chans: chans}
	lat, st := an.direction(a, b, chMouthA, chEarB)
	lat2, st2 := an.direction(b, a, chMouthB, chEarA)
	lat = append(lat, lat2...)
	rv := Receiver{Name: Adaptive, Markers: 2 * len(markers), Found: len(lat)}
	if len(lat) > 0 {
		slices.Sort(lat)
		rv.P50, rv.P95, rv.Max = ms(rank(lat, 50)), ms(rank(lat, 95)), ms(lat[len(lat)-1])
	}
	st.add(st2)
	if st.n > 0 {
		k := time.Duration(st.n)
		res.Stages = Stages{CaptureMs: ms(st.capture / k), NetworkMs: ms(st.network / k), BufferMs: ms(st.buffer / k), OutputMs: ms(st.output / k)}
	}
	// Speech quality of A's talk as B heard it, from the rig's recording.
	if c, err := speech.Compare(chans[chMouthA], chans[chEarB], rate); err == nil {
		rv.LSD, rv.Corr, rv.WarpMs = c.LSD, c.Corr, ms(c.Warp)
	}
	js := b.buf.Stats()
	jsA := a.buf.Stats()
	js.Frames += jsA.Frames
	js.FEC += jsA.FEC
	js.Concealed += jsA.Concealed
	js.Late += jsA.Late
	rv.fromJitter(js)
	rv.TargetMs = ms(b.buf.Stats().Target+a.buf.Stats().Target) / 2
	// Short: what the speakers played short of audio, of all they played.
	_, shortA := a.log.short()
	_, shortB := b.log.short()
	rv.ShortPct = 100 * float64(shortA+shortB) / float64(len(a.pulled)+len(b.pulled))
	res.Receivers = []Receiver{rv}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// realAnalysis finds the markers in the rig's recording and in what the
// peers captured and pulled.
type realAnalysis struct {
	markers []int
	frame   int
	chans   [rigChannels][]int16
}

func (s *stageSums) add(o stageSums) {
	s.capture += o.capture
	s.network += o.network
	s.buffer += o.buffer
	s.output += o.output
	s.n += o.n
}

// track finds each marker in rec: the first anywhere in rec[from:to],
// each next one spacing later than the one before, give or take slack,
// or, where the one before was not found, than the last found. It
// returns each marker's position, -1 where not found.
func (an *realAnalysis) track(rec []int16, from, to int, slack int) []int {
	out := make([]int, len(an.markers))
	last, lastK := -1, -1
	for k := range an.markers {
		out[k] = -1
		lo, hi := from, to
		if last >= 0 {
			want := last + an.markers[k] - an.markers[lastK]
			lo, hi = want-slack, want+slack+markerLen
		}
		j, _ := findMarker(rec, k, lo, hi)
		if j >= 0 {
			out[k], last, lastK = j, j, k
		}
	}
	return out
}

// direction measures talker's talk as heard by listener: each marker's
// mouth-to-ear delay on the rig's clock, and where it went. The stages
// are from in-process times (when the talker's microphone delivered the
// frame and its packet left, when it came, when the listener's speaker
// pulled it) and the rig's samples (mouth, ear), put on one time line by
// the earliest any captured sample reached its peer: the offset between
// the rig's clock and this process's is the smallest seen, over every
// deliver, from the sample's place on the rig to the deliver's return.
func (an *realAnalysis) direction(talker, listener *realPeer, mouthCh, earCh int) ([]time.Duration, stageSums) {
	talker.mu.Lock()
	defer talker.mu.Unlock()
	listener.mu.Lock()
	defer listener.mu.Unlock()
	mouth, ear := an.chans[mouthCh], an.chans[earCh]
	// The first marker is looked for from the start up to where the
	// fifth, the next of its shape, cannot be yet: each recording starts
	// before the talk.
	first := an.markers[0] + markerIDs*markerEvery
	mouthAt := an.track(mouth, 0, first, rate/50)
	capAt := an.track(talker.captured, 0, first, rate/50)
	earAt := make([]int, len(an.markers))
	for k, m := range mouthAt {
		earAt[k] = -1
		if m >= 0 {
			earAt[k], _ = findMarker(ear, k, m, m+rate)
		}
	}
	var lat []time.Duration
	for k := range an.markers {
		if mouthAt[k] >= 0 && earAt[k] >= 0 {
			lat = append(lat, time.Duration(earAt[k]-mouthAt[k])*time.Second/rate)
		}
	}

	// The offset between the rig's clock and ours: mouth sample i was on
	// the rig at origin + i/rate.
	capOff, found := 0, false // captured index − rig index
	for k := range an.markers {
		if mouthAt[k] >= 0 && capAt[k] >= 0 {
			capOff, found = capAt[k]-mouthAt[k], true
			break
		}
	}
	var st stageSums
	if !found || len(talker.capCalls) == 0 {
		return lat, st
	}
	rigTime := func(i int) time.Duration { return time.Duration(i) * time.Second / rate }
	origin := time.Time{}
	for _, c := range talker.capCalls {
		o := c.at.Add(-rigTime(c.n - 1 - capOff))
		if origin.IsZero() || o.Before(origin) {
			origin = o
		}
	}
	listener.arr.mu.Lock()
	defer listener.arr.mu.Unlock()
	for k := range an.markers {
		if mouthAt[k] < 0 || earAt[k] < 0 || capAt[k] < 0 {
			continue
		}
		f := capAt[k] / an.frame
		full := (f + 1) * an.frame // captured samples that complete the frame
		i := sort.Search(len(talker.capCalls), func(i int) bool { return talker.capCalls[i].n >= full })
		if i >= len(talker.capCalls) || f >= len(listener.arr.at) || listener.arr.at[f].IsZero() {
			continue
		}
		// The marker in what the listener pulled: within a second of its
		// frame's packet leaving.
		lo := sort.Search(len(listener.pulls), func(j int) bool { return !listener.pulls[j].at.Before(talker.capCalls[i].at) })
		if lo >= len(listener.pulls) {
			continue
		}
		at, _ := findMarker(listener.pulled, k, listener.pulls[lo].n, listener.pulls[lo].n+rate)
		j := sort.Search(len(listener.pulls), func(j int) bool { return listener.pulls[j].n > at }) - 1
		if at < 0 || j < 0 {
			continue
		}
		spoken := origin.Add(rigTime(mouthAt[k]))
		heard := origin.Add(rigTime(earAt[k]))
		sent, came, pulled := talker.capCalls[i].at, listener.arr.at[f], listener.pulls[j].at
		st.capture += sent.Sub(spoken)
		st.network += came.Sub(sent)
		st.buffer += pulled.Sub(came)
		st.output += heard.Sub(pulled)
		st.n++
	}
	return lat, st
}

// measureDeviceCost runs, side by side, a call with real devices on the
// rig and the same call with a tone in and nothing out (as --audio-in
// tone --audio-out none), both through voice.Session as parley opens
// them, 20 ms frames, each peer in this process, and PulseAudio's own
// client doing the devices' work (see clientRun); in turns, half of d at
// a time, twice each, so that a change in the machine's load falls on
// all three.
func measureDeviceCost(ctx context.Context, rg *rig, talk []int16, d time.Duration) (*DeviceCost, error) {
	c := &DeviceCost{}
	var devWall, toneWall, cliWall, devUsed, toneUsed, cliUsed, srvUsed, srvToneUsed, soundUsed time.Duration
	for range 2 {
		for _, kind := range []string{"tone", "device", "client"} {
			if kind == "client" {
				wall, used, err := clientRun(ctx, rg, talk, d/2)
				if err != nil {
					return nil, err
				}
				cliWall, cliUsed = cliWall+wall, cliUsed+used
				continue
			}
			wall, used, srv, sound, err := costCall(ctx, rg, talk, d/2, kind == "device")
			if err != nil {
				return nil, err
			}
			if kind == "device" {
				devWall, devUsed, srvUsed, soundUsed = devWall+wall, devUsed+used, srvUsed+srv, soundUsed+sound
			} else {
				toneWall, toneUsed, srvToneUsed = toneWall+wall, toneUsed+used, srvToneUsed+srv
			}
		}
	}
	c.DeviceCPU = 100 * devUsed.Seconds() / devWall.Seconds() / 2
	c.SoundThreadsCPU = 100 * soundUsed.Seconds() / devWall.Seconds() / 2
	c.ToneCPU = 100 * toneUsed.Seconds() / toneWall.Seconds() / 2
	c.ClientCPU = 100 * cliUsed.Seconds() / cliWall.Seconds() / 2
	c.ServerCPU = 100 * srvUsed.Seconds() / devWall.Seconds()
	c.ServerToneCPU = 100 * srvToneUsed.Seconds() / toneWall.Seconds()
	if c.ToneCPU > 0 {
		c.Ratio = c.DeviceCPU / c.ToneCPU
	}
	if c.ClientCPU > 0 {
		c.OverClient = (c.DeviceCPU - c.ToneCPU) / c.ClientCPU
	}
	return c, nil
}

// clientRun runs, for d, the sound system's own client doing a peer's
// device work for each peer: pacat recording from its microphone
// (fragment 10 ms, as parley's capture asks) into /dev/null and pacat
// playing /dev/zero into its speaker (10 ms of buffer, as parley's
// speaker asks at 20 ms frames), with speech played into the mouths as
// in the device call. It returns the wall time and the four pacats' CPU
// time: what the sound system's own client takes for that work, which
// the device call's CPU over the tone call's is set against.
func clientRun(ctx context.Context, rg *rig, talk []int16, d time.Duration) (wall, used time.Duration, err error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, 0, err
	}
	defer null.Close()
	zero, err := os.Open("/dev/zero")
	if err != nil {
		return 0, 0, err
	}
	defer zero.Close()
	var cmds []*exec.Cmd
	var ended []chan struct{} // closed when its pacat has exited
	defer func() {
		for i, cmd := range cmds {
			_ = cmd.Process.Kill()
			<-ended[i]
		}
	}()
	for _, side := range []string{"a", "b"} {
		for _, args := range [][]string{
			{"--record", "--device=mic_" + side},
			{"--playback", "--device=ear_" + side},
		} {
			cmd := exec.Command("pacat", append(args, "--raw", "--format=s16le", fmt.Sprintf("--rate=%d", rate), "--channels=1",
				"--latency-msec=10", "--client-name=bench-client")...)
			cmd.Env, cmd.SysProcAttr = rg.srv.Env(), pulse.SysProcAttr()
			cmd.Stdin, cmd.Stdout = zero, null
			if err := cmd.Start(); err != nil {
				return 0, 0, fmt.Errorf("pacat: %w", err)
			}
			done := make(chan struct{})
			go func() {
				_ = cmd.Wait()
				close(done)
			}()
			cmds, ended = append(cmds, cmd), append(ended, done)
		}
	}
	said, _ := withMarkers(talk, int(d*rate/time.Second)+rate)
	for _, mouth := range []string{"mouth_a", "mouth_b"} {
		p, err := rg.play(mouth, said)
		if err != nil {
			return 0, 0, err
		}
		defer func() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}()
	}
	if err := sleep(ctx, 300*time.Millisecond); err != nil {
		return 0, 0, err
	}
	cpu := func() (t time.Duration) {
		for _, cmd := range cmds {
			t += procCPU(cmd.Process.Pid)
		}
		return t
	}
	cpu0, start := cpu(), time.Now()
	if err := sleep(ctx, d); err != nil {
		return 0, 0, err
	}
	wall, used = time.Since(start), cpu()-cpu0
	for i, done := range ended {
		select {
		case <-done:
			return 0, 0, fmt.Errorf("pacat %s ended early", strings.Join(cmds[i].Args[1:3], " "))
		default:
		}
	}
	return wall, used, nil
}

// costCall runs one call of measureDeviceCost and returns its length, the
// CPU time this process and the sound server used, and that of this
// process's sound threads.
func costCall(ctx context.Context, rg *rig, talk []int16, d time.Duration, device bool) (wall, used, srv, sound time.Duration, err error) {
	conn, err := connect(ctx, nil)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer conn.close()
	var sessions []*voice.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for i, call := range []*rtc.Call{conn.a, conn.b} {
		cfg := voice.Config{In: audio.Spec{Kind: audio.KindTone}, Out: audio.Spec{Kind: audio.KindNone},
			Encoder: audio.EncoderOptions{Frame: 20 * time.Millisecond}}
		if device {
			side := string(rune('a' + i))
			cfg.In, cfg.Out = audio.Spec{Kind: audio.KindDevice, Device: "mic_" + side}, audio.Spec{Kind: audio.KindDevice, Device: "ear_" + side}
		}
		s, err := voice.Open(cfg)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		sessions = append(sessions, s)
		if err := s.Start(call); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	var players []*player
	if device {
		n := int(d*rate/time.Second) + rate
		said, _ := withMarkers(talk, n)
		for _, mouth := range []string{"mouth_a", "mouth_b"} {
			p, err := rg.play(mouth, said)
			if err != nil {
				return 0, 0, 0, 0, err
			}
			players = append(players, p)
		}
	}
	// Past the start: the devices' first callbacks, the players' start.
	if err := sleep(ctx, 300*time.Millisecond); err != nil {
		return 0, 0, 0, 0, err
	}
	cpu0, srv0, sound0, start := cpuTime(), rg.cpu(), soundThreadsCPU(), time.Now()
	if err := sleep(ctx, d); err != nil {
		return 0, 0, 0, 0, err
	}
	wall, used, srv, sound = time.Since(start), cpuTime()-cpu0, rg.cpu()-srv0, soundThreadsCPU()-sound0
	for _, s := range sessions {
		if err := s.Err(); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	for _, p := range players {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return wall, used, srv, sound, nil
}
