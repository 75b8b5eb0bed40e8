package tui

import (
	"context"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"
)

// runAsync runs Run in the background; the returned channel yields its
// error.
func runAsync(opts Options) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(opts) }()
	return done
}

func waitOutput(t *testing.T, out *safeBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the output never showed %q; it has:\n%q", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestRunQuitsOnCtrlC(t *testing.T) {
	in, typed := io.Pipe()
	defer typed.Close()
	out := &safeBuffer{}
	done := runAsync(Options{
		NewCall: func() (Call, error) { t.Error("a call was made"); return newFakeCall(), nil },
		Input:   in,
		Output:  out,
		Getenv:  func(string) string { return "" },
	})
	waitOutput(t, out, "Start a call")
	_, _ = typed.Write([]byte{0x03}) // ctrl+c
	waitRun(t, done)
}

func TestRunHangsUpAndCopiesThroughTmux(t *testing.T) {
	in, typed := io.Pipe()
	defer typed.Close()
	out := &safeBuffer{}
	calls := make(chan *fakeCall, 1)
	done := runAsync(Options{
		NewCall: func() (Call, error) { f := newFakeCall(); calls <- f; return f, nil },
		Start:   ScreenCall,
		Input:   in,
		Output:  out,
		Getenv:  func(k string) string { return map[string]string{"TMUX": "/tmp/tmux-0/default,1,0"}[k] },
	})
	f := <-calls
	waitOutput(t, out, "1. Send this invite")
	_, _ = typed.Write([]byte{0x19}) // ctrl+y
	waitOutput(t, out, "\x1bPtmux;\x1b\x1b]52;c;"+base64.StdEncoding.EncodeToString([]byte(testInvite)))
	_, _ = typed.Write([]byte{0x03})
	waitRun(t, done)
	if hu, closes := f.count(); hu != 1 || closes < 1 {
		t.Fatalf("after ctrl+c: %d hang-ups, %d closes; want 1 and at least 1", hu, closes)
	}
}

// slowInvite's Invite takes until it is cancelled.
type slowInvite struct{ *fakeCall }

func (slowInvite) Invite(ctx context.Context) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func TestRunClosesCallsBeingMade(t *testing.T) {
	in, typed := io.Pipe()
	defer typed.Close()
	out := &safeBuffer{}
	calls := make(chan *fakeCall, 1)
	done := runAsync(Options{
		NewCall: func() (Call, error) { f := newFakeCall(); calls <- f; return slowInvite{f}, nil },
		Start:   ScreenCall,
		Input:   in,
		Output:  out,
		Getenv:  func(string) string { return "" },
	})
	f := <-calls
	waitOutput(t, out, "Making your invite")
	_, _ = typed.Write([]byte{0x03})
	waitRun(t, done)
	if _, closes := f.count(); closes < 1 {
		t.Fatal("a call still being made was left open")
	}
}
