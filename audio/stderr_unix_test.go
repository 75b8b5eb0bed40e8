//go:build unix

package audio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRedirectStderr checks that what is written to file descriptor 2, as
// C code writes it, lands in the file, and that restore puts it back.
func TestRedirectStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	orig, restore, err := RedirectStderr(f)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(2, []byte("ALSA lib pcm.c: cannot find card '0'\n"))
	// Probing the sound system here, as parley does, must not reach the
	// terminal either.
	if l, err := Devices(BackendAuto); err == nil {
		t.Logf("(redirected) devices: %+v", l)
	}
	var st1, st2 unix.Stat_t
	unix.Fstat(int(orig.Fd()), &st1)
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	unix.Fstat(2, &st2)
	if st1.Ino != st2.Ino || st1.Dev != st2.Dev {
		t.Error("restore did not put the original stderr back")
	}
	unix.Write(2, []byte{}) // still writable
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "cannot find card") {
		t.Errorf("log = %q; want the C-level line", got)
	}
	t.Logf("log got %d bytes", len(got))
}
