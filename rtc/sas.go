package rtc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
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
// first 40 bits as four 10-bit words. A man in the middle who swapped the
// codes holds two DTLS sessions with two certificates of his own, so the
// two sides hash different pairs and see different words; to make them
// match he would have to find certificates colliding in 40 bits while the
// call is being set up.

// wordConsonants and wordVowels build the 1024 words: consonant, vowel,
// consonant, vowel ("bado", "kimu"). The letters are chosen to be told
// apart when spoken.
const (
	wordConsonants = "bdfkmnrs"
	wordVowels     = "aiou"
)

// safetyWord returns the word for a 10-bit number.
func safetyWord(n uint16) string {
	c, v := wordConsonants, wordVowels
	return string([]byte{
		c[n>>7&7], v[n>>5&3], c[n>>2&7], v[n&3],
	})
}

// SafetyWords derives the four words from two certificate fingerprints.
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
	bits := binary.BigEndian.Uint64(sum[:8]) >> 24 // the first 40 bits
	words := make([]string, 4)
	for i := range words {
		words[i] = safetyWord(uint16(bits >> (30 - 10*i) & 0x3ff))
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

// VerifyEvent carries the safety words once connected, and again with
// Verified set once the user has said they match.
type VerifyEvent struct {
	Words    string
	Verified bool
}

func (VerifyEvent) isEvent() {}

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
