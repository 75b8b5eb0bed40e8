// Package rtc is parley's call engine: one WebRTC PeerConnection per call,
// with an Opus audio track and a reliable, ordered data channel for chat,
// and the compact codes by which two peers exchange what they need to
// connect.
//
// # Codes
//
// Signalling is non-trickle: each side gathers its candidates, then its
// whole session description is squeezed into one code. Because both sides
// run parley, everything in the session but a few fields is fixed; the
// receiver rebuilds the session description from a template and the
// fields below.
//
// A code is a prefix, PLI for an invite and PLA for an answer, followed
// by its binary form written as one base62 number (digits, then A–Z, then
// a–z) of fixed length: the least number of digits that can hold the
// bytes, so the length of the text tells the length of the bytes. Codes
// of the first version of the format (prefixes PLYI and PLYA) are refused
// by their prefix alone: "made by an older parley: ask your peer to
// update". Each version has prefixes of its own, so that no parley reads
// another version's code as its own.
//
// The binary form, version 2, all integers big-endian:
//
//	offset  size  field
//	0       1     version (high 4 bits, now 2) | 000 | kind (0 invite, 1 answer)
//	1       12    secret: random per call; the ICE username fragment and
//	              password are derived from it (SHA-256 of "parley ice\0"
//	              and the secret: bytes 0–5 and 6–23, in unpadded base64),
//	              and so is the SSRC of the sender's audio stream (the
//	              first 4 bytes of SHA-256 of "parley ssrc\0" and the
//	              secret, or 1 where they are 0); the username fragment
//	              and the SSRC go over the network in the clear, but as
//	              hashes of the secret they give away neither it nor the
//	              password
//	13      12    the first 12 bytes (96 bits) of the SHA-256 fingerprint
//	              of the sender's DTLS certificate
//	25      2     answers only: the invite's tag (the first two bytes of
//	              SHA-256 of "parley tag\0" and the invite's secret), so an
//	              answer to another invite is refused at once
//	…       7|19  candidates, repeated to the checksum, best first, at most 8:
//	              1 byte: 00000 | family (0 IPv4, 1 IPv6) | type (2 bits:
//	              0 host, 1 srflx, 2 relay, 3 prflx);
//	              then the address (4 or 16 bytes) and the UDP port (2)
//	end-4   4     CRC-32C (Castagnoli) of everything before it
//
// An invite with an IPv4 and an IPv6 host candidate is 55 bytes, 74
// base62 digits, 77 characters with its prefix (the answer, 57 bytes, 80);
// with an IPv4 host and server-reflexive candidate, 61 (answer 64); with
// all three, 87 (89). The CRC-32C catches every error of one bit (and of
// up to 32 adjacent bits), as it did in the longer first version.
//
// The fingerprint being only part of one, pion's own check, which
// compares whole fingerprints in the handshake, is off; the call checks
// the certificate the peer presented against the code itself, once the
// connection is up, and until then shows, plays and sends nothing (see
// peercert.go). A certificate that does not match fails the call: "the
// connection failed". 96 bits leave a man in the middle, who would need
// a certificate of his own whose hash begins with them, a second preimage
// to find, at 2^96 work, while the call is being set up.
//
// The candidates are those of the addresses this machine has, as chosen
// by hostaddr.go: every interface but container and VM bridges (docker,
// br-, veth, virbr…), its IPv4 addresses, and one IPv6 address, never a
// link-local one. Codes get pasted anywhere, so where an interface has a
// temporary (privacy) IPv6 address, that is the one, rather than a stable
// address that stays the same wherever the machine goes and may carry its
// MAC address; a deprecated address comes after a preferred one, and a
// unique local (fc00::/7) after a global one. The flags come from netlink
// (IFA_F_TEMPORARY, IFA_F_DEPRECATED) on Linux; elsewhere an address made
// from the MAC (EUI-64) is taken as stable. The code lists host
// candidates first, then server-reflexive and relayed ones, IPv4 before
// IPv6, without duplicates: a server-reflexive candidate at a host
// candidate's address (a machine with a public address) is left out.
//
// A pasted code that does not check out is called cut off, rather than
// damaged, when its digits can begin a longer code: when, for some code
// length longer than the paste, every number written with those leading
// digits has a code's header byte, and candidate descriptors that fill
// the bytes before the checksum exactly, as far as those bytes are fixed
// by the digits. Every strict prefix of a code passes this test (the
// first row of a code wrapped at 80 columns, say); a code with one
// character changed almost never does (none of the 21,232 changes that
// TestParseDamagedNotCutOff makes).
//
// The template: one audio section (mid 0, Opus as payload type 111, with
// a=ssrc lines, which pion needs to deliver remote audio when there are
// several sections) and one data-channel section (mid 1), bundled. The
// invite's DTLS setup is actpass; the answerer is always the DTLS client
// (setup active).
//
// # Events
//
// A Call's state is owned by one goroutine. pion's callbacks only post to
// it, never block and never touch a user interface; what happens comes out
// as Events on one channel, ending with a ByeEvent.
//
// # Chat
//
// See frame.go for the frames. Every message has an id and is
// acknowledged; a hang-up is announced (bye), answered, and only then is
// the connection closed, so the peer ends within a second.
package rtc
