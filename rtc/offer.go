package rtc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// A session description in the standard form comes from whatever stack the
// peer runs, and from whoever holds the invite: it is checked before
// parley answers it (Join) or applies it (Accept). What parley takes from
// an offer is one Opus audio section and one data channel, bundled on one
// transport; it needs at least one of them. Every other section (more
// audio, video, a second data channel) is rejected in the answer with
// port 0 (RFC 8829, 5.3.1), so that the peer knows not to send on it.
//
// The refusals are worded for the user, as a *CodeError.
var (
	errOfferUnreadable = codeErr("this invite's session description cannot be read; ask your peer for a new invite")
	errOfferNoMid      = codeErr("this invite does not give each media section an id of its own (a=mid), which parley needs; ask your peer to invite from an up-to-date WebRTC app")
	errOfferOddMedia   = codeErr("this invite has a kind of media section parley does not know; ask your peer to invite with only audio and a data channel")
	errOfferVideoOnly  = codeErr("this invite offers only video, and parley has no video; ask your peer to invite with audio or a data channel for chat")
	errOfferNoOpus     = codeErr("this invite's audio is not Opus and it has no data channel for chat; ask your peer to offer Opus audio or a data channel")
	errOfferNothing    = codeErr("this invite offers neither audio nor a data channel for chat; ask your peer to invite with Opus audio or a data channel")
	errOfferNoBundle   = codeErr("this invite does not bundle its media on one connection (no BUNDLE group), which parley needs; ask your peer to set their app's bundle policy to max-bundle")

	errAnswerUnreadable = codeErr("this answer's session description cannot be read; ask your peer to answer your invite again")
	errAnswerNoMid      = codeErr("this answer does not give each media section an id of its own (a=mid), which parley needs; ask your peer to answer from an up-to-date WebRTC app")
	errAnswerNoBundle   = codeErr("this answer does not bundle its media on one connection (no BUNDLE group), which parley needs; ask your peer to set their app's bundle policy to max-bundle")
	errAnswerNoOpus     = codeErr("this answer picks audio other than the Opus your invite offered; ask your peer to answer from an app with Opus audio")
	errAnswerNothing    = codeErr("this answer takes neither the audio nor the chat of your invite; ask your peer to answer from an app with Opus audio or a data channel")
)

// offerPlan is what parley answers of an offer: the mids of the audio and
// the data channel section it takes ("" for none), those it rejects, and
// every mid in the offer's order.
type offerPlan struct {
	audio, data string
	reject      []string
	mids        []string
	// sendOnly is set when the peer only sends the audio it offers.
	sendOnly bool
}

// planOffer checks an offer and says which of its sections parley takes.
// It fails, with one line for the user, when parley can use none of them
// or the offer does not bundle them.
func planOffer(desc webrtc.SessionDescription) (offerPlan, error) {
	var plan offerPlan
	var s sdp.SessionDescription
	if err := s.UnmarshalString(desc.SDP); err != nil || len(s.MediaDescriptions) == 0 {
		return plan, errOfferUnreadable
	}
	// nonOpus: an audio section in use without Opus.
	var nonOpus, sawVideo bool
	seen := map[string]bool{}
	for _, m := range s.MediaDescriptions {
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		if mid == "" || seen[mid] {
			return plan, errOfferNoMid
		}
		seen[mid] = true
		plan.mids = append(plan.mids, mid)
		take := false
		switch m.MediaName.Media {
		case "audio":
			dir := direction(m, &s)
			inUse := m.MediaName.Port.Value != 0 && dir != "inactive"
			if take = plan.audio == "" && inUse && hasOpus(m); take {
				plan.audio, plan.sendOnly = mid, dir == "sendonly"
			}
			nonOpus = nonOpus || inUse && !hasOpus(m)
		case "video":
			sawVideo = true
		case "application":
			if take = plan.data == "" && m.MediaName.Port.Value != 0 && isDataChannel(m); take {
				plan.data = mid
			}
		default:
			return plan, errOfferOddMedia
		}
		if !take {
			plan.reject = append(plan.reject, mid)
		}
	}
	switch {
	case plan.audio != "" || plan.data != "":
	case nonOpus:
		return plan, errOfferNoOpus
	case sawVideo:
		return plan, errOfferVideoOnly
	default:
		return plan, errOfferNothing
	}
	if !bundles(&s, plan.audio, plan.data) {
		return plan, errOfferNoBundle
	}
	return plan, nil
}

