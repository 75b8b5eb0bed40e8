package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "parley", "parley.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("hello\n"))
	l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("log mode = %v; want 0600", m)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("log directory mode = %v; want 0700", di.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), "hello\n") {
		t.Errorf("log = %q", b)
	}
}

// TestFullDisk writes to /dev/full: writes succeed for the caller and the
// error is kept.
func TestFullDisk(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	l := &File{f: f}
	defer l.Close()
	if n, err := l.Write([]byte("x")); n != 1 || err != nil {
		t.Errorf("Write = %d, %v; want 1, nil", n, err)
	}
	if l.Err() == nil {
		t.Error("Err() = nil after writing to a full disk")
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	if p, _ := DefaultPath(); p != "/xdg/state/parley/parley.log" {
		t.Errorf("DefaultPath() = %q", p)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultPath(); p != "/home/u/.local/state/parley/parley.log" {
		t.Errorf("DefaultPath() = %q; a relative XDG_STATE_HOME is ignored", p)
	}
}
