package rtc

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The session template. Both sides run parley, so everything but the
// fields of a Code is fixed: one Opus audio section (mid 0) and one data
// channel section (mid 1), bundled. The a=ssrc lines matter: with several
// media sections pion delivers no remote audio without them.
const (
	opusPayloadType = 111
	opusFmtp        = "minptime=10;useinbandfec=1"
	sctpMaxMessage  = 65536
	streamID        = "parley"
	audioTrackID    = "audio"
)

// sdp rebuilds the session description the code was made from, but for
// the fingerprint: the code has only the first FingerprintLen bytes of
// it, which the a=fingerprint line carries as they are. pion does not
// check it (the call checks the peer's certificate itself: peercert.go).
func (c *Code) sdp() webrtc.SessionDescription {
	ufrag, pwd := c.ICECredentials()
	setup, typ := "actpass", webrtc.SDPTypeOffer
	if c.Kind == KindAnswer {
		setup, typ = "active", webrtc.SDPTypeAnswer
	}
	fp := strings.ToUpper(hex.EncodeToString(c.Fingerprint[:]))
	var colon strings.Builder
	for i := 0; i < len(fp); i += 2 {
		if i > 0 {
			colon.WriteByte(':')
		}
		colon.WriteString(fp[i : i+2])
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("v=0")
	ssrc := c.SSRC()
	w("o=- %d 2 IN IP4 0.0.0.0", ssrc)
	w("s=-")
	w("t=0 0")
	w("a=fingerprint:sha-256 %s", colon.String())
	w("a=group:BUNDLE 0 1")
	w("a=msid-semantic:WMS *")
	w("m=audio 9 UDP/TLS/RTP/SAVPF %d", opusPayloadType)
	w("c=IN IP4 0.0.0.0")
	w("a=setup:%s", setup)
	w("a=mid:0")
	w("a=ice-ufrag:%s", ufrag)
	w("a=ice-pwd:%s", pwd)
	w("a=rtcp-mux")
	w("a=rtpmap:%d opus/48000/2", opusPayloadType)
	w("a=fmtp:%d %s", opusPayloadType, opusFmtp)
	w("a=ssrc:%d cname:%s", ssrc, streamID)
	w("a=ssrc:%d msid:%s %s", ssrc, streamID, audioTrackID)
	w("a=msid:%s %s", streamID, audioTrackID)
	w("a=sendrecv")
	for i, cand := range c.Candidates {
		w("a=candidate:%s", candidateLine(i, cand))
	}
	w("a=end-of-candidates")
	w("m=application 9 UDP/DTLS/SCTP webrtc-datachannel")
	w("c=IN IP4 0.0.0.0")
	w("a=setup:%s", setup)
	w("a=mid:1")
	w("a=ice-ufrag:%s", ufrag)
	w("a=ice-pwd:%s", pwd)
	w("a=sctp-port:5000")
	w("a=max-message-size:%d", sctpMaxMessage)
	return webrtc.SessionDescription{Type: typ, SDP: b.String()}
}

// candidateLine writes a candidate attribute value (RFC 8839, 5.1) with
// the priority of RFC 8445, 5.1.2.1, keeping the code's order.
func candidateLine(i int, c Candidate) string {
	prio := c.Type.typePreference()<<24 | uint32(65535-i)<<8 | 255
	line := fmt.Sprintf("%d 1 udp %d %s %d typ %s", i+1, prio, c.Addr.Addr().Unmap(), c.Addr.Port(), c.Type)
	if c.Type != CandidateHost {
		line += " raddr 0.0.0.0 rport 0"
	}
	return line
}

// codeFromSDP makes a compact code of a local session description that
// pion produced from the template's settings. It fails when the session
// does not fit the template.
func codeFromSDP(kind Kind, secret [SecretLen]byte, desc *webrtc.SessionDescription) (*Code, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(desc.SDP); err != nil {
		return nil, fmt.Errorf("parse local session: %w", err)
	}
	c := &Code{Kind: kind, Secret: secret}
	if len(s.MediaDescriptions) != 2 ||
		s.MediaDescriptions[0].MediaName.Media != "audio" ||
		s.MediaDescriptions[1].MediaName.Media != "application" {
		return nil, fmt.Errorf("local session has an unexpected shape")
	}
	ufrag, pwd := iceCredentials(secret)
	fingerprint, haveFP := s.Attribute("fingerprint")
	var ssrc uint32
	var haveSSRC bool
	for i, m := range s.MediaDescriptions {
		if mid, _ := m.Attribute("mid"); mid != fmt.Sprint(i) {
			return nil, fmt.Errorf("local session has mid %q at %d", mid, i)
		}
		if u, ok := m.Attribute("ice-ufrag"); ok && u != ufrag {
			return nil, fmt.Errorf("local session has unexpected ICE credentials")
		}
		if p, ok := m.Attribute("ice-pwd"); ok && p != pwd {
			return nil, fmt.Errorf("local session has unexpected ICE credentials")
		}
		if f, ok := m.Attribute("fingerprint"); ok {
			fingerprint, haveFP = f, true
		}
		for _, a := range m.Attributes {
			switch a.Key {
			case "ssrc":
				if !haveSSRC {
					if _, err := fmt.Sscan(a.Value, &ssrc); err == nil {
						haveSSRC = true
					}
				}
			case "rtpmap":
				if !strings.HasPrefix(a.Value, fmt.Sprintf("%d opus/48000", opusPayloadType)) {
					return nil, fmt.Errorf("local session has codec %q", a.Value)
				}
			case "candidate":
				if cand, ok := parseCandidate(a.Value); ok {
					c.Candidates = append(c.Candidates, cand)
				}
			}
		}
	}
	if !haveFP || !haveSSRC {
		return nil, fmt.Errorf("local session lacks a fingerprint or an SSRC")
	}
	if ssrc != ssrcOf(secret) {
		return nil, fmt.Errorf("local session has an unexpected SSRC")
	}
	hash, hexfp, _ := strings.Cut(fingerprint, " ")
	raw, err := hex.DecodeString(strings.ReplaceAll(hexfp, ":", ""))
	if !strings.EqualFold(hash, "sha-256") || err != nil || len(raw) != sha256.Size {
		return nil, fmt.Errorf("local session has fingerprint %q", fingerprint)
	}
	copy(c.Fingerprint[:], raw)
	c.Candidates = pickCandidates(c.Candidates)
	if len(c.Candidates) == 0 {
		return nil, ErrNoAddress
	}
	return c, nil
}

// parseCandidate keeps component-1 UDP candidates with an IP address.
func parseCandidate(value string) (Candidate, bool) {
	ic, err := ice.UnmarshalCandidate(value)
	if err != nil || ic.Component() != 1 || !ic.NetworkType().IsUDP() {
		return Candidate{}, false
	}
	addr, err := netip.ParseAddr(ic.Address())
	if err != nil || ic.Port() < 1 || ic.Port() > 65535 {
		return Candidate{}, false
	}
	var t CandidateType
	switch ic.Type() {
	case ice.CandidateTypeHost:
		t = CandidateHost
	case ice.CandidateTypeServerReflexive:
		t = CandidateSrflx
	case ice.CandidateTypeRelay:
		t = CandidateRelay
	case ice.CandidateTypePeerReflexive:
		t = CandidatePrflx
	default:
		return Candidate{}, false
	}
	return Candidate{Type: t, Addr: netip.AddrPortFrom(addr.Unmap(), uint16(ic.Port()))}, true
}

// pickCandidates chooses what a code carries of the candidates pion
// gathered (on the addresses hostAddrs chose): best first, by ICE type
// preference (host, server-reflexive, relay) and then IPv4 before IPv6,
// keeping pion's order otherwise; without link-local addresses, and
// without duplicates: a second candidate at an address and port already
// kept, or a server-reflexive one at the address of a host candidate (a
// machine with a public address, where STUN only says it again). At most
// maxCandidates are kept.
func pickCandidates(cs []Candidate) []Candidate {
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b Candidate) int {
		if c := cmp.Compare(b.Type.typePreference(), a.Type.typePreference()); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(a.Addr.Addr().Is6()), boolInt(b.Addr.Addr().Is6()))
	})
	hosts := map[netip.Addr]bool{}
	for _, c := range sorted {
		if c.Type == CandidateHost {
			hosts[c.Addr.Addr().Unmap()] = true
		}
	}
	var out []Candidate
	for _, c := range sorted {
		ip := c.Addr.Addr().Unmap()
		switch {
		case ip.IsLinkLocalUnicast(), !ip.IsValid():
		case slices.ContainsFunc(out, func(o Candidate) bool { return o.Addr == c.Addr }):
		case c.Type == CandidateSrflx && hosts[ip]:
		default:
			out = append(out, c)
		}
	}
	if len(out) > maxCandidates {
		out = out[:maxCandidates]
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// encodeSDPForm returns the standard form of a session description: the
// base64 of its JSON, as browsers and pion's examples exchange it.
func encodeSDPForm(desc *webrtc.SessionDescription) string {
	j, _ := json.Marshal(desc)
	return base64.StdEncoding.EncodeToString(j)
}

// decodeSDPForm parses the standard form, tolerating white space.
func decodeSDPForm(s string) (webrtc.SessionDescription, error) {
	var desc webrtc.SessionDescription
	s = strings.Join(strings.Fields(s), "")
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return desc, err
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		return desc, err
	}
	if desc.Type != webrtc.SDPTypeOffer && desc.Type != webrtc.SDPTypeAnswer || !strings.HasPrefix(desc.SDP, "v=0") {
		return desc, fmt.Errorf("not an offer or answer")
	}
	return desc, nil
}

// parseDescription accepts either form of code and returns the session
// description it stands for. code is nil for the standard form.
func parseDescription(pasted string, want Kind) (webrtc.SessionDescription, *Code, error) {
	s, err := cleanPaste(pasted)
	if err != nil {
		return webrtc.SessionDescription{}, nil, err
	}
	if !looksLikeCode(strings.ToUpper(s)) {
		if desc, err := decodeSDPForm(s); err == nil {
			wantType := webrtc.SDPTypeOffer
			if want == KindAnswer {
				wantType = webrtc.SDPTypeAnswer
			}
			if desc.Type != wantType {
				return desc, nil, codeErr("this session description is an %s; paste the %s your peer sent", desc.Type, want)
			}
			return desc, nil, nil
		}
	}
	c, err := ParseCode(s, want)
	if err != nil {
		return webrtc.SessionDescription{}, nil, err
	}
	return c.sdp(), c, nil
}