// checkAnswer checks an answer to parley's offer (one Opus audio section
// and one data channel section, mids given in order) before it is
// applied: it must have the offer's sections, bundle what it takes, take
// at least one of the two, and take the audio as Opus. audio says whether
// it takes the audio.
func checkAnswer(desc webrtc.SessionDescription, offered []string) (audio bool, err error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(desc.SDP); err != nil || len(s.MediaDescriptions) == 0 {
		return false, errAnswerUnreadable
	}
	if len(s.MediaDescriptions) != len(offered) {
		return false, ErrWrongInvite
	}
	var audioMid, dataMid string
	for i, m := range s.MediaDescriptions {
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		switch {
		case m.MediaName.Port.Value == 0:
			continue
		case mid == "":
			return false, errAnswerNoMid
		case mid != offered[i]:
			return false, ErrWrongInvite
		}
		switch m.MediaName.Media {
		case "audio":
			if !hasOpus(m) {
				return false, errAnswerNoOpus
			}
			audioMid = mid
		case "application":
			dataMid = mid
		}
	}
	if audioMid == "" && dataMid == "" {
		return false, errAnswerNothing
	}
	if !bundles(&s, audioMid, dataMid) {
		return false, errAnswerNoBundle
	}
	return audioMid != "", nil
}

// withoutAudio returns an answer that rejects parley's audio section, to
// be applied in its place; offered are the mids of parley's offer. pion cannot apply such an answer as it stands:
// a sender whose section is rejected without a codec fails to start
// ("unable to start track, codec is not supported by remote"), and the
// connection with it. The section stays rejected (port 0) but names Opus
// and its mid, so the sender starts, and is then stopped; pion's own
// rejection also keeps the transport's candidates there, which move to
// the first section of the BUNDLE group.
func withoutAudio(answer webrtc.SessionDescription, offered []string) webrtc.SessionDescription {
	var s sdp.SessionDescription
	if s.UnmarshalString(answer.SDP) != nil {
		return answer
	}
	t, ok := splitSDP(answer.SDP, len(offered))
	if !ok {
		return answer
	}
	_, group := t.bundle()
	for i, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value != 0 {
			continue
		}
		// The answer's sections are in the offer's order; pion's own
		// rejection carries no mid.
		mid := offered[i]
		if len(group) > 0 {
			t.moveTransport(i, slices.Index(offered, group[0]))
		}
		rest := slices.DeleteFunc(slices.Clone(t.media[i][1:]), func(l string) bool {
			return strings.HasPrefix(l, "a=mid:") || strings.HasPrefix(l, "a=rtpmap:") || strings.HasPrefix(l, "a=fmtp:") ||
				strings.HasPrefix(l, "a=sendrecv") || strings.HasPrefix(l, "a=sendonly") || strings.HasPrefix(l, "a=recvonly") || strings.HasPrefix(l, "a=inactive")
		})
		t.media[i] = append([]string{fmt.Sprintf("m=audio 0 UDP/TLS/RTP/SAVPF %d%s", opusPayloadType, t.eol)}, rest...)
		t.media[i] = append(t.media[i],
			"a=mid:"+mid+t.eol,
			fmt.Sprintf("a=rtpmap:%d opus/48000/2%s", opusPayloadType, t.eol),
			"a=inactive"+t.eol)
		break
	}
	answer.SDP = t.String()
	return answer
}

// mids returns the mids of a session description's media sections, in
// order.
func mids(desc *webrtc.SessionDescription) []string {
	var s sdp.SessionDescription
	if desc == nil || s.UnmarshalString(desc.SDP) != nil {
		return nil
	}
	var out []string
	for _, m := range s.MediaDescriptions {
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		out = append(out, mid)
	}
	return out
}

