// Command parley makes peer-to-peer voice and text calls from a terminal.
//
// Usage:
//
//	parley                  the terminal UI
//	parley call [flags]     start a call: print an invite, read the answer
//	parley join [CODE]      answer an invite
//
// Run "parley help" for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"parley/headless"
	"parley/rtc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd, cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return headless.ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		fmt.Fprintln(stderr, "Run 'parley help' for usage.")
		return headless.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if !cfg.headless {
		fmt.Fprintln(stderr, "parley: the terminal UI is not built yet; add --headless")
		return headless.ExitUsage
	}
	role := headless.Caller
	if cmd == "join" {
		role = headless.Callee
	}
	cfg.rtc.Log = stderr
	return headless.Run(ctx, headless.Options{
		Role:    role,
		Code:    cfg.code,
		NewCall: func() (*rtc.Call, error) { return rtc.New(cfg.rtc) },
		In:      stdin,
		Out:     stdout,
	})
}
