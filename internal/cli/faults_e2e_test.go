package cli

import (
	"os"
	"testing"
	"time"

	"parley/internal/relay"
)

// TestOutageResumes cuts the path for 10 s in the middle of a call: the
// call reports disconnected, then comes back by itself, a message typed
// during the outage arrives, and audio flows again.
func TestOutageResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 15 s")
	}
	t.Parallel()
	r, err := relay.New(relay.Impairment{}, relay.Impairment{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	caller, callee := connectViaArgs(t, r, audioArgs(t), audioArgs(t))
	for caller.next("state")["state"] != "connected" {
	}
	for callee.next("state")["state"] != "connected" {
	}
	callee.audioFlows(0, 25)
	r.SetDown(true)
	start := time.Now()
	if s := caller.next("state"); s["state"] != "disconnected" {
		t.Fatalf("state during the outage = %v; want disconnected", s)
	}
	caller.send("typed during the outage")
	time.Sleep(10*time.Second - time.Since(start))
	r.SetDown(false)
	if s := caller.next("state"); s["state"] != "connected" {
		t.Fatalf("state after the outage = %v; want connected again", s)
	}
	if m := callee.next("chat"); m["text"] != "typed during the outage" {
		t.Errorf("callee got %v", m)
	}
	now := callee.audioFlows(0, 0)
	callee.audioFlows(now, 50)
	caller.send("/quit")
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
}

// TestAnswerThreeMinutesLate pastes the answer back three minutes after
// the invite was made (and the answer too): the call still connects. It
// checks pion's own timing (it never fails the checking state), so it
// runs in real time, in the slow step.
func TestAnswerThreeMinutesLate(t *testing.T) {
	slow(t, "takes 3 minutes")
	t.Parallel()
	caller := startPeer(t, "caller", "call")
	invite := caller.next("invite")["code"].(string)
	callee := startPeer(t, "callee", "join", invite)
	answer := callee.next("answer")["code"].(string)
	time.Sleep(3 * time.Minute)
	caller.send(answer)
	for _, p := range []*peer{caller, callee} {
		var s map[string]any
		for s = p.next("state"); s["state"] == "connecting"; s = p.next("state") {
		}
		if s["state"] != "connected" {
			t.Fatalf("%s: %v; want connected", p.name, s)
		}
	}
	caller.send("/quit")
	if _, code := callee.rest(); code != 0 {
		t.Errorf("callee exited %d; want 0", code)
	}
}

// slow skips a test that must take minutes of real time, unless
// PARLEY_SLOW is set: make test runs them as a step of their own, apart
// from the fast suite.
func slow(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("PARLEY_SLOW") == "" || testing.Short() {
		t.Skipf("%s: a slow test; PARLEY_SLOW=1 runs it (make test does)", why)
	}
}
