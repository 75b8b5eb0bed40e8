package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// FormatError says why a WAV file cannot be used. Its message is one line
// for the user, for example "song.wav is 44100 Hz stereo 24-bit; parley
// needs 16-bit PCM WAV at 48000 Hz (mono or stereo)". It matches
// ErrWAVFormat with errors.Is.
type FormatError struct {
	// Path is the file as the user named it.
	Path string
	// Is describes what the file is: "44100 Hz stereo 24-bit", "not a WAV
	// file", ...
	Is string
}

// Error returns the one-line message for the user.
func (e *FormatError) Error() string {
	return fmt.Sprintf("%s is %s; parley needs 16-bit PCM WAV at %d Hz (mono or stereo)", e.Path, e.Is, SampleRate)
}

// Unwrap returns ErrWAVFormat.
func (e *FormatError) Unwrap() error { return ErrWAVFormat }

// WAV format tags (the wFormatTag of a fmt chunk).
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavALaw       = 0x0006
	wavMuLaw      = 0x0007
	wavExtensible = 0xFFFE
)

// wavHeaderSize is the size of the header WAVWriter writes.
const wavHeaderSize = 44

// maxWAVData is the most data bytes a WAV file can describe.
const maxWAVData = 0xFFFFFFFF - (wavHeaderSize - 8)

// WAVReader reads 16-bit PCM WAV at 48 kHz, mono or stereo, as mono samples:
// stereo is mixed down by averaging the two channels. It is not safe for
// concurrent use.
type WAVReader struct {
	f        *os.File
	r        *bufio.Reader
	left     int64 // data bytes not yet read; -1 means up to the end of the file
	channels int
	scratch  []byte
}

// OpenWAV opens a WAV file and checks its format. A file in any other
// format gives a *FormatError.
func OpenWAV(path string) (*WAVReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audio file: %w", err)
	}
	r := &WAVReader{f: f, r: bufio.NewReaderSize(f, 64<<10)}
	if err := r.readHeader(path); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// readHeader walks the RIFF chunks up to the data chunk.
func (r *WAVReader) readHeader(path string) error {
	bad := func(is string) error { return &FormatError{Path: path, Is: is} }
	var riff [12]byte
	if _, err := io.ReadFull(r.r, riff[:]); err != nil || string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return bad("not a WAV file")
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r.r, ch[:]); err != nil {
			if haveFmt {
				return bad("a damaged WAV file (no data chunk)")
			}
			return bad("a damaged WAV file (no fmt chunk)")
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return bad("a damaged WAV file (bad fmt chunk)")
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r.r, b); err != nil {
				return bad("a damaged WAV file (short fmt chunk)")
			}
			tag := binary.LittleEndian.Uint16(b[0:2])
			channels := int(binary.LittleEndian.Uint16(b[2:4]))
			rate := int(binary.LittleEndian.Uint32(b[4:8]))
			bitsPer := int(binary.LittleEndian.Uint16(b[14:16]))
			if tag == wavExtensible && size >= 40 {
				tag = binary.LittleEndian.Uint16(b[24:26]) // the sub-format GUID starts with the tag
			}
			if tag != wavPCM || bitsPer != 16 || rate != SampleRate || channels < 1 || channels > 2 {
				return bad(describeWAV(tag, channels, rate, bitsPer))
			}
			r.channels = channels
			haveFmt = true
		case "data":
			if !haveFmt {
				return bad("a damaged WAV file (data before fmt)")
			}
			r.left = size
			if size == 0 || size == 0xFFFFFFFF {
				// Written by a recorder that never fixed up its header:
				// read to the end of the file.
				r.left = -1
			}
			return nil
		default:
			if _, err := r.r.Discard(int(size + size&1)); err != nil {
				return bad("a damaged WAV file (short " + fmt.Sprintf("%q", id) + " chunk)")
			}
		}
	}
}

// describeWAV says in a few words what a WAV format is.
func describeWAV(tag uint16, channels, rate, bitsPer int) string {
	var ch string
	switch channels {
	case 1:
		ch = "mono"
	case 2:
		ch = "stereo"
	default:
		ch = fmt.Sprintf("%d-channel", channels)
	}
	switch tag {
	case wavPCM:
		return fmt.Sprintf("%d Hz %s %d-bit", rate, ch, bitsPer)
	case wavFloat:
		return fmt.Sprintf("%d Hz %s %d-bit float", rate, ch, bitsPer)
	case wavALaw:
		return fmt.Sprintf("%d Hz %s A-law", rate, ch)
	case wavMuLaw:
		return fmt.Sprintf("%d Hz %s µ-law", rate, ch)
	default:
		return fmt.Sprintf("%d Hz %s in compressed format 0x%04x", rate, ch, tag)
	}
}

// Channels returns the number of channels in the file, 1 or 2; Read always
// returns mono.
func (r *WAVReader) Channels() int { return r.channels }

