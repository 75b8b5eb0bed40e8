package tui

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"parley/rtc"
)

// lines returns the view's lines.
func lines(view string) []string { return strings.Split(view, "\n") }

// TestCodePrintedAbove: each code is printed above the UI as one line, the
// UI runs inline under it, leaving it in view, and never shows the code's
// text (whose rows would be pieces of it); the call and a QR code take the
// alternate screen, and quitting leaves it and clears the inline UI.
func TestCodePrintedAbove(t *testing.T) {
	h := newHarness(t, ScreenHome, "")
	if h.m.alt || len(lines(h.view())) != 24 {
		t.Fatalf("home: alternate screen %v, %d lines; want inline, 24 lines", h.m.alt, len(lines(h.view())))
	}
	h.send(runes("c"))
	if len(h.prints) != 1 {
		t.Fatalf("printed %q; want the invite once", h.prints)
	}
	printed := lines(h.prints[0])
	if !containsLine(printed, testInvite) {
		t.Errorf("printed %q; want the invite alone on a line", h.prints[0])
	}
	// The title, the code (95 characters: two rows at 80 columns) and a
	// blank line are above the UI.
	if n := len(lines(h.view())); n != 24-4 {
		t.Errorf("under the invite the view has %d lines; want %d", n, 24-4)
	}
	view := h.view()
	if strings.Contains(view, testInvite[:20]) || !strings.Contains(view, "printed above") {
		t.Errorf("the invite screen shows a piece of the code, or not where it is:\n%s", view)
	}
	if h.m.alt {
		t.Error("the invite screen is on the alternate screen")
	}

	// A QR code takes the whole window, on the alternate screen.
	h.key(tea.KeyCtrlR)
	if !h.m.alt || !h.m.altShown || len(lines(h.view())) != 24 {
		t.Errorf("QR code: alternate screen %v (shown %v), %d lines; want it, 24 lines", h.m.alt, h.m.altShown, len(lines(h.view())))
	}
	h.key(tea.KeyCtrlR)
	if h.m.alt || len(lines(h.view())) != 20 {
		t.Errorf("QR code off: alternate screen %v, %d lines; want inline, 20 lines", h.m.alt, len(lines(h.view())))
	}

	h.connect()
	if !h.m.alt || !h.m.altShown || len(lines(h.view())) != 24 {
		t.Errorf("call: alternate screen %v (shown %v), %d lines; want it, 24 lines", h.m.alt, h.m.altShown, len(lines(h.view())))
	}
	h.key(tea.KeyCtrlC)
	h.pump()
	h.fire()
	if !h.quit || h.m.alt || h.view() != "" {
		t.Errorf("after quitting: quit %v, alternate screen %v, view %q; want quit, the normal screen, nothing", h.quit, h.m.alt, h.view())
	}
}

// TestAnswerPrintedAbove: the joiner's answer is printed above the UI too.
func TestAnswerPrintedAbove(t *testing.T) {
	h := newHarness(t, ScreenJoin, testInvite)
	if len(h.prints) != 1 || !containsLine(lines(h.prints[0]), testAnswer) {
		t.Fatalf("printed %q; want the answer alone on a line", h.prints)
	}
	view := h.view()
	if strings.Contains(view, testAnswer[:20]) || !strings.Contains(view, "printed above") || h.m.alt {
		t.Errorf("the join screen shows a piece of the answer, or not where it is, or is not inline:\n%s", view)
	}
	h.send(tea.WindowSizeMsg{Width: 40, Height: 24})
	// At 40 columns the answer takes three rows.
	if n := len(lines(h.view())); n != 24-5 {
		t.Errorf("at 40 columns the view has %d lines; want %d", n, 24-5)
	}
}

