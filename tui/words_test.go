package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"parley/internal/event"
)

// TestSafetyWordsFit: the five longest PGP words (53 columns) are shown
// whole at 80 and at 60 columns; the hint after them gives way.
func TestSafetyWordsFit(t *testing.T) {
	const longest = "blackjack stethoscope briefcase performance classroom"
	h := newHarness(t, ScreenCall, "")
	h.connect()
	h.emit(event.VerifyEvent{Words: longest})
	for _, width := range []int{80, 60} {
		h.send(tea.WindowSizeMsg{Width: width, Height: 24})
		v := h.view()
		checkFits(t, v, width, 24)
		if !strings.Contains(v, longest) {
			t.Errorf("at %d columns the safety words are cut:\n%s", width, v)
		}
	}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.emit(event.VerifyEvent{Words: "tycoon puberty beaming Babylon briefcase"})
	mustContain(t, h.view(), "safety words: tycoon puberty beaming Babylon briefcase — ctrl+o: they match")
}
