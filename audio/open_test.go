package audio

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		input   bool
		want    Spec
		wantErr string
	}{
		{"", true, Spec{}, ""},
		{"default", true, Spec{}, ""},
		{"  Default ", false, Spec{}, ""},
		{"none", true, Spec{Kind: KindNone}, ""},
		{"NONE", false, Spec{Kind: KindNone}, ""},
		{"tone", true, Spec{Kind: KindTone}, ""},
		{"tone", false, Spec{}, "input only"},
		{"song.wav", true, Spec{Kind: KindFile, Path: "song.wav"}, ""},
		{"/tmp/Rec.WAV", false, Spec{Kind: KindFile, Path: "/tmp/Rec.WAV"}, ""},
		{"song.mp3", true, Spec{}, "convert it first"},
		{"rec.ogg", false, Spec{}, "only WAV"},
		{"2", true, Spec{Device: "2"}, ""},
		{"USB Headset", false, Spec{Device: "USB Headset"}, ""},
	}
	for _, tc := range tests {
		parse, name := ParseOutput, "ParseOutput"
		if tc.input {
			parse, name = ParseInput, "ParseInput"
		}
		got, err := parse(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s(%q) = %v, %v; want error with %q", name, tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%s(%q) = %v, %v; want %v", name, tc.in, got, err, tc.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	o := Options{Clock: newFakeClock()}
	wav := filepath.Join(dir, "a.wav")
	if err := WriteWAVFile(wav, make([]int16, 480)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, out Spec
		o       Options
		want    string
	}{
		{Spec{Kind: KindFile, Path: filepath.Join(dir, "missing.wav")}, Spec{Kind: KindNone}, o, "no such file"},
		{Spec{Kind: KindFile, Path: wav}, Spec{Kind: KindFile, Path: wav}, o, "both the input and the output"},
		{Spec{Kind: KindNone}, Spec{Kind: KindFile, Path: filepath.Join(dir, "no", "dir.wav")}, o, "no such file"},
		{Spec{Kind: KindNone}, Spec{Kind: KindNone}, Options{Period: 7 * time.Millisecond / 3}, "audio period"},
		{Spec{Kind: KindNone}, Spec{Kind: KindNone}, Options{OutputPeriod: time.Millisecond}, "output: audio period"},
	}
	for _, tc := range tests {
		io, err := Open(tc.in, tc.out, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%v, %v) = %v; want error with %q", tc.in, tc.out, err, tc.want)
		}
		if io != nil {
			io.Close()
		}
	}
	// A refused format comes through as the FormatError.
	bad := filepath.Join(dir, "bad.wav")
	makeWAV(t, bad, wavSpec{tag: wavPCM, channels: 2, rate: 44100, bits: 24})
	if _, err := Open(Spec{Kind: KindFile, Path: bad}, Spec{Kind: KindNone}, o); !errors.Is(err, ErrWAVFormat) {
		t.Errorf("Open(44.1 kHz file) = %v; want ErrWAVFormat", err)
	}
}

// TestPeriod checks a 20 ms period gives 960-sample periods.
func TestPeriod(t *testing.T) {
	clock := newFakeClock()
	io, err := Open(Spec{Kind: KindTone}, Spec{Kind: KindNone}, Options{Clock: clock, Period: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	var c collector
	io.In.Start(c.deliver)
	clock.Advance(100 * time.Millisecond)
	waitFor(t, "5 periods", func() bool { return c.count() == 5 })
	io.Close()
	if len(c.pcm) != 5*960 {
		t.Errorf("delivered %d samples; want %d", len(c.pcm), 5*960)
	}
}

func TestSilent(t *testing.T) {
	for _, tc := range []struct {
		in   Spec
		want bool
	}{{Spec{Kind: KindNone}, true}, {Spec{Kind: KindTone}, false}} {
		io, err := Open(tc.in, Spec{Kind: KindNone}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := Silent(io.In); got != tc.want {
			t.Errorf("Silent(%v) = %v; want %v", tc.in, got, tc.want)
		}
		io.Close()
	}
}

func TestOutputPeriodFor(t *testing.T) {
	for _, tc := range []struct{ frame, want time.Duration }{
		{0, 0},
		{5 * time.Millisecond, 5 * time.Millisecond},
		{10 * time.Millisecond, 5 * time.Millisecond},
		{20 * time.Millisecond, 0},
		{60 * time.Millisecond, 0},
	} {
		if got := OutputPeriodFor(tc.frame); got != tc.want {
			t.Errorf("OutputPeriodFor(%v) = %v; want %v", tc.frame, got, tc.want)
		}
	}
}
