package bench

import (
	"runtime"
	"sync"
	"time"

	"parley/audio/aec"
)

// The processing's CPU, measured in a call as the thread CPU time of its
// Capture and Playback, is about twice what the same frames cost run one
// after another on this machine: each 10 ms frame starts on a core that
// has idled since the last one, and a core woken from idle runs the same
// work slower (measured: a call's own frames replayed 10 ms apart cost as
// much as in the call, back to back half). So the echo rows also replay
// the frames peer A handed its canceller into a new one of the same
// settings, on one thread, both ways, and report the three figures side
// by side; the target checks the back-to-back one, what the work costs on
// a core that is running.

// procTape is what a peer handed its processing, in order: the far end
// (Playback) and the microphone before processing (Capture).
type procTape struct {
	mu  sync.Mutex
	pcm []int16 // every call's samples, one after another; never grows past its capacity
	ops []tapeOp
}

type tapeOp struct {
	capture bool
	n       int
}

// newProcTape makes a tape with room for samples of both kinds.
func newProcTape(samples int) *procTape {
	return &procTape{pcm: make([]int16, 0, samples), ops: make([]tapeOp, 0, samples/480+1)}
}

// add records one call; once the tape is full the rest are left out.
func (t *procTape) add(capture bool, pcm []int16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pcm)+len(pcm) > cap(t.pcm) {
		return
	}
	t.pcm = append(t.pcm, pcm...)
	t.ops = append(t.ops, tapeOp{capture, len(pcm)})
}

// replayFrames is how many captured frames the paced replay runs: 4 s.
const replayFrames = 400

// replay runs the tape through a new canceller of cfg, on one locked
// thread, and returns its CPU over the captured audio's length in % of a
// core: every call back to back, and the first replayFrames captures each
// 10 ms after the one before (their Playbacks just ahead of them), as in
// the call.
func (t *procTape) replay(cfg aec.Config) (steady, paced float64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	run := func(pace bool) (float64, error) {
		c, err := aec.New(cfg)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		frame := make([]int16, 0, 4096)
		var used time.Duration
		captured, frames, at := 0, 0, 0
		c0, ok := threadCPU()
		if !ok {
			return 0, nil
		}
		for _, op := range t.ops {
			pcm := t.pcm[at : at+op.n]
			at += op.n
			if !op.capture {
				c.Playback(pcm)
				continue
			}
			if pace {
				if frames >= replayFrames {
					break
				}
				c1, _ := threadCPU()
				used += c1 - c0
				time.Sleep(10 * time.Millisecond)
				c0, _ = threadCPU()
			}
			frame = append(frame[:0], pcm...) // Capture works in place
			if err := c.Capture(frame); err != nil {
				return 0, err
			}
			captured += len(pcm)
			frames++
		}
		c1, _ := threadCPU()
		used += c1 - c0
		if captured == 0 {
			return 0, nil
		}
		return 100 * used.Seconds() / (float64(captured) / rate), nil
	}
	if steady, err = run(false); err != nil {
		return 0, 0, err
	}
	paced, err = run(true)
	return steady, paced, err
}
