package audio

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// wavSpec describes a WAV file for makeWAV to write.
type wavSpec struct {
	tag        uint16
	channels   int
	rate       int
	bits       int
	extensible bool   // write WAVE_FORMAT_EXTENSIBLE with tag as sub-format
	junk       bool   // an odd-sized LIST chunk before data
	dataSize   uint32 // 0: the real size
	data       []byte
}

// makeWAV writes a WAV file by hand, byte by byte.
func makeWAV(t *testing.T, path string, s wavSpec) {
	t.Helper()
	le := binary.LittleEndian
	var fmtc []byte
	fmtc = le.AppendUint16(fmtc, map[bool]uint16{false: s.tag, true: wavExtensible}[s.extensible])
	fmtc = le.AppendUint16(fmtc, uint16(s.channels))
	fmtc = le.AppendUint32(fmtc, uint32(s.rate))
	align := s.channels * s.bits / 8
	fmtc = le.AppendUint32(fmtc, uint32(s.rate*align))
	fmtc = le.AppendUint16(fmtc, uint16(align))
	fmtc = le.AppendUint16(fmtc, uint16(s.bits))
	if s.extensible {
		fmtc = le.AppendUint16(fmtc, 22)
		fmtc = le.AppendUint16(fmtc, uint16(s.bits))
		fmtc = le.AppendUint32(fmtc, 4)
		fmtc = le.AppendUint16(fmtc, s.tag)
		fmtc = append(fmtc, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	}
	var b []byte
	b = append(b, "RIFF\x00\x00\x00\x00WAVE"...)
	b = append(b, "fmt "...)
	b = le.AppendUint32(b, uint32(len(fmtc)))
	b = append(b, fmtc...)
	if s.junk {
		b = append(b, "LIST"...)
		b = le.AppendUint32(b, 5)
		b = append(b, "abcde\x00"...) // 5 bytes and a pad byte
	}
	b = append(b, "data"...)
	size := s.dataSize
	if size == 0 {
		size = uint32(len(s.data))
	}
	b = le.AppendUint32(b, size)
	b = append(b, s.data...)
	le.PutUint32(b[4:], uint32(len(b)-8))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func pcmBytes(samples ...int16) []byte {
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.wav")
	pcm := sine(SampleRate, 440, 0.5)
	pcm[0], pcm[1] = -32768, 32767
	if err := WriteWAVFile(path, pcm); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != wavHeaderSize+2*len(pcm) {
		t.Errorf("file is %d bytes; want %d", len(raw), wavHeaderSize+2*len(pcm))
	}
	le := binary.LittleEndian
	if got := le.Uint32(raw[4:]); got != uint32(len(raw)-8) {
		t.Errorf("RIFF size = %d; want %d", got, len(raw)-8)
	}
	if got := le.Uint32(raw[40:]); got != uint32(2*len(pcm)) {
		t.Errorf("data size = %d; want %d", got, 2*len(pcm))
	}
	got, err := ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pcm) {
		t.Fatalf("read %d samples; want %d", len(got), len(pcm))
	}
	for i := range pcm {
		if got[i] != pcm[i] {
			t.Fatalf("sample %d = %d; want %d", i, got[i], pcm[i])
		}
	}
}

func TestWAVRefusals(t *testing.T) {
	dir := t.TempDir()
	const need = "; parley needs 16-bit PCM WAV at 48000 Hz (mono or stereo)"
	tests := []struct {
		name string
		spec *wavSpec // nil: raw is the file
		raw  string
		want string
	}{
		{"song.wav", &wavSpec{tag: wavPCM, channels: 2, rate: 44100, bits: 24}, "", "song.wav is 44100 Hz stereo 24-bit" + need},
		{"a.wav", &wavSpec{tag: wavPCM, channels: 1, rate: 48000, bits: 8}, "", "a.wav is 48000 Hz mono 8-bit" + need},
		{"b.wav", &wavSpec{tag: wavPCM, channels: 1, rate: 16000, bits: 16}, "", "b.wav is 16000 Hz mono 16-bit" + need},
		{"c.wav", &wavSpec{tag: wavFloat, channels: 2, rate: 48000, bits: 32}, "", "c.wav is 48000 Hz stereo 32-bit float" + need},
		{"d.wav", &wavSpec{tag: wavPCM, channels: 6, rate: 48000, bits: 16}, "", "d.wav is 48000 Hz 6-channel 16-bit" + need},
		{"e.wav", &wavSpec{tag: wavMuLaw, channels: 1, rate: 8000, bits: 8}, "", "e.wav is 8000 Hz mono µ-law" + need},
		{"f.wav", &wavSpec{tag: wavPCM, channels: 2, rate: 96000, bits: 24, extensible: true}, "", "f.wav is 96000 Hz stereo 24-bit" + need},
		{"g.wav", &wavSpec{tag: 0x55, channels: 2, rate: 44100, bits: 0}, "", "g.wav is 44100 Hz stereo in compressed format 0x0055" + need},
		{"h.wav", nil, "ID3\x03\x00\x00\x00\x00\x00\x00 mp3 data", "h.wav is not a WAV file" + need},
		{"i.wav", nil, "", "i.wav is not a WAV file" + need},
		{"j.wav", nil, "RIFF\x04\x00\x00\x00WAVE", "j.wav is a damaged WAV file (no fmt chunk)" + need},
	}
	t.Chdir(dir) // name the files as a user would, relative to the directory
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name)
		if tc.spec != nil {
			makeWAV(t, path, *tc.spec)
		} else if err := os.WriteFile(path, []byte(tc.raw), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := OpenWAV(tc.name)
		var fe *FormatError
		if !errors.Is(err, ErrWAVFormat) || !errors.As(err, &fe) {
			t.Errorf("OpenWAV(%q) = %v; want a FormatError", tc.name, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("OpenWAV(%q) = %q; want %q", tc.name, err, tc.want)
		}
	}
	if _, err := OpenWAV(filepath.Join(dir, "missing.wav")); err == nil || errors.Is(err, ErrWAVFormat) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenWAV(missing) = %v; want a not-exist error", err)
	}
}

