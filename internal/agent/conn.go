package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Counters are what a stream carried.
type Counters struct {
	// BytesIn and BytesOut count the frames' bytes, headers included.
	BytesIn, BytesOut uint64
	// PacketsIn and PacketsOut count RTP frames.
	PacketsIn, PacketsOut uint64
	// Dropped counts RTP frames not sent because Window frames were
	// still unacknowledged: the link was slower than the audio.
	Dropped uint64
}

func (c Counters) add(d Counters) Counters {
	return Counters{c.BytesIn + d.BytesIn, c.BytesOut + d.BytesOut, c.PacketsIn + d.PacketsIn, c.PacketsOut + d.PacketsOut, c.Dropped + d.Dropped}
}

// String says what was carried, for a log line.
func (c Counters) String() string {
	return fmt.Sprintf("%d bytes in %d audio packets sent, %d bytes in %d received, %d dropped", c.BytesOut, c.PacketsOut, c.BytesIn, c.PacketsIn, c.Dropped)
}

// Timeouts of an established stream: each side sends something every
// second (pings, stats), so a stream that is silent for idleTimeout is
// lost; a write stuck for writeTimeout is too. (Variables for the tests.)
var (
	idleTimeout  = 10 * time.Second
	writeTimeout = 10 * time.Second
)

// ackEvery is how many RTP frames a side receives between Acks (and it
// sends one with each Pong).
const ackEvery = 5

// ErrIdle is a stream that carried nothing for idleTimeout: the link is
// down.
var ErrIdle = errors.New("nothing arrived for 10 s: the link is down")

// conn is an established stream: a reader goroutine that hands each
// message to handle, and a writer goroutine that sends what is queued,
// control frames first. It answers pings and keeps the RTP window itself.
type conn struct {
	nc     net.Conn
	handle func(Type, any) // on the reader goroutine
	start  time.Time

	mu     sync.Mutex
	ctl    []ctlFrame // the latest of each type, in first-queued order
	audio  [][]byte   // encoded RTP frames
	sent   uint64     // RTP frames queued
	acked  uint64     // RTP frames the other side has acknowledged
	closed bool
	ending bool          // bye was called: the writer closes once it has written all
	ended  chan struct{} // closed by the writer once it has, after bye

	recv     uint64 // RTP frames received; the reader's
	wake     chan struct{}
	quit     chan struct{}
	readDone chan struct{}
	wg       sync.WaitGroup
	err      error // why the reader ended; set before readDone closes
	werr     error // why the writer ended, under mu

	bytesIn, bytesOut, packetsIn, packetsOut, dropped atomic.Uint64
	rtt                                               atomic.Int64
}

type ctlFrame struct {
	t Type
	p []byte
}

func newConn(nc net.Conn, handle func(Type, any)) *conn {
	c := &conn{nc: nc, handle: handle, start: time.Now(), wake: make(chan struct{}, 1), quit: make(chan struct{}), readDone: make(chan struct{}), ended: make(chan struct{})}
	c.rtt.Store(-1)
	return c
}

// run starts the reader and the writer.
func (c *conn) run() {
	c.wg.Add(2)
	go c.read()
	go c.write()
}

// done is closed once the stream has ended: the other side closed it, or
// it failed, or close was called.
func (c *conn) done() <-chan struct{} { return c.readDone }

// Err returns why the stream ended, once done is closed.
func (c *conn) Err() error {
	select {
	case <-c.readDone:
		return c.err
	default:
		return nil
	}
}

// close ends the stream and waits for its goroutines.
func (c *conn) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.nc.Close()
	c.wg.Wait()
}

// byeWait bounds how long bye waits for what is queued to be written.
const byeWait = time.Second

