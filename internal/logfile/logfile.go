// Package logfile keeps parley's log: a file in the XDG state directory,
// private to the user, that never fails a caller because the disk is full.
package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultPath returns $XDG_STATE_HOME/parley/parley.log, or
// ~/.local/state/parley/parley.log when XDG_STATE_HOME is not set.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the log directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "parley", "parley.log"), nil
}

// File is an open log. Writes never return an error: the first one is
// kept for Err, and later lines are dropped.
type File struct {
	mu  sync.Mutex
	f   *os.File
	err error
}

// Open opens (creating with mode 0600, and its directory with 0700) the
// log at path for appending, and writes a line marking the start.
func Open(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the log: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("make the log private: %w", err)
	}
	l := &File{f: f}
	fmt.Fprintf(l, "---- parley started %s (pid %d)\n", time.Now().Format(time.RFC3339), os.Getpid())
	return l, nil
}

// Write appends p. It reports success even when the disk is full, so that
// logging never breaks a call; see Err.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		if _, err := l.f.Write(p); err != nil {
			l.err = err
		}
	}
	return len(p), nil
}

// Err returns the first write error, if any.
func (l *File) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Fd returns the file's descriptor, to which C libraries' stderr can be
// redirected.
func (l *File) Fd() uintptr { return l.f.Fd() }

// Name returns the log's path.
func (l *File) Name() string { return l.f.Name() }

// Close closes the log.
func (l *File) Close() error { return l.f.Close() }
