package relay

import (
	"net"
	"testing"
	"time"
)

// pair returns two loopback sockets connected through r.
func pair(t *testing.T, r *Relay) (a, b *net.UDPConn) {
	t.Helper()
	var err error
	if a, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if b, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	r.SetTargetB(b.LocalAddr().(*net.UDPAddr).AddrPort())
	return a, b
}

func count(t *testing.T, c *net.UDPConn, quiet time.Duration) int {
	n := 0
	buf := make([]byte, 2048)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			return n
		}
		n++
	}
}

func TestRelayLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		imp  Impairment
		min  int
		max  int
	}{
		{"clean", Impairment{}, 1000, 1000},
		{"10% random", Impairment{Loss: 0.1}, 850, 950},
		{"15% bursty", Impairment{Burst: BurstyLoss(0.15, 3)}, 780, 920},
		{"duplicates", Impairment{Duplicate: 0.1}, 1050, 1150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.imp, Impairment{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			a, b := pair(t, r)
			got := make(chan int)
			go func() { got <- count(t, b, 300*time.Millisecond) }()
			for i := 0; i < 1000; i++ {
				a.WriteToUDPAddrPort([]byte{byte(i)}, r.SideA())
				if i%10 == 0 {
					time.Sleep(time.Millisecond) // stay within socket buffers
				}
			}
			if n := <-got; n < tc.min || n > tc.max {
				t.Errorf("B received %d of 1000; want %d to %d", n, tc.min, tc.max)
			}
		})
	}
}

func TestRelayReplyAndOutage(t *testing.T) {
	r, err := New(Impairment{Delay: 20 * time.Millisecond}, Impairment{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, b := pair(t, r)
	start := time.Now()
	a.WriteToUDPAddrPort([]byte("ping"), r.SideA())
	buf := make([]byte, 16)
	b.SetReadDeadline(time.Now().Add(time.Second))
	n, from, err := b.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("B read %q, %v", buf[:n], err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("delivered after %v; want at least the 20 ms delay", d)
	}
	if from != r.SideB() {
		t.Errorf("B sees the packet from %v; want the relay's side B %v", from, r.SideB())
	}
	b.WriteToUDPAddrPort([]byte("pong"), from)
	a.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := a.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("A read %q, %v; want the reply", buf[:n], err)
	}
	r.SetDown(true)
	a.WriteToUDPAddrPort([]byte("lost"), r.SideA())
	if n := count(t, b, 100*time.Millisecond); n != 0 {
		t.Errorf("B received %d packets during an outage", n)
	}
}
