package rtc

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func testCode(kind Kind, cands ...string) *Code {
	c := &Code{Kind: kind}
	for i := range c.Secret {
		c.Secret[i] = byte(i * 7)
	}
	for i := range c.Fingerprint {
		c.Fingerprint[i] = byte(255 - i)
	}
	if kind == KindAnswer {
		c.InviteTag = 0xbeef
	}
	types := []CandidateType{CandidateHost, CandidateSrflx, CandidateRelay}
	for i, s := range cands {
		c.Candidates = append(c.Candidates, Candidate{Type: types[i%len(types)], Addr: netip.MustParseAddrPort(s)})
	}
	return c
}

// TestCodeLengths prints the table of code lengths and holds invites and
// answers alike to their budgets, for the addresses real machines have:
// an IPv4 and an IPv6 host address (a plain machine without STUN) in 80
// characters, one row of a terminal; with a server-reflexive IPv4 address
// as well, 90; an IPv4 host and server-reflexive address, 70.
func TestCodeLengths(t *testing.T) {
	const (
		v4     = "192.168.1.23:50000"
		v4srfx = "203.0.113.7:61000"
		v6     = "[2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10]:52011"
	)
	cand := func(typ CandidateType, s string) Candidate {
		return Candidate{Type: typ, Addr: netip.MustParseAddrPort(s)}
	}
	for _, tc := range []struct {
		name  string
		cands []Candidate
		max   int
	}{
		{"IPv4 host + IPv6 host", []Candidate{cand(CandidateHost, v4), cand(CandidateHost, v6)}, 80},
		{"IPv4 host + srflx + IPv6 host", []Candidate{cand(CandidateHost, v4), cand(CandidateHost, v6), cand(CandidateSrflx, v4srfx)}, 90},
		{"IPv4 host + srflx", []Candidate{cand(CandidateHost, v4), cand(CandidateSrflx, v4srfx)}, 70},
		{"IPv4 host", []Candidate{cand(CandidateHost, v4)}, 0},
		{"IPv6 host", []Candidate{cand(CandidateHost, v6)}, 0},
		{"IPv4 host + relay", []Candidate{cand(CandidateHost, v4), cand(CandidateRelay, "198.51.100.9:3478")}, 0},
	} {
		for _, kind := range []Kind{KindInvite, KindAnswer} {
			c := testCode(kind)
			c.Candidates = tc.cands
			n := len(c.String())
			t.Logf("%-30s %-6s %3d characters (%d bytes)", tc.name, kind, n, len(c.marshal()))
			if tc.max > 0 && n > tc.max {
				t.Errorf("%s %s is %d characters; want at most %d", tc.name, kind, n, tc.max)
			}
		}
	}
}

func TestCodeRoundTrip(t *testing.T) {
	for _, c := range []*Code{
		testCode(KindInvite, "127.0.0.1:1"),
		testCode(KindInvite, "10.0.0.1:65535", "[::1]:9", "203.0.113.7:61000"),
		testCode(KindAnswer, "[2001:db8::1]:50000"),
	} {
		s := c.String()
		if strings.Trim(s, base62Alphabet) != "" {
			t.Errorf("%q has characters outside letters and digits", s)
		}
		got, err := ParseCode(s, c.Kind)
		if err != nil {
			t.Fatalf("ParseCode(%q) = %v", s, err)
		}
		if !got.Equal(c) {
			t.Errorf("ParseCode(%q) = %+v; want %+v", s, got, c)
		}
	}
}

func TestParsePasteTolerance(t *testing.T) {
	c := testCode(KindInvite, "192.168.1.23:50000", "[2001:db8::1]:50000", "203.0.113.7:61000")
	s := c.String()
	for _, in := range []string{
		s,
		"  " + s + "\n",
		s[:40] + "\n" + s[40:80] + "\r\n" + s[80:],
		"    " + s[:30] + "\n    " + s[30:],
		`"` + s + `"`,
		"'" + s + "'",
		"`" + s + "`",
		"parley join " + s,
		"Parley Join\n" + s[:50] + " " + s[50:],
		"<" + s + ">",
		s + ".",
	} {
		if _, err := ParseCode(in, KindInvite); err != nil {
			t.Errorf("ParseCode(%q) = %v; want ok", in, err)
		}
	}
}

