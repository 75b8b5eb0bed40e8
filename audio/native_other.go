//go:build !unix

package audio

import (
	"time"

	"github.com/gen2brain/malgo"
)

// native is not built here: devices keep malgo's Go callback and rings in
// Go memory.
type native struct {
	capRing, playRing *ring
	installed         bool
}

func newNative(capSize, playSize, period, lead int) (*native, error) {
	n := &native{}
	if capSize > 0 {
		n.capRing = newRing(capSize)
	}
	if playSize > 0 {
		n.playRing = newRing(playSize)
	}
	return n, nil
}

func (n *native) install(*malgo.Device) bool        { return false }
func (n *native) wait()                             {}
func (n *native) poke()                             {}
func (n *native) setPlaying()                       {}
func (n *native) setCaptureWake(int)                {}
func (n *native) counts() (uint64, uint64)          { return 0, 0 }
func (n *native) position(bool) (uint64, time.Time) { return 0, time.Time{} }
func (n *native) free()                             {}
