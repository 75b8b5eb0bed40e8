package audio

import (
	"slices"
	"testing"

	"github.com/gen2brain/malgo"
)

func TestRealDevices(t *testing.T) {
	// What ALSA lists on a machine without a sound card (Debian 12 with
	// libasound2-plugins): plugins only.
	plugins := []string{"null", "lavrate", "samplerate", "speexrate", "jack", "oss", "pulse", "speex", "upmix", "vdownmix"}
	for _, c := range []struct {
		backend malgo.Backend
		ids     []string
		want    []int
	}{
		{malgo.BackendAlsa, plugins, nil},
		{malgo.BackendAlsa, append([]string{"default"}, plugins...), nil},
		{malgo.BackendAlsa, []string{"null", "default", ":0,0", "pulse", ":1,0", "sysdefault"}, []int{1, 2, 4, 5}},
		{malgo.BackendAlsa, []string{"hw:CARD=PCH,DEV=0", "plughw:CARD=PCH,DEV=0", "front:CARD=PCH,DEV=0", "dmix", "upmix"}, []int{0, 1, 2}},
		// Other sound systems list devices only: PulseAudio's null sink
		// included, which is what a user configured.
		{malgo.BackendPulseaudio, []string{"parleytest", "parleytest.monitor", "null"}, []int{0, 1, 2}},
		{nullBackend, []string{"NULL"}, []int{0}},
	} {
		if got := realDevices(c.backend, c.ids); !slices.Equal(got, c.want) {
			t.Errorf("realDevices(%v, %q) = %v; want %v", c.backend, c.ids, got, c.want)
		}
	}
}
