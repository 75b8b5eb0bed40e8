// Package audio moves parley's sound: it opens sound devices through
// miniaudio (github.com/gen2brain/malgo), reads and writes WAV files, makes
// test tones, encodes Opus (gopkg.in/hraban/opus.v2) and measures levels.
// The jitter buffer and the Opus decoder live in audio/jitter; the WebRTC
// wiring lives in rtc.
//
// # Format
//
// Everything here is 48 kHz, mono, signed 16-bit PCM in []int16. Audio moves
// in periods of 10 ms (480 samples) by default; Options.Period changes that.
//
// # Sources and sinks
//
// A [Source] delivers one period of PCM per period to a function; a [Sink]
// pulls one period per period from a function, so a jitter buffer's Pull can
// feed it directly. A microphone given Options.Frame delivers its periods
// a frame at a time, back to back, waking the process once a frame. Both are paced in real time: a sound device by its own
// clock, a file, a tone or "none" by a [Clock] (the wall clock, or a fake one
// in tests). [ParseInput] and [ParseOutput] map the --audio-in and
// --audio-out values to a [Spec], and [Open] turns two Specs into a Source
// and a Sink. When both are sound devices they are one duplex device, so
// capture and playback share a clock.
//
// Neither delivers anything until Start is called: a file starts at its
// first sample when the call connects, not when it was opened.
//
// # Threading
//
// The functions given to Start run on a goroutine owned by the Source or
// Sink, once per period (a microphone's, a frame's periods in a row); they
// must return well within a period and never
// wait on the network or the UI. The sound device's own callback, on
// miniaudio's thread, only copies into or out of lock-free ring buffers and
// wakes that goroutine: it never blocks, never allocates, and drops or
// zero-fills rather than waits. Close stops the goroutine and waits for it.
//
// # Messages on stderr
//
// With no sound card, libasound and miniaudio print many lines on the
// process's standard error (file descriptor 2), which the terminal UI would
// show. [RedirectStderr] points descriptor 2 at the log file while devices
// are probed and used.
package audio
