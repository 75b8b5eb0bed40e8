package voice

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"parley/audio"
	"parley/rtc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// loop is a Link that plays what is sent straight back, as if the peer
// were this side's echo.
type loop struct {
	mu   sync.Mutex
	recv rtc.AudioReceiver
	sent int
}

func (l *loop) WriteAudio(p *rtp.Packet) error {
	l.mu.Lock()
	r := l.recv
	l.sent++
	l.mu.Unlock()
	if r != nil {
		r(p, time.Now())
	}
	return nil
}

func (l *loop) SetAudioReceiver(r rtc.AudioReceiver) {
	l.mu.Lock()
	l.recv = r
	l.mu.Unlock()
}

func (l *loop) Stats() rtc.MediaStats { return rtc.MediaStats{} }

// TestToneLoop sends a tone through real Opus and the jitter buffer and
// records it: the recording holds the tone, the stats count its frames,
// and Close stops every goroutine (goleak).
func TestToneLoop(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "out.wav")
	s, err := Open(Config{In: audio.Spec{Kind: audio.KindTone}, Out: audio.Spec{Kind: audio.KindFile, Path: rec}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Silent() {
		t.Error("a tone counts as silent")
	}
	l := &loop{}
	if err := s.Start(l); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Close() // twice is fine
	if st.Frames < 25 || l.sent < 25 {
		t.Errorf("%d frames played of %d sent in 1 s; want 25 or more", st.Frames, l.sent)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
	pcm, err := audio.ReadWAVFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if lv := audio.Measure(pcm); lv.Peak < -20 || lv.Peak > -6 {
		t.Errorf("the recording peaks at %.1f dBFS; want the tone's -12", lv.Peak)
	}
}

// TestMutedSendsSilence: muted, the sender keeps time but the peer hears
// nothing.
func TestMutedSendsSilence(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "out.wav")
	s, err := Open(Config{In: audio.Spec{Kind: audio.KindTone}, Out: audio.Spec{Kind: audio.KindFile, Path: rec}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetMuted(true)
	if err := s.Start(&loop{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	s.Close()
	pcm, err := audio.ReadWAVFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if lv := audio.Measure(pcm); lv.Peak > -60 {
		t.Errorf("muted, the recording peaks at %.1f dBFS; want silence", lv.Peak)
	}
}
