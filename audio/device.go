package audio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// Backend selects the sound system that devices are opened through.
type Backend int

const (
	// BackendAuto tries the platform's sound systems in miniaudio's order
	// (on Linux PulseAudio, ALSA, then JACK), but never the null backend:
	// a machine without sound has no device rather than a silent one.
	BackendAuto Backend = iota
	// BackendNull is miniaudio's null backend: one capture and one
	// playback device, named "NULL Capture Device" and "NULL Playback
	// Device", that hear silence and play to nowhere, at real-time pace
	// by a timer. It works on any machine, with no sound card.
	BackendNull
)

// nullBackend is miniaudio's null backend, ma_backend_null. malgo v0.11.24
// gets its own malgo.BackendNull wrong: that constant is 13, which in the
// miniaudio it bundles is ma_backend_custom, and opening it fails with "No
// backend". The null backend is 14. This is the one place that number is
// written; TestNullBackend checks it.
const nullBackend = malgo.Backend(14)

// realBackends returns the sound systems BackendAuto tries, in
// miniaudio's order; miniaudio skips those not built for this platform.
func realBackends() []malgo.Backend {
	return []malgo.Backend{
		malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm,
		malgo.BackendCoreaudio, malgo.BackendSndio, malgo.BackendAudio4,
		malgo.BackendOss, malgo.BackendPulseaudio, malgo.BackendAlsa,
		malgo.BackendJack, malgo.BackendAaudio, malgo.BackendOpensl,
		malgo.BackendWebaudio,
	}
}

// ParseBackend parses a backend name: "auto" (or "") or "null".
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return BackendAuto, nil
	case "null":
		return BackendNull, nil
	}
	return 0, fmt.Errorf("unknown audio backend %q (want auto or null)", s)
}

// String returns the name ParseBackend takes.
func (b Backend) String() string {
	if b == BackendNull {
		return "null"
	}
	return "auto"
}

func (b Backend) malgo() []malgo.Backend {
	if b == BackendNull {
		return []malgo.Backend{nullBackend}
	}
	return realBackends()
}

// DeviceInfo describes one sound device.
type DeviceInfo struct {
	// Index is the device's position in its list, what --audio-in or
	// --audio-out take as INDEX.
	Index int
	// Name is the device's name as the sound system gives it: with
	// PulseAudio its description ("Monitor of Built-in Audio").
	Name string
	// ID is the sound server's own name for the device where it has one
	// apart from Name: PulseAudio's ("alsa_input.pci-0000_00_1f.3.analog-stereo",
	// "mouth.monitor"), as pactl lists it and PULSE_SOURCE and PULSE_SINK
	// take it. Empty for the other sound systems.
	ID string
	// Default says whether the sound system calls it the default device.
	Default bool
}

// DeviceList lists the capture and playback devices of a backend.
type DeviceList struct {
	// Capture lists microphones and other inputs.
	Capture []DeviceInfo
	// Playback lists speakers, headphones and other outputs.
	Playback []DeviceInfo
}

// Devices lists the capture and playback devices, for `parley devices`:
// real microphones and speakers only, not the ALSA plugins that miniaudio
// lists beside them (see realDevices). Each keeps its Index in the sound
// system's full list, which --audio-in and --audio-out take. With no
// sound system at all it returns an error matching ErrNoDevice; with one
// that has no devices, empty lists. Probing may print to file descriptor
// 2; see RedirectStderr.
func Devices(b Backend) (DeviceList, error) {
	ctx, backend, err := openContext(b.malgo(), discardf)
	if errors.Is(err, ErrNotAnswering) {
		return DeviceList{}, err
	}
	if err != nil {
		return DeviceList{}, &wrapped{fmt.Sprintf("no sound system: %v", err), ErrNoDevice}
	}
	defer freeContext(ctx)
	var l DeviceList
	for _, kind := range []malgo.DeviceType{malgo.Capture, malgo.Playback} {
		infos, err := ctx.Devices(kind)
		if err != nil {
			return l, fmt.Errorf("list %s devices: %w", kindWord(kind), err)
		}
		ids := make([]string, len(infos))
		for i := range infos {
			ids[i] = idString(infos[i].ID)
		}
		for _, i := range realDevices(backend, ids) {
			d := DeviceInfo{Index: i, Name: infos[i].Name(), ID: serverName(backend, infos[i]), Default: infos[i].IsDefault != 0}
			if kind == malgo.Capture {
				l.Capture = append(l.Capture, d)
			} else {
				l.Playback = append(l.Playback, d)
			}
		}
	}
	return l, nil
}