// malformed lists pasted texts that are not a valid invite, with a piece
// of the message each must give.
func malformed() []struct{ in, want string } {
	inv := testCode(KindInvite, "192.168.1.23:50000", "203.0.113.7:61000").String()
	ans := testCode(KindAnswer, "192.168.1.23:50000").String()
	flip := []byte(inv)
	if flip[50] == 'a' {
		flip[50] = 'b'
	} else {
		flip[50] = 'a'
	}
	newer := testCode(KindInvite, "192.168.1.23:50000")
	raw := newer.marshal()
	raw[0] = (CodeVersion+1)<<4 | raw[0]&0x0f
	raw = raw[:len(raw)-4]
	raw = append(raw, 0, 0, 0, 0)
	fixSum(raw)
	noCand := testCode(KindInvite)
	desc := testCode(KindInvite, "127.0.0.1:9").sdp()
	sdpForm := encodeSDPForm(&desc)
	return []struct{ in, want string }{
		{"", "nothing was pasted"},
		{"   \n\t ", "nothing was pasted"},
		{inv[:len(inv)-1], "cut off"},
		{inv[:20], "cut off"},
		{inv[:50], "cut off"},
		{PrefixInvite, "cut off"},
		{inv[:40] + "x" + inv[40:], "missing or extra"},
		{string(flip), "damaged"},
		{ans, "this is an answer"},
		{PrefixInvite + base62Encode(raw), "newer parley"},
		{noCand.String(), "no network address"},
		{"hello there", "not a parley invite"},
		{"PLx" + inv[3:], "start of the code is damaged"},
		{"PLYx" + inv[3:], "start of the code is damaged"},
		{"pli" + inv[3:], "start of the code is damaged"},
		{oldCode(KindInvite), "made by an older parley: ask your peer to update"},
		{oldCode(KindAnswer), "made by an older parley: ask your peer to update"},
		{oldCode(KindInvite)[:60], "made by an older parley: ask your peer to update"},
		{inv[:30] + "-" + inv[31:], `'-'`},
		{inv[:30] + "é" + inv[31:], `'é'`},
		{inv[:30] + "\x00" + inv[31:], "never appears"},
		{inv + strings.Repeat(inv[len(PrefixInvite):], 4), "too long"},
		{inv + " " + inv, "more than one code"},
		{strings.Repeat("A", 1<<20), "far too long"},
		{PrefixInvite + strings.Repeat("z", 91), "damaged"},
		{"please join my call", "not a parley invite"},
		{"parley join", "nothing was pasted"},
		{sdpForm, "standard (--sdp)"},
	}
}

// oldCode returns a code of the first version of the format, as parley
// made them before issue 19: prefix PLYI or PLYA, a header of version 1,
// the secret, the whole SHA-256 fingerprint, the SSRC, an answer's tag,
// an IPv4 host and server-reflexive candidate, and the CRC-32C.
func oldCode(kind Kind) string {
	b := []byte{1<<4 | byte(kind)}
	for i := range 12 {
		b = append(b, byte(i*7))
	}
	for i := range 32 {
		b = append(b, byte(255-i))
	}
	b = binary.BigEndian.AppendUint32(b, 0xdeadbeef)
	prefix := oldPrefixInvite
	if kind == KindAnswer {
		b = binary.BigEndian.AppendUint16(b, 0xbeef)
		prefix = oldPrefixAnswer
	}
	b = append(b, 0, 192, 168, 1, 23, 0xc3, 0x50)
	b = append(b, 1, 203, 0, 113, 7, 0xee, 0x48)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return prefix + base62Encode(b)
}

