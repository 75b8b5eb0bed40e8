//go:build !linux

package bench

import "time"

// threadCPU cannot read a thread's CPU time here; the processing's cost
// is then its wall time, an upper bound.
func threadCPU() (time.Duration, bool) { return 0, false }

// soundThreadsCPU cannot read other threads' CPU time here.
func soundThreadsCPU() time.Duration { return 0 }

// procCPU cannot read another process's CPU time here.
func procCPU(pid int) time.Duration { return 0 }