// mustPrint fails unless the last code printed above the UI is code,
// alone on its line.
func mustPrint(t *testing.T, h *harness, code string) {
	t.Helper()
	if len(h.prints) == 0 || !containsLine(lines(h.prints[len(h.prints)-1]), code) {
		t.Errorf("printed %q; want %q alone on a line", h.prints, code)
	}
}

func containsLine(ls []string, want string) bool {
	for _, l := range ls {
		if strings.HasSuffix(l, want) && !strings.Contains(strings.TrimSuffix(l, want), "PLY") {
			return true
		}
	}
	return false
}

// parsingCall is the fake engine with the real engine's code check, so
// that what the screens show for a bad paste is the engine's own word.
type parsingCall struct{ *fakeCall }

func (c parsingCall) Join(ctx context.Context, invite string) (string, error) {
	if _, err := rtc.ParseCode(invite, rtc.KindInvite); err != nil {
		return "", err
	}
	return c.fakeCall.Join(ctx, testInvite)
}

func (c parsingCall) Accept(answer string) error {
	if _, err := rtc.ParseCode(answer, rtc.KindAnswer); err != nil {
		return err
	}
	return c.fakeCall.Accept(testAnswer)
}

// realCode returns a valid code of kind with an IPv4 host, an IPv6 host
// and a server-reflexive candidate, as a caller on a home network makes:
// longer than one row of 80 columns.
func realCode(kind rtc.Kind) string {
	c := &rtc.Code{Kind: kind, InviteTag: 0x0102}
	for i := range c.Secret {
		c.Secret[i] = byte(31 * i)
	}
	for i := range c.Fingerprint {
		c.Fingerprint[i] = byte(7*i + 3)
	}
	c.Candidates = []rtc.Candidate{
		{Type: rtc.CandidateHost, Addr: netip.MustParseAddrPort("192.168.1.23:50000")},
		{Type: rtc.CandidateHost, Addr: netip.MustParseAddrPort("[2001:db8:85a3:4d2:a9c1:37ff:b2e4:6f10]:52011")},
		{Type: rtc.CandidateSrflx, Addr: netip.MustParseAddrPort("203.0.113.7:61000")},
	}
	return c.String()
}

// TestCutOffShown: the first 80 characters of a code (one row of a code
// wrapped at 80 columns), pasted, are called cut off, on the join screen
// and in the answer box, in full at 80×24.
func TestCutOffShown(t *testing.T) {
	const want = "cut off: it looks like only part of the code was copied"
	wrap := func(f *fakeCall) Call { return parsingCall{f} }

	h := newHarnessWith(t, ScreenJoin, "", wrap)
	h.paste(realCode(rtc.KindInvite)[:80])
	if v := strings.Join(strings.Fields(h.view()), " "); !strings.Contains(v, want) {
		t.Errorf("join screen after the first 80 characters of an invite:\n%s\nwant %q", h.view(), want)
	}

	h = newHarnessWith(t, ScreenCall, "", wrap)
	h.paste(realCode(rtc.KindAnswer)[:80])
	if v := strings.Join(strings.Fields(h.view()), " "); !strings.Contains(v, want) {
		t.Errorf("invite screen after the first 80 characters of an answer:\n%s\nwant %q", h.view(), want)
	}
	if h.m.active != onInvite {
		t.Errorf("after a cut-off answer the screen is %v; want the invite screen", h.m.active)
	}
}

// TestRedrawKeepsCode: ctrl+l inline clears the screen, and with it the
// code printed above, so it prints the code again.
func TestRedrawKeepsCode(t *testing.T) {
	h := newHarness(t, ScreenHome, "")
	h.send(runes("c"))
	h.key(tea.KeyCtrlL)
	if len(h.prints) != 2 || h.prints[1] != h.prints[0] {
		t.Fatalf("after ctrl+l printed %q; want the invite printed again as before", h.prints)
	}
	if n := len(lines(h.view())); n != 24-4 {
		t.Errorf("after ctrl+l the view has %d lines; want %d", n, 24-4)
	}
}