// TestOldCodesRefused: a code of the first version, whole, cut off or
// with a character changed, pasted as either kind, is refused as made by
// an older parley, and never read as a code of this version.
func TestOldCodesRefused(t *testing.T) {
	for _, kind := range []Kind{KindInvite, KindAnswer} {
		s := oldCode(kind)
		for _, in := range []string{s, s[:len(s)-1], s[:40], s[:20] + "x" + s[21:], "parley join " + s, `"` + s + `"`} {
			for _, want := range []Kind{KindInvite, KindAnswer} {
				c, err := ParseCode(in, want)
				if err == nil || err.Error() != errOlder.Error() {
					t.Errorf("ParseCode(%.30q, %v) = %+v, %v; want %q", in, want, c, err, errOlder)
				}
				if _, _, err := parseDescription(in, want); err == nil || err.Error() != errOlder.Error() {
					t.Errorf("parseDescription(%.30q, %v) = %v; want %q", in, want, err, errOlder)
				}
			}
		}
	}
}

func fixSum(b []byte) {
	binary.BigEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range malformed() {
		_, err := ParseCode(tc.in, KindInvite)
		var ce *CodeError
		if !errors.As(err, &ce) {
			t.Errorf("ParseCode(%.40q) = %v; want a *CodeError", tc.in, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("ParseCode(%.40q) = %q; want one line containing %q", tc.in, msg, tc.want)
		}
	}
}

func TestParseWrongKind(t *testing.T) {
	inv := testCode(KindInvite, "192.168.1.23:50000").String()
	_, err := ParseCode(inv, KindAnswer)
	if err == nil || !strings.Contains(err.Error(), "this is an invite") {
		t.Errorf("ParseCode(invite, KindAnswer) = %v; want it to say it is an invite", err)
	}
}

func FuzzParseCode(f *testing.F) {
	for _, tc := range malformed() {
		f.Add(tc.in)
	}
	for n := 1; n <= 3; n++ {
		addrs := []string{"10.0.0.1:1", "[2001:db8::1]:2", "203.0.113.7:3"}[:n]
		f.Add(testCode(KindInvite, addrs...).String())
		f.Add(testCode(KindAnswer, addrs...).String())
	}
	f.Add(oldCode(KindInvite))
	f.Add(oldCode(KindAnswer))
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []Kind{KindInvite, KindAnswer} {
			c, err := ParseCode(s, kind)
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("ParseCode(%q): error has several lines: %q", s, err)
				}
				continue
			}
			again, err := ParseCode(c.String(), kind)
			if err != nil || !again.Equal(c) {
				t.Errorf("ParseCode(%q) does not round-trip: %v", s, err)
			}
			_ = c.sdp()
		}
	})
}

func TestBase62Lengths(t *testing.T) {
	prev := 0
	for n := 0; n <= maxCodeBytes; n++ {
		l := base62Len(n)
		if n > 0 && l <= prev {
			t.Fatalf("base62Len(%d) = %d; want more than base62Len(%d) = %d", n, l, n-1, prev)
		}
		prev = l
		b := make([]byte, n)
		for i := range b {
			b[i] = 0xff
		}
		got, err := base62Decode(base62Encode(b))
		if err != nil || string(got) != string(b) {
			t.Fatalf("base62 round trip of %d bytes of 0xff: %v", n, err)
		}
	}
}

// TestBitFlips flips every single bit of valid codes' binary forms, and
// replaces every character of their text by every other letter or digit:
// each result is refused (by the checksum, the version or the length) and
// none panics.
func TestBitFlips(t *testing.T) {
	for _, c := range []*Code{
		testCode(KindInvite, "192.168.1.23:50000", "203.0.113.7:61000"),
		testCode(KindAnswer, "[2001:db8::1]:50000"),
	} {
		raw := c.marshal()
		rejected := 0
		for i := 0; i < len(raw)*8; i++ {
			b := append([]byte(nil), raw...)
			b[i/8] ^= 1 << (i % 8)
			if _, err := ParseCode(c.Kind.Prefix()+base62Encode(b), c.Kind); err == nil {
				t.Errorf("%v with bit %d flipped was accepted", c.Kind, i)
			} else {
				rejected++
			}
		}
		s := c.String()
		for i := len(c.Kind.Prefix()); i < len(s); i++ {
			for _, r := range base62Alphabet {
				if byte(r) == s[i] {
					continue
				}
				mutated := s[:i] + string(r) + s[i+1:]
				if _, err := ParseCode(mutated, c.Kind); err == nil {
					t.Errorf("%v with character %d changed to %q was accepted", c.Kind, i, r)
				}
			}
		}
		t.Logf("%v: %d of %d single-bit flips refused; every one-character change refused", c.Kind, rejected, len(raw)*8)
	}
}

