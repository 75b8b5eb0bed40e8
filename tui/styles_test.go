package tui

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"rsc.io/qr"
)

// sgrColour matches an SGR sequence that sets a colour.
var sgrColour = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]`)

func TestStylesWithoutColour(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	st := DefaultStyles(r, false)
	for name, s := range map[string]lipgloss.Style{
		"Title": st.Title, "Error": st.Error, "Code": st.Code, "Dim": st.Dim, "Good": st.Good,
		"Warn": st.Warn, "Meter": st.Meter, "Me": st.Me, "Peer": st.Peer, "Box": st.Box,
	} {
		if out := s.Render("x"); sgrColour.MatchString(out) {
			t.Errorf("%s without colour renders %q: a colour", name, out)
		}
	}
	if out := st.Error.Render("x"); !strings.Contains(out, "\x1b[1") {
		t.Errorf("Error without colour renders %q; want bold still", out)
	}
	if out := st.Cursor.Render("x"); !strings.Contains(out, "7") {
		t.Errorf("Cursor without colour renders %q; want reverse video", out)
	}

	// With colour, 16-colour terminals get their own colours.
	r.SetHasDarkBackground(true)
	if out := DefaultStyles(r, true).Error.Render("x"); !sgrColour.MatchString(out) {
		t.Errorf("Error with colour on a 16-colour terminal renders %q; want a colour", out)
	}
}

func TestQRLines(t *testing.T) {
	dark, err := qrLines(testInvite, true)
	if err != nil {
		t.Fatal(err)
	}
	light, _ := qrLines(testInvite, false)
	// A 100-character code is a version 5 symbol (37 modules) plus a quiet
	// zone of 2 on each side: 41 columns, 21 lines of half blocks.
	if len(dark) != 21 || len([]rune(dark[0])) != 41 {
		t.Fatalf("QR code is %d lines of %d; want 21 of 41", len(dark), len([]rune(dark[0])))
	}
	// The quiet zone is drawn on a dark background (it must be light), and
	// left blank on a light one.
	if !strings.HasPrefix(dark[0], "████") || strings.TrimSpace(light[0]) != "" {
		t.Errorf("quiet zone: dark %q, light %q", dark[0], light[0])
	}
	// Reading the half blocks back gives the encoder's modules exactly.
	code, _ := qr.Encode(testInvite, qr.L)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			cell := []rune(light[(y+2)/2])[x+2]
			var ink bool
			if (y+2)%2 == 0 {
				ink = cell == '█' || cell == '▀'
			} else {
				ink = cell == '█' || cell == '▄'
			}
			if ink != code.Black(x, y) {
				t.Fatalf("module (%d, %d): drawn %v; want %v", x, y, ink, code.Black(x, y))
			}
		}
	}
	flip := map[rune]rune{'█': ' ', ' ': '█', '▀': '▄', '▄': '▀'}
	for i := 1; i < len(dark)-1; i++ {
		d, l := []rune(dark[i]), []rune(light[i])
		for j := range d {
			if flip[d[j]] != l[j] {
				t.Fatalf("line %d, column %d: dark %q, light %q; want inverses", i, j, d[j], l[j])
			}
		}
	}
}
