package audio

import (
	"math/bits"
	"sync/atomic"
)

// ring is a lock-free single-producer, single-consumer queue of samples.
// One goroutine or thread writes and one reads; neither ever waits. The
// positions count samples since creation and only grow, so full and empty
// are told apart without a spare slot.
//
// Its samples and positions may be in C memory, shared with a device
// callback in C (see native_unix.go): r and w point to them.
type ring struct {
	buf  []int16
	mask uint64
	r, w *atomic.Uint64
}

// newRing returns a ring that holds at least n samples.
func newRing(n int) *ring {
	size := uint64(1) << bits.Len64(uint64(n-1))
	return &ring{buf: make([]int16, size), mask: size - 1, r: new(atomic.Uint64), w: new(atomic.Uint64)}
}

// len returns the number of samples waiting to be read.
func (q *ring) len() int { return int(q.w.Load() - q.r.Load()) }

// write copies as much of p as fits and returns how much that was. Only the
// producer calls it.
func (q *ring) write(p []int16) int {
	w, r := q.w.Load(), q.r.Load()
	n := min(len(p), len(q.buf)-int(w-r))
	i := int(w & q.mask)
	c := copy(q.buf[i:], p[:n])
	copy(q.buf, p[c:n])
	q.w.Store(w + uint64(n))
	return n
}

// read copies up to len(p) samples into p and returns how many. Only the
// consumer calls it.
func (q *ring) read(p []int16) int {
	r, w := q.r.Load(), q.w.Load()
	n := min(len(p), int(w-r))
	i := int(r & q.mask)
	c := copy(p[:n], q.buf[i:])
	copy(p[c:n], q.buf)
	q.r.Store(r + uint64(n))
	return n
}
