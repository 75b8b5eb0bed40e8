package bench

import (
	"testing"

	"parley/audio/aec"
	"parley/internal/speech"
	"parley/voice"
)

// TestReplay: a tape keeps the calls in order up to its room, and its
// replay measures the processing both ways.
func TestReplay(t *testing.T) {
	if !aec.Available {
		t.Skip("built without echo cancellation")
	}
	talk := speech.Synthetic(2 * rate)
	tp := newProcTape(len(talk) + 480)
	for at := 0; at+480 <= len(talk); at += 480 {
		tp.add(false, talk[at:at+480])
		tp.add(true, talk[at:at+480])
	}
	if len(tp.ops) != len(talk)/480+1 || len(tp.pcm) != len(talk)+480 {
		t.Fatalf("%d calls, %d samples kept; want %d and %d", len(tp.ops), len(tp.pcm), len(talk)/480+1, len(talk)+480)
	}
	steady, paced, err := tp.replay(procConfig(voice.Processing{AEC: true, NS: true, AGC: true}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := threadCPU(); !ok {
		t.Skipf("no thread CPU clock here: %v, %v", steady, paced)
	}
	if steady <= 0 || paced <= 0 || steady > 100 || paced > 100 {
		t.Errorf("replayed: %v%% back to back, %v%% paced", steady, paced)
	}
	t.Logf("%.2f%% of a core back to back, %.2f%% paced", steady, paced)
}
