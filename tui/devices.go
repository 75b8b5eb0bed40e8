package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// DevicePicker is implemented by a Call whose microphone and speaker can
// be switched mid-call. The UI checks for it with a type assertion.
type DevicePicker interface {
	// Devices lists the microphones and the speakers. It may take a
	// moment: the UI calls it from a command.
	Devices() (mics, speakers []Device, err error)
	// UseDevice switches the microphone (input) or the speaker to the
	// device with that ID. It must not block; an AudioEvent with Switched
	// set, or an ErrorEvent, says how it went.
	UseDevice(input bool, id string) error
}

// Device is a microphone or a speaker to pick.
type Device struct {
	Name    string // what the user reads
	ID      string // what selects it
	Default bool
}

// devicesMsg carries the devices a DevicePicker listed.
type devicesMsg struct {
	mics, speakers []Device
	err            error
}

// picker is the list of devices the call screen shows while one is being
// picked: the microphones, then the speakers.
type picker struct {
	items  []pickItem
	cursor int
}

type pickItem struct {
	input bool
	dev   Device
}

func newPicker(mics, speakers []Device) *picker {
	p := &picker{}
	for _, d := range mics {
		p.items = append(p.items, pickItem{true, d})
	}
	for _, d := range speakers {
		p.items = append(p.items, pickItem{false, d})
	}
	return p
}

// listDevices asks the call for its devices, off the UI goroutine.
func listDevices(dp DevicePicker) tea.Cmd {
	return func() tea.Msg {
		mics, speakers, err := dp.Devices()
		return devicesMsg{mics, speakers, err}
	}
}

// pickerKey handles a key while the picker is open: up and down move,
// enter picks, esc closes; other keys do nothing.
func (s *callScreen) pickerKey(k tea.KeyMsg) {
	keys, p := s.sh.keys, s.picker
	switch {
	case matches(k, keys.Up) || matches(k, keys.LineUp):
		p.cursor = (p.cursor + len(p.items) - 1) % len(p.items)
	case matches(k, keys.Down) || matches(k, keys.LineDown):
		p.cursor = (p.cursor + 1) % len(p.items)
	case matches(k, keys.Select):
		it := p.items[p.cursor]
		s.picker = nil
		what := "speaker"
		if it.input {
			what = "microphone"
		}
		if err := s.devicePicker.UseDevice(it.input, it.dev.ID); err != nil {
			s.setNotice("! "+oneLine(err), true)
			return
		}
		s.setNotice("switching the "+what+" to "+it.dev.Name+"…", false)
	case matches(k, keys.CloseHelp):
		s.picker = nil
	}
}

// pickerView lists the devices, the one under the cursor marked.
func (s *callScreen) pickerView() string {
	st := &s.sh.styles
	var b strings.Builder
	heading := ""
	for i, it := range s.picker.items {
		h := "Speakers"
		if it.input {
			h = "Microphones"
		}
		if h != heading {
			if heading != "" {
				b.WriteString("\n")
			}
			heading = h
			b.WriteString(st.Heading.Render(h) + "\n")
		}
		line := "  " + it.dev.Name
		if it.dev.Default {
			line += st.Dim.Render("  (default)")
		}
		if i == s.picker.cursor {
			line = "› " + strings.TrimPrefix(line, "  ")
		}
		b.WriteString(truncate(line, s.width) + "\n")
	}
	b.WriteString("\n" + st.Dim.Render("↑/↓ move · enter use it · esc close"))
	return b.String()
}
