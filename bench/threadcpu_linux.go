package bench

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the calling thread's CPU time so far, and whether it
// could be read. Call it with the goroutine locked to its thread.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// soundThreadsCPU returns the CPU time so far of this process's threads
// that serve sound devices, which audio names parley-mic, parley-speaker
// and parley-sound (the sound library's own, in libpulse through
// PulseAudio), from /proc/self/task/*/schedstat; 0 where none is found.
func soundThreadsCPU() time.Duration {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0
	}
	var sum time.Duration
	for _, task := range tasks {
		dir := "/proc/self/task/" + task.Name() + "/"
		comm, _ := os.ReadFile(dir + "comm") // gone: no name
		switch strings.TrimSpace(string(comm)) {
		case "parley-mic", "parley-speaker", "parley-sound":
		default:
			continue
		}
		st, err := os.ReadFile(dir + "schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st))
		if len(f) == 0 {
			continue
		}
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			sum += time.Duration(ns)
		}
	}
	return sum
}
