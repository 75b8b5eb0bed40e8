package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupGoVersion runs scripts/setup with a fake go (and a fake
// pkg-config and gcc, so that nothing is missing and nothing installed):
// a Go older than go.mod needs that will not fetch a newer one is said in
// one line, with where to get one; a new enough Go, or one that fetches
// the toolchain itself, passes.
func TestSetupGoVersion(t *testing.T) {
	for _, c := range []struct {
		version, toolchain string
		ok                 bool
	}{
		{"go1.19.8", "", false}, // Debian 12's golang-go
		{"go1.3", "", false},
		{"go1.26.8", "auto", true},
		{"go1.26.10", "local", true}, // newer, numerically
		{"go1.27rc1", "local", true},
		{"go1.22.2", "auto", true}, // fetches the toolchain go.mod asks for
		{"go1.22.2", "local", false},
	} {
		bin := t.TempDir()
		fake := map[string]string{
			"go": `#!/bin/sh
case "$2" in
GOVERSION) echo ` + c.version + ` ;;
GOTOOLCHAIN) echo ` + c.toolchain + ` ;;
esac`,
			"pkg-config": "#!/bin/sh\nexit 0",
			"gcc":        "#!/bin/sh\nexit 0",
		}
		for name, script := range fake {
			if err := os.WriteFile(filepath.Join(bin, name), []byte(script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("scripts/setup")
		cmd.Dir = "../.." // the repository
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		msg := strings.TrimSpace(string(out))
		switch {
		case c.ok && (err != nil || msg != ""):
			t.Errorf("setup with %s (GOTOOLCHAIN %q): %v, %q; want success, quietly", c.version, c.toolchain, err, msg)
		case !c.ok && err == nil:
			t.Errorf("setup with %s (GOTOOLCHAIN %q) succeeded; want it to stop", c.version, c.toolchain)
		case !c.ok && (strings.Count(msg, "\n") > 0 || !strings.Contains(msg, "https://go.dev/dl/") ||
			!strings.Contains(msg, "Go "+strings.TrimPrefix(c.version, "go"))):
			t.Errorf("setup with %s says %q; want one line with the version and https://go.dev/dl/", c.version, msg)
		}
	}
}
