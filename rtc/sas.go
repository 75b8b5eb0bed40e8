package rtc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Safety words are a short authentication string (like ZRTP's SAS) that
// both people read aloud to check that nobody sits between them.
//
// Each side takes the SHA-256 fingerprints of the two DTLS certificates
// as it sees them on the live connection — its own, and the one the peer
// presented in the handshake — orders them bytewise, hashes
// "parley safety words\x00" || lower || higher with SHA-256, and reads the
// first five bytes (40 bits) as five words of the PGP word list
// (pgpwords.go): the first, third and fifth from the even list, the
// second and fourth from the odd one. A man in the middle who swapped the
// codes holds two DTLS sessions with two certificates of his own, so the
// two sides hash different pairs and see different words; to make them
// match he would have to find certificates colliding in 40 bits while the
// call is being set up.

// safetyWordCount is how many words the safety words are: 40 bits.
const safetyWordCount = 5

// SafetyWords derives the five words from two certificate fingerprints.
func SafetyWords(a, b [sha256.Size]byte) string {
	lo, hi := a, b
	if bytes.Compare(lo[:], hi[:]) > 0 {
		lo, hi = hi, lo
	}
	h := sha256.New()
	h.Write([]byte("parley safety words\x00"))
	h.Write(lo[:])
	h.Write(hi[:])
	sum := h.Sum(nil)
	words := make([]string, safetyWordCount)
	for i, b := range sum[:safetyWordCount] {
		if i%2 == 0 {
			words[i] = pgpEven[b]
		} else {
			words[i] = pgpOdd[b]
		}
	}
	return strings.Join(words, " ")
}

// safetyWords computes the words from the live DTLS connection.
func (c *Call) safetyWords() (string, error) {
	dtls := c.pc.SCTP().Transport()
	remote := dtls.GetRemoteCertificate()
	if len(remote) == 0 {
		return "", errors.New("no peer certificate")
	}
	params, err := dtls.GetLocalParameters()
	if err != nil {
		return "", err
	}
	var local [sha256.Size]byte
	found := false
	for _, fp := range params.Fingerprints {
		if strings.EqualFold(fp.Algorithm, "sha-256") {
			raw, err := hex.DecodeString(strings.ReplaceAll(fp.Value, ":", ""))
			if err == nil && len(raw) == sha256.Size {
				copy(local[:], raw)
				found = true
			}
		}
	}
	if !found {
		return "", errors.New("no SHA-256 fingerprint of our certificate")
	}
	return SafetyWords(local, sha256.Sum256(remote)), nil
}

// Verify records that the user compared the safety words aloud with the
// peer and found them equal. A VerifyEvent with Verified set follows.
func (c *Call) Verify() {
	c.post(func() {
		if c.words != "" && !c.verified {
			c.verified = true
			c.emit(VerifyEvent{Words: c.words, Verified: true})
		}
	})
}
