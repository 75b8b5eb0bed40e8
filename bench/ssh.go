package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"parley/audio"
	"parley/internal/agent"
	"parley/internal/pulse"
	"parley/internal/speech"
	"parley/internal/sshd"
	"parley/voice"
)

// The SSH scenario runs the clean real-device call twice, in turn: once
// with both peers' sound local (voice.Session on the rig's devices, as
// parley opens them), once with peer A's sound through 'parley ssh''s
// audio agent: the agent serves A's devices on a unix socket, real ssh
// forwards it (-N -R) to a real sshd on loopback, and A's call uses it
// through the forwarded socket as a remote parley does (agent.Dial). Its
// figure is how much later the speech reaches the ear, both directions,
// than with the local devices: the agent's own cost, over the link's
// one-way delay (loopback: about none).

// SSH is the SSH scenario's figures: mouth-to-ear p50 with A's sound
// local and through the agent, the difference, the link's one-way delay
// (half the agent's ping round trip) and what the link carried.
type SSH struct {
	LocalP50   float64 `json:"local_p50_ms"`
	AgentP50   float64 `json:"agent_p50_ms"`
	AddedMs    float64 `json:"added_ms"`
	LinkMs     float64 `json:"link_one_way_ms"`
	KbpsToA    float64 `json:"kbps_to_agent"`
	KbpsFromA  float64 `json:"kbps_from_agent"`
	Dropped    uint64  `json:"dropped"`
	LocalFound int     `json:"local_found"`
}

// runSSH runs the SSH scenario on the rig; without sshd the error
// matches sshd.ErrMissing.
func runSSH(ctx context.Context, rg *rig, s Scenario, talk []int16, d time.Duration) (*Result, error) {
	srv, err := sshd.Start("", nil)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	local, err := sshCall(ctx, rg, nil, s, talk, d)
	if err != nil {
		return nil, fmt.Errorf("local devices: %w", err)
	}
	via, err := sshCall(ctx, rg, srv, s, talk, d)
	if err != nil {
		return nil, fmt.Errorf("through the agent: %w", err)
	}
	res := &Result{Scenario: s.Name, About: s.About, FrameMs: ms(s.Frame), Real: true}
	rv := via.rv
	res.Receivers = []Receiver{rv}
	secs := via.wall.Seconds()
	res.SSH = &SSH{
		LocalP50: local.rv.P50, AgentP50: rv.P50, AddedMs: rv.P50 - local.rv.P50,
		LinkMs:  ms(via.link),
		KbpsToA: float64(via.counters.BytesOut) * 8 / secs / 1000, KbpsFromA: float64(via.counters.BytesIn) * 8 / secs / 1000,
		Dropped: via.counters.Dropped, LocalFound: local.rv.Found,
	}
	if local.rv.Found == 0 || rv.Found == 0 {
		res.Receivers[0].Found = 0 // no figure without both
	}
	return res, nil
}

// sshRun is one call of the SSH scenario.
type sshRun struct {
	rv       Receiver
	wall     time.Duration
	link     time.Duration
	counters agent.Counters // the remote's side: out is to the agent
}

