package bench

import (
	"fmt"
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
// PulseAudio); 0 where none is found.
func soundThreadsCPU() time.Duration {
	return tasksCPU("self", func(comm string) bool {
		switch comm {
		case "parley-mic", "parley-speaker", "parley-sound":
			return true
		}
		return false
	})
}

// procCPU returns the CPU time so far of process pid, all its threads; 0
// if it cannot be read.
func procCPU(pid int) time.Duration {
	return tasksCPU(strconv.Itoa(pid), func(string) bool { return true })
}

// tasksCPU sums the time on a CPU, from /proc/PROC/task/*/schedstat (in
// ns), of the threads of PROC whose names keep takes.
func tasksCPU(proc string, keep func(comm string) bool) time.Duration {
	dir := fmt.Sprintf("/proc/%s/task/", proc)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var sum time.Duration
	for _, task := range tasks {
		comm, _ := os.ReadFile(dir + task.Name() + "/comm") // gone: no name
		if !keep(strings.TrimSpace(string(comm))) {
			continue
		}
		st, err := os.ReadFile(dir + task.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(st)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				sum += time.Duration(ns)
			}
		}
	}
	return sum
}
