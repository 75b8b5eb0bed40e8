package audio

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gen2brain/malgo"
)

// Kind is the kind of thing a Spec names.
type Kind int

const (
	// KindDevice is a sound device: the default one, or one named by
	// Spec.Device.
	KindDevice Kind = iota
	// KindFile is a WAV file at Spec.Path: played once as an input,
	// recorded to as an output.
	KindFile
	// KindTone is a 440 Hz sine at a moderate level (-12 dBFS peak); an
	// input only.
	KindTone
	// KindNone is nothing: silence as an input, audio thrown away as an
	// output.
	KindNone
)

// Spec says what to use as the input or the output, as --audio-in and
// --audio-out give it. The zero Spec is the default device.
type Spec struct {
	// Kind is what the Spec names.
	Kind Kind
	// Device picks a device for KindDevice: "" for the default, a number
	// for the device at that index in Devices' list, or else a name,
	// matched case-insensitively, exactly or as a unique substring.
	Device string
	// Path is the WAV file for KindFile.
	Path string
}

// String describes the Spec for messages.
func (s Spec) String() string {
	switch s.Kind {
	case KindFile:
		return s.Path
	case KindTone:
		return "tone"
	case KindNone:
		return "none"
	}
	if s.Device == "" {
		return "default device"
	}
	return fmt.Sprintf("device %q", s.Device)
}

// ParseInput parses an --audio-in value: "" or "default" (the default
// microphone), NAME or INDEX (a device; see Devices), FILE.wav, "tone" or
// "none".
func ParseInput(s string) (Spec, error) {
	return parseSpec(s, true)
}

// ParseOutput parses an --audio-out value: "" or "default" (the default
// speaker), NAME or INDEX (a device), FILE.wav (a recording) or "none".
func ParseOutput(s string) (Spec, error) {
	return parseSpec(s, false)
}

func parseSpec(s string, input bool) (Spec, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "default":
		return Spec{Kind: KindDevice}, nil
	case "none":
		return Spec{Kind: KindNone}, nil
	case "tone":
		if !input {
			return Spec{}, errors.New("tone is an input only; --audio-out takes a device, a .wav file or none")
		}
		return Spec{Kind: KindTone}, nil
	}
	switch ext := strings.ToLower(filepath.Ext(s)); ext {
	case ".wav":
		return Spec{Kind: KindFile, Path: s}, nil
	case ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".aac", ".aif", ".aiff", ".wma", ".webm":
		if input {
			return Spec{}, fmt.Errorf("%s: parley plays only 16-bit PCM WAV at %d Hz; convert it first, e.g. sox %s -r %d -b 16 out.wav", s, SampleRate, s, SampleRate)
		}
		return Spec{}, fmt.Errorf("%s: parley records only WAV; name the file .wav", s)
	}
	return Spec{Kind: KindDevice, Device: s}, nil
}

// Options are the settings Open shares between the input and the output.
type Options struct {
	// Period is how much audio moves at a time; 0 means DefaultPeriod.
	Period time.Duration
	// OutputPeriod is, where it is not 0, the period of a speaker opened
	// as a device of its own (as on PulseAudio, see separateSides): how
	// much its worker pulls at a time and, through PulseAudio, how much
	// the server buffers for it. Shorter reaches the ear sooner and wakes
	// the process more often. See OutputPeriodFor.
	OutputPeriod time.Duration
	// Frame is, where it is not 0, how much input its consumer takes at
	// a time (the encoder's frame): a microphone then wakes the process
	// once a frame, delivering it a period at a time, rather than once a
	// period. See device.setCaptureWake.
	Frame time.Duration
	// Backend is the sound system for devices.
	Backend Backend
	// Clock paces files, tones and "none"; nil means WallClock(). Devices
	// are paced by their own clock.
	Clock Clock
	// Logf receives diagnostics; nil discards them.
	Logf Logf

	// backends, when set, overrides Backend (tests).
	backends []malgo.Backend
}

// IO is an open input and output.
type IO struct {
	// In is where the audio we send comes from.
	In Source
	// Out is where the audio we receive goes.
	Out Sink
}

// Close closes In and Out, and returns their errors.
func (p *IO) Close() error {
	var errs []error
	if p.In != nil {
		errs = append(errs, p.In.Close())
	}
	if p.Out != nil {
		errs = append(errs, p.Out.Close())
	}
	return errors.Join(errs...)
}

