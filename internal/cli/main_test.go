package cli

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs up to 8 parallel tests at once unless -parallel says
// otherwise: the end-to-end tests mostly wait on their child processes
// and the network, and the default, one per core, leaves a 2-core
// machine idle. It checks that no goroutine outlives the tests. The
// parleys it starts are not in an SSH session, even when the tests are:
// one would look for (and take) the audio agents of the SSH tests.
func TestMain(m *testing.M) {
	os.Unsetenv("SSH_CONNECTION")
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	goleak.VerifyTestMain(m)
}