// sshCall runs the clean real-device call with voice.Sessions, A's
// through the agent if srv is set.
func sshCall(ctx context.Context, rg *rig, srv *sshd.Server, s Scenario, talk []int16, d time.Duration) (*sshRun, error) {
	conn, err := connect(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer conn.close()
	dev := func(side string) voice.Config {
		return voice.Config{
			In:      audio.Spec{Kind: audio.KindDevice, Device: "mic_" + side},
			Out:     audio.Spec{Kind: audio.KindDevice, Device: "ear_" + side},
			Encoder: audio.EncoderOptions{Frame: s.Frame},
		}
	}
	b, err := voice.Open(dev("b"))
	if err != nil {
		return nil, fmt.Errorf("peer B: %w", err)
	}
	defer b.Close()
	var a interface {
		Start(voice.Link) error
		Close() error
	}
	var viaAgent *agent.Sound
	if srv == nil {
		v, err := voice.Open(dev("a"))
		if err != nil {
			return nil, fmt.Errorf("peer A: %w", err)
		}
		a = v
	} else {
		sound, stop, err := forwardAgent(srv, dev("a"))
		if err != nil {
			return nil, err
		}
		defer stop()
		a, viaAgent = sound, sound
	}
	defer a.Close()

	n := int(d * rate / time.Second)
	said, markers := withMarkers(talk, n)
	rec, err := rg.record()
	if err != nil {
		return nil, err
	}
	defer rec.stop()
	if err := b.Start(conn.b); err != nil {
		return nil, err
	}
	if err := a.Start(conn.a); err != nil {
		return nil, err
	}
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	start := time.Now()
	playErr, err := rg.speak(ctx, said, said, d, tail)
	if err != nil {
		return nil, err
	}
	run := &sshRun{wall: time.Since(start)}
	if viaAgent != nil {
		run.link, run.counters = viaAgent.LinkStats().Delay, viaAgent.Counters()
		if err := viaAgent.Err(); err != nil {
			return nil, err
		}
	}
	chans, err := rec.stop()
	for _, err := range []error{playErr, err} {
		if err != nil {
			return nil, err
		}
	}
	an := realAnalysis{markers: markers, chans: chans}
	lat := append(an.mouthToEar(chMouthA, chEarB), an.mouthToEar(chMouthB, chEarA)...)
	rv := Receiver{Name: Adaptive, Markers: 2 * len(markers), Found: len(lat)}
	if len(lat) > 0 {
		slices.Sort(lat)
		rv.P50, rv.P95, rv.Max = ms(rank(lat, 50)), ms(rank(lat, 95)), ms(lat[len(lat)-1])
	}
	if c, err := speech.Compare(chans[chMouthA], chans[chEarB], rate); err == nil {
		rv.LSD, rv.Corr, rv.WarpMs = c.LSD, c.Corr, ms(c.Warp)
	}
	run.rv = rv
	return run, nil
}

// mouthToEar is each marker's delay from the mouth channel to the ear
// channel, on the rig's clock, over those found in both.
func (an *realAnalysis) mouthToEar(mouthCh, earCh int) []time.Duration {
	mouth, ear := an.chans[mouthCh], an.chans[earCh]
	first := an.markers[0] + markerIDs*markerEvery
	var lat []time.Duration
	for k, m := range an.track(mouth, 0, first, rate/50) {
		if m < 0 {
			continue
		}
		if e, _ := findMarker(ear, k, m, m+rate); e >= 0 {
			lat = append(lat, time.Duration(e-m)*time.Second/rate)
		}
	}
	return lat
}

// forwardAgent serves cfg's sound as 'parley ssh' does, has ssh forward
// it to srv (-N -R, as 'parley ssh --attach'), and connects to the
// forwarded socket as a remote parley does. stop ends the agent and ssh.
func forwardAgent(srv *sshd.Server, cfg voice.Config) (_ *agent.Sound, stop func(), err error) {
	dir, err := os.MkdirTemp("", "parley-bench-ssh-")
	if err != nil {
		return nil, nil, err
	}
	var undo []func()
	stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	undo = append(undo, func() { os.RemoveAll(dir) })
	local := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", local)
	if err != nil {
		return nil, nil, err
	}
	ag := &agent.Agent{Open: func(enc audio.EncoderOptions, onLevels func(voice.Levels)) (agent.LocalSound, error) {
		c := cfg
		c.Encoder, c.OnLevels = enc, onLevels
		return voice.Open(c)
	}}
	served := make(chan error, 1)
	go func() { served <- ag.Serve(ln) }()
	undo = append(undo, func() { ag.Close(); <-served })

	remote := agent.NewRemoteSocket()
	args := append(srv.Command()[1:], "-N", "-o", "ExitOnForwardFailure=yes", "-R", remote+":"+local, sshd.Destination)
	cmd := exec.Command(srv.Command()[0], args...)
	cmd.SysProcAttr = pulse.SysProcAttr() // gone with the benchmark, should it be killed
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("ssh: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	undo = append(undo, func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-waited
		}
		os.Remove(remote)
	})
	deadline := time.Now().Add(10 * time.Second)
	for agent.Check(remote) != nil {
		select {
		case err := <-waited:
			waited <- err
			return nil, nil, fmt.Errorf("ssh ended: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, nil, errors.New("ssh did not forward the agent's socket within 10 s")
		}
	}
	sound, err := agent.Dial(remote, agent.Options{Encoder: cfg.Encoder})
	if err != nil {
		return nil, nil, err
	}
	return sound, stop, nil
}
