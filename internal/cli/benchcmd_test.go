package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchUsage: mistakes in parley bench's flags are one-line errors,
// found before anything runs.
func TestBenchUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--scenario", "nope"}, ExitUsage, `no scenario "nope"`},
		{[]string{"--duration", "soon"}, ExitUsage, "want seconds"},
		{[]string{"extra"}, ExitUsage, `unexpected argument "extra"`},
		{[]string{"--scenario", "clean-20ms", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir")}, ExitFailure, "CPU profile"},
	} {
		var out, errs strings.Builder
		if code := runBench(context.Background(), tc.args, &out, &errs); code != tc.code || !strings.Contains(errs.String(), tc.msg) {
			t.Errorf("parley bench %v: exit %d, %q; want %d and %q", tc.args, code, errs.String(), tc.code, tc.msg)
		}
		if out.Len() > 0 {
			t.Errorf("parley bench %v printed %q on stdout", tc.args, out.String())
		}
	}
}
