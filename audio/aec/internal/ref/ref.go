// Package ref lines the far end up with the microphone for an echo
// canceller: Playback writes what is played, any amount at a time, and each
// captured frame reads the frame of the far end played a set hold earlier,
// counting samples, so that both sides of a duplex device (which share a
// clock) stay aligned however their goroutines are scheduled.
package ref

import (
	"sync"
	"time"
)

// Ring holds the last second or so of the far end. Write and Next may be
// called from different goroutines; each takes the lock only to copy.
type Ring struct {
	mu    sync.Mutex
	buf   []int16
	mask  uint64
	frame int
	slip  int64
	// written counts the samples written, read those read; they start at
	// len(buf), so that the silence before the first sample is there to
	// read.
	written, read uint64
	hold          int
}

// New returns a Ring for frames of frame samples at rate, holding the far
// end back by up to maxHold, realigning when the two sides drift apart by
// more than slip.
func New(rate, frame int, maxHold, slip time.Duration) *Ring {
	size := 1
	for size < frame*2+int((maxHold+2*slip)*time.Duration(rate)/time.Second) {
		size *= 2
	}
	return &Ring{
		buf: make([]int16, size), mask: uint64(size - 1), frame: frame,
		slip:    int64(slip * time.Duration(rate) / time.Second),
		written: uint64(size), read: uint64(size),
	}
}

// Write adds what was just played.
func (r *Ring) Write(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Capture has run ahead of the far end by more than the slip (the
	// playback stopped, or started late): start it again where Capture is.
	want := int64(r.frame + r.hold)
	if lag := int64(r.written - r.read); lag < want-r.slip {
		if gap := want - int64(len(pcm)) - lag; gap > 0 {
			for i := range min(gap, int64(len(r.buf))) {
				r.buf[(r.written+uint64(i))&r.mask] = 0
			}
			r.written += uint64(gap)
		}
	}
	for len(pcm) > 0 {
		n := copy(r.buf[r.written&r.mask:], pcm)
		pcm = pcm[n:]
		r.written += uint64(n)
	}
}

// Next copies into dst (a frame) the far end for the next captured frame:
// the frame played the hold before it, zeros where nothing was.
func (r *Ring) Next(dst []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	want := int64(r.frame + r.hold)
	// Playback has run ahead by more than the slip (Capture stalled, or
	// started late): skip to the far end now due.
	if lag := int64(r.written - r.read); lag > want+r.slip {
		r.read = r.written - uint64(want)
	}
	for i := range dst {
		if p := r.read + uint64(i); p < r.written {
			dst[i] = r.buf[p&r.mask]
		} else {
			dst[i] = 0 // not played yet
		}
	}
	r.read += uint64(len(dst))
}

// SetHold sets how many samples the far end is held back; the next frame
// read moves by the change.
func (r *Ring) SetHold(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = max(0, min(n, len(r.buf)-2*r.frame-int(2*r.slip)))
	r.read -= uint64(n - r.hold)
	r.hold = n
}

// Hold returns the hold in samples.
func (r *Ring) Hold() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hold
}
