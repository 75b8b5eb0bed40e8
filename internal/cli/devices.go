package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"parley/audio"
)

// listDevices prints the sound devices, for --audio-in and --audio-out.
func listDevices(stdout, stderr io.Writer) int {
	// The sound libraries print to fd 2 while probing; keep it off the
	// terminal.
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		orig, restore := redirectStderr(null)
		defer null.Close()
		defer restore()
		if stderr == os.Stderr {
			stderr = orig
		}
	}
	l, err := audio.Devices(audio.BackendAuto)
	if errors.Is(err, audio.ErrNoDevice) || err == nil && len(l.Capture) == 0 && len(l.Playback) == 0 {
		fmt.Fprintln(stdout, "No sound devices found: calls from this machine are text only.")
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return ExitFailure
	}
	for _, group := range []struct {
		title string
		list  []audio.DeviceInfo
	}{{"Microphones (--audio-in)", l.Capture}, {"Speakers (--audio-out)", l.Playback}} {
		fmt.Fprintln(stdout, group.title+":")
		if len(group.list) == 0 {
			fmt.Fprintln(stdout, "  none")
		}
		for _, d := range group.list {
			def := ""
			if d.Default {
				def = "  (default)"
			}
			fmt.Fprintf(stdout, "  %d  %s%s\n", d.Index, d.Name, def)
		}
	}
	return ExitOK
}
