package tui

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the tests leave no goroutine of parley's running.
// Bubble Tea v1 does not stop a command still running when its program
// quits (a tea.Tick waits out its timer, the batch that ran it waits for
// it), and teatest keeps a program's goroutine until its final model is
// asked for: those are the library's, and ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/charmbracelet/bubbletea.Tick.func1"),
		goleak.IgnoreAnyFunction("github.com/charmbracelet/bubbletea.(*Program).execBatchMsg"),
		goleak.IgnoreTopFunction("github.com/charmbracelet/x/exp/teatest.NewTestModel.func2"),
	)
}
