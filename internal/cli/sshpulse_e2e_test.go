package cli

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/audio"
	"parley/internal/pulsetest"
	"parley/internal/speech"
	"parley/internal/sshtest"
)

// TestSSHPulseTCP is the forwarded sound server's way: the "laptop"
// runs a sound server (a private PulseAudio, its native protocol on a
// TCP port of 127.0.0.1, anonymous), plain ssh forwards a port of the
// remote to it (-R RPORT:127.0.0.1:PORT), and parley on the remote, in
// the session of a real sshd that gives it no sound of its own, is
// pointed at the forwarded port (PULSE_SERVER=tcp:127.0.0.1:RPORT): its
// microphone and speaker are the laptop server's null sinks, and speech
// crosses both ways with a local peer. Nothing of parley's runs on the
// laptop side but the sound server. It runs alone, as TestPulseSpeech
// does.
func TestSSHPulseTCP(t *testing.T) {
	wav, ref := firstWords(t)
	ps := pulsetest.Start(t)
	ps.NullSink(t, "mouth_r", "Mouth R")
	ps.NullSink(t, "ear_r", "Ear R")
	port, rport := freeTCPPort(t), freeTCPPort(t)
	ps.Pactl(t, "load-module", "module-native-protocol-tcp", "port="+strconv.Itoa(port), "listen=127.0.0.1", "auth-anonymous=1")
	srv := sshtest.Start(t, sshtest.Options{})
	bin := parleyBinary(t)
	dir := t.TempDir()
	log, peerRec, heard := filepath.Join(dir, "remote.log"), filepath.Join(dir, "peer.wav"), filepath.Join(dir, "ear_r.wav")

	remoteCmd := "PULSE_SERVER=tcp:127.0.0.1:" + strconv.Itoa(rport) + " exec " + shellJoin([]string{bin,
		"call", "--headless", "--stun", "none", "--iface", "lo", "--loopback", "--agent", "none", "--log", log, "--stats",
		"--audio-in", "Monitor of Mouth R", "--audio-out", "Ear R", "--aec=false", "--ns=false", "--agc=false"})
	args := append(srv.Command()[1:], "-R", strconv.Itoa(rport)+":127.0.0.1:"+strconv.Itoa(port), "-o", "ExitOnForwardFailure=yes", sshtest.Destination, remoteCmd)
	remote := startRaw(t, "ssh", nil, "remote", args...)
	invite := remote.next("invite")["code"].(string)

	// The remote's streams on the laptop's server, through the forward.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rec, play bool
		for _, st := range ps.Streams(t) {
			rec = rec || !st.Playback && st.Device == "mouth_r.monitor"
			play = play || st.Playback && st.Device == "ear_r"
		}
		if rec && play {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the remote parley has no streams on the laptop's server (recording %v, playing %v): %v", rec, play, ps.Streams(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := audioLine(t, log), "audio: in Monitor of Mouth R (mouth_r.monitor), out Ear R (ear_r)"; got != want {
		t.Errorf("the remote's log says %q; want %q", got, want)
	}
	clients := ps.Pactl(t, "list", "clients")
	if !strings.Contains(clients, "TCP/IP client from 127.0.0.1") {
		t.Errorf("no client of the laptop's server came over TCP:\n%s", clients)
	}

	stop := ps.Record(t, "ear_r.monitor", heard)
	peer := startPeer(t, "peer", "join", invite, "--audio-in", wav, "--audio-out", peerRec)
	remote.send(peer.next("answer")["code"].(string))
	for remote.next("state")["state"] != "connected" {
	}
	ps.Play(t, "mouth_r", wav)
	length := time.Duration(len(ref)) * time.Second / speech.Rate
	time.Sleep(1500 * time.Millisecond) // the peer's file, begun at connect, and the last words' way
	stop()
	remote.send("/quit")
	rest, code := remote.rest()
	if code != 0 {
		t.Errorf("the remote (ssh) exited %d", code)
	}
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i]["type"] == "stats" {
			t.Logf("the remote's last stats: %v", rest[i])
			break
		}
	}
	if _, code := peer.rest(); code != 0 {
		t.Errorf("the peer exited %d", code)
	}

	for _, c := range []struct{ name, path string }{
		{"remote → peer (laptop server's mouth, through the forward)", peerRec},
		{"peer → remote (to the laptop server's ear, through the forward)", heard},
	} {
		got, err := audio.ReadWAVFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := speech.Compare(ref, got, 5*speech.Rate)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: %v of speech arrived %v into the recording, warped by %v; correlation %.3f, log-spectral distance %.2f dB",
			c.name, length.Round(time.Millisecond), res.Delay.Round(time.Millisecond), res.Warp.Round(time.Millisecond), res.Corr, res.LSD)
		// TestPulseSpeech's bounds: the same sound server, its socket
		// through ssh instead.
		if res.Corr < pulseMinCorr {
			t.Errorf("%s: correlation %.3f; want at least %.2f", c.name, res.Corr, pulseMinCorr)
		}
		if res.LSD > pulseMaxLSD {
			t.Errorf("%s: log-spectral distance %.2f dB; want at most %.1f", c.name, res.LSD, pulseMaxLSD)
		}
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
