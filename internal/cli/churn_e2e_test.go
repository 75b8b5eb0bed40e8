package cli

import (
	"context"
	"testing"
	"time"

	"parley/internal/rawpeer"
)

// TestHostileChurnMemory: a peer that opens and closes data channels by
// the hundred leaves parley's memory within 20 MB of where it was, and
// chat working both ways. (rtc's TestHostileChannelChurn counts the
// goroutines; here parley is a process of its own, so its RSS is its
// own.)
func TestHostileChurnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 5,000 channels")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	raw, err := rawpeer.New(rawpeer.Options{Chat: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	offer, err := raw.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := startBinary(t, plainBinary(t), "parley", "join", "--sdp", offer)
	if err := raw.Accept(p.next("answer")["code"].(string)); err != nil {
		t.Fatal(err)
	}
	for p.next("state")["state"] != "connected" {
	}
	chat, err := raw.WaitChat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	rss0 := rssMB(t, p.cmd.Process.Pid)
	const rounds, per = 10, 500
	if err := raw.Churn(ctx, rounds, per); err != nil {
		t.Fatal(err)
	}
	// Go returns freed memory to the system within minutes; the peak is
	// what matters, and what is still held.
	time.Sleep(2 * time.Second)
	rss := rssMB(t, p.cmd.Process.Pid)
	t.Logf("parley's RSS: %.1f MB before %d channels, %.1f MB after", rss0, rounds*per, rss)
	if rss > rss0+20 {
		t.Errorf("RSS %.1f MB after the churn; %.1f MB before (want within 20 MB)", rss, rss0)
	}
	chat.Send(rawpeer.Message(1, "after the churn"))
	if m := p.next("chat"); m["text"] != "after the churn" {
		t.Errorf("parley showed %v", m)
	}
	p.send("parley after the churn")
	for {
		select {
		case m := <-raw.Messages:
			if id, text, ok := rawpeer.ParseMessage(m.Data); ok {
				chat.Send(rawpeer.Ack(id))
				if text != "parley after the churn" {
					t.Errorf("the raw peer got %q", text)
				}
				p.send("/quit")
				if _, code := p.rest(); code != 0 {
					t.Errorf("exit %d; want 0", code)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("parley's message never reached the raw peer")
		}
	}
}

func rssMB(t *testing.T, pid int) float64 {
	t.Helper()
	n, err := vmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return float64(n) / (1 << 20)
}
