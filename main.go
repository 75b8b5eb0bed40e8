// Command parley makes peer-to-peer voice and text calls from a terminal.
//
// Usage:
//
//	parley                  the terminal UI
//	parley call [flags]     start a call: print an invite, read the answer
//	parley join [CODE]      answer an invite
//	parley echo             hear yourself through a whole call
//	parley devices          list microphones and speakers
//	parley bench            measure latency, quality and cost
//
// Run "parley help" for the flags. The commands are in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"parley/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal hangs up; the next one ends parley at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
