package rtc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// chatLabel names the one data channel that carries chat.
const chatLabel = "chat"

// Limits on what the peer can make this side hold or show. Everything the
// peer sends passes through them; see SECURITY.md.
const (
	// maxQueuedChat bounds the peer's messages waiting to be read from
	// Events, in bytes with chatOverhead each: ten seconds at the rate
	// limit. More are dropped, unacknowledged, until the reader catches up.
	maxQueuedChat = 1 << 20
	// maxInboxBytes bounds the peer's data waiting for the call's
	// goroutine.
	maxInboxBytes = 1 << 20
	// dropQuiet is how long a flood must pause before the count of what it
	// lost is reported; dropReportMax reports a long flood anyway.
	dropQuiet     = time.Second
	dropReportMax = 5 * time.Second
	// muteShowEvery bounds how often the peer's mute is shown; faster
	// toggles show only their last state.
	muteShowEvery = 250 * time.Millisecond
	// chatCloseWait is how long a chat channel closed by the peer waits
	// for the connection to close behind it before the call goes on
	// without chat.
	chatCloseWait = 300 * time.Millisecond
	// recentIDs is how many of the peer's message ids are remembered to
	// ignore a message sent twice.
	recentIDs = 1024
	// An incoming message counts as too large to ever arrive (see
	// checkChatStall) once stallBytes, nearly all of SCTP's 1 MiB receive
	// window, have come since the last message, none has come for
	// stallQuiet, and less than stallGrowth came in the last second: a
	// message on its way keeps coming faster than that.
	stallBytes  = 960 << 10
	stallQuiet  = time.Second
	stallGrowth = 32 << 10
)

// Why chat cannot be used; Send returns them, and the call says each once.
var (
	ErrNoChat     = errors.New("your peer's app has no chat: messages cannot be sent")
	ErrChatTooBig = errors.New("your peer sent a chat message over 64 kB, more than parley takes: it was dropped")
	ErrChatStuck  = errors.New("your peer sent a chat message too large to ever arrive: chat is closed, the call goes on")
	ErrChatClosed = errors.New("your peer closed the chat: messages cannot be sent, the call goes on")
)

// onDataChannel takes the peer's chat channel, and closes every other
// channel the peer opens: the first one labelled "chat" on the callee's
// side, none on the caller's, whose chat is the channel it negotiated.
func (c *Call) onDataChannel(dc *webrtc.DataChannel) {
	if !c.inviter.Load() && dc.Label() == chatLabel && c.peerChat.CompareAndSwap(false, true) {
		c.attach(dc)
		return
	}
	c.markChat()
	c.logf("chat: closing a data channel the peer opened (label of %d bytes)", len(dc.Label()))
	// Detached, pion forgets the channel once it is closed; it would keep
	// it otherwise.
	dc.OnOpen(func() {
		if rw, err := dc.Detach(); err == nil {
			rw.Close()
		} else {
			dc.Close()
		}
		c.markChat()
	})
}

// attach makes dc the chat channel. It runs on pion's goroutine or the
// caller's, so it only posts; once the channel is open, chatOpened takes
// it.
func (c *Call) attach(dc *webrtc.DataChannel) {
	c.post(func() { c.dc = dc })
	dc.OnOpen(func() {
		rw, err := dc.Detach()
		if err != nil {
			c.logf("chat: detach: %v", err)
			dc.Close()
			return
		}
		c.markChat()
		c.post(func() { c.chatOpened(rw) })
	})
}

// chatOpened takes the open chat channel. It is read and written only
// once the peer's certificate has passed checkPeer: until then what the
// peer sends waits in SCTP's receive window, which bounds it.
func (c *Call) chatOpened(rw datachannel.ReadWriteCloser) {
	if c.finished {
		return // the connection, closing, closes rw
	}
	c.chatRW = rw
	if c.peerOK.Load() {
		c.startChat()
	}
}

// startChat starts reading the chat channel and sends what waited.
func (c *Call) startChat() {
	rw := c.chatRW
	c.chatRW = nil
	c.readers.Add(1)
	go c.readChat(rw)
	c.onOpen()
}

// maxIncoming is the largest message that can reach readChat: SCTP's
// receive window (1 MiB) and a packet, since a message is reassembled in
// it whole.
const maxIncoming = 1<<20 + 1500

