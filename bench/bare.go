package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"parley/internal/relay"
	"parley/rtc"
)

// connectBare measures what a bare answer costs: from the caller applying
// an answer in the standard form with its candidates stripped, as a stack
// that trickles its candidates sends it, to connected. The caller then
// learns the joiner's address from the joiner's checks (a peer-reflexive
// candidate). The call runs through a relay of its own with the
// scenario's impairment, and ends before the scenario's call starts.
func connectBare(ctx context.Context, imp relay.Impairment) (_ time.Duration, err error) {
	r, err := relay.New(imp, imp, 2)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cfg := rtc.Config{Loopback: true, Interfaces: rtc.LoopbackInterfaces(), SDP: true}
	a, err := rtc.New(cfg)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	b, err := rtc.New(cfg)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	invite, err := a.Invite(ctx)
	if err != nil {
		return 0, err
	}
	realA, err := editCandidates(&invite, r.SideB())
	if err != nil {
		return 0, err
	}
	r.SetTargetA(realA)
	answer, err := b.Join(ctx, invite)
	if err != nil {
		return 0, err
	}
	// The relay sends on to B wherever B's checks come from.
	if _, err := editCandidates(&answer, netip.AddrPort{}); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := a.Accept(answer); err != nil {
		return 0, err
	}
	route, err := connectedBy(ctx, a)
	if err != nil {
		return 0, fmt.Errorf("bare answer: %w", err)
	}
	d := time.Since(start)
	if route != rtc.RoutePrflx {
		return 0, fmt.Errorf("bare answer: connected by route %q, not through the peer-reflexive candidate", route)
	}
	return d, nil
}

// editCandidates replaces the candidates of a code in the standard form by
// one host candidate at to, or by none if to is not valid, and returns its
// first IPv4 candidate of component 1: where what is meant for its maker
// must go.
func editCandidates(code *string, to netip.AddrPort) (netip.AddrPort, error) {
	raw, err := base64.StdEncoding.DecodeString(*code)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("not the standard form: %w", err)
	}
	var desc struct {
		Type string `json:"type"`
		SDP  string `json:"sdp"`
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		return netip.AddrPort{}, fmt.Errorf("not the standard form: %w", err)
	}
	var real netip.AddrPort
	var b strings.Builder
	for _, line := range strings.SplitAfter(desc.SDP, "\n") {
		v, ok := strings.CutPrefix(line, "a=candidate:")
		if !ok {
			b.WriteString(line)
			continue
		}
		// foundation component transport priority address port typ ...
		f := strings.Fields(v)
		if len(f) < 6 || f[1] != "1" || real.IsValid() {
			continue
		}
		addr, aerr := netip.ParseAddr(f[4])
		port, perr := netip.ParseAddrPort("0.0.0.0:" + f[5])
		if aerr != nil || perr != nil || !addr.Is4() {
			continue
		}
		real = netip.AddrPortFrom(addr, port.Port())
		if to.IsValid() {
			fmt.Fprintf(&b, "a=candidate:1 1 udp 2130706431 %s %d typ host\r\n", to.Addr(), to.Port())
		}
	}
	if !real.IsValid() {
		return real, errors.New("the code has no IPv4 candidate")
	}
	desc.SDP = b.String()
	out, err := json.Marshal(desc)
	if err != nil {
		return real, err
	}
	*code = base64.StdEncoding.EncodeToString(out)
	return real, nil
}
