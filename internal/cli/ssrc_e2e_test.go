package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"parley/internal/rawpeer"
)

// TestHostileSSRCFlood: once connected, the raw peer sends 50,000 SRTP
// packets, each with an SSRC never seen before, over 5 s, and with them
// 5,000 SRTCP sender reports each from a fresh SSRC, and 500 receiver
// reports from its own SSRC whose 8 report blocks each name fresh SSRCs
// (inside the encrypted part of SRTCP); all the while its real audio
// stream (the declared SSRC) plays and chat goes both ways. parley must
// live through it: the audio plays on (frames grow during the flood and
// after), a chat message sent mid-flood shows, one typed in parley
// reaches the raw peer, its --log grows by at most 100 lines (not one a
// packet), its RSS stays within 20 MB of its baseline (on a plain build,
// as in TestHostileBigMessage: pion keeping a read stream of a few kB for
// each SSRC would be over 100 MB), and /quit ends it within 2 s, exit 0.
//
// It runs alone: the flood takes what CPU there is.
//
// Over a TURN relay (coturn, parley --relay-only) the same holds: the raw
// peer's packets reach parley inside TURN's ChannelData or Data
// indications.
func TestHostileSSRCFlood(t *testing.T) {
	for _, b := range builds(t) {
		t.Run(b.name, func(t *testing.T) { ssrcFlood(t, b, "host") })
	}
	t.Run("relay/plain", func(t *testing.T) { ssrcFlood(t, builds(t)[0], "relay") })
	t.Run("relaytcp/plain", func(t *testing.T) { ssrcFlood(t, builds(t)[0], "relaytcp") })
}

