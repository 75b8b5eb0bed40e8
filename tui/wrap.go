package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// wrapWords wraps plain text at width cells as wrapSpans does, and
// returns the rows without the spaces they end with.
func wrapWords(text string, width int) []string {
	rs := []rune(text)
	spans := wrapSpans(rs, width)
	rows := make([]string, len(spans))
	for i, sp := range spans {
		rows[i] = strings.TrimRight(string(rs[sp.start:sp.end]), " ")
	}
	return rows
}

// span is one row of wrapped text: the runes [start, end) of the text,
// never holding a line break. last marks the last row of a line (before a
// line break or the end), where a cursor at end belongs.
type span struct {
	start, end int
	last       bool
}

// wrapSpans lays plain text out in rows of width cells: line breaks
// start a new row, and a line too long is wrapped at spaces, so that a
// word (a URL, a path) stays whole on a row. Only a word longer than the
// width is cut, where the row is full. A space that falls just past the
// width stays on its row (past the width: callers leave a cell for it or
// trim it), so no row starts with the space a line was wrapped at.
func wrapSpans(text []rune, width int) []span {
	width = max(width, 1)
	var rows []span
	a := 0
	for {
		b := a
		for b < len(text) && text[b] != '\n' {
			b++
		}
		rows = wrapLine(rows, text, a, b, width)
		if b == len(text) {
			return rows
		}
		a = b + 1
	}
}

// wrapLine appends the rows of text[a:b], which holds no line break.
func wrapLine(rows []span, text []rune, a, b, width int) []span {
	start, w := a, 0
	for i := a; i < b; i++ {
		cw := ansi.StringWidth(string(text[i]))
		if w+cw <= width || i == start {
			w += cw
			continue
		}
		if text[i] == ' ' {
			// The space hangs past the width; the next row starts after it.
			rows = append(rows, span{start: start, end: i + 1})
			start, w = i+1, 0
			continue
		}
		// Break before the word that overflows, if it started on this row
		// after a space.
		k := i
		for k > start && text[k-1] != ' ' {
			k--
		}
		if k > start {
			rows = append(rows, span{start: start, end: k})
			start, w = k, ansi.StringWidth(string(text[k:i]))
			if w+cw <= width || k == i {
				w += cw
				continue
			}
		}
		// A word longer than the row: cut it where the row is full.
		rows = append(rows, span{start: start, end: i})
		start, w = i, cw
	}
	return append(rows, span{start: start, end: b, last: true})
}
