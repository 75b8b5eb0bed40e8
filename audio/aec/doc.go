// Package aec cleans up the microphone for a call: acoustic echo
// cancellation, noise suppression and automatic gain control, by
// webrtc-audio-processing 0.3 (the webrtc::AudioProcessing module that
// PulseAudio's and PipeWire's echo-cancel modules use), bound with cgo
// through a small extern "C" shim. COMPARISON.md has the measurements that
// chose it over speexdsp.
//
// # Use
//
// Make a [Canceller] with [New], hand it the far end with [Canceller.Playback]
// as the speaker plays it (after the jitter buffer and any mixing), and
// pass each captured period through [Canceller.Capture], which changes it
// in place. Audio is mono int16 at Config.Rate (48 kHz by default) in
// 10 ms frames: Playback takes any length, Capture a whole number of
// frames.
//
// # The delay
//
// The echo of a sample reaches the microphone some time after Playback
// was handed it: the output's latency, the room, the input's latency.
// Config.Delay and [Canceller.SetDelay] hand in what the caller knows of it
// (the device latencies; better too short than too long); the far end is
// held back by that less 20 ms, and the AEC's 128 ms filter copes with an
// echo from about 10 ms before to about 115 ms after the far end as held
// back, a delay that moves within that included. Once a second the
// module's delay estimator is read (it aggregates 5 s at a time, and sees
// an echo from 60 ms ahead of the far end to about 250 ms behind);
// [Canceller.Delay] returns it. When it puts the echo beyond the window in
// two periods running while the filter removes little echo, the far end is
// held back to match: a delay never handed in, or one that grows, is
// found within 10 to 20 s. A delay handed in far too long (the echo more
// than 60 ms ahead of the far end) may not be found.
//
// # No echo
//
// With headphones there is no echo, and the module can only do harm: its
// 48 kHz band split and merge alone cost speech about 1 dB of LSD, its
// suppressor guesses at echo where the two talkers happen to cohere, and
// its output is 8 ms late (the AEC's 4 ms overlap, its 80-sample frames
// cut into 64-sample blocks, the filter bank). So with the AEC alone
// (no NS or AGC, which need the module's output) the microphone goes out
// untouched while there is no echo, the module running beside it all the
// same: a run of frames it takes to hold echo, the far end louder than
// the microphone, puts its output in use on trial (so an echo is
// cancelled within a second of the far end talking), and its next echo
// figures confirm that (the linear filter
// removing echo, or the echo well below the far end and removed) or end
// the trial, after which only such figures put it in use. Once the far
// end has talked 5 s with no echo found, the microphone goes out
// untouched again. [Canceller.EchoFound] says which.
//
// Playback and Capture count samples to line the two up: the far end for a
// captured frame is the frame played the hold before it, however the two
// goroutines are scheduled, as long as both run at the same rate on
// average (a duplex device's two sides share a clock). When one side runs
// ahead of the other by more than 150 ms (a stall, a stopped playback) the
// two are lined up again as at the start.
//
// # Threading
//
// Playback and Capture may run on two goroutines at once (one each);
// SetDelay, Delay and Close on any. Playback only copies into the far-end
// ring under that ring's lock, so it never waits for the C++ module.
// Capture holds the Canceller's lock while the module runs (about 0.06 ms
// a frame for all three on a 2-core AMD EPYC) and the ring's lock while it
// copies a frame out; SetDelay and Close take the Canceller's lock, so
// they wait for a Capture under way; Delay reads an atomic. Nothing
// allocates per call, and no goroutine is started.
//
// # Building
//
// The package needs libwebrtc-audio-processing-dev 0.3 (scripts/setup
// installs it on Debian and Ubuntu) and a C++ compiler. Newer
// distributions and Homebrew ship the 1.x series, whose API differs and is
// not bound yet; there, build with -tags noaec for a parley without it:
// New then returns [ErrUnavailable].
package aec
