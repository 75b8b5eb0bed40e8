package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestNotifySetting: the bell for a message is on by default, off with
// notify = false in the config file, and the command line wins.
func TestNotifySetting(t *testing.T) {
	if _, cfg, err := parseArgs([]string{"call"}, "", io.Discard); err != nil || !cfg.notify {
		t.Errorf("by default notify = %v (%v); want true", cfg.notify, err)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("notify = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, cfg, err := parseArgs([]string{"call"}, path, io.Discard); err != nil || cfg.notify {
		t.Errorf("with notify = false in the file, notify = %v (%v); want false", cfg.notify, err)
	}
	if _, cfg, err := parseArgs([]string{"call", "--notify"}, path, io.Discard); err != nil || !cfg.notify {
		t.Errorf("with --notify over the file, notify = %v (%v); want true", cfg.notify, err)
	}
}