// readChat reads the chat channel until it closes, handing each message
// to the call's goroutine, at most maxInboxBytes at a time.
func (c *Call) readChat(rw datachannel.ReadWriteCloser) {
	defer c.readers.Done()
	buf := make([]byte, sctpMaxMessage)
	for {
		n, isString, err := rw.ReadDataChannel(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			// Over what parley takes, but already whole in SCTP's buffer,
			// and in the way of every later message: read it and drop it.
			big := make([]byte, maxIncoming)
			if n, _, err = rw.ReadDataChannel(big); err == nil {
				c.markChat()
				c.post(func() { c.dropBig(n) })
				continue
			}
		}
		if err != nil {
			c.post(c.chatClosed)
			return
		}
		c.markChat()
		if c.inboxBytes.Add(int64(n)) > maxInboxBytes {
			c.inboxBytes.Add(-int64(n))
			c.post(func() { c.dropChat(1) })
			continue
		}
		data := bytes.Clone(buf[:n])
		c.post(func() {
			c.inboxBytes.Add(-int64(len(data)))
			c.onMessage(data, isString)
		})
	}
}

// dropBig says, once, that the peer sent a message larger than parley
// takes, and counts it dropped.
func (c *Call) dropBig(n int) {
	c.logf("chat: dropped a message of %d bytes", n)
	if !c.saidBig {
		c.saidBig = true
		c.emit(ErrorEvent{Err: ErrChatTooBig})
	}
}

// SetMuted tells the peer whether this side's microphone is muted, for
// its display (a PeerMutedEvent there); the audio itself is the caller's
// to mute. It never blocks.
func (c *Call) SetMuted(on bool) {
	c.post(func() {
		if on != c.muted {
			c.muted = on
			c.sendFrame(frame{typ: frameMute, muted: on})
		}
	})
}

func (c *Call) onOpen() {
	c.dcOpen = true
	c.progress = c.now()
	for _, f := range c.outbox {
		c.sendFrame(f)
	}
	c.outbox = nil
	c.advance()
}

func (c *Call) sendFrame(f frame) {
	if c.chatErr.Load() != nil {
		return
	}
	if !c.dcOpen {
		c.outbox = append(c.outbox, f)
		return
	}
	if err := c.dc.Send(f.marshal()); err != nil {
		c.logf("chat: send: %v", err)
	}
}

// chatClosed handles the chat channel closing. Once a hang-up has begun,
// or with the whole connection gone, it is the end of the call; otherwise
// the peer closed the chat alone, and the call goes on without it.
func (c *Call) chatClosed() {
	if c.finished {
		return
	}
	c.dcOpen = false
	if c.peerBye || c.hup != hupNone || c.transportClosed() {
		c.closedUnderneath()
		return
	}
	// The connection may be closing just behind the channel.
	c.after(chatCloseWait, func() {
		if c.transportClosed() {
			c.closedUnderneath()
		} else {
			c.chatUnusable(ErrChatClosed)
		}
	})
}

func (c *Call) transportClosed() bool {
	switch c.pc.SCTP().Transport().State() {
	case webrtc.DTLSTransportStateClosed, webrtc.DTLSTransportStateFailed:
		return true
	}
	return c.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
}

// hasChat says whether a session description has a data channel section
// that is not rejected (port 0).
func hasChat(desc webrtc.SessionDescription) bool {
	var s sdp.SessionDescription
	if s.UnmarshalString(desc.SDP) != nil {
		return false
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media == "application" && m.MediaName.Port.Value != 0 {
			return true
		}
	}
	return false
}

// checkPeerChat says once that the peer's app has no chat, if its
// session description has none.
func (c *Call) checkPeerChat(desc webrtc.SessionDescription) {
	if !hasChat(desc) {
		c.post(func() { c.chatUnusable(ErrNoChat) })
	}
}

// chatUnusable says once why chat is over, closes the channel, and fails
// what was never delivered. The call, and its audio, go on.
func (c *Call) chatUnusable(why error) {
	if c.finished || !c.chatErr.CompareAndSwap(nil, &why) {
		return
	}
	c.logf("chat: unusable: %v", why)
	c.emit(ErrorEvent{Err: why})
	c.outbox = nil
	c.dcOpen = false
	if c.dc != nil && why != ErrNoChat {
		dc := c.dc
		go dc.Close() // it may block on the association; nothing waits
	}
	c.advance()
}

// markChat notes that the association has just delivered something: a
// message, or a channel opening or closing. checkChatStall counts from
// here.
func (c *Call) markChat() {
	c.chatMark.Store(c.pc.SCTP().Stats().BytesReceived)
	c.lastMessage.Store(c.now().UnixNano())
}