func ssrcFlood(t *testing.T, b build, route string) {
	const (
		packets  = 50000
		srs      = packets / 10
		rrs      = packets / 100
		blocks   = 8
		flood    = 5 * time.Second
		maxLines = 100
		maxRSS   = 20 << 20
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw := newRaw(t, rawpeer.Options{Audio: true, Chat: true})
	logPath := filepath.Join(t.TempDir(), "parley.log")
	args := append(audioArgs(t), "--log", logPath)
	switch route {
	case "relay":
		args = append(args, "--turn", "turn:alice:s3cret@"+startCoturn(t), "--relay-only")
	case "relaytcp":
		args = append(args, "--turn", "turn:alice:s3cret@"+startCoturn(t)+"?transport=tcp", "--relay-only")
		route = "relay"
	}
	p := rawCallsBin(t, ctx, b.bin, raw, args...)
	var got any
	for _, m := range p.seen {
		if m["type"] == "state" && m["state"] == "connected" {
			got = m["route"]
		}
	}
	if got != route {
		t.Fatalf("parley connected by route %v; want %s", got, route)
	}
	dc, err := raw.WaitChat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := rawInbox(t, raw, dc, true)
	stream := streamAudio(raw, 1, 0, func(int) []byte { return rawpeer.Opus })
	defer stream.stop()
	before := p.must(10*time.Second, "stats line with frames played", func(m map[string]any) bool {
		return m["type"] == "stats" && num(m, "frames") >= 25
	})
	own := raw.SSRC()
	if own == 0 {
		t.Fatal("the raw peer's track is not bound")
	}
	pid := p.cmd.Process.Pid
	base := baselineRSS(t, pid)
	rss := watchRSS(pid)
	defer rss.Stop()
	logBefore := lines(t, logPath)

	// fresh returns SSRCs never used before: not 0, not the raw peer's.
	next := uint32(0x10000000)
	fresh := func() uint32 {
		next++
		if next == own {
			next++
		}
		return next
	}
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	per := packets / int(flood/(10*time.Millisecond))
	var sent, sentSR, sentRR, failed int
	var firstErr error
	chatSent := false
	for sent < packets {
		for range per {
			seq := uint16(sent)
			if err := raw.WriteAs(rtp.Header{SSRC: fresh(), SequenceNumber: seq, Timestamp: uint32(sent) * 960}, rawpeer.Opus); err != nil {
				failed++
				firstErr = cmpErr(firstErr, err)
			}
			sent++
			if sent%(packets/srs) == 0 {
				if err := raw.PC.WriteRTCP([]rtcp.Packet{&rtcp.SenderReport{SSRC: fresh(), NTPTime: uint64(sent), RTPTime: uint32(sent)}}); err != nil {
					failed++
					firstErr = cmpErr(firstErr, err)
				}
				sentSR++
			}
			if sent%(packets/rrs) == 0 {
				rr := &rtcp.ReceiverReport{SSRC: own}
				for range blocks {
					rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: fresh()})
				}
				if err := raw.PC.WriteRTCP([]rtcp.Packet{rr}); err != nil {
					failed++
					firstErr = cmpErr(firstErr, err)
				}
				sentRR++
			}
		}
		if !chatSent && time.Since(start) > flood/2 {
			chatSent = true
			if err := dc.Send(rawpeer.Message(1, "mid-flood")); err != nil {
				t.Errorf("raw peer: send chat: %v", err)
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	took := time.Since(start)
	t.Logf("the raw peer sent %d RTP packets, %d sender reports and %d receiver reports with %d report blocks each, each with fresh SSRCs, in %v; %d writes failed (%v)",
		sent, sentSR, sentRR, blocks, took.Round(time.Millisecond), failed, firstErr)
	if failed > sent/100 {
		t.Fatalf("%d of the raw peer's writes failed: the flood did not go out", failed)
	}

	p.must(5*time.Second, `chat line "mid-flood"`, isChat("mid-flood"))
	during := p.must(5*time.Second, "stats line", isType("stats"))
	p.send("after the flood")
	if _, ok := rawReceives(in, "after the flood", 5*time.Second); !ok {
		t.Errorf("the raw peer never got parley's message after the flood")
	}
	// Two seconds more of audio, for what parley still holds to settle.
	var after map[string]any
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		after = p.must(5*time.Second, "stats line", isType("stats"))
	}
	peak := rss.Stop()
	logAfter := lines(t, logPath)
	f0, f1, f2 := num(before, "frames"), num(during, "frames"), num(after, "frames")
	t.Logf("%s build: frames played %v before the flood, %v just after, %v 2 s later; RSS %s before, at most %s during and after (%s more); log %d lines before, %d after",
		b.name, f0, f1, f2, mb(base), mb(peak), mb(peak-base), logBefore, logAfter)
	if n := logAfter - logBefore; n <= maxLines {
		t.Logf("parley's log since the flood began:\n%s", tail(t, logPath, n))
	}
	if !(f0 < f1 && f1 < f2) {
		t.Errorf("frames played %v, %v, %v; want them growing: the real audio plays on", f0, f1, f2)
	}
	if b.boundsRSS && peak-base > maxRSS {
		t.Errorf("parley's RSS grew from %s to %s, %s more; want at most %s more", mb(base), mb(peak), mb(peak-base), mb(maxRSS))
	}
	if n := logAfter - logBefore; n > maxLines {
		t.Errorf("parley's log grew by %d lines during the flood; want at most %d; its last lines:\n%s", n, maxLines, tail(t, logPath, 10))
	}

	stream.stop()
	quit := time.Now()
	p.send("/quit")
	_, st, at := p.end(10 * time.Second)
	t.Logf("parley: %s %v after /quit", status(st), at.Sub(quit).Round(time.Millisecond))
	if d := at.Sub(quit); d > 2*time.Second {
		t.Errorf("parley ended %v after /quit; want within 2 s", d.Round(time.Millisecond))
	}
	if st.ExitCode() != 0 {
		t.Errorf("parley: %s after /quit; want exit 0", status(st))
	}
}

// cmpErr keeps the first error.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// lines counts the lines of a file.
func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// tail returns the last n lines of a file.
func tail(t *testing.T, path string, n int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ls := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	return fmt.Sprintf("%s", bytes.Join(ls[max(0, len(ls)-n):], []byte("\n")))
}
