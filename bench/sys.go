//go:build unix

package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sampleRSS samples the resident set size every 100 ms until stop, and
// returns the largest, in MB. Where /proc is missing it returns the
// process's peak so far.
func sampleRSS(stop <-chan struct{}) float64 {
	peak := 0.0
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		peak = max(peak, rssMB())
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	var pages int64
	if err == nil {
		_, err = fmt.Sscan(strings.Fields(string(b))[1], &pages)
	}
	if err != nil {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		if runtime.GOOS == "darwin" {
			return float64(ru.Maxrss) / (1 << 20)
		}
		return float64(ru.Maxrss) / (1 << 10)
	}
	return float64(pages*int64(os.Getpagesize())) / (1 << 20)
}

// machine describes this machine in a line.
func machine() string {
	model := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v) + ", "
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %s%d cores, %s", runtime.GOOS, runtime.GOARCH, model, runtime.NumCPU(), runtime.Version())
}
