//go:build unix

package audio

/*
#ifndef _GNU_SOURCE
#define _GNU_SOURCE // pthread_setname_np
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <pthread.h>

// malgo's stop callback, which miniaudio's ma_device holds.
extern void goStopCallback(void*);

// The fields of miniaudio's ma_device that parley reads and writes, by
// their offsets in the miniaudio malgo v0.11.24 bundles (64-bit): the
// sample rate, the data callback, the stop callback, the user data.
// install checks what it finds there before it writes anything.
enum {
	maSampleRate = 12,
	maOnData     = 24,
	maOnStop     = 40,
	maUserData   = 48,
};

// ring is audio/ring.go's ring in C memory: one writer, one reader,
// positions that only grow.
typedef struct {
	int16_t *buf;
	uint64_t mask;
	uint64_t r, w;
} pring;

// pnative is one device's state that its callback, on miniaudio's
// thread, shares with parley's worker goroutine.
typedef struct {
	pring cap, play; // buf NULL for a side the device lacks
	uint64_t period, lead;
	uint32_t playing, pending;
	uint64_t overruns, underruns;
	uint64_t capFrames, playFrames;
	int64_t capAt, playAt; // CLOCK_MONOTONIC, ns
	int wakeFd;            // the write end of the worker's pipe
	int named;             // the callback's thread has its name
	uint64_t capWake;      // captured samples that wake the worker
} pnative;

static uint64_t ring_len(pring *q) {
	return __atomic_load_n(&q->w, __ATOMIC_ACQUIRE) - __atomic_load_n(&q->r, __ATOMIC_ACQUIRE);
}

static uint64_t ring_write(pring *q, const int16_t *p, uint64_t n) {
	uint64_t w = __atomic_load_n(&q->w, __ATOMIC_RELAXED), r = __atomic_load_n(&q->r, __ATOMIC_ACQUIRE);
	uint64_t size = q->mask + 1, room = size - (w - r);
	if (n > room) n = room;
	uint64_t i = w & q->mask, c = size - i;
	if (c > n) c = n;
	memcpy(q->buf + i, p, c * 2);
	memcpy(q->buf, p + c, (n - c) * 2);
	__atomic_store_n(&q->w, w + n, __ATOMIC_RELEASE);
	return n;
}

static uint64_t ring_read(pring *q, int16_t *p, uint64_t n) {
	uint64_t r = __atomic_load_n(&q->r, __ATOMIC_RELAXED), w = __atomic_load_n(&q->w, __ATOMIC_ACQUIRE);
	if (n > w - r) n = w - r;
	uint64_t size = q->mask + 1, i = r & q->mask, c = size - i;
	if (c > n) c = n;
	memcpy(p, q->buf + i, c * 2);
	memcpy(p + c, q->buf, (n - c) * 2);
	__atomic_store_n(&q->r, r + n, __ATOMIC_RELEASE);
	return n;
}

static int64_t mono_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wake(pnative *p) {
	if (__atomic_exchange_n(&p->pending, 1, __ATOMIC_ACQ_REL) == 0) {
		char b = 1;
		ssize_t n = write(p->wakeFd, &b, 1);
		(void)n; // full: the worker has bytes to read already
	}
}

// name_thread names the sound library's thread that calls on_data, as
// top -H and ps -L show it, and as the benchmark finds it: parley-mic,
// parley-speaker, or parley-sound for a duplex device.
static void name_thread(pnative *p) {
	const char *name = p->cap.buf == NULL ? "parley-speaker" : p->play.buf == NULL ? "parley-mic" : "parley-sound";
#if defined(__linux__)
	pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
	pthread_setname_np(name);
#else
	(void)name;
#endif
}

// on_data is the device's data callback, in place of malgo's: it copies
// between miniaudio's buffers and the rings and wakes the worker only
// when there is a frame to deliver (capWake) or the playback ring is below its
// lead. It never enters Go: a callback into Go from miniaudio's thread
// leaves a P of the Go scheduler in a system call, and the scheduler's
// monitor then wakes every 20 µs to take it back, which costs more CPU
// than everything else the device path does.
static void on_data(void *dev, void *out, const void *in, uint32_t frames) {
	pnative *p = *(pnative **)((char *)dev + maUserData);
	if (!p->named) {
		p->named = 1;
		name_thread(p);
	}
	int64_t now = mono_ns();
	int need = 0;
	if (in != NULL && p->cap.buf != NULL) {
		uint64_t n = ring_write(&p->cap, (const int16_t *)in, frames);
		if (n < frames) __atomic_add_fetch(&p->overruns, frames - n, __ATOMIC_RELAXED);
		__atomic_add_fetch(&p->capFrames, frames, __ATOMIC_RELAXED);
		__atomic_store_n(&p->capAt, now, __ATOMIC_RELEASE);
		need = ring_len(&p->cap) >= __atomic_load_n(&p->capWake, __ATOMIC_ACQUIRE);
	}
	if (out != NULL && p->play.buf != NULL) {
		uint64_t n = ring_read(&p->play, (int16_t *)out, frames);
		if (n < frames) {
			memset((int16_t *)out + n, 0, (frames - n) * 2);
			if (__atomic_load_n(&p->playing, __ATOMIC_ACQUIRE)) {
				__atomic_add_fetch(&p->underruns, frames - n, __ATOMIC_RELAXED);
			}
		}
		__atomic_add_fetch(&p->playFrames, frames, __ATOMIC_RELAXED);
		__atomic_store_n(&p->playAt, now, __ATOMIC_RELEASE);
		need = need || ring_len(&p->play) < p->lead;
	}
	if (need) wake(p);
}

// install makes on_data dev's data callback, with p its user data, if
// dev is what it is expected to be; it returns 0 where it is not.
static int install(void *dev, pnative *p, uint32_t rate) {
	if (sizeof(void *) != 8) return 0;
	char *d = (char *)dev;
	if (*(uint32_t *)(d + maSampleRate) != rate) return 0;
	if (*(void **)(d + maOnStop) != (void *)goStopCallback) return 0;
	if (*(void **)(d + maOnData) == NULL || *(void **)(d + maUserData) != NULL) return 0;
	*(void **)(d + maUserData) = p;
	__atomic_store_n((void **)(d + maOnData), (void *)on_data, __ATOMIC_RELEASE);
	return 1;
}

static pnative *pnative_new(uint64_t capSize, uint64_t playSize, uint64_t period, uint64_t lead, int wakeFd) {
	pnative *p = calloc(1, sizeof(pnative));
	if (p == NULL) return NULL;
	p->period = period;
	p->capWake = period;
	p->lead = lead;
	p->wakeFd = wakeFd;
	if (capSize > 0) {
		p->cap.buf = calloc(capSize, 2);
		p->cap.mask = capSize - 1;
	}
	if (playSize > 0) {
		p->play.buf = calloc(playSize, 2);
		p->play.mask = playSize - 1;
	}
	return p;
}

static void pnative_free(pnative *p) {
	free(p->cap.buf);
	free(p->play.buf);
	free(p);
}

static void pnative_poke(pnative *p) { wake(p); }
static void pnative_rearm(pnative *p) { __atomic_store_n(&p->pending, 0, __ATOMIC_RELEASE); }
static void pnative_set_playing(pnative *p) { __atomic_store_n(&p->playing, 1, __ATOMIC_RELEASE); }
static void pnative_set_cap_wake(pnative *p, uint64_t n) { __atomic_store_n(&p->capWake, n, __ATOMIC_RELEASE); }
static uint64_t pnative_load(uint64_t *v) { return __atomic_load_n(v, __ATOMIC_ACQUIRE); }
static int64_t pnative_load_at(int64_t *v) { return __atomic_load_n(v, __ATOMIC_ACQUIRE); }
static int64_t pnative_now(void) { return mono_ns(); }
*/
import "C"

