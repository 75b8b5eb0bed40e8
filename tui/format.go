package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Clock tells the time. The UI reads the time only through it, so that
// tests can fix it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// fmtElapsed formats a duration as m:ss, or h:mm:ss from an hour on.
func fmtElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// fmtMillis formats a duration in whole milliseconds.
func fmtMillis(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

// fmtLoss formats a fraction of packets lost as a percentage.
func fmtLoss(f float64) string {
	if math.IsNaN(f) || f < 0 {
		f = 0
	}
	return fmt.Sprintf("%.1f%%", f*100)
}

// fmtRate formats bits per second.
func fmtRate(bps int) string {
	switch {
	case bps >= 10_000_000:
		return fmt.Sprintf("%d Mb/s", (bps+500_000)/1_000_000)
	case bps >= 1_000_000:
		return fmt.Sprintf("%.1f Mb/s", float64(bps)/1e6)
	default:
		return fmt.Sprintf("%d kb/s", (bps+500)/1000)
	}
}

// truncate cuts s (which may hold styles) to width cells, with an ellipsis.
func truncate(s string, width int) string {
	if width < 1 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}

// truncateLines truncates each line of s to width cells.
func truncateLines(s string, width int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = truncate(l, width)
	}
	return strings.Join(lines, "\n")
}

// frame lays out a screen of height lines: top at the top, bottom at the
// bottom, and blank lines between. When they do not fit, top is cut from
// its end.
func frame(top, bottom string, width, height int) string {
	t := strings.Split(top, "\n")
	b := []string{}
	if bottom != "" {
		b = strings.Split(bottom, "\n")
	}
	if height < 1 {
		height = len(t) + len(b)
	}
	if len(b) > height {
		b = b[len(b)-height:]
	}
	if room := height - len(b); len(t) > room {
		t = t[:room]
	}
	lines := make([]string, 0, height)
	lines = append(lines, t...)
	for len(lines)+len(b) < height {
		lines = append(lines, "")
	}
	lines = append(lines, b...)
	if width > 0 {
		for i, l := range lines {
			lines[i] = truncate(l, width)
		}
	}
	return strings.Join(lines, "\n")
}

// spread puts left and right on one line of width cells, right-aligned;
// right is dropped when both do not fit.
func spread(left, right string, width int) string {
	lw, rw := lipgloss.Width(left), lipgloss.Width(right)
	if right == "" || lw+1+rw > width {
		return truncate(left, width)
	}
	return left + strings.Repeat(" ", width-lw-rw) + right
}

// wrapText wraps prose (which may hold styles) at width cells, between
// words where it can.
func wrapText(s string, width int) string {
	return ansi.Wrap(s, max(width, 1), "")
}

// footer renders the short help for bs at width. When it does not fit,
// it leaves out items from the second-to-last backwards, so the first
// (the main action) and the last (quit or help) always show.
func footer(h help.Model, bs []key.Binding, width int) string {
	h.Width = 0
	for len(bs) > 2 && lipgloss.Width(h.ShortHelpView(bs)) > width {
		bs = append(append([]key.Binding{}, bs[:len(bs)-2]...), bs[len(bs)-1])
	}
	h.Width = width
	return h.ShortHelpView(bs)
}

// keyList renders bindings one per line, with every key that does the
// same thing ("ctrl+t/f2  mute"), in as many columns as fit width.
func keyList(st *Styles, bs []key.Binding, width int) string {
	type row struct{ keys, desc string }
	var rows []row
	keysW, descW := 0, 0
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		names := map[string]string{"up": "↑", "down": "↓", "pgdown": "pgdn"}
		var ks []string
		for _, k := range b.Keys() {
			if n, ok := names[k]; ok {
				k = n
			}
			ks = append(ks, k)
		}
		r := row{strings.Join(ks, "/"), b.Help().Desc}
		keysW, descW = max(keysW, lipgloss.Width(r.keys)), max(descW, lipgloss.Width(r.desc))
		rows = append(rows, r)
	}
	colW := keysW + 2 + descW + 3
	cols := max(min(width/max(colW, 1), len(rows)), 1)
	per := (len(rows) + cols - 1) / cols
	lines := make([]string, per)
	for i, r := range rows {
		cell := st.HelpStyle.FullKey.Render(r.keys) + strings.Repeat(" ", keysW-lipgloss.Width(r.keys)+2) +
			st.HelpStyle.FullDesc.Render(r.desc)
		if i/per < cols-1 {
			cell += strings.Repeat(" ", max(colW-lipgloss.Width(cell), 0))
		}
		lines[i%per] += cell
	}
	return strings.Join(lines, "\n")
}
