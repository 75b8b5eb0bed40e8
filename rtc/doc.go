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
// A code is a prefix, PLYI for an invite and PLYA for an answer, followed
// by its binary form written as one base62 number (digits, then A–Z, then
// a–z) of fixed length: the least number of digits that can hold the
// bytes, so the length of the text tells the length of the bytes.
//
// The binary form, all integers big-endian:
//
//	offset  size  field
//	0       1     version (high 4 bits, now 1) | 000 | kind (0 invite, 1 answer)
//	1       12    secret: random per call; the ICE username fragment and
//	              password are derived from it (SHA-256 of "parley ice\0"
//	              and the secret: bytes 0–5 and 6–23, in unpadded base64)
//	13      32    SHA-256 fingerprint of the sender's DTLS certificate
//	45      4     SSRC of the sender's audio stream
//	49      2     answers only: the invite's tag (the first two bytes of
//	              SHA-256 of "parley tag\0" and the invite's secret), so an
//	              answer to another invite is refused at once
//	…       7|19  candidates, repeated to the checksum, best first, at most 8:
//	              1 byte: 00000 | family (0 IPv4, 1 IPv6) | type (2 bits:
//	              0 host, 1 srflx, 2 relay, 3 prflx);
//	              then the address (4 or 16 bytes) and the UDP port (2)
//	end-4   4     CRC-32C (Castagnoli) of everything before it
//
// An invite with two IPv4 candidates (host and server-reflexive) is 67
// bytes, 91 base62 digits, 95 characters with its prefix.
//
// A pasted code that does not check out is called cut off, rather than
// damaged, when its digits can begin a longer code: when, for some code
// length longer than the paste, every number written with those leading
// digits has a code's header byte, and candidate descriptors that fill
// the bytes before the checksum exactly, as far as those bytes are fixed
// by the digits. Every strict prefix of a code passes this test (the
// first row of a code wrapped at 80 columns, say); a code with one
// character changed passes it about once in three thousand times.
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
