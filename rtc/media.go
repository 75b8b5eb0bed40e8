package rtc

import (
	"errors"
	"io"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// AudioReceiver takes the peer's audio packets as they arrive, with their
// arrival time on the call's clock (Config.Clock). It is called on the
// call's receive goroutine and must not block.
type AudioReceiver func(pkt *rtp.Packet, arrival time.Time)

// SetAudioReceiver sets where the peer's audio packets go; nil drops them.
func (c *Call) SetAudioReceiver(r AudioReceiver) {
	if r == nil {
		c.audioRecv.Store(nil)
		return
	}
	c.audioRecv.Store(&r)
}

// WriteAudio sends one Opus RTP packet. The caller sets the sequence
// number, timestamp (48 kHz) and marker; the SSRC and payload type are the
// call's.
func (c *Call) WriteAudio(pkt *rtp.Packet) error {
	if !c.peerOK.Load() {
		// Nothing goes out before the peer is known to be the one its
		// code names (checkPeer).
		if c.ended.Load() {
			return ErrCallEnded
		}
		return nil
	}
	err := c.audio.WriteRTP(pkt)
	if errors.Is(err, io.ErrClosedPipe) {
		return ErrCallEnded
	}
	return err
}

// onTrack reads the peer's audio until the connection closes. A call has
// one audio stream: the first audio track of the section negotiated for
// audio (or of a transceiver pion made for an SSRC the offer did not
// declare, which has no section). Any other track the peer gets pion to
// open, on another SSRC, on a section parley rejected, or of video, is
// left unread: pion buffers at most 1 MB of it and drops the rest, and no
// goroutine waits on it.
func (c *Call) onTrack(track *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeAudio || !c.isCallAudio(rx) || !c.audioTrack.CompareAndSwap(nil, track) {
		c.logf("media: ignoring an extra %s stream from the peer (SSRC %d)", track.Kind(), track.SSRC())
		return
	}
	c.readers.Add(1)
	go func() {
		defer c.readers.Done()
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			// Nothing is played before the peer's certificate is checked.
			if r := c.audioRecv.Load(); r != nil && c.peerOK.Load() {
				(*r)(pkt, c.now())
			}
		}
	}()
}

// isCallAudio reports whether rx belongs to the call's audio section, or
// to a transceiver with no section.
func (c *Call) isCallAudio(rx *webrtc.RTPReceiver) bool {
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Receiver() == rx {
			return tr.Mid() == "" || tr.Mid() == audioMid(c.pc.LocalDescription())
		}
	}
	return false
}

// audioMid returns the mid of the first audio section a local description
// does not reject, or "".
func audioMid(desc *webrtc.SessionDescription) string {
	var s sdp.SessionDescription
	if desc == nil || s.UnmarshalString(desc.SDP) != nil {
		return ""
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			mid, _ := m.Attribute(sdp.AttrKeyMID)
			return mid
		}
	}
	return ""
}

// readRTCP drains the sender's RTCP so that pion's interceptors see the
// peer's receiver reports (loss and round-trip time for Stats).
func (c *Call) readRTCP(s *webrtc.RTPSender) {
	c.readers.Add(1)
	go func() {
		defer c.readers.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := s.Read(buf); err != nil {
				return
			}
		}
	}()
}

// MediaStats are the call's transport counters, from pion's statistics.
type MediaStats struct {
	// RTT is the round-trip time of the selected candidate pair.
	RTT time.Duration
	// PeerFractionLost is the fraction of our audio the peer reported
	// lost in its latest receiver report.
	PeerFractionLost float64
	// PacketsReceived and PacketsLost count the peer's audio packets.
	PacketsReceived uint32
	PacketsLost     int32
	// Jitter is the interarrival jitter of the peer's audio (RFC 3550).
	Jitter time.Duration
	// BytesSent and BytesReceived count transport bytes, chat included.
	BytesSent, BytesReceived uint64
	// AudioBytesSent and AudioBytesReceived count RTP payload bytes.
	AudioBytesSent, AudioBytesReceived uint64
}

// Stats returns the current transport counters.
func (c *Call) Stats() MediaStats {
	var m MediaStats
	// pion's GetStats races its Close (statsGetter, unlocked): the call's
	// own Close never overlaps it, and the one pion starts itself on the
	// peer's close_notify has marked the signalling state closed before
	// it gets there. (Only a read in the instant between stays open.)
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	if c.pcClosed || c.pc.SignalingState() == webrtc.SignalingStateClosed {
		return m
	}
	var heard webrtc.StatsTimestamp // the pair in use: after a move (roam.go), the old one stays nominated
	for _, s := range c.pc.GetStats() {
		switch s := s.(type) {
		case webrtc.ICECandidatePairStats:
			// Bytes are counted on every pair, so that they only grow
			// when the path moves to another.
			m.BytesSent += s.BytesSent
			m.BytesReceived += s.BytesReceived
			if s.Nominated && s.LastPacketReceivedTimestamp >= heard {
				heard = s.LastPacketReceivedTimestamp
				m.RTT = seconds(s.CurrentRoundTripTime)
			}
		case webrtc.InboundRTPStreamStats:
			m.PacketsReceived, m.PacketsLost = s.PacketsReceived, s.PacketsLost
			m.Jitter = seconds(s.Jitter)
			m.AudioBytesReceived = s.BytesReceived
		case webrtc.OutboundRTPStreamStats:
			m.AudioBytesSent = s.BytesSent
		case webrtc.RemoteInboundRTPStreamStats:
			m.PeerFractionLost = s.FractionLost
			if m.RTT == 0 {
				m.RTT = seconds(s.RoundTripTime)
			}
		}
	}
	return m
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// statsInterval is how often a StatsEvent comes.
const statsInterval = time.Second

// sampleStats emits a StatsEvent from the change since the last sample.
func (c *Call) sampleStats() {
	if c.finished || c.state != StateConnected && c.state != StateDisconnected {
		return
	}
	c.checkChatStall()
	c.checkPath()
	now, m := c.now(), c.Stats()
	if prev := c.lastStats; !c.lastStatsAt.IsZero() {
		dt := now.Sub(c.lastStatsAt).Seconds()
		e := StatsEvent{RTT: m.RTT, LossOut: m.PeerFractionLost, Jitter: m.Jitter}
		if dt > 0 {
			e.BitrateIn = int(float64(m.BytesReceived-prev.BytesReceived) * 8 / dt)
			e.BitrateOut = int(float64(m.BytesSent-prev.BytesSent) * 8 / dt)
		}
		got := int64(m.PacketsReceived) - int64(prev.PacketsReceived)
		lost := int64(m.PacketsLost) - int64(prev.PacketsLost)
		if got+lost > 0 && lost > 0 {
			e.LossIn = float64(lost) / float64(got+lost)
		}
		c.emit(e)
	}
	c.lastStats, c.lastStatsAt = m, now
	c.statsTimer = c.after(statsInterval, c.sampleStats)
}
