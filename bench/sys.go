//go:build unix

package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
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

// contextSwitches returns how many times this process's threads have
// been switched out, voluntarily or not.
func contextSwitches() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Nvcsw + ru.Nivcsw)
}

// watchRSS starts watching the resident set size; the function it
// returns stops and gives the peak since, in MB. On Linux the kernel
// keeps the peak (VmHWM, reset through clear_refs), so nothing polls and
// adds to the CPU measured alongside; elsewhere it samples every 100 ms.
func watchRSS() func() float64 {
	// What earlier calls left on the heap would count as this one's:
	// hand it back to the system first.
	debug.FreeOSMemory()
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil {
		if _, err := hwmMB(); err == nil {
			return func() float64 {
				mb, _ := hwmMB()
				return mb
			}
		}
	}
	stop, peak := make(chan struct{}), make(chan float64)
	go func() {
		mb := 0.0
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			mb = max(mb, rssMB())
			select {
			case <-stop:
				peak <- mb
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		return <-peak
	}
}

// hwmMB reads the peak resident set size from /proc/self/status.
func hwmMB() (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kB float64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kB); err != nil {
				return 0, err
			}
			return kB / (1 << 10), nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// rssMB returns the resident set size now, or where /proc is missing the
// process's peak so far.
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
