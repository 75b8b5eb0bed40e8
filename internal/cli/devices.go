package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

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
		// With PulseAudio, the server name (as pactl, PULSE_SOURCE and
		// PULSE_SINK give it) in a column before the description.
		width := 0
		for _, d := range group.list {
			width = max(width, utf8.RuneCountInString(d.ID))
		}
		for _, d := range group.list {
			line := fmt.Sprintf("  %d  ", d.Index)
			if width > 0 {
				line += d.ID + strings.Repeat(" ", width-utf8.RuneCountInString(d.ID)+2)
			}
			line += d.Name
			if d.Default {
				line += "  (default)"
			}
			fmt.Fprintln(stdout, line)
		}
	}
	fmt.Fprintln(stdout, "Name one by its number, by either name, or by a part of a name that no other device has.")
	return ExitOK
}