// bundles reports whether the session has a BUNDLE group (RFC 9143) with
// each of the mids that are not "".
func bundles(s *sdp.SessionDescription, mids ...string) bool {
	for _, a := range s.Attributes {
		tags, ok := strings.CutPrefix(a.Value, "BUNDLE ")
		if a.Key != sdp.AttrKeyGroup || !ok {
			continue
		}
		group := strings.Fields(tags)
		for _, mid := range mids {
			if mid != "" && !slices.Contains(group, mid) {
				return false
			}
		}
		return true
	}
	return false
}

// hasOpus reports whether a media section offers Opus at 48 kHz, stereo
// signalled (RFC 7587, 7).
func hasOpus(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, codec, ok := strings.Cut(a.Value, " ")
		if ok && strings.EqualFold(codec, "opus/48000/2") && slices.Contains(m.MediaName.Formats, pt) {
			return true
		}
	}
	return false
}

// isDataChannel reports whether an application section is an SCTP data
// channel: in the current format (RFC 8841), or in the older one that
// aiortc still offers ("DTLS/SCTP 5000" with a=sctpmap).
func isDataChannel(m *sdp.MediaDescription) bool {
	if !strings.HasSuffix(strings.Join(m.MediaName.Protos, "/"), "DTLS/SCTP") {
		return false
	}
	if slices.Contains(m.MediaName.Formats, "webrtc-datachannel") {
		return true
	}
	for _, a := range m.Attributes {
		if a.Key == "sctpmap" && strings.Contains(a.Value, "webrtc-datachannel") {
			return true
		}
	}
	return false
}

// direction returns a media section's direction attribute, or else its
// session's, or else sendrecv (RFC 8866, 6.7).
func direction(m *sdp.MediaDescription, s *sdp.SessionDescription) string {
	for _, attrs := range [][]sdp.Attribute{m.Attributes, s.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				return a.Key
			}
		}
	}
	return "sendrecv"
}

// bindAudio ties the call's own audio transceiver to the offer's audio
// section before the offer is applied. Left to itself, pion would give it
// to the first audio section of a matching direction, even one the plan
// rejects, and then fail the answer ("RTPSender created with no codecs")
// where that section has no Opus. With no audio to answer, or audio the
// peer only sends, it is stopped instead: pion then answers the section
// with a receiver of its own.
func (c *Call) bindAudio(plan offerPlan) error {
	tr := c.ownAudio()
	if tr == nil {
		return nil
	}
	if plan.audio == "" || plan.sendOnly {
		return tr.Stop()
	}
	return tr.SetMid(plan.audio)
}

// ownAudio returns the transceiver that sends the call's audio track.
func (c *Call) ownAudio() *webrtc.RTPTransceiver {
	for _, tr := range c.pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() == c.audio {
			return tr
		}
	}
	return nil
}

// stopRejected stops the transceivers pion made for the sections the
// plan rejects, once the offer is applied, so that nothing is sent or
// received on them.
func (c *Call) stopRejected(plan offerPlan) error {
	for _, tr := range c.pc.GetTransceivers() {
		if mid := tr.Mid(); mid != "" && slices.Contains(plan.reject, mid) {
			if err := tr.Stop(); err != nil {
				return fmt.Errorf("reject section %q: %w", mid, err)
			}
		}
	}
	return nil
}

// unbundle returns the offer with the plan's rejected sections left out
// of its BUNDLE group, to be applied in its place. pion answers a section
// outside the group with port 0, a rejection as RFC 9143 has it, and
// allows no change to its own answer; a stopped transceiver alone is only
// answered a=inactive, which the peer may still take as bundled. Where
// the first section of the group, whose candidates are the transport's,
// is rejected, its candidates move to the new first.
func (plan offerPlan) unbundle(offer webrtc.SessionDescription) webrtc.SessionDescription {
	if len(plan.reject) == 0 {
		return offer
	}
	t, ok := splitSDP(offer.SDP, len(plan.mids))
	if !ok {
		return offer
	}
	at, group := t.bundle()
	if at < 0 || len(group) == 0 {
		return offer
	}
	kept := slices.DeleteFunc(slices.Clone(group), func(mid string) bool { return slices.Contains(plan.reject, mid) })
	t.session[at] = "a=group:BUNDLE " + strings.Join(kept, " ") + t.eol
	if len(kept) > 0 && kept[0] != group[0] {
		t.moveTransport(slices.Index(plan.mids, group[0]), slices.Index(plan.mids, kept[0]))
	}
	offer.SDP = t.String()
	return offer
}

