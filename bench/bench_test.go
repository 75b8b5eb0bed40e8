package bench

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/speech"
)

// TestShortRun runs the clean scenario for a few seconds, so that the
// benchmark cannot rot. It checks that every figure was measured, not
// how good it is: the targets are the benchmark's business.
func TestShortRun(t *testing.T) {
	scenarios, err := Find([]string{"clean-20ms"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Scenarios: scenarios, Duration: 4 * time.Second, Cost: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || len(rep.Results[0].Receivers) != 3 {
		t.Fatalf("results: %+v", rep.Results)
	}
	res := rep.Results[0]
	for _, rv := range res.Receivers {
		if rv.Markers == 0 || rv.Found < rv.Markers*3/4 {
			t.Errorf("%s: found %d of %d markers", rv.Name, rv.Found, rv.Markers)
		}
		if rv.P50 <= 0 || rv.P50 > rv.P95 || rv.P95 > rv.Max || rv.Max > 1000 {
			t.Errorf("%s: latency p50 %v, p95 %v, max %v ms", rv.Name, rv.P50, rv.P95, rv.Max)
		}
		if rv.Corr < 0.5 || rv.LSD <= 0 || rv.LSD > 10 {
			t.Errorf("%s: correlation %v, distance %v dB", rv.Name, rv.Corr, rv.LSD)
		}
	}
	// The fixed buffer holds its 80 ms more than the adaptive one does on
	// a clean network.
	if a, f := res.receiver(Adaptive), res.receiver(Fixed80); f.P50 < a.P50+40 {
		t.Errorf("fixed 80 ms at %v ms, adaptive at %v ms", f.P50, a.P50)
	}
	if res.BitrateAB < 5 || res.BitrateBA < 5 || res.InviteChars == 0 || res.ConnectMs <= 0 || res.BareMs <= 0 {
		t.Errorf("bitrates %v, %v kb/s; invite %d chars; connect %v ms, with a bare answer %v ms",
			res.BitrateAB, res.BitrateBA, res.InviteChars, res.ConnectMs, res.BareMs)
	}
	if c := rep.Cost; c == nil || c.CPU <= 0 || c.RSSMB <= 0 || rep.PeakRSSMB <= 0 ||
		c.SendPct <= 0 || c.PlayPct <= 0 || c.SwitchesPerSec <= 0 || c.WakeUs <= 0 || len(c.Complexity) != 2 {
		t.Errorf("cost %+v, peak RSS %v", rep.Cost, rep.PeakRSSMB)
	}
	if res.Complexity != audio.DefaultComplexity && res.Complexity != audio.MinComplexity {
		t.Errorf("Opus complexity %d", res.Complexity)
	}
	for _, tg := range rep.Targets {
		if strings.HasPrefix(tg.What, "clean, 20 ms") && tg.Status != "PASS" && tg.Status != "MISS" {
			t.Errorf("target %q: %s", tg.What, tg.Status)
		}
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "clean-20ms") || !strings.Contains(b.String(), "targets:") {
		t.Errorf("text report:\n%s", b.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
	t.Logf("\n%s", b.String())
}

// TestShortRealRun runs the clean real-device scenario for a few seconds
// through the private PulseAudio, and the device call beside the tone
// call, so that the rig cannot rot. It checks that every figure was
// measured, not how good it is. Without PulseAudio the rows say they were
// skipped.
func TestShortRealRun(t *testing.T) {
	scenarios, err := Find([]string{"real-clean-20ms"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Scenarios: scenarios, Duration: 4 * time.Second, DeviceCost: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	res := rep.Results[0]
	if res.Skipped != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("skipped with CI set: %s", res.Skipped)
		}
		if !strings.Contains(b.String(), "skipped") {
			t.Errorf("the report does not say the real rows were skipped")
		}
		t.Skip(res.Skipped)
	}
	rv := res.Receivers[0]
	if rv.Markers == 0 || rv.Found < rv.Markers*3/4 {
		t.Errorf("found %d of %d markers", rv.Found, rv.Markers)
	}
	if rv.P50 <= 5 || rv.P50 > rv.P95 || rv.Max > 1000 {
		t.Errorf("latency p50 %v, p95 %v, max %v ms", rv.P50, rv.P95, rv.Max)
	}
	st := res.Stages
	if sum := st.CaptureMs + st.NetworkMs + st.BufferMs + st.OutputMs; st.CaptureMs <= 0 || st.OutputMs <= 0 || sum < rv.P50/2 || sum > 2*rv.P50 {
		t.Errorf("stages %+v against p50 %v ms", st, rv.P50)
	}
	if rv.Corr < 0.5 || res.ServerCPU <= 0 || res.PulseAttrs == "" {
		t.Errorf("correlation %v, server CPU %v%%, buffers %q", rv.Corr, res.ServerCPU, res.PulseAttrs)
	}
	if c := rep.DeviceCost; c == nil || c.DeviceCPU <= 0 || c.ToneCPU <= 0 || c.Ratio <= 0 {
		t.Errorf("device cost %+v", rep.DeviceCost)
	} else if runtime.GOOS == "linux" && (c.SoundThreadsCPU <= 0 || c.SoundThreadsCPU >= c.DeviceCPU || c.ClientCPU <= 0 || c.OverClient == 0) {
		t.Errorf("the sound threads' CPU %v%% of the device call's %v%%; pacat's %v%%, %v×", c.SoundThreadsCPU, c.DeviceCPU, c.ClientCPU, c.OverClient)
	}
}

func TestFindMarker(t *testing.T) {
	talk := speech.Synthetic(3 * rate)
	sig, at := withMarkers(talk, 3*rate)
	delayed := append(make([]int16, 1234), sig...)
	for k, p := range at {
		j, score := findMarker(delayed, k, p, p+rate)
		if j != p+1234 || score < 0.99 {
			t.Errorf("marker %d at %d: found at %d (score %.2f); want %d", k, p, j, score, p+1234)
		}
		// Not the marker before or after it.
		if j, _ := findMarker(delayed, k+1, p, p+rate/4); j >= 0 {
			t.Errorf("marker %d taken for marker %d", k, k+1)
		}
	}
}

func TestFind(t *testing.T) {
	if _, err := Find([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "clean-20ms") {
		t.Errorf("unknown scenario: %v", err)
	}
	all, _ := Find(nil)
	real := 0
	for _, s := range all {
		if s.Real {
			real++
		}
	}
	// 6 modelled; 3 real, 2 of them again with processing (headphones),
	// 3 with an echo path, 3 of the microphone's processing, 1 through
	// parley ssh's agent.
	if len(all) != 18 || real != 12 {
		t.Errorf("%d scenarios, %d of them real", len(all), real)
	}
}

// TestAtLeastTargets: a target to be reached from below passes at or
// above its limit, and the echo rows are not run without their scenario.
func TestAtLeastTargets(t *testing.T) {
	r := &Report{Results: []Result{{Scenario: "echo-40ms", Real: true, Echo: &Echo{ERLE1: 16, ERLE3: 20, NearAloneDB: -20, NearDoubleDB: -23, DoubleCorr: 0.9, ProcCPU: 0.5}}}}
	got := map[string]string{}
	for _, tg := range targets(r) {
		got[tg.What] = tg.Status
	}
	for what, want := range map[string]string{
		"echo path 40 ms at -18dB, AEC+NS+AGC: ERLE after 1 s":                                       "PASS",
		"echo path 40 ms at -18dB, AEC+NS+AGC: ERLE after 3 s":                                       "MISS",
		"echo path 40 ms at -18dB, AEC+NS+AGC: double talk, near end's level against alone":          "PASS",
		"echo path 120 ms at -18dB, AEC+NS+AGC: ERLE after 1 s":                                      "not run",
		"echo path 40 ms, AEC+NS+AGC: their CPU at peer A (the call's frames replayed back to back)": "not run",
	} {
		if got[what] != want {
			t.Errorf("%s: %q, want %q", what, got[what], want)
		}
	}
}

// TestSSHTarget: the SSH row's target is the p50 the agent added less
// the link's one-way delay; not run when skipped or without markers.
func TestSSHTarget(t *testing.T) {
	const what = "A's sound through parley ssh (real devices, sshd on loopback), 20 ms frames: mouth-to-ear p50 added over local devices, less the link's one-way delay"
	for _, c := range []struct {
		res    Result
		status string
		value  float64
	}{
		{Result{Scenario: "ssh-20ms", Real: true, SSH: &SSH{AddedMs: 5, LinkMs: 1}, Receivers: []Receiver{{Found: 10, Markers: 10}}}, "PASS", 4},
		{Result{Scenario: "ssh-20ms", Real: true, SSH: &SSH{AddedMs: 25, LinkMs: 1}, Receivers: []Receiver{{Found: 10, Markers: 10}}}, "MISS", 24},
		{Result{Scenario: "ssh-20ms", Real: true, SSH: &SSH{}, Receivers: []Receiver{{Markers: 10}}}, "not run", 0},
		{Result{Scenario: "ssh-20ms", Real: true, Skipped: "no OpenSSH server here"}, "not run", 0},
	} {
		r := &Report{Results: []Result{c.res}}
		r.Targets = targets(r)
		found := false
		for _, tg := range r.Targets {
			if tg.What == what {
				found = true
				if tg.Status != c.status || tg.Value != c.value {
					t.Errorf("%+v: %s %v; want %s %v", c.res.SSH, tg.Status, tg.Value, c.status, c.value)
				}
			}
		}
		if !found {
			t.Fatal("no SSH target")
		}
		var b strings.Builder
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if c.res.Skipped != "" && !strings.Contains(b.String(), "ssh-20ms: skipped: no OpenSSH server here") {
			t.Errorf("the report does not say the SSH row was skipped:\n%s", b.String())
		}
	}
}
