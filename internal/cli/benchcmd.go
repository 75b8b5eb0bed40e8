package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"parley/bench"
)

const benchUsage = `Usage: parley bench [--json] [--scenario NAME]... [--duration S] [--cpuprofile FILE]

Measures calls between two peers in this process, over UDP on loopback
through an impairment relay: mouth-to-ear latency, speech quality, CPU,
memory and connect time, for the adaptive jitter buffer and two baselines.
See BENCH.md.

Flags:
`

// runBench runs "parley bench".
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var names listFlag
	var all []string
	for _, s := range bench.Scenarios() {
		all = append(all, s.Name)
	}
	fs.Var(&names, "scenario", "run only this scenario (repeatable): "+strings.Join(all, ", "))
	dur := durationFlag(20 * time.Second)
	fs.Var(&dur, "duration", "how long each call talks, in seconds (or a duration such as 1m)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE`, for go tool pprof")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley bench: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	scenarios, err := bench.Find(names.values)
	if err != nil {
		fmt.Fprintf(stderr, "parley bench: %v\n", err)
		return ExitUsage
	}
	if *profile != "" {
		stop, err := startProfile(*profile)
		if err != nil {
			fmt.Fprintf(stderr, "parley bench: %v\n", err)
			return ExitFailure
		}
		defer stop()
	}
	rep, err := bench.Run(ctx, bench.Options{Scenarios: scenarios, Duration: time.Duration(dur), Cost: true, DeviceCost: true, Progress: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "parley bench: %v\n", err)
		return ExitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley bench: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// startProfile starts a CPU profile to path; stop ends it and closes the
// file.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// durationFlag takes seconds ("20", "2.5") or a Go duration ("1m").
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Set(v string) error {
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		*d = durationFlag(s * float64(time.Second))
		return nil
	}
	p, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want seconds, such as 20, or a duration, such as 1m")
	}
	*d = durationFlag(p)
	return nil
}
