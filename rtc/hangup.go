package rtc

import (
	"errors"
	"time"

	"parley/internal/clock"
)

// The hang-up's bounds. Delivering what was sent, then the exchange of
// byes, take milliseconds on a clean path. HangUp gives them hangUpWait in
// all: the user asked to leave. HangUpWhenDelivered waits while delivery
// goes on, since SCTP resends a lost packet only after a second or more:
// until no acknowledgement has come for idleWait, or hangUpMax.
const (
	hangUpWait = 1200 * time.Millisecond
	idleWait   = 3500 * time.Millisecond
	hangUpMax  = 10 * time.Second
	// openWait is how long a hang-up just after connecting waits for the
	// chat channel to open, to say bye on it.
	openWait = time.Second
	// byeWait bounds how long the peer's hang-up waits for this side's
	// messages to be delivered before it answers the peer's bye.
	byeWait = 3 * time.Second
	// hangUpPoll is how often a patient hang-up checks its progress.
	hangUpPoll = 250 * time.Millisecond
	// byeFlushWait bounds how long the answer to the peer's bye may take
	// to leave the send buffer before the call ends; byeFlushPoll is how
	// often it is looked at.
	byeFlushWait = 300 * time.Millisecond
	byeFlushPoll = 10 * time.Millisecond
)

// HangUp ends the call politely and soon: messages already sent are
// delivered first if that can be done within hangUpWait, then the peer is
// told. A ByeEvent follows, at once where there is no peer or no chat to
// deliver to.
func (c *Call) HangUp() { c.hangUp(false) }

// HangUpWhenDelivered is HangUp for a script that has sent its last
// message: it waits for the call to connect, then for delivery as long as
// acknowledgements keep coming (each within idleWait), up to hangUpMax.
func (c *Call) HangUpWhenDelivered() { c.hangUp(true) }

func (c *Call) hangUp(patient bool) {
	c.ended.Store(true)
	c.post(func() {
		if c.hup != hupNone {
			return
		}
		c.hup = hupDraining
		now := c.now()
		c.hupStart, c.progress = now, now
		c.hupPatient = patient
		c.watchHangUp()
		c.advance()
	})
}

// watchHangUp ends a hang-up that has run out of time.
func (c *Call) watchHangUp() {
	if c.finished {
		return
	}
	now := c.now()
	if c.hupPatient && c.state == StateConnecting {
		// The clocks start once there is a peer to deliver to.
		c.hupStart, c.progress = now, now
	}
	left := c.hupStart.Add(hangUpWait).Sub(now)
	if c.hupPatient {
		left = min(c.hupStart.Add(hangUpMax).Sub(now), c.progress.Add(idleWait).Sub(now))
	}
	if left <= 0 {
		c.finish("hung up", nil)
		return
	}
	c.hupWatch = c.after(min(left, hangUpPoll), c.watchHangUp)
}

// advance moves a hang-up on once its condition holds.
func (c *Call) advance() {
	switch c.hup {
	case hupDraining:
		switch {
		case c.state == "new" || c.chatErr.Load() != nil:
			// No peer to deliver to, or no chat to deliver on.
			c.finish("hung up", nil)
		case c.state == StateConnecting && !c.hupPatient:
			c.finish("hung up", nil)
		case c.state == StateConnecting:
			// Deliver once connected; the connect timeout bounds the wait.
		case !c.dcOpen && c.state == StateConnected:
			// The chat channel opens just after connecting; the bye
			// needs it. onOpen comes back here.
			if c.hupTimer == nil {
				c.hupTimer = c.after(openWait, func() { c.finish("hung up", nil) })
			}
		case !c.dcOpen:
			c.finish("hung up", nil)
		case len(c.unacked) > 0:
			// Wait for delivery; watchHangUp bounds it.
		default:
			// The peer answers with its own bye once what it sent is
			// delivered; watchHangUp bounds the wait.
			c.hup = hupByeSent
			c.sendFrame(frame{typ: frameBye})
			stopTimer(c.hupTimer)
		}
	case hupPeerDraining:
		if len(c.unacked) == 0 || !c.dcOpen {
			c.answerBye()
		}
	}
}

// onBye handles the peer's bye: the answer to ours, or its hang-up.
func (c *Call) onBye() {
	switch c.hup {
	case hupByeSent:
		c.finish("hung up", nil)
	case hupNone, hupDraining:
		c.ended.Store(true)
		c.peerBye = true
		c.hup = hupPeerDraining
		stopTimer(c.hupTimer)
		c.hupTimer = c.after(byeWait, c.answerBye)
		c.advance()
	}
}

// answerBye answers the peer's bye, lets it leave, and ends the call.
func (c *Call) answerBye() {
	if c.finished || c.hup != hupPeerDraining {
		return
	}
	c.hup = hupByeSent
	c.sendFrame(frame{typ: frameBye})
	deadline := c.now().Add(byeFlushWait)
	var wait func()
	wait = func() {
		if c.dc == nil || c.dc.BufferedAmount() == 0 || c.now().After(deadline) {
			c.finish("peer hung up", nil)
			return
		}
		c.hupTimer = c.after(byeFlushPoll, wait)
	}
	wait()
}

// closedUnderneath ends a call whose connection was closed by the peer:
// expected once a bye has passed, abrupt otherwise.
func (c *Call) closedUnderneath() {
	switch {
	case c.peerBye:
		c.finish("peer hung up", nil)
	case c.hup != hupNone:
		c.finish("hung up", nil)
	default:
		c.finish("the peer closed the connection", errors.New("the peer closed the connection without hanging up"))
	}
}

func stopTimer(t clock.Timer) {
	if t != nil {
		t.Stop()
	}
}