// bye queues a last control frame of type t, waits (up to byeWait) for
// the writer to have written everything queued, and closes the stream.
func (c *conn) bye(t Type) {
	c.mu.Lock()
	if !c.closed && !c.ending {
		c.ending = true
		c.ctl = append(c.ctl, ctlFrame{t, nil})
		c.signal()
	}
	c.mu.Unlock()
	select {
	case <-c.ended:
	case <-c.readDone:
	case <-time.After(byeWait):
	}
	c.close()
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendCtl queues a control frame, replacing one of the same type still
// queued.
func (c *conn) sendCtl(t Type, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for i := range c.ctl {
		if c.ctl[i].t == t {
			c.ctl[i].p = p
			c.signal()
			return
		}
	}
	c.ctl = append(c.ctl, ctlFrame{t, p})
	c.signal()
}

// sendRTP queues an RTP frame, or drops it if Window frames are still
// unacknowledged. It reports whether it was queued.
func (c *conn) sendRTP(p Packet) bool {
	if len(p.Payload) > MaxPayload-packetHeader {
		c.dropped.Add(1)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.sent-c.acked >= Window {
		c.dropped.Add(1)
		return false
	}
	c.sent++
	f, _ := appendFrame(make([]byte, 0, frameHeader+packetHeader+len(p.Payload)), TypeRTP, p.append(nil))
	c.audio = append(c.audio, f)
	c.signal()
	return true
}

// ping sends a Ping; its Pong gives the round trip.
func (c *conn) ping() { c.sendCtl(TypePing, encodeU64(uint64(time.Since(c.start)))) }

// RTT returns the latest round trip of a ping, or -1 before the first.
func (c *conn) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

func (c *conn) counters() Counters {
	return Counters{c.bytesIn.Load(), c.bytesOut.Load(), c.packetsIn.Load(), c.packetsOut.Load(), c.dropped.Load()}
}

func (c *conn) write() {
	defer c.wg.Done()
	var buf []byte
	for {
		select {
		case <-c.quit:
			return
		case <-c.wake:
		}
		c.mu.Lock()
		ctl, audio := c.ctl, c.audio
		c.ctl, c.audio = nil, nil
		c.mu.Unlock()
		buf = buf[:0]
		for _, f := range ctl {
			buf, _ = appendFrame(buf, f.t, f.p)
		}
		for _, f := range audio {
			buf = append(buf, f...)
		}
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		n, err := c.nc.Write(buf)
		c.bytesOut.Add(uint64(n))
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("nothing could be sent for %v", writeTimeout)
			}
			c.mu.Lock()
			c.werr = err
			c.mu.Unlock()
			c.nc.Close() // the reader ends too
			return
		}
		c.packetsOut.Add(uint64(len(audio)))
		c.mu.Lock()
		last := c.ending && len(c.ctl) == 0 && len(c.audio) == 0
		c.mu.Unlock()
		if last {
			close(c.ended)
			<-c.quit
			return
		}
	}
}

func (c *conn) read() {
	defer c.wg.Done()
	c.err = c.readLoop()
	close(c.readDone)
}

func (c *conn) readLoop() error {
	for {
		c.nc.SetReadDeadline(time.Now().Add(idleTimeout))
		t, p, _, err := readFrame(c.nc, nil)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.nc.Close()
				return ErrIdle
			}
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
				c.mu.Lock()
				werr := c.werr
				c.mu.Unlock()
				if werr != nil {
					return werr
				}
				return net.ErrClosed
			}
			return err
		}
		c.bytesIn.Add(uint64(frameHeader + len(p)))
		m, err := decode(t, p)
		if err != nil {
			c.nc.Close()
			return err
		}
		switch t {
		case TypePing:
			c.sendCtl(TypePong, p)
			c.sendCtl(TypeAck, encodeU64(c.recv))
		case TypePong:
			if d := time.Since(c.start) - time.Duration(m.(uint64)); d >= 0 {
				c.rtt.Store(int64(d))
			}
		case TypeAck:
			c.mu.Lock()
			c.acked = max(c.acked, min(m.(uint64), c.sent))
			c.mu.Unlock()
		case TypeRTP:
			c.packetsIn.Add(1)
			if c.recv++; c.recv%ackEvery == 0 {
				c.sendCtl(TypeAck, encodeU64(c.recv))
			}
			c.handle(t, m)
		default:
			c.handle(t, m)
		}
	}
}

// writeFrame writes one frame straight to nc, before a conn runs on it.
func writeFrame(nc net.Conn, t Type, p []byte, timeout time.Duration) error {
	b, err := appendFrame(nil, t, p)
	if err != nil {
		return err
	}
	nc.SetWriteDeadline(time.Now().Add(timeout))
	defer nc.SetWriteDeadline(time.Time{})
	_, err = nc.Write(b)
	return err
}

// readFrameWithin reads one frame from nc, before a conn runs on it.
func readFrameWithin(nc net.Conn, timeout time.Duration) (Type, []byte, error) {
	nc.SetReadDeadline(time.Now().Add(timeout))
	defer nc.SetReadDeadline(time.Time{})
	t, p, _, err := readFrame(nc, nil)
	return t, p, err
}
