package rtc

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// TURNServer is a TURN server with its long-term credentials.
type TURNServer struct {
	URL      string // turn:host:port or turns:host:port, with ?transport=tcp optionally
	Username string
	Password string
}

// ParseTURN parses "turn:USER:PASS@HOST:PORT" (or turns:, with an optional
// "?transport=udp|tcp").
func ParseTURN(s string) (TURNServer, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme != "turn" && scheme != "turns" {
		return TURNServer{}, fmt.Errorf("TURN server %q: it should look like turn:USER:PASS@HOST:PORT", s)
	}
	creds, hostport, ok := cutLast(rest, "@")
	if !ok {
		return TURNServer{}, fmt.Errorf("TURN server %q: no USER:PASS@ before the host", s)
	}
	user, pass, ok := strings.Cut(creds, ":")
	if !ok || user == "" {
		return TURNServer{}, fmt.Errorf("TURN server %q: the credentials should be USER:PASS", s)
	}
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	if p, err := url.PathUnescape(pass); err == nil {
		pass = p
	}
	t := TURNServer{URL: scheme + ":" + hostport, Username: user, Password: pass}
	if _, err := stun.ParseURI(t.URL); err != nil {
		return TURNServer{}, fmt.Errorf("TURN server %q: %v", s, err)
	}
	return t, nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// iceServers returns the STUN and TURN servers of cfg for pion.
func (cfg *Config) iceServers() []webrtc.ICEServer {
	var servers []webrtc.ICEServer
	if len(cfg.STUN) > 0 {
		servers = append(servers, webrtc.ICEServer{URLs: cfg.STUN})
	}
	for _, t := range cfg.TURN {
		servers = append(servers, webrtc.ICEServer{URLs: []string{t.URL}, Username: t.Username, Credential: t.Password})
	}
	return servers
}