// finishAnswer mends pion's answer to an offer with rejected sections
// before it goes to the peer (pion allows no change to the description it
// holds, but the peer's copy can be put right). pion writes its
// candidates into the first section even when that one is rejected, where
// a peer that bundles does not look for them: they move to the first
// section of the BUNDLE group. A section pion rejects for want of a codec
// has no a=mid: it gets the offer's.
func (plan offerPlan) finishAnswer(answer *webrtc.SessionDescription) *webrtc.SessionDescription {
	if len(plan.reject) == 0 {
		return answer
	}
	t, ok := splitSDP(answer.SDP, len(plan.mids))
	if !ok {
		return answer
	}
	for i, m := range t.media {
		if f := strings.Fields(m[0]); len(f) >= 2 && f[1] == "0" && !slices.ContainsFunc(m, func(l string) bool { return strings.HasPrefix(l, "a=mid:") }) {
			t.media[i] = append(m, "a=mid:"+plan.mids[i]+t.eol)
		}
	}
	if _, group := t.bundle(); len(group) > 0 && group[0] != plan.mids[0] {
		t.moveTransport(0, slices.Index(plan.mids, group[0]))
	}
	return &webrtc.SessionDescription{Type: answer.Type, SDP: t.String()}
}

// sdpText is a session description as lines, split into the session part
// and the media sections, for small edits that keep every other line as
// it is.
type sdpText struct {
	eol     string
	session []string
	media   [][]string
}

// splitSDP splits a session description that has n media sections.
func splitSDP(s string, n int) (sdpText, bool) {
	t := sdpText{eol: "\r\n"}
	if !strings.Contains(s, "\r\n") {
		t.eol = "\n"
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "m="):
			t.media = append(t.media, []string{line})
		case len(t.media) == 0:
			t.session = append(t.session, line)
		default:
			t.media[len(t.media)-1] = append(t.media[len(t.media)-1], line)
		}
	}
	return t, len(t.media) == n
}

func (t sdpText) String() string {
	var b strings.Builder
	for _, sec := range append([][]string{t.session}, t.media...) {
		for _, line := range sec {
			b.WriteString(line)
		}
	}
	return b.String()
}

// bundle returns the index of the session's BUNDLE group line and its
// mids, or -1.
func (t sdpText) bundle() (int, []string) {
	for i, line := range t.session {
		if tags, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=group:BUNDLE "); ok {
			return i, strings.Fields(tags)
		}
	}
	return -1, nil
}

// moveTransport moves the candidates of media section from to section
// to, and copies the ICE credentials where to has none.
func (t sdpText) moveTransport(from, to int) {
	if from < 0 || to < 0 || from == to {
		return
	}
	has := func(prefix string) bool {
		return slices.ContainsFunc(t.media[to], func(l string) bool { return strings.HasPrefix(l, prefix) })
	}
	var kept, moved []string
	for _, line := range t.media[from] {
		switch {
		case strings.HasPrefix(line, "a=candidate:"), strings.HasPrefix(line, "a=end-of-candidates"):
			moved = append(moved, line)
			continue
		case strings.HasPrefix(line, "a=ice-ufrag:") && !has("a=ice-ufrag:"),
			strings.HasPrefix(line, "a=ice-pwd:") && !has("a=ice-pwd:"):
			moved = append(moved, line)
		}
		kept = append(kept, line)
	}
	t.media[from] = kept
	t.media[to] = append(t.media[to], moved...)
}