import (
	"errors"
	"math/bits"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// native is a device's rings in C memory and its data callback in C (see
// on_data); the worker waits on a pipe the callback writes a byte to.
type native struct {
	p         *C.pnative
	wakeR     *os.File
	wakeW     int
	capRing   *ring // nil for a side the device lacks
	playRing  *ring
	installed bool
	mono0     int64 // CLOCK_MONOTONIC at t0
	t0        time.Time
	buf       [64]byte
}

// newNative makes the rings, of at least capSize and playSize samples
// (0 for a side the device lacks), and the pipe.
func newNative(capSize, playSize, period, lead int) (*native, error) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		return nil, err
	}
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fds[0])
			syscall.Close(fds[1])
			return nil, err
		}
	}
	pow2 := func(n int) int {
		if n <= 0 {
			return 0
		}
		return 1 << bits.Len64(uint64(n-1))
	}
	cs, ps := pow2(capSize), pow2(playSize)
	p := C.pnative_new(C.uint64_t(cs), C.uint64_t(ps), C.uint64_t(period), C.uint64_t(lead), C.int(fds[1]))
	if p == nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, errors.New("out of memory")
	}
	n := &native{p: p, wakeR: os.NewFile(uintptr(fds[0]), "audio wake"), wakeW: fds[1]}
	n.mono0, n.t0 = int64(C.pnative_now()), time.Now()
	over := func(q *C.pring, size int) *ring {
		if size == 0 {
			return nil
		}
		return &ring{
			buf:  unsafe.Slice((*int16)(unsafe.Pointer(q.buf)), size),
			mask: uint64(size - 1),
			r:    (*atomic.Uint64)(unsafe.Pointer(&q.r)),
			w:    (*atomic.Uint64)(unsafe.Pointer(&q.w)),
		}
	}
	n.capRing, n.playRing = over(&p.cap, cs), over(&p.play, ps)
	return n, nil
}

