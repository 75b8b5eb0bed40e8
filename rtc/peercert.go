package rtc

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"strings"

	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The peer's DTLS certificate is checked by the call, not by pion: a
// compact code carries only the first FingerprintLen bytes of its hash,
// and pion compares whole fingerprints in the handshake, so its check is
// off (newPeerConnection). The call checks once the connection is up
// (checkPeer, against the certificate the handshake presented), and until
// the check has passed nothing the peer sends is shown or played and
// nothing is sent: the chat channel is not read nor written (chatOpened),
// the peer's audio is dropped (onTrack), this side's audio is not sent
// (WriteAudio), and the call is not yet connected. A certificate that does
// not match ends the call as a failed handshake did: "the connection
// failed".

// certCheck is what the peer's certificate must match: the first bytes
// of its SHA-256 hash (a compact code), or the fingerprint of a session
// description in the standard form. The zero value matches nothing.
type certCheck struct {
	prefix []byte
	// algorithm and value are the standard form's fingerprint, as in
	// a=fingerprint.
	algorithm, value string
}

// certCheckOf returns what a peer's certificate must match: the code's
// fingerprint where the peer sent a compact code, else the session
// description's.
func certCheckOf(desc webrtc.SessionDescription, code *Code) certCheck {
	if code != nil {
		return certCheck{prefix: bytes.Clone(code.Fingerprint[:])}
	}
	var s sdp.SessionDescription
	if s.UnmarshalString(desc.SDP) != nil {
		return certCheck{}
	}
	alg, value, ok := strings.Cut(sdpFingerprint(&s), " ")
	if !ok {
		return certCheck{}
	}
	return certCheck{algorithm: alg, value: value}
}

// sdpFingerprint returns the fingerprint attribute that pion takes from a
// session description: the session's, else that of the first section of
// the BUNDLE group, else the first section's that has one.
func sdpFingerprint(s *sdp.SessionDescription) string {
	if fp, ok := s.Attribute("fingerprint"); ok {
		return fp
	}
	group, _ := s.Attribute(sdp.AttrKeyGroup)
	if f := strings.Fields(group); len(f) >= 2 && f[0] == "BUNDLE" {
		for _, m := range s.MediaDescriptions {
			if mid, _ := m.Attribute(sdp.AttrKeyMID); mid == f[1] {
				fp, _ := m.Attribute("fingerprint")
				return fp
			}
		}
		return ""
	}
	for _, m := range s.MediaDescriptions {
		if fp, ok := m.Attribute("fingerprint"); ok {
			return fp
		}
	}
	return ""
}

// matches reports whether cert, a DER certificate, is the one the check
// names.
func (k certCheck) matches(cert []byte) bool {
	if len(cert) == 0 {
		return false
	}
	if k.prefix != nil {
		sum := sha256.Sum256(cert)
		return len(k.prefix) >= FingerprintLen && bytes.Equal(sum[:len(k.prefix)], k.prefix)
	}
	hash, err := fingerprint.HashFromString(k.algorithm)
	if err != nil {
		return false
	}
	parsed, err := x509.ParseCertificate(cert)
	if err != nil {
		return false
	}
	got, err := fingerprint.Fingerprint(parsed, hash)
	return err == nil && strings.EqualFold(got, k.value)
}

// expectPeer records what the peer's certificate must match, before its
// session description is applied.
func (c *Call) expectPeer(desc webrtc.SessionDescription, code *Code) {
	k := certCheckOf(desc, code)
	c.post(func() { c.peerCert = k })
}

// checkPeer checks the certificate the peer presented against its code,
// once, when the connection is first up. It fails the call where they do
// not match; where they do, the call goes ahead: chat opens if its channel
// already has. It reports whether the peer is the one its code names.
func (c *Call) checkPeer() bool {
	if c.peerOK.Load() {
		return true
	}
	if !c.peerCert.matches(c.pc.SCTP().Transport().GetRemoteCertificate()) {
		c.logf("dtls: the peer's certificate is not the one its code names")
		c.fail("the connection failed")
		return false
	}
	c.peerOK.Store(true)
	if c.chatRW != nil {
		c.startChat()
	}
	return true
}