// randomCode returns a code of kind with random fields and n random
// candidates, IPv4 or IPv6.
func randomCode(r *rand.Rand, kind Kind, n int) *Code {
	c := &Code{Kind: kind}
	for i := range c.Secret {
		c.Secret[i] = byte(r.Uint32())
	}
	for i := range c.Fingerprint {
		c.Fingerprint[i] = byte(r.Uint32())
	}
	if kind == KindAnswer {
		c.InviteTag = uint16(r.Uint32())
	}
	for range n {
		var a netip.Addr
		if r.IntN(3) == 0 {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		}
		c.Candidates = append(c.Candidates, Candidate{Type: CandidateType(r.IntN(4)), Addr: netip.AddrPortFrom(a, uint16(r.Uint32()))})
	}
	return c
}

// realCodes makes an invite and its answer with two real calls on
// loopback.
func realCodes(t *testing.T) (invite, answer string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caller, err := New(loopbackConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	callee, err := New(loopbackConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer callee.Close()
	if invite, err = caller.Invite(ctx); err != nil {
		t.Fatalf("Invite: %v", err)
	}
	if answer, err = callee.Join(ctx, invite); err != nil {
		t.Fatalf("Join: %v", err)
	}
	return invite, answer
}

// TestParseCutOff: every strict prefix of a code, from 20 characters to
// all but the last, is reported as cut off, never as damaged: real codes
// from two calls on loopback, the test codes, and random codes of both
// kinds with one to eight candidates.
func TestParseCutOff(t *testing.T) {
	type code struct {
		s    string
		kind Kind
	}
	invite, answer := realCodes(t)
	codes := []code{{invite, KindInvite}, {answer, KindAnswer}}
	for _, c := range []*Code{
		testCode(KindInvite, "192.168.1.23:50000", "203.0.113.7:61000"),
		testCode(KindAnswer, "192.168.1.23:50000"),
		testCode(KindAnswer, "[2001:db8::1]:50000", "10.0.0.1:9", "[2001:db8:1::7]:61000"),
	} {
		codes = append(codes, code{c.String(), c.Kind})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		kind := Kind(i % 2)
		codes = append(codes, code{randomCode(r, kind, 1+i/2%maxCandidates).String(), kind})
	}
	for _, c := range codes {
		if _, err := ParseCode(c.s, c.kind); err != nil {
			t.Fatalf("ParseCode(%q) = %v; want ok", c.s, err)
		}
		for n := 20; n < len(c.s); n++ {
			_, err := ParseCode(c.s[:n], c.kind)
			if err == nil || !strings.Contains(err.Error(), "cut off: it looks like only part of the code was copied") {
				t.Errorf("ParseCode(first %d of %d characters of %q) = %v; want cut off", n, len(c.s), c.s, err)
			}
		}
	}
	t.Logf("real invite %d characters, real answer %d", len(invite), len(answer))
}

// TestParseDamagedNotCutOff: a whole code with one character changed is
// damaged, not cut off.
func TestParseDamagedNotCutOff(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tried, cut := 0, 0
	for i := range 200 {
		kind := Kind(i % 2)
		c := randomCode(r, kind, 1+i/2%maxCandidates)
		s := c.String()
		for j := len(kind.Prefix()); j < len(s); j++ {
			d := base62Alphabet[(strings.IndexByte(base62Alphabet, s[j])+1+r.IntN(61))%62]
			_, err := ParseCode(s[:j]+string(d)+s[j+1:], kind)
			tried++
			switch {
			case err == nil:
				t.Errorf("%q with character %d changed was accepted", s, j)
			case strings.Contains(err.Error(), "cut off"):
				cut++
			}
		}
	}
	t.Logf("%d of %d one-character changes called cut off", cut, tried)
	if cut > tried/1000 {
		t.Errorf("%d of %d one-character changes called cut off; want at most 1 in 1000", cut, tried)
	}
}
