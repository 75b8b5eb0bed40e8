package rtc

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/netip"
	"strings"
	"sync"
)

// Kind says whether a code starts a call (an invite) or answers one.
type Kind uint8

// The two kinds of code.
const (
	KindInvite Kind = 0
	KindAnswer Kind = 1
)

func (k Kind) String() string {
	if k == KindAnswer {
		return "answer"
	}
	return "invite"
}

// Prefix returns the fixed text every code of this kind starts with.
func (k Kind) Prefix() string {
	if k == KindAnswer {
		return PrefixAnswer
	}
	return PrefixInvite
}

// The prefixes of the compact form. They are letters only, so that a
// double-click in a terminal selects the prefix and the code as one word.
// Each version of the format has prefixes of its own.
const (
	PrefixInvite = "PLI"
	PrefixAnswer = "PLA"
)

// The prefixes of the first version of the format (parley before issue
// 19), which this parley recognises and refuses.
const (
	oldPrefixInvite = "PLYI"
	oldPrefixAnswer = "PLYA"
)

// CodeVersion is the wire-format version written in every code's header.
const CodeVersion = 2

// Sizes of the fixed fields of a code.
const (
	SecretLen = 12
	// FingerprintLen is how much of the SHA-256 hash of the sender's DTLS
	// certificate a code carries: 96 bits.
	FingerprintLen = 12
	checksumLen    = 4
	maxCandidates  = 8
)

// CandidateType is the ICE type of a candidate (RFC 8445, section 5.1.1).
type CandidateType uint8

// The candidate types a code can carry.
const (
	CandidateHost CandidateType = iota
	CandidateSrflx
	CandidateRelay
	CandidatePrflx
)

var candidateTypeNames = [...]string{"host", "srflx", "relay", "prflx"}

func (t CandidateType) String() string {
	if int(t) < len(candidateTypeNames) {
		return candidateTypeNames[t]
	}
	return fmt.Sprintf("type%d", t)
}

// typePreference is the recommended type preference of RFC 8445, 5.1.2.2.
func (t CandidateType) typePreference() uint32 {
	switch t {
	case CandidateHost:
		return 126
	case CandidatePrflx:
		return 110
	case CandidateSrflx:
		return 100
	}
	return 0
}

// Candidate is one UDP address at which a peer may be reached.
type Candidate struct {
	Type CandidateType
	Addr netip.AddrPort
}

// Code is the decoded content of an invite or answer code: everything the
// other side needs to rebuild this side's session description.
type Code struct {
	Kind Kind
	// Secret is random per call; the ICE username fragment and password
	// are derived from it (see ICECredentials).
	Secret [SecretLen]byte
	// Fingerprint is the first FingerprintLen bytes of the SHA-256 hash
	// of the sender's DTLS certificate, which the receiver checks the
	// certificate it is shown against (peercert.go).
	Fingerprint [FingerprintLen]byte
	// InviteTag, in answers only, names the invite being answered.
	InviteTag uint16
	// Candidates are the sender's UDP candidates, best first.
	Candidates []Candidate
}

// ICECredentials returns the ICE username fragment and password derived
// from the code's secret. Both use only ice-chars (RFC 8839, 5.4).
func (c *Code) ICECredentials() (ufrag, pwd string) {
	return iceCredentials(c.Secret)
}

func iceCredentials(secret [SecretLen]byte) (ufrag, pwd string) {
	h := sha256.Sum256(append([]byte("parley ice\x00"), secret[:]...))
	enc := base64.RawStdEncoding
	return enc.EncodeToString(h[:6]), enc.EncodeToString(h[6:24])
}

// SSRC returns the synchronisation source of the sender's audio stream,
// derived from the secret.
func (c *Code) SSRC() uint32 { return ssrcOf(c.Secret) }

// ssrcOf derives an audio stream's SSRC from a code's secret: the first
// four bytes of SHA-256 of "parley ssrc\0" and the secret, or 1 where
// those are zero (pion takes an SSRC of 0 as none).
func ssrcOf(secret [SecretLen]byte) uint32 {
	h := sha256.Sum256(append([]byte("parley ssrc\x00"), secret[:]...))
	if s := binary.BigEndian.Uint32(h[:4]); s != 0 {
		return s
	}
	return 1
}

// Tag returns the two bytes by which an answer names this invite.
func (c *Code) Tag() uint16 {
	h := sha256.Sum256(append([]byte("parley tag\x00"), c.Secret[:]...))
	return binary.BigEndian.Uint16(h[:2])
}

// String returns the code in its compact form: the kind's prefix followed
// by the base62 encoding of the binary form.
func (c *Code) String() string {
	return c.Kind.Prefix() + base62Encode(c.marshal())
}