// Open opens an input and an output; neither produces or consumes
// anything until its Start. When both are devices they are one duplex
// device, so that they share a clock, except on PulseAudio, where they are
// two (see separateSides).
//
// Errors: a WAV file in a format parley cannot play gives a *FormatError
// (ErrWAVFormat). A device the user named that does not exist gives
// ErrDeviceNotFound, and one that fails to open ErrDeviceOpen; so does a
// default device that PULSE_SOURCE or PULSE_SINK names. A default
// device that fails to open becomes "none", logged, and its Name says so;
// if that leaves neither a real input nor a real output, Open returns
// ErrNoDevice and the call can go on as text only.
//
// Opening devices may print to file descriptor 2; see RedirectStderr.
func Open(in, out Spec, o Options) (*IO, error) {
	n, err := periodSamples(o.Period)
	if err != nil {
		return nil, err
	}
	outN := n
	if o.OutputPeriod != 0 {
		if outN, err = periodSamples(o.OutputPeriod); err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	frameN, _ := samplesIn(o.Frame) // 0, or less than a period: every period
	if o.Clock == nil {
		o.Clock = WallClock()
	}
	if o.Logf == nil {
		o.Logf = discardf
	}
	backends := o.backends
	if backends == nil {
		backends = o.Backend.malgo()
	}
	po := pacedOpts{clock: o.Clock, period: o.Period, n: n, logf: o.Logf}
	pair := &IO{}
	fail := func(err error) (*IO, error) {
		pair.Close()
		return nil, err
	}

	switch in.Kind {
	case KindFile:
		src, err := openFileSource(po, in.Path)
		if err != nil {
			return fail(err)
		}
		pair.In = src
	case KindTone:
		pair.In = newToneSource(po)
	case KindNone:
		pair.In = newSilenceSource(po, "none")
	case KindDevice:
	default:
		return fail(fmt.Errorf("audio input: unknown kind %d", in.Kind))
	}
	switch out.Kind {
	case KindFile:
		// Created last, below, so that a mistake elsewhere does not
		// truncate an existing file.
		if in.Kind == KindFile && filepath.Clean(out.Path) == filepath.Clean(in.Path) {
			return fail(fmt.Errorf("%s cannot be both the input and the output", out.Path))
		}
	case KindNone:
		pair.Out = newDiscardSink(po, "none")
	case KindDevice:
	default:
		return fail(fmt.Errorf("audio output: unknown kind %d", out.Kind))
	}

	var missing []error               // default devices that failed to open
	var inCtx *malgo.AllocatedContext // a context for the input alone, started already
	var inBackend malgo.Backend
	if in.Kind == KindDevice && out.Kind == KindDevice {
		ctx, backend, err := openContext(backends, o.Logf)
		switch {
		case errors.Is(err, ErrNotAnswering):
			return fail(fmt.Errorf("start sound system: %w", err))
		case err != nil:
			// No sound system: the input and the output apart say so.
		case separateSides(backend):
			inCtx, inBackend = ctx, backend
		default:
			d, err := openDeviceOn(ctx, backend, &in.Device, &out.Device, n, o.Logf)
			switch {
			case err == nil:
				d.setCaptureWake(frameN)
				pair.In, pair.Out = d.source(), d.sink()
			case errors.Is(err, ErrDeviceNotFound), errors.Is(err, ErrNotAnswering):
				return fail(err)
			default:
				o.Logf("audio: duplex: %v; trying the input and the output apart", err)
			}
		}
	}
	if in.Kind == KindDevice && pair.In == nil {
		var d *device
		var err error
		if inCtx != nil {
			d, err = openDeviceOn(inCtx, inBackend, &in.Device, nil, n, o.Logf)
		} else {
			d, err = openDevice(backends, &in.Device, nil, n, o.Logf)
		}
		switch {
		case err == nil:
			d.setCaptureWake(frameN)
			pair.In = d.source()
		case errors.Is(err, ErrNotAnswering):
			return fail(err)
		case in.Device != "" || errors.Is(err, ErrDeviceNotFound): // named, or PULSE_SOURCE
			return fail(namedFailed("microphone", in.Device, err))
		default:
			o.Logf("audio: no microphone: %v", err)
			missing = append(missing, err)
			pair.In = newSilenceSource(po, "none (no microphone found)")
		}
	}
	if out.Kind == KindDevice && pair.Out == nil {
		d, err := openDevice(backends, nil, &out.Device, outN, o.Logf)
		switch {
		case err == nil:
			pair.Out = d.sink()
		case errors.Is(err, ErrNotAnswering):
			return fail(err)
		case out.Device != "" || errors.Is(err, ErrDeviceNotFound): // named, or PULSE_SINK
			return fail(namedFailed("speaker", out.Device, err))
		default:
			o.Logf("audio: no speaker: %v", err)
			missing = append(missing, err)
			pair.Out = newDiscardSink(po, "none (no speaker found)")
		}
	}
	if out.Kind == KindFile {
		snk, err := createFileSink(po, out.Path)
		if err != nil {
			return fail(err)
		}
		pair.Out = snk
	}
	_, inNone := pair.In.(*silenceSource)
	_, outNone := pair.Out.(*discardSink)
	if len(missing) > 0 && inNone && outNone {
		msgs := make([]string, len(missing))
		for i, err := range missing {
			msgs[i] = err.Error()
		}
		return fail(&wrapped{"no microphone or speaker could be opened: " + strings.Join(msgs, "; "), ErrNoDevice})
	}
	return pair, nil
}

// namedFailed is the error for a device the user named that could not be
// found or opened.
func namedFailed(what, name string, err error) error {
	if errors.Is(err, ErrDeviceNotFound) {
		return err
	}
	return &wrapped{fmt.Sprintf("%s %q failed to open: %v; see `parley devices`", what, name, err), ErrDeviceOpen}
}

// OutputPeriodFor is Options.OutputPeriod for a call in frames of the
// given length: 5 ms for frames of 10 ms or less, which are chosen for
// their latency, else 0 (the speaker keeps Period). Through PulseAudio a
// 5 ms period halves the server's buffer, shortens parley's playback ring
// (7.5 ms of lead, not 10; see playbackLead) and starts the jitter
// buffer's playout on a finer step: measured on the benchmark's real
// devices, side by side on a loaded machine, mouth to ear at 10 ms frames
// is 31-34 ms against 40-46 ms, for the server asking for audio every
// 1.25 ms instead of every 2.5 ms: about 1.5% more of a core per peer in
// those calls. 20 ms frames keep the 10 ms period, and the CPU the
// device-call row measures.
func OutputPeriodFor(frame time.Duration) time.Duration {
	if frame > 0 && frame <= 10*time.Millisecond {
		return 5 * time.Millisecond
	}
	return 0
}