// checkChatStall notices a peer message that can never arrive: SCTP
// reassembles a message whole, and one larger than its receive window
// (1 MiB) stops every later message for good. It runs once a second.
func (c *Call) checkChatStall() {
	got := c.pc.SCTP().Stats().BytesReceived
	grew := got - c.stallLast
	c.stallLast = got
	if c.chatErr.Load() != nil || !c.dcOpen {
		return
	}
	since := got - min(got, c.chatMark.Load())
	quiet := c.now().Sub(time.Unix(0, c.lastMessage.Load()))
	if since >= stallBytes && quiet >= stallQuiet && grew < stallGrowth {
		c.chatUnusable(ErrChatStuck)
	}
}

func (c *Call) onMessage(data []byte, isString bool) {
	if c.finished {
		return
	}
	if isString {
		if checkText(data) != nil {
			return
		}
		if c.admit(len(data)) {
			c.emitChat(ChatEvent{Text: string(data), At: c.now()})
		}
		return
	}
	f, err := parseFrame(data)
	if err != nil {
		c.logf("chat: dropped a malformed frame of %d bytes", len(data))
		return
	}
	switch f.typ {
	case frameMessage:
		c.progress = c.now() // the peer is still delivering
		if c.seen.has(f.id) {
			c.sendFrame(frame{typ: frameAck, id: f.id})
			return
		}
		if !c.admit(len(f.text)) {
			return // not acknowledged: the sender sees it undelivered
		}
		c.seen.add(f.id)
		c.sendFrame(frame{typ: frameAck, id: f.id})
		c.emitChat(ChatEvent{ID: f.id, Text: f.text, At: c.now()})
	case frameAck:
		c.progress = c.now()
		for i, id := range c.unacked {
			if id == f.id {
				c.unacked = append(c.unacked[:i], c.unacked[i+1:]...)
				c.emit(DeliveredEvent{ID: id})
				break
			}
		}
		c.advance()
	case frameMute:
		c.peerMuted = f.muted
		c.showMute()
	case frameBye:
		c.onBye()
	}
}

// admit says whether a message of n bytes from the peer can be shown: it
// is within the rate limit and the queue of unread messages has room.
func (c *Call) admit(n int) bool {
	if c.queuedChat+n+chatOverhead > maxQueuedChat || !c.chatLimit.AllowN(c.now(), n+chatOverhead) {
		c.dropChat(1)
		return false
	}
	return true
}

// dropChat counts the peer's messages dropped in a flood; the count is
// reported in one line once the flood pauses.
func (c *Call) dropChat(n int) {
	now := c.now()
	if c.dropped == 0 {
		c.dropFirst = now
	}
	c.dropped += n
	stopTimer(c.dropTimer)
	wait := min(dropQuiet, c.dropFirst.Add(dropReportMax).Sub(now))
	c.dropTimer = c.after(max(0, wait), c.reportDropped)
}

func (c *Call) reportDropped() {
	if c.dropped == 0 || c.finished {
		return
	}
	stopTimer(c.dropTimer)
	msg := "1 message from your peer was dropped: it came faster than it could be shown"
	if c.dropped > 1 {
		msg = fmt.Sprintf("%d messages from your peer were dropped: they came faster than they could be shown", c.dropped)
	}
	c.dropped = 0
	c.emit(ErrorEvent{Err: errors.New(msg)})
}

// showMute shows the peer's mute state, at most once per muteShowEvery;
// toggles in between show as their final state.
func (c *Call) showMute() {
	if c.muteTimer != nil {
		return // a showing is already due
	}
	now := c.now()
	wait := c.muteShownAt.Add(muteShowEvery).Sub(now)
	if wait > 0 {
		c.muteTimer = c.after(wait, func() {
			c.muteTimer = nil
			c.showMute()
		})
		return
	}
	if c.peerMuted != c.muteShown {
		c.muteShown, c.muteShownAt = c.peerMuted, now
		c.emit(PeerMutedEvent{Muted: c.peerMuted})
	}
}

// emitChat queues a chat event, counting it against maxQueuedChat until
// it is read.
func (c *Call) emitChat(e ChatEvent) {
	if !c.finished {
		c.queuedChat += len(e.Text) + chatOverhead
		c.pending = append(c.pending, e)
	}
}

// idSet remembers the last recentIDs message ids seen. Ids may come in any
// order and any size: none can make later messages look old.
type idSet struct {
	ring [recentIDs]uint64
	n    int
	set  map[uint64]struct{}
}

func (s *idSet) has(id uint64) bool {
	_, ok := s.set[id]
	return ok
}

func (s *idSet) add(id uint64) {
	if s.set == nil {
		s.set = make(map[uint64]struct{}, recentIDs)
	}
	i := s.n % recentIDs
	if s.n >= recentIDs {
		delete(s.set, s.ring[i])
	}
	s.ring[i] = id
	s.set[id] = struct{}{}
	s.n++
}