// marshal returns the binary form, checksum included.
func (c *Code) marshal() []byte {
	b := make([]byte, 0, 96)
	b = append(b, CodeVersion<<4|byte(c.Kind))
	b = append(b, c.Secret[:]...)
	b = append(b, c.Fingerprint[:]...)
	if c.Kind == KindAnswer {
		b = binary.BigEndian.AppendUint16(b, c.InviteTag)
	}
	for _, cand := range c.Candidates {
		addr := cand.Addr.Addr().Unmap()
		desc := byte(cand.Type) & 0x03
		if addr.Is6() {
			desc |= 0x04
		}
		b = append(b, desc)
		b = append(b, addr.AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, cand.Addr.Port())
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// unmarshal parses the binary form; errors are *CodeError.
func (c *Code) unmarshal(b []byte) error {
	if len(b) < headerLen(KindInvite)+checksumLen {
		return errBadLength
	}
	body, sum := b[:len(b)-checksumLen], b[len(b)-checksumLen:]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(sum) {
		return errDamaged
	}
	if v := body[0] >> 4; v != CodeVersion {
		if v > CodeVersion {
			return codeErr("this code comes from a newer parley (format %d); update parley on both sides", v)
		}
		return errDamaged
	}
	if body[0]&0x0e != 0 {
		return errDamaged
	}
	c.Kind = Kind(body[0] & 0x01)
	p := body[1:]
	copy(c.Secret[:], p)
	p = p[SecretLen:]
	copy(c.Fingerprint[:], p)
	p = p[FingerprintLen:]
	if c.Kind == KindAnswer {
		if len(p) < 2 {
			return errDamaged
		}
		c.InviteTag = binary.BigEndian.Uint16(p)
		p = p[2:]
	}
	c.Candidates = nil
	for len(p) > 0 {
		desc := p[0]
		if desc&^0x07 != 0 {
			return codeErr("this code has a kind of address this parley does not know; update parley on both sides")
		}
		n := 4
		if desc&0x04 != 0 {
			n = 16
		}
		if len(p) < 1+n+2 || len(c.Candidates) == maxCandidates {
			return errDamaged
		}
		addr, _ := netip.AddrFromSlice(p[1 : 1+n])
		port := binary.BigEndian.Uint16(p[1+n:])
		c.Candidates = append(c.Candidates, Candidate{Type: CandidateType(desc & 0x03), Addr: netip.AddrPortFrom(addr, port)})
		p = p[1+n+2:]
	}
	if len(c.Candidates) == 0 {
		return codeErr("this code carries no network address, so there is nothing to connect to; on the side that made it, check the network and make a new code")
	}
	return nil
}

// ParseCode decodes a pasted code of the wanted kind. It tolerates line
// wraps, spaces, indentation, surrounding quotes and a leading
// "parley join". Every error is a *CodeError whose text is one line for
// the user.
func ParseCode(pasted string, want Kind) (*Code, error) {
	s, err := cleanPaste(pasted)
	if err != nil {
		return nil, err
	}
	if err := checkPrefix(s, want); err != nil {
		return nil, err
	}
	body := s[len(want.Prefix()):]
	raw, err := base62Decode(body)
	c := new(Code)
	if err == nil {
		err = c.unmarshal(raw)
	}
	if err != nil {
		if strings.Contains(body, PrefixInvite) || strings.Contains(body, PrefixAnswer) {
			return nil, codeErr("this looks like more than one code pasted together; paste just one")
		}
		if (err == errDamaged || err == errBadLength) && cutOff(body, want) {
			return nil, errCutOff
		}
		return nil, err
	}
	if c.Kind != want {
		return nil, errDamaged
	}
	return c, nil
}

// maxPaste bounds how much pasted text is looked at; a code is far shorter.
const maxPaste = 16 << 10

// cleanPaste strips what a chat program, an email or a terminal adds
// around a code and returns it without any white space.
func cleanPaste(pasted string) (string, error) {
	if len(pasted) > maxPaste {
		return "", codeErr("that is far too long to be a parley code (%d bytes); paste just the code", len(pasted))
	}
	fields := strings.Fields(pasted)
	for len(fields) > 0 && (strings.EqualFold(fields[0], "parley") || strings.EqualFold(fields[0], "join")) {
		fields = fields[1:]
	}
	s := strings.Join(fields, "")
	for len(s) >= 2 && isQuote(s[0]) && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	s = strings.TrimLeft(s, "<")
	s = strings.TrimRight(s, ">.,;")
	if s == "" {
		return "", codeErr("nothing was pasted; paste the code your peer sent")
	}
	return s, nil
}

// looksLikeCode reports whether s, in upper case, starts as a parley code
// of some version does, or is one whose prefix is damaged: "PL" and at
// least 20 more letters and digits.
func looksLikeCode(up string) bool {
	for _, p := range []string{PrefixInvite, PrefixAnswer, "PLY"} {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return strings.HasPrefix(up, "PL") && len(up) >= 22 && strings.Trim(up, base62Alphabet) == ""
}

func isQuote(b byte) bool { return b == '"' || b == '\'' || b == '`' }

func checkPrefix(s string, want Kind) error {
	other := KindAnswer
	if want == KindAnswer {
		other = KindInvite
	}
	up := strings.ToUpper(s)
	switch {
	case strings.HasPrefix(s, oldPrefixInvite) || strings.HasPrefix(s, oldPrefixAnswer):
		return errOlder
	case strings.HasPrefix(s, want.Prefix()):
		return nil
	case strings.HasPrefix(s, other.Prefix()) && want == KindAnswer:
		return codeErr("this is an invite (it starts with %s), perhaps your own; paste the answer your peer sent back (it starts with %s)", PrefixInvite, PrefixAnswer)
	case strings.HasPrefix(s, other.Prefix()):
		return codeErr("this is an answer (it starts with %s); it goes back to the person who sent the invite; to join, paste their invite (it starts with %s)", PrefixAnswer, PrefixInvite)
	case looksLikeCode(up):
		return codeErr("the start of the code is damaged (a code starts with %s exactly); copy it again, whole", want.Prefix())
	case looksLikeSDP(s):
		return codeErr("this is a standard (--sdp) session description, not a parley code; paste it where --sdp is in use")
	}
	return codeErr("this is not a parley %s: it should start with %s; copy the whole code your peer sent", want, want.Prefix())
}

// CodeError is a problem with a pasted code, worded for the user.
type CodeError struct{ msg string }

func (e *CodeError) Error() string { return e.msg }

func codeErr(format string, args ...any) *CodeError {
	return &CodeError{msg: fmt.Sprintf(format, args...)}
}

var (
	errDamaged   = codeErr("the code is damaged (its checksum does not match); copy it again, whole")
	errBadLength = codeErr("the code is damaged (characters are missing or extra); copy it again, whole")
	errCutOff    = codeErr("the code is cut off: it looks like only part of the code was copied; copy it again, whole")
	errOlder     = codeErr("this code was made by an older parley: ask your peer to update")
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var big62 = big.NewInt(62)

// base62Len is the number of base62 digits that encode n bytes: the least
// L with 62^L >= 256^n. It grows strictly with n, so the length of a text
// tells the length of the bytes.
func base62Len(n int) int {
	if n >= 0 && n <= maxCodeBytes {
		return base62Lens()[n]
	}
	return computeBase62Len(n)
}

// base62Lens holds base62Len for the lengths a code can have, computed
// once: parsing a pasted code looks them up many times.
var base62Lens = sync.OnceValue(func() []int {
	lens := make([]int, maxCodeBytes+1)
	for n := range lens {
		lens[n] = computeBase62Len(n)
	}
	return lens
})

func computeBase62Len(n int) int {
	limit := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	p, l := big.NewInt(1), 0
	for p.Cmp(limit) < 0 {
		p.Mul(p, big62)
		l++
	}
	return l
}

// base62Encode encodes b as a big-endian number in exactly base62Len(len(b))
// digits.
func base62Encode(b []byte) string {
	out := make([]byte, base62Len(len(b)))
	n := new(big.Int).SetBytes(b)
	r := new(big.Int)
	for i := len(out) - 1; i >= 0; i-- {
		n.QuoRem(n, big62, r)
		out[i] = base62Alphabet[r.Int64()]
	}
	return string(out)
}

// maxCodeBytes bounds the binary form: an answer's fixed fields and
// maxCandidates IPv6 candidates.
const maxCodeBytes = 1 + SecretLen + FingerprintLen + 2 + maxCandidates*19 + checksumLen

func base62Decode(s string) ([]byte, error) {
	n := -1
	for i := 0; i <= maxCodeBytes; i++ {
		l := base62Len(i)
		if l == len(s) {
			n = i
		}
		if l >= len(s) {
			break
		}
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(base62Alphabet, s[i]) < 0 {
			return nil, badChar(s, i)
		}
	}
	if n < 0 {
		if len(s) > base62Len(maxCodeBytes) {
			return nil, codeErr("the code is too long (%d characters); copy just the code, once", len(s))
		}
		return nil, errBadLength
	}
	v := base62Value(s)
	if v.BitLen() > 8*n {
		return nil, errDamaged
	}
	return v.FillBytes(make([]byte, n)), nil
}

// base62Value returns the number that the base62 digits s write; s holds
// only digits of base62Alphabet.
func base62Value(s string) *big.Int {
	v := new(big.Int)
	for i := 0; i < len(s); i++ {
		v.Mul(v, big62)
		v.Add(v, big.NewInt(int64(strings.IndexByte(base62Alphabet, s[i]))))
	}
	return v
}

// cutOff reports whether digits, base62 digits that are not a whole code
// of kind k, can be the start of a longer one: whether for some length of
// a code of kind k longer than digits, the numbers whose text begins with
// digits have a code's shape in the bytes they all share (the header byte
// and, as far as they are known, the candidates' descriptors, which must
// fill the space before the checksum exactly).
//
// Every strict prefix of a code of kind k passes, whatever its length, so
// a code cut anywhere (after the first row a terminal shows, say) is
// reported as cut off and not as damaged. A whole code with a character
// changed almost never passes: its digits, read as the start of a longer
// number, give bytes that are shifted by a factor that is not a power of
// 256, so the header and the descriptors come out wrong.
func cutOff(digits string, k Kind) bool {
	p := base62Value(digits)
	lo, hi, scale, limit := new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	for _, n := range codeSizes(k) {
		extra := base62Len(n) - len(digits)
		if extra <= 0 {
			continue
		}
		// The code's number lies in [lo, hi]: digits followed by extra
		// digits, and less than 256^n.
		scale.Exp(big62, big.NewInt(int64(extra)), nil)
		lo.Mul(p, scale)
		hi.Add(lo, scale)
		hi.Sub(hi, big.NewInt(1))
		limit.Lsh(big.NewInt(1), uint(8*n))
		if lo.Cmp(limit) >= 0 {
			continue
		}
		if hi.Cmp(limit) >= 0 {
			hi.Sub(limit, big.NewInt(1))
		}
		lb, hb := lo.FillBytes(make([]byte, n)), hi.FillBytes(make([]byte, n))
		known := 0
		for known < n && lb[known] == hb[known] {
			known++
		}
		if codeShape(lb[:known], n, k) {
			return true
		}
	}
	return false
}

// codeSizes returns the lengths in bytes of the binary forms of codes of
// kind k, with one to maxCandidates candidates, shortest first.
func codeSizes(k Kind) []int {
	fixed := headerLen(k) + checksumLen
	var sizes []int
	for n := fixed; n <= maxCodeBytes; n++ {
		if candidatesFit(n-fixed, maxCandidates) && n > fixed {
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// headerLen is the length of the fields before the candidates.
func headerLen(k Kind) int {
	n := 1 + SecretLen + FingerprintLen
	if k == KindAnswer {
		n += 2
	}
	return n
}

// candidatesFit reports whether size bytes can hold exactly at most n
// candidates of 7 (IPv4) and 19 (IPv6) bytes.
func candidatesFit(size, n int) bool {
	for v6 := 0; v6 <= n && 19*v6 <= size; v6++ {
		rest := size - 19*v6
		if rest%7 == 0 && v6+rest/7 <= n {
			return true
		}
	}
	return false
}

// codeShape reports whether known, the first bytes of the binary form of
// a code of kind k and n bytes, can begin such a code: the header byte is
// right, and the candidates' descriptors that known holds are valid and
// leave room for candidates that fill the rest up to the checksum exactly.
func codeShape(known []byte, n int, k Kind) bool {
	if len(known) == 0 {
		return true
	}
	if known[0] != CodeVersion<<4|byte(k) {
		return false
	}
	off, end, count := headerLen(k), n-checksumLen, 0
	for off < end {
		if off >= len(known) {
			return candidatesFit(end-off, maxCandidates-count)
		}
		desc := known[off]
		if desc&^0x07 != 0 {
			return false
		}
		off += 7
		if desc&0x04 != 0 {
			off += 12
		}
		count++
		if off > end || count > maxCandidates {
			return false
		}
	}
	return true
}

func badChar(s string, i int) error {
	r := []rune(s[i:])[0]
	if r < ' ' || r == 0x7f || r == '\uFFFD' {
		return codeErr("the code contains a character that never appears in a parley code; copy it again, whole")
	}
	return codeErr("the code contains %q, which never appears in a parley code; copy it again, whole", r)
}

func looksLikeSDP(s string) bool {
	_, err := decodeSDPForm(s)
	return err == nil
}

// Equal reports whether two codes carry the same content.
func (c *Code) Equal(o *Code) bool {
	return bytes.Equal(c.marshal(), o.marshal())
}
