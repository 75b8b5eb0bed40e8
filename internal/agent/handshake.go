package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// ErrRefused is a handshake that failed: the other end is not a parley
// (or not one that speaks), or speaks another version of the protocol.
// The error's text says which, in one line.
var ErrRefused = errors.New("agent: refused")

type refused struct {
	msg   string
	empty bool // nothing came at all: a probe of whether the socket lives
}

func (e refused) Error() string { return e.msg }
func (e refused) Is(target error) bool {
	return target == ErrRefused || target == errEmpty && e.empty
}

// errEmpty is a connection closed before a single byte.
var errEmpty = errors.New("agent: closed before a byte")

// handshakeTimeout bounds each side's wait for the other's hello (a
// variable for the tests).
var handshakeTimeout = 5 * time.Second

func hello() []byte { return binary.BigEndian.AppendUint16([]byte(magic), Version) }

// readHello reads the other side's hello and returns its version. what
// names the other side in errors ("the audio agent", "the remote parley").
func readHello(c net.Conn, what string) (int, error) {
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetReadDeadline(time.Time{})
	var b [helloLen]byte
	n, err := io.ReadFull(c, b[:])
	got := b[:n]
	if m := min(n, len(magic)); string(got[:m]) != magic[:m] {
		return 0, refused{msg: fmt.Sprintf("%s is not parley: it sent %q where parley's hello belongs", what, got)}
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, refused{msg: fmt.Sprintf("%s sent no parley hello within %v: it is not parley, or it hangs", what, handshakeTimeout)}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return 0, refused{msg: fmt.Sprintf("%s closed the connection before its hello: it is not parley", what), empty: n == 0}
	case err != nil:
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b[len(magic):])), nil
}

func writeHello(c net.Conn) error {
	c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetWriteDeadline(time.Time{})
	_, err := c.Write(hello())
	return err
}

// versionError says that two versions met.
func versionError(what string, theirs int) error {
	return refused{msg: fmt.Sprintf("%s speaks version %d of parley's agent protocol, and this parley version %d: run the same release of parley on both computers", what, theirs, Version)}
}

// clientHandshake is the remote's side: it says hello first, then reads
// the agent's.
func clientHandshake(c net.Conn) error {
	werr := writeHello(c)
	// Whether or not the hello went, what the other end said says most.
	v, err := readHello(c, "the audio agent")
	if err != nil {
		if werr != nil && !errors.Is(err, ErrRefused) {
			return fmt.Errorf("say hello to the audio agent: %w", werr)
		}
		return err
	}
	if v != Version {
		return versionError("the audio agent", v)
	}
	return nil
}

// serverHandshake is the agent's side: it reads the remote's hello, and
// answers with its own whatever the version, so that the remote can say
// which versions met.
func serverHandshake(c net.Conn) error {
	v, err := readHello(c, "the program that connected")
	if err != nil {
		return err
	}
	if err := writeHello(c); err != nil {
		return err
	}
	if v != Version {
		return versionError("the remote parley", v)
	}
	return nil
}