func TestWAVStereoDownmix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stereo.wav")
	makeWAV(t, path, wavSpec{tag: wavPCM, channels: 2, rate: 48000, bits: 16, junk: true,
		data: pcmBytes(1000, 3000, 32767, 32767, -32768, -32768, 100, -100, -32768, 32767, 7, 8)})
	got, err := ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []int16{2000, 32767, -32768, 0, -1, 7}
	if len(got) != len(want) {
		t.Fatalf("read %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("read %v; want %v", got, want)
		}
	}
}

func TestWAVExtensibleAndOpenLength(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ext.wav")
	// WAVE_FORMAT_EXTENSIBLE with PCM inside, and a data length of
	// 0xFFFFFFFF as a recorder that never finished leaves it.
	makeWAV(t, path, wavSpec{tag: wavPCM, channels: 1, rate: 48000, bits: 16, extensible: true,
		dataSize: 0xFFFFFFFF, data: pcmBytes(1, 2, 3, 4, 5)})
	r, err := OpenWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]int16, 3)
	n, err := r.Read(buf)
	if n != 3 || err != nil || buf[2] != 3 {
		t.Fatalf("Read = %d, %v, %v; want 3 samples", n, err, buf)
	}
	if n, err = r.Read(buf); n != 2 || err != nil || buf[1] != 5 {
		t.Fatalf("Read = %d, %v, %v; want the last 2 samples", n, err, buf[:n])
	}
	if n, err = r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v; want 0, EOF", n, err)
	}
}

// TestWAVWriterFullDisk writes to /dev/full, where every write fails with
// "no space left on device": the error is reported, not a panic.
func TestWAVWriterFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	w, err := CreateWAV("/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	period := make([]int16, 480)
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = w.Write(period)
	}
	if werr == nil {
		t.Error("100 writes to /dev/full succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close() = nil after a failed write")
	} else {
		t.Logf("error reported: %v", err)
	}
}