// openContext starts the first of backends that answers, trying them one
// at a time as miniaudio would given them all, to know which one it was.
func openContext(backends []malgo.Backend, logf Logf) (*malgo.AllocatedContext, malgo.Backend, error) {
	err := errors.New("none to try")
	for _, backend := range backends {
		var ctx *malgo.AllocatedContext
		if ctx, err = initContext([]malgo.Backend{backend}, logf); err == nil {
			return ctx, backend, nil
		}
		if errors.Is(err, ErrNotAnswering) {
			break // a server that hangs is not one to fall back from in silence
		}
	}
	return nil, 0, err
}

// serverName is DeviceInfo.ID: the device's ID where it is a name the
// sound server gives the device beside its description (PulseAudio's).
func serverName(backend malgo.Backend, info malgo.DeviceInfo) string {
	if backend != malgo.BackendPulseaudio {
		return ""
	}
	if id := idString(info.ID); id != info.Name() {
		return id
	}
	return ""
}

// label names a device for the log and the user: its name, and its
// server name after it where it has one.
func label(name, id string) string {
	if id == "" {
		return name
	}
	return name + " (" + id + ")"
}

// idString is a device ID as the sound systems that name their devices
// with a string (ALSA, PulseAudio, JACK, …) give it.
func idString(id malgo.DeviceID) string {
	b := id[:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// realDevices returns the indexes of the devices, given by their IDs as
// backend lists them, that are microphones and speakers. ALSA lists, with
// the cards, every PCM plugin its configuration names: "null" ("Discard
// all samples"), the rate converters, "jack", "oss", "pulse" (useless
// when miniaudio fell back to ALSA because PulseAudio did not answer),
// "speex", "upmix", "vdownmix", and so on. Of ALSA's devices it keeps the
// cards' (miniaudio's ":CARD,DEV", "hw:…", "plughw:…", or a name with
// CARD=), and "default" and "sysdefault" when there is a card for them to
// mean. Other sound systems list their devices only.
func realDevices(backend malgo.Backend, ids []string) []int {
	var keep []int
	if backend != malgo.BackendAlsa {
		for i := range ids {
			keep = append(keep, i)
		}
		return keep
	}
	var defaults []int
	for i, id := range ids {
		switch {
		case strings.HasPrefix(id, ":"), strings.HasPrefix(id, "hw:"), strings.HasPrefix(id, "plughw:"),
			strings.Contains(id, "CARD="):
			keep = append(keep, i)
		case id == "default" || id == "sysdefault":
			defaults = append(defaults, i)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	keep = append(keep, defaults...)
	slices.Sort(keep)
	return keep
}

// contextWait bounds how long a sound system may take to answer: libpulse
// waits 30 s for a server that accepts the connection and never replies,
// and miniaudio has no connect timeout of its own.
const contextWait = 1500 * time.Millisecond

// initContext starts the sound system, within contextWait. A context that
// takes longer is left to finish in the background (a C call cannot be
// interrupted) and freed then; the error matches ErrNotAnswering.
func initContext(backends []malgo.Backend, logf Logf) (*malgo.AllocatedContext, error) {
	type result struct {
		ctx *malgo.AllocatedContext
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, func(msg string) {
			if deviceNameLine(msg) {
				return
			}
			if msg = strings.TrimSpace(msg); !miniaudioChatter(msg) {
				logf("miniaudio: %s", msg)
			}
		})
		done <- result{ctx, err}
	}()
	t := time.NewTimer(contextWait)
	defer t.Stop()
	select {
	case r := <-done:
		return r.ctx, r.err
	case <-t.C:
		go func() {
			if r := <-done; r.err == nil {
				freeContext(r.ctx)
			}
		}()
		return nil, notAnswering()
	}
}

// notAnswering is ErrNotAnswering, naming the server where PULSE_SERVER
// does.
func notAnswering() error {
	if s := os.Getenv("PULSE_SERVER"); s != "" {
		return &wrapped{fmt.Sprintf("the sound server at %s does not answer", s), ErrNotAnswering}
	}
	return ErrNotAnswering
}

// miniaudioChatter reports whether a miniaudio log line is debugging
// detail not worth the log file: malgo gives no log level to filter on.
func miniaudioChatter(msg string) bool {
	for _, p := range []string{"Loading symbol", "Loading library", "System Architecture", "Endian:", "SSE2:", "AVX2:", "NEON:"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return msg == "" || strings.HasSuffix(msg, "backend is disabled.")
}

// deviceNameLine reports whether a miniaudio log line is the one that
// names a device it opened, "  NAME (Capture)": for a default device it is
// the sound system's default, even where PULSE_SOURCE or PULSE_SINK chose
// another. parley logs the devices it opened itself.
func deviceNameLine(msg string) bool {
	msg = strings.TrimRight(msg, "\n")
	return strings.HasPrefix(msg, "  ") && !strings.HasPrefix(msg, "   ") &&
		(strings.HasSuffix(msg, " (Capture)") || strings.HasSuffix(msg, " (Playback)"))
}

func freeContext(ctx *malgo.AllocatedContext) {
	_ = ctx.Uninit()
	ctx.Free()
}

func kindWord(kind malgo.DeviceType) string {
	if kind == malgo.Capture {
		return "capture"
	}
	return "playback"
}

// wrapped is an error with a message of its own that still matches a
// sentinel with errors.Is.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// findDevice picks the device a user named: by index if want is a number,
// else by name or server name (ids, "" where a device has none),
// case-insensitively, an exact match first and then a unique substring of
// either.
func findDevice(infos []malgo.DeviceInfo, ids []string, kind malgo.DeviceType, want string) (int, error) {
	if i, err := strconv.Atoi(want); err == nil && i >= 0 && strings.TrimLeft(want, "0123456789") == "" {
		if i >= len(infos) {
			return 0, &wrapped{fmt.Sprintf("there is no %s device %d (there are %d); see `parley devices`", kindWord(kind), i, len(infos)), ErrDeviceNotFound}
		}
		return i, nil
	}
	lw := strings.ToLower(want)
	id := func(i int) string {
		if i < len(ids) {
			return strings.ToLower(ids[i])
		}
		return ""
	}
	for i := range infos {
		if id(i) == lw {
			return i, nil
		}
	}
	var matches []int
	for i := range infos {
		name := strings.ToLower(infos[i].Name())
		if name == lw {
			return i, nil
		}
		if strings.Contains(name, lw) || strings.Contains(id(i), lw) {
			matches = append(matches, i)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return 0, &wrapped{fmt.Sprintf("no %s device matches %q; see `parley devices`", kindWord(kind), want), ErrDeviceNotFound}
	}
	names := make([]string, len(matches))
	for j, i := range matches {
		names[j] = strconv.Quote(label(infos[i].Name(), id(i)))
	}
	return 0, &wrapped{fmt.Sprintf("%q matches %d %s devices (%s); give more of the name or its number from `parley devices`",
		want, len(matches), kindWord(kind), strings.Join(names, ", ")), ErrDeviceNotFound}
}

// playbackLead is how much audio, at least, waits in the playback ring
// once the worker has topped it up, in samples for a period of period
// samples: the latency the ring adds (between it and one period more),
// and the slack the worker goroutine has, after a callback, before the
// device would play a gap. On PulseAudio, whose stream asks for a quarter
// of a period at a time, one period is slack enough at 10 ms (the
// benchmark's real-device rows count the samples played short), and
// never less than 7.5 ms: at a 5 ms period one period left the worker
// under 5 ms, and a loaded machine played gaps. Elsewhere it stays at two
// periods, what parley had, unmeasured.
func playbackLead(backend malgo.Backend, period int) int {
	if backend == malgo.BackendPulseaudio {
		return max(period, minPulseLead)
	}
	return 2 * period
}

// minPulseLead is playbackLead's least on PulseAudio: 7.5 ms.
const minPulseLead = SampleRate * 15 / 2000

// separateSides reports whether a microphone and a speaker open as two
// devices, one capture and one playback, rather than one duplex device.
// On PulseAudio, miniaudio's duplex mode puts a ring of two capture
// periods between the sides (ma_duplex_rb_init) and hands the capture over
// in bursts: measured through a real server, two devices are 30 ms
// quicker mouth to ear, and the peer's jitter buffer holds less. Each
// side then keeps its own clock: Position says where each is, for what
// must line them up (an echo canceller's reference).
func separateSides(b malgo.Backend) bool { return b == malgo.BackendPulseaudio }

// device is one open miniaudio device: capture, playback or duplex. The
// device's callback (miniaudio's thread) only copies between its buffers
// and two rings and wakes the worker; the worker goroutine calls deliver
// and pull, one period at a time.
type device struct {
	logf    Logf
	period  int
	ctx     *malgo.AllocatedContext
	backend malgo.Backend // the sound system ctx is
	dev     *malgo.Device
	pin     runtime.Pinner

	captureName, playbackName string
	capRing, playRing         *ring // nil for a side the device lacks
	// native holds the rings, in C memory, and the C callback that
	// serves them in place of onData where it could be installed.
	native *native
	// lead is playbackLead in samples: the worker tops the playback ring
	// up to it, and a callback that leaves less wakes the worker.
	lead int
	// capWake is how many captured samples wake the worker, a whole
	// number of periods: it then delivers them, and never part of them
	// (see setCaptureWake).
	capWake atomic.Int64

	wake      chan struct{}
	playing   atomic.Bool // playback has begun: a short ring is an underrun
	overruns  atomic.Uint64
	underruns atomic.Uint64
	stopErr   atomic.Pointer[error]
	closing   atomic.Bool
	started   atomic.Bool // the device has been started

	cbMu       sync.Mutex // held by the worker while it calls deliver or pull
	deliver    func([]int16)
	pull       func([]int16)
	capClosed  bool // the Source was closed: deliver stays nil
	playClosed bool // the Sink was closed: pull stays nil

	mu      sync.Mutex
	running bool
	refs    int
	stop    chan struct{}
	done    chan struct{}
	watched chan struct{} // closed once watch has ended
	beats   atomic.Uint64 // Go callbacks so far
}

// openDevice opens one device with the capture and playback sides asked
// for (at least one). For each side, nil means not wanted, "" the default
// device, anything else a name or an index.
func openDevice(backends []malgo.Backend, capture, playback *string, period int, logf Logf) (*device, error) {
	ctx, backend, err := openContext(backends, logf)
	if err != nil {
		return nil, fmt.Errorf("start sound system: %w", err)
	}
	return openDeviceOn(ctx, backend, capture, playback, period, logf)
}

// openDeviceOn is openDevice on a context already started, which the
// device then owns, whether it opens or not.
func openDeviceOn(ctx *malgo.AllocatedContext, backend malgo.Backend, capture, playback *string, period int, logf Logf) (*device, error) {
	var err error
	d := &device{
		logf:    logf,
		period:  period,
		lead:    playbackLead(backend, period),
		ctx:     ctx,
		backend: backend,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		watched: make(chan struct{}),
	}
	var kind malgo.DeviceType
	switch {
	case capture != nil && playback != nil:
		kind = malgo.Duplex
	case capture != nil:
		kind = malgo.Capture
	default:
		kind = malgo.Playback
	}
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = SampleRate
	// The period sets PulseAudio's buffers: the capture's fragment, and
	// the playback's whole latency (tlength), of which the server keeps
	// three quarters in the stream's buffer and asks for a quarter at a
	// time. miniaudio's Periods only sets their largest size (maxlength).
	// With no fixed-size callback, what the server hands over or asks
	// for goes straight between its buffers and the rings, where
	// miniaudio's own intermediary buffer would hold up to a period more.
	cfg.PeriodSizeInFrames = uint32(period)
	cfg.NoFixedSizedCallback = 1
	cfg.Capture.Format, cfg.Capture.Channels = malgo.FormatS16, 1
	cfg.Playback.Format, cfg.Playback.Channels = malgo.FormatS16, 1
	ringSize := max(16*period, 8192)
	capSize, playSize := 0, 0
	if capture != nil {
		id, name, err := d.resolve(malgo.Capture, *capture)
		if err != nil {
			d.free()
			return nil, err
		}
		cfg.Capture.DeviceID, d.captureName = id, name
		capSize = ringSize
	}
	if playback != nil {
		id, name, err := d.resolve(malgo.Playback, *playback)
		if err != nil {
			d.free()
			return nil, err
		}
		cfg.Playback.DeviceID, d.playbackName = id, name
		playSize = ringSize
	}
	if d.native, err = newNative(capSize, playSize, period, d.lead); err != nil {
		d.free()
		return nil, fmt.Errorf("open %s: %w", d.describe(), err)
	}
	d.capRing, d.playRing = d.native.capRing, d.native.playRing
	d.dev, err = malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: d.onData, Stop: d.onStop})
	if err != nil {
		d.free()
		return nil, fmt.Errorf("open %s: %w", d.describe(), err)
	}
	if !d.native.install(d.dev) {
		logf("audio: %s: the device's callback stays in Go", d.describe())
	}
	go d.run()
	go d.watch()
	return d, nil
}

// resolve finds the ID and the name of the device for one side. The
// default device is opened with a nil ID, so the sound system's own
// routing picks it, and is not pinned to it. Its name is the one the
// sound system will use: with PulseAudio the one PULSE_SOURCE or
// PULSE_SINK names, as libpulse connects a stream given no device there,
// else the one flagged as default, if any.
func (d *device) resolve(kind malgo.DeviceType, want string) (unsafe.Pointer, string, error) {
	infos, err := d.ctx.Devices(kind)
	ids := make([]string, len(infos))
	for i := range infos {
		ids[i] = serverName(d.backend, infos[i])
	}
	if want == "" {
		if v, env, set := pulseDefault(d.backend, kind); set && env == "" {
			// libpulse takes it as a device named "", which fails.
			return nil, "", &wrapped{fmt.Sprintf("%s is set, to nothing: unset it or name a %s device; see `parley devices`", v, kindWord(kind)), ErrDeviceNotFound}
		} else if set {
			if err != nil {
				return nil, "", fmt.Errorf("list %s devices: %w", kindWord(kind), err)
			}
			for i := range infos {
				if idString(infos[i].ID) == env {
					d.logf("audio: the %s device is %s's, %s", kindWord(kind), v, env)
					return nil, label(infos[i].Name(), ids[i]), nil
				}
			}
			return nil, "", &wrapped{fmt.Sprintf("%s=%s, and the sound server has no such %s device; see `parley devices`", v, env, kindWord(kind)), ErrDeviceNotFound}
		}
		name := "default " + kindWord(kind) + " device"
		for i := range infos {
			if infos[i].IsDefault != 0 {
				name = label(infos[i].Name(), ids[i])
				break
			}
		}
		return nil, name, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("list %s devices: %w", kindWord(kind), err)
	}
	i, err := findDevice(infos, ids, kind, want)
	if err != nil {
		return nil, "", err
	}
	// miniaudio keeps the pointer for the life of the device: pin it.
	id := new(malgo.DeviceID)
	*id = infos[i].ID
	d.pin.Pin(id)
	return unsafe.Pointer(id), label(infos[i].Name(), ids[i]), nil
}

// pulseDefault returns, for PulseAudio, the variable that names the
// default device of a kind, its value, and whether it is set.
func pulseDefault(backend malgo.Backend, kind malgo.DeviceType) (name, value string, set bool) {
	if backend != malgo.BackendPulseaudio {
		return "", "", false
	}
	name = "PULSE_SINK"
	if kind == malgo.Capture {
		name = "PULSE_SOURCE"
	}
	value, set = os.LookupEnv(name)
	return name, value, set
}

func (d *device) describe() string {
	switch {
	case d.capRing != nil && d.playRing != nil:
		return fmt.Sprintf("%q and %q", d.captureName, d.playbackName)
	case d.capRing != nil:
		return strconv.Quote(d.captureName)
	}
	return strconv.Quote(d.playbackName)
}

// free releases what openDevice took, for a device whose worker is not
// running.
func (d *device) free() {
	if d.dev != nil {
		d.dev.Uninit()
	}
	freeContext(d.ctx)
	d.pin.Unpin()
	if d.native != nil {
		d.native.free()
	}
}

// samplesOf views a device buffer of native-endian s16 samples as []int16,
// without copying.
func samplesOf(b []byte) []int16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

// onData is the device callback, on miniaudio's thread. It copies and
// returns: it never blocks, never allocates, and drops captured audio or
// plays silence rather than wait.
func (d *device) onData(out, in []byte, _ uint32) {
	d.beats.Add(1)
	wake := false
	if d.capRing != nil {
		if s := samplesOf(in); len(s) > 0 {
			if n := d.capRing.write(s); n < len(s) {
				d.overruns.Add(uint64(len(s) - n))
			}
			wake = d.capRing.len() >= d.captureWake()
		}
	}
	if d.playRing != nil {
		if s := samplesOf(out); len(s) > 0 {
			n := d.playRing.read(s)
			if n < len(s) {
				clear(s[n:])
				if d.playing.Load() {
					d.underruns.Add(uint64(len(s) - n))
				}
			}
			wake = wake || d.playRing.len() < d.lead
		}
	}
	if !wake {
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// setCaptureWake makes the microphone wake the worker once every frame
// samples, rounded down to whole periods, rather than every period, for
// a consumer that uses whole frames: the encoder gets each frame as soon
// as it is complete either way, and the process wakes half as often at
// 20 ms frames. The worker then delivers whole frames only, so that the
// encoder's frames stay lined up with the wakes.
func (d *device) setCaptureWake(frame int) {
	n := max(frame/d.period, 1) * d.period
	d.capWake.Store(int64(n))
	if d.native != nil {
		d.native.setCaptureWake(n)
	}
}

// captureWake is capWake, or one period where it was never set.
func (d *device) captureWake() int { return max(int(d.capWake.Load()), d.period) }

// onStop is called by miniaudio when the device stops, which, before
// Close, means it stopped by itself (unplugged, the sound server gone).
func (d *device) onStop() {
	if d.closing.Load() {
		return
	}
	err := fmt.Errorf("sound device %s stopped", d.describe())
	d.stopErr.CompareAndSwap(nil, &err)
	d.poke()
}

// poke wakes the worker, whichever way it waits.
func (d *device) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
	if d.native != nil && d.native.installed {
		d.native.poke()
	}
}

// waitWake waits for a callback, or a poke, to wake the worker; false
// once the device is stopping.
func (d *device) waitWake() bool {
	if d.native != nil && d.native.installed {
		d.native.wait()
		select {
		case <-d.stop:
			return false
		default:
			return true
		}
	}
	select {
	case <-d.stop:
		return false
	case <-d.wake:
		return true
	}
}

// counts returns the samples of capture dropped and of playback played
// short so far.
func (d *device) counts() (overruns, underruns uint64) {
	overruns, underruns = d.overruns.Load(), d.underruns.Load()
	if d.native != nil {
		o, u := d.native.counts()
		overruns, underruns = overruns+o, underruns+u
	}
	return overruns, underruns
}

func (d *device) err() error {
	if e := d.stopErr.Load(); e != nil {
		return *e
	}
	return nil
}

// watch notices a started device that has stopped moving audio: a sound
// server that dies takes its streams with it without a word (miniaudio's
// PulseAudio backend watches no context state), and the callbacks just
// stop. After stallWait without a callback (the Go one, or the samples the
// C one moved) the device has stopped: Err says so. It ends with the
// device.
func (d *device) watch() {
	defer close(d.watched)
	t := time.NewTicker(stallWait / 4)
	defer t.Stop()
	last, since := d.beat(), time.Now()
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			if b := d.beat(); b != last || !d.started.Load() {
				last, since = b, now
				continue
			}
			if now.Sub(since) >= stallWait && !d.closing.Load() {
				err := fmt.Errorf("sound device %s stopped answering (the sound server may be gone)", d.describe())
				if d.stopErr.CompareAndSwap(nil, &err) {
					d.poke()
				}
			}
		}
	}
}

// beat counts the device's work so far: its Go callbacks, or the samples
// its C callback moved.
func (d *device) beat() uint64 {
	c, _ := d.position(true)
	p, _ := d.position(false)
	return d.beats.Load() + c + p
}

// stallWait is how long a started device's callback may keep away before
// the device counts as stopped: many periods, and well within the 2 s in
// which a lost sound server is to be said.
const stallWait = time.Second

// uninitWait bounds closing a device: ma_device_uninit waits for its
// worker, which a dead PulseAudio server leaves blocked for good
// (miniaudio issue 881). A device that does not close in time is left
// behind, with its context, rather than hold up hang-up and exit.
const uninitWait = time.Second

// reportEvery is how many wakes apart the worker logs new overruns and
// underruns: about every 5 s at 10 ms.
const reportEvery = 500

// run is the worker goroutine: after each device callback it hands whole
// periods of captured audio to deliver and tops the playback ring up from
// pull.
func (d *device) run() {
	defer close(d.done)
	capBuf := make([]int16, d.period)
	playBuf := make([]int16, d.period)
	primed, stopLogged := false, false
	var wakes, loggedOver, loggedUnder uint64
	for d.waitWake() {
		d.cbMu.Lock()
		if d.capRing != nil {
			for wake := d.captureWake(); d.capRing.len() >= wake; {
				for n := 0; n < wake; n += d.period {
					d.capRing.read(capBuf)
					if d.deliver != nil {
						d.deliver(capBuf)
					}
				}
			}
		}
		if d.playRing != nil && d.pull != nil {
			if !primed {
				// Start with the lead in silence, but one period, then
				// pull one period per period, as the device plays one.
				primed = true
				clear(playBuf)
				for n := d.lead - d.period; n > 0; n -= d.period {
					d.playRing.write(playBuf[:min(n, d.period)])
				}
				d.playing.Store(true)
				if d.native != nil {
					d.native.setPlaying()
				}
			}
			for d.playRing.len() < d.lead {
				clear(playBuf)
				d.pull(playBuf)
				d.playRing.write(playBuf)
			}
		}
		d.cbMu.Unlock()
		if err := d.err(); err != nil && !stopLogged {
			stopLogged = true
			d.logf("audio: %v", err)
		}
		if wakes++; wakes%reportEvery == 0 {
			over, under := d.counts()
			if over != loggedOver || under != loggedUnder {
				d.logf("audio: %s: %d samples of capture dropped, %d of playback short so far", d.describe(), over, under)
				loggedOver, loggedUnder = over, under
			}
		}
	}
}

// startSide sets deliver (capture) or pull (playback) and starts the
// device if it is not running yet.
func (d *device) startSide(capture bool, f func([]int16)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refs == 0 {
		return ErrClosed
	}
	d.cbMu.Lock()
	slot, closed := &d.pull, d.playClosed
	if capture {
		slot, closed = &d.deliver, d.capClosed
	}
	if closed {
		d.cbMu.Unlock()
		return ErrClosed
	}
	if *slot != nil {
		d.cbMu.Unlock()
		return ErrStarted
	}
	*slot = f
	d.cbMu.Unlock()
	if !d.running {
		if err := d.dev.Start(); err != nil {
			return fmt.Errorf("start %s: %w", d.describe(), err)
		}
		d.running = true
		d.started.Store(true)
	}
	return nil
}

// stopSide unsets deliver or pull, so that it is not called again, and
// closes the device when no side is left.
func (d *device) stopSide(capture bool) {
	d.cbMu.Lock()
	if capture {
		d.deliver, d.capClosed = nil, true
	} else {
		d.pull, d.playClosed = nil, true
	}
	d.cbMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refs--; d.refs > 0 {
		return
	}
	d.closing.Store(true)
	// Stop first: it wakes a worker that a dead server has blocked, which
	// Uninit alone would wait for forever.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		d.dev.Stop()
		d.dev.Uninit() // waits for the callback
	}()
	close(d.stop)
	d.poke()
	<-d.done
	<-d.watched
	over, under := d.counts()
	select {
	case <-closed:
		freeContext(d.ctx)
		d.pin.Unpin()
		if d.native != nil {
			d.native.free()
		}
	case <-time.After(uninitWait):
		// Left behind, with its context and its rings: its callback may
		// still run on them.
		d.logf("audio: %s did not close within %v; left open", d.describe(), uninitWait)
	}
	if over+under > 0 {
		d.logf("audio: %s closed: %d samples of capture dropped, %d of playback short", d.describe(), over, under)
	}
}

// source returns the capture side as a Source. Each view holds one
// reference to the device.
func (d *device) source() Source {
	d.mu.Lock()
	d.refs++
	d.mu.Unlock()
	return &deviceSource{d: d}
}

// sink returns the playback side as a Sink.
func (d *device) sink() Sink {
	d.mu.Lock()
	d.refs++
	d.mu.Unlock()
	return &deviceSink{d: d}
}

// deviceSource is the capture side of a device.
type deviceSource struct {
	d    *device
	once sync.Once
}

// Positioned is what a sound device's Source and Sink are beside: how many
// samples its callback has moved so far, on the device's clock, and when
// the latest callback came, on this process's; zero before the first. A
// microphone and a speaker opened as two devices (see Open) run on two
// clocks: this lines them up.
type Positioned interface {
	Position() (samples uint64, at time.Time)
}

// Position returns where the capture side is (see Positioned).
func (s *deviceSource) Position() (uint64, time.Time) { return s.d.position(true) }

// Position returns where the playback side is (see Positioned).
func (s *deviceSink) Position() (uint64, time.Time) { return s.d.position(false) }

func (d *device) position(capture bool) (uint64, time.Time) {
	if d.native == nil || !d.native.installed {
		return 0, time.Time{}
	}
	return d.native.position(capture)
}

func (s *deviceSource) Name() string                          { return s.d.captureName }
func (s *deviceSource) Start(deliver func(pcm []int16)) error { return s.d.startSide(true, deliver) }
func (s *deviceSource) Finished() <-chan struct{}             { return nil }
func (s *deviceSource) Err() error                            { return s.d.err() }
func (s *deviceSource) Close() error {
	s.once.Do(func() { s.d.stopSide(true) })
	return nil
}

// deviceSink is the playback side of a device.
type deviceSink struct {
	d    *device
	once sync.Once
}

func (s *deviceSink) Name() string                       { return s.d.playbackName }
func (s *deviceSink) Start(pull func(dst []int16)) error { return s.d.startSide(false, pull) }
func (s *deviceSink) Err() error                         { return s.d.err() }
func (s *deviceSink) Close() error {
	s.once.Do(func() { s.d.stopSide(false) })
	return nil
}