// Read fills dst with up to len(dst) mono samples and returns how many it
// read. At the end of the data it returns 0, io.EOF; a last odd byte or
// half a stereo frame is ignored.
func (r *WAVReader) Read(dst []int16) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	frame := 2 * r.channels
	want := len(dst) * frame
	if r.left >= 0 && int64(want) > r.left {
		want = int(r.left) / frame * frame
	}
	if want == 0 {
		return 0, io.EOF
	}
	if cap(r.scratch) < want {
		r.scratch = make([]byte, want)
	}
	b := r.scratch[:want]
	got, err := io.ReadFull(r.r, b)
	if r.left >= 0 {
		r.left -= int64(got)
	}
	n := got / frame
	if r.channels == 1 {
		for i := range n {
			dst[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	} else {
		for i := range n {
			left := int32(int16(binary.LittleEndian.Uint16(b[4*i:])))
			right := int32(int16(binary.LittleEndian.Uint16(b[4*i+2:])))
			dst[i] = int16((left + right) >> 1)
		}
	}
	switch {
	case n > 0:
		return n, nil
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("read audio file: %w", err)
	}
}

// atEnd reports whether no whole frame is left to read.
func (r *WAVReader) atEnd() bool {
	frame := 2 * r.channels
	if r.left >= 0 {
		return r.left < int64(frame)
	}
	_, err := r.r.Peek(frame)
	return err != nil
}

// Close closes the file.
func (r *WAVReader) Close() error { return r.f.Close() }

// WAVWriter writes 48 kHz mono 16-bit PCM WAV. Its header gives the
// lengths as 0xFFFFFFFF ("unknown", as for a stream) until Close fixes them
// up, so a file cut short by a crash is still readable. It is not safe for
// concurrent use.
type WAVWriter struct {
	f       *os.File
	w       *bufio.Writer
	n       int64 // data bytes written
	err     error // the first error, returned from then on
	scratch []byte
}

// CreateWAV creates (or truncates) a WAV file for writing.
func CreateWAV(path string) (*WAVWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create audio file: %w", err)
	}
	w := &WAVWriter{f: f, w: bufio.NewWriterSize(f, 32<<10)}
	var h [wavHeaderSize]byte
	putWAVHeader(h[:], 0xFFFFFFFF, 0xFFFFFFFF)
	w.write(h[:])
	return w, nil
}

// putWAVHeader fills h with a canonical header for 48 kHz mono 16-bit PCM.
func putWAVHeader(h []byte, riffSize, dataSize uint32) {
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], riffSize)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], wavPCM)
	le.PutUint16(h[22:], 1)
	le.PutUint32(h[24:], SampleRate)
	le.PutUint32(h[28:], SampleRate*2)
	le.PutUint16(h[32:], 2)
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataSize)
}

func (w *WAVWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("write audio file: %w", err)
	}
}

// Write appends samples. After the first error (a full disk, the 4 GiB
// limit of WAV) it writes nothing and returns that error.
func (w *WAVWriter) Write(pcm []int16) error {
	if w.err != nil {
		return w.err
	}
	if w.n+int64(2*len(pcm)) > maxWAVData {
		w.err = fmt.Errorf("write audio file: %s reached the 4 GiB limit of WAV", w.f.Name())
		return w.err
	}
	if cap(w.scratch) < 2*len(pcm) {
		w.scratch = make([]byte, 2*len(pcm))
	}
	b := w.scratch[:2*len(pcm)]
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	w.write(b)
	if w.err == nil {
		w.n += int64(len(b))
	}
	return w.err
}

// Close flushes, writes the real lengths into the header when the file is
// a regular file, and closes it. It returns the first error met while
// writing, if any.
func (w *WAVWriter) Close() error {
	if w.f == nil {
		return w.err
	}
	if w.err == nil {
		if err := w.w.Flush(); err != nil {
			w.err = fmt.Errorf("write audio file: %w", err)
		}
	}
	if w.err == nil {
		if fi, err := w.f.Stat(); err == nil && fi.Mode().IsRegular() {
			var h [wavHeaderSize]byte
			putWAVHeader(h[:], uint32(w.n+wavHeaderSize-8), uint32(w.n))
			if _, err := w.f.WriteAt(h[:], 0); err != nil {
				w.err = fmt.Errorf("write audio file header: %w", err)
			}
		}
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("close audio file: %w", err)
	}
	w.f = nil
	return w.err
}

// ReadWAVFile reads a whole WAV file in a format OpenWAV accepts, as mono.
func ReadWAVFile(path string) ([]int16, error) {
	r, err := OpenWAV(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []int16
	buf := make([]int16, 4096)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// WriteWAVFile writes pcm as a 48 kHz mono 16-bit WAV file.
func WriteWAVFile(path string, pcm []int16) error {
	w, err := CreateWAV(path)
	if err != nil {
		return err
	}
	w.Write(pcm)
	return w.Close()
}
