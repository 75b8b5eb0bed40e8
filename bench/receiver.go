package bench

import (
	"sync"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// receiver turns the peer's packets into audio to play: jitter.Buffer, or
// a baseline.
type receiver interface {
	Push(seq uint16, ts uint32, payload []byte, at time.Time)
	Pull(dst []int16)
}

// onArrival is the baseline with no jitter buffer, as simple WebRTC
// terminal tools have it: each packet is decoded as it comes and queued
// for the speaker. Nothing is concealed, reordered or dropped; when the
// queue runs dry the speaker plays silence and the delay stays where a
// burst left it.
type onArrival struct {
	mu    sync.Mutex
	dec   *opus.Decoder
	queue []int16
	buf   [5760]int16
	began bool
	pulls int // periods pulled since the first packet
	short int // of those, periods the queue could not fill
}

func newOnArrival() (*onArrival, error) {
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, err
	}
	return &onArrival{dec: dec}, nil
}

func (r *onArrival) Push(_ uint16, _ uint32, payload []byte, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.dec.Decode(payload, r.buf[:])
	if err != nil {
		return
	}
	r.queue = append(r.queue, r.buf[:n]...)
	r.began = true
}

func (r *onArrival) Pull(dst []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := copy(dst, r.queue)
	clear(dst[n:])
	r.queue = r.queue[n:]
	if r.began {
		r.pulls++
		if n < len(dst) {
			r.short++
		}
	}
}

// shortPercent is the share of periods played short of audio.
func (r *onArrival) shortPercent() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pulls == 0 {
		return 0
	}
	return 100 * float64(r.short) / float64(r.pulls)
}