// install makes the C callback dev's, before the device starts; false
// where dev is not laid out as expected (then malgo's Go callback stays).
func (n *native) install(dev *malgo.Device) bool {
	// malgo.Device is one pointer to the C pointer to the ma_device.
	ptr := *(**unsafe.Pointer)(unsafe.Pointer(dev))
	if ptr == nil || *ptr == nil {
		return false
	}
	n.installed = C.install(*ptr, n.p, C.uint32_t(SampleRate)) != 0
	return n.installed
}

// wait blocks until the callback (or poke) wakes the worker, and rearms
// the wake. Bytes written after the rearm wake the next wait.
func (n *native) wait() {
	_, _ = n.wakeR.Read(n.buf[:])
	C.pnative_rearm(n.p)
}

// poke wakes the worker from Go.
func (n *native) poke() { C.pnative_poke(n.p) }

func (n *native) setPlaying() { C.pnative_set_playing(n.p) }

// setCaptureWake makes the callback wake the worker once n samples have
// been captured, not one period.
func (n *native) setCaptureWake(samples int) { C.pnative_set_cap_wake(n.p, C.uint64_t(samples)) }

// counts returns the samples the callback dropped from the capture and
// played short.
func (n *native) counts() (overruns, underruns uint64) {
	return uint64(C.pnative_load(&n.p.overruns)), uint64(C.pnative_load(&n.p.underruns))
}

// position returns how many samples the callback has moved on one side
// and when it last did, on this process's clock.
func (n *native) position(capture bool) (uint64, time.Time) {
	frames, at := &n.p.playFrames, &n.p.playAt
	if capture {
		frames, at = &n.p.capFrames, &n.p.capAt
	}
	ns := int64(C.pnative_load_at(at))
	if ns == 0 {
		return 0, time.Time{}
	}
	return uint64(C.pnative_load(frames)), n.t0.Add(time.Duration(ns - n.mono0))
}

// free releases the rings and the pipe, once the device is uninitialised
// and the worker gone.
func (n *native) free() {
	n.wakeR.Close()
	syscall.Close(n.wakeW)
	C.pnative_free(n.p)
	n.p = nil
}
