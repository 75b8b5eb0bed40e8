//go:build !linux

package pulse

import (
	"errors"
	"syscall"
	"time"
)

// SysProcAttr is nil here: no parent-death signal outside Linux.
func SysProcAttr() *syscall.SysProcAttr { return nil }

func cpuTime(int) (time.Duration, error) {
	return 0, errors.New("a process's CPU time is read from /proc, on Linux only")
}
