//go:build !unix

package bench

import (
	"fmt"
	"runtime"
	"time"
)

func cpuTime() time.Duration { return 0 }

func contextSwitches() int64 { return 0 }

func watchRSS() func() float64 { return func() float64 { return 0 } }

func machine() string {
	return fmt.Sprintf("%s/%s, %d cores, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
