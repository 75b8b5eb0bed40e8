package rtc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"parley/internal/clock"
)

// DefaultSTUN is the STUN server used when none is configured.
const DefaultSTUN = "stun:stun.l.google.com:19302"

// Config holds the settings of a call. The zero value is usable: no STUN,
// all suitable interfaces, and the default timeouts.
type Config struct {
	// STUN lists STUN server URLs ("stun:host:port").
	STUN []string
	// TURN lists TURN servers, through which a relayed path can be had.
	TURN []TURNServer
	// RelayOnly uses relayed paths only, so the peer never learns this
	// machine's addresses.
	RelayOnly bool
	// Interfaces, if set, are the only network interfaces gathered on.
	Interfaces []string
	// Loopback includes loopback candidates, for calls on one machine.
	Loopback bool
	// MDNS resolves a browser's ".local" candidates (standard form only).
	MDNS bool
	// SDP makes codes in the standard form (base64 of the JSON session
	// description) instead of the compact one.
	SDP bool

	// GatherTimeout bounds the wait for candidates before a code is made.
	GatherTimeout time.Duration
	// ConnectTimeout bounds connecting once both codes are in place.
	ConnectTimeout time.Duration
	// AnswerWait is how long the joiner waits for the caller to use the
	// answer before it gives up.
	AnswerWait time.Duration
	// SilenceTimeout is how long without a packet from the peer before the
	// call counts as disconnected; LostTimeout how much longer before it is
	// given up.
	SilenceTimeout time.Duration
	LostTimeout    time.Duration

	// Net replaces the network stack, for tests on pion's virtual
	// network (vnet). Nil is the real one.
	Net transport.Net

	// Clock runs the call's own timeouts and tells the times it reports
	// (ChatEvent.At, audio arrival, stats); pion's timers (ICE, DTLS,
	// SCTP) keep the wall clock. Nil is the wall clock. On a clock.Fake,
	// each of the call's waits, its polls included, lasts until the test
	// moves the clock.
	Clock clock.Clock

	// Log receives diagnostics, pion's included. Nil discards them.
	Log io.Writer
}

// The defaults of Config's timeouts.
const (
	defaultGatherTimeout  = 1500 * time.Millisecond
	defaultConnectTimeout = 30 * time.Second
	defaultAnswerWait     = 5 * time.Minute
	defaultSilenceTimeout = 4 * time.Second
	defaultLostTimeout    = 9 * time.Second
)

// pion's own timers, on the wall clock whatever Config.Clock is.
const (
	// iceKeepalive is how often ICE sends a keepalive on the selected
	// pair: several fit in SilenceTimeout, so a quiet peer is not taken
	// for a lost one.
	iceKeepalive = time.Second
	// sctpRTOMax caps SCTP's retransmission timeout (RFC 4960's 60 s by
	// default), so that chat lost on a bad path is resent within seconds.
	sctpRTOMax = 2 * time.Second
)

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.GatherTimeout, defaultGatherTimeout)
	def(&c.ConnectTimeout, defaultConnectTimeout)
	def(&c.AnswerWait, defaultAnswerWait)
	def(&c.SilenceTimeout, defaultSilenceTimeout)
	def(&c.LostTimeout, defaultLostTimeout)
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
}

// Sentinel errors of the engine.
var (
	ErrNoAddress   = errors.New("no network address to offer: check that this machine is on a network")
	ErrWrongInvite = errors.New("this answer is for a different invite; ask your peer to join your latest invite")
	ErrOwnInvite   = errors.New("this is your own invite; send it to your peer and paste the answer they send back")
	ErrBusy        = errors.New("this call already has its codes")
)

// Call is one peer-to-peer call: one PeerConnection with an Opus audio
// track and a chat data channel. Its methods are safe for concurrent use.
//
// A single goroutine owns the call's state; pion's callbacks only post to
// it and never block.
type Call struct {
	cfg   Config
	logf  func(format string, args ...any)
	pc    *webrtc.PeerConnection
	audio *webrtc.TrackLocalStaticRTP

	audioRecv atomic.Pointer[AudioReceiver]
	readers   sync.WaitGroup // the goroutines reading RTP and RTCP

	// audioTrack is the one track fed to audioRecv (onTrack).
	audioTrack atomic.Pointer[webrtc.TrackRemote]

	inbox  inbox
	events chan Event
	quit   chan struct{}
	done   chan struct{}
	nextID atomic.Uint64
	ended  atomic.Bool
	once   sync.Once
	begun  atomic.Bool

	secret [SecretLen]byte
	invite *Code // the caller's own invite, compact form only

	// peerOK is set once the peer's certificate has passed checkPeer;
	// until then nothing goes to the peer or comes from it.
	peerOK atomic.Bool

	// Owned by the run goroutine.
	dc        *webrtc.DataChannel
	dcOpen    bool
	chatRW    datachannel.ReadWriteCloser // the open chat channel, unread until peerOK
	peerCert  certCheck                   // what the peer's certificate must match
	outbox    []frame
	unacked   []uint64
	state     State
	hup       hangupState
	peerBye   bool
	muted     bool // as last told to the peer
	peerMuted bool
	answered  bool // this side is the callee
	words     string
	verified  bool
	chatLimit *rate.Limiter
	finished  bool
	pending   []Event
	connTimer clock.Timer
	hintTimer clock.Timer
	lostTimer clock.Timer
	hupTimer  clock.Timer
	hupWatch  clock.Timer

	statsMu  sync.Mutex // GetStats and Close never overlap
	pcClosed bool

	hupStart    time.Time // when the hang-up began
	progress    time.Time // the hang-up's last delivery
	hupPatient  bool      // HangUpWhenDelivered
	inviter     atomic.Bool
	peerChat    atomic.Bool           // the peer's chat channel is taken
	chatErr     atomic.Pointer[error] // why chat cannot be used, if it cannot
	inboxBytes  atomic.Int64          // the peer's messages waiting in the inbox
	chatMark    atomic.Uint64         // SCTP bytes received at markChat
	lastMessage atomic.Int64          // and when, in Unix ns
	stallLast   uint64                // SCTP bytes received at the last checkChatStall
	seen        idSet
	queuedChat  int // bytes of the ChatEvents in pending, with chatOverhead each
	dropped     int // the peer's messages dropped and not yet reported
	dropFirst   time.Time
	dropTimer   clock.Timer
	muteShown   bool
	muteShownAt time.Time
	muteTimer   clock.Timer
	saidBig     bool

	statsTimer  clock.Timer
	lastStats   MediaStats
	lastStatsAt time.Time

	roam         *roamer // follows the peer to a new address (roam.go)
	reconnecting bool    // said "reconnecting…"; owned by run
	routeTimer   clock.Timer
	routeDst     netip.AddrPort // the peer's address at the last pollRoute
	routeSrc     netip.Addr     // and where this side reached it from
	probes       int            // probes still to send from there
	stopRoutes   func()         // ends watchRoutes' goroutine, if it runs
}

type hangupState int

// chatOverhead is what each chat message costs the rate limit beyond its
// text, so that a flood of tiny messages is limited too.
const chatOverhead = 64

const (
	hupNone         hangupState = iota
	hupDraining                 // we hang up once our messages are delivered
	hupByeSent                  // we said bye and wait for the peer's
	hupPeerDraining             // the peer said bye; we deliver, then answer
)

// New prepares a call. Use Invite (caller) or Join (callee) next.
func New(cfg Config) (*Call, error) {
	cfg.setDefaults()
	c := &Call{
		cfg:    cfg,
		logf:   func(f string, a ...any) { fmt.Fprintf(cfg.Log, f+"\n", a...) },
		events: make(chan Event),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		inbox:  newInbox(),
		state:  "new",
		// A peer may send chat as fast as a script can type, but not
		// flood the screen: 100 kB a second, with a burst of 512 kB.
		chatLimit: rate.NewLimiter(100_000, 512_000),
	}
	var secret [SecretLen]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	guard := newStreamGuard(c.logf)
	c.roam = newRoamer(func(port int, to netip.AddrPort) { c.post(func() { c.peerMoved(port, to) }) })
	pc, err := newPeerConnection(&cfg, secret, guard, c.roam)
	if err != nil {
		return nil, err
	}
	guard.onAbuse(func(reason string) { c.post(func() { c.fail(reason) }) })
	c.roam.watch(pc)
	c.pc = pc
	c.secret = secret
	c.audio, err = webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp},
		audioTrackID, streamID)
	var tr *webrtc.RTPTransceiver
	if err == nil {
		tr, err = pc.AddTransceiverFromTrack(c.audio, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionSendrecv,
			// The SSRC is the secret's, so that a code need not carry it.
			SendEncodings: []webrtc.RTPEncodingParameters{{RTPCodingParameters: webrtc.RTPCodingParameters{SSRC: webrtc.SSRC(ssrcOf(secret))}}},
		})
	}
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("add audio track: %w", err)
	}
	c.readRTCP(tr.Sender())
	pc.OnTrack(c.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.post(func() { c.onConnectionState(s) })
	})
	// Handlers must be set before this returns: pion drops messages that
	// arrive while a channel has none.
	pc.OnDataChannel(c.onDataChannel)
	go c.run()
	return c, nil
}

func newPeerConnection(cfg *Config, secret [SecretLen]byte, guard *streamGuard, roam *roamer) (*webrtc.PeerConnection, error) {
	var se webrtc.SettingEngine
	ufrag, pwd := iceCredentials(secret)
	se.SetICECredentials(ufrag, pwd)
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleClient); err != nil {
		return nil, err
	}
	// A compact code has only part of the peer's fingerprint: the call
	// checks the certificate itself (peercert.go).
	se.DisableCertificateFingerprintVerification(true)
	// ICE itself never gives up: the call decides (SilenceTimeout,
	// LostTimeout), so a joiner can wait minutes for the caller.
	se.SetICETimeouts(cfg.SilenceTimeout, 0, iceKeepalive)
	se.SetSTUNGatherTimeout(cfg.GatherTimeout * 2 / 3)
	// A pair with a peer-reflexive candidate is nominated as soon as it
	// is the best that works, not after pion's default second, so that an
	// answer without candidates connects in milliseconds. No worse pair
	// wins for it: the wait only delays nomination, and pairs keep their
	// priorities. A host pair outranks it and waits for nothing either. A
	// server-reflexive pair ranks below it (RFC 8445, 5.1.2.2) and is the
	// same path through the NATs: pion checks from the host socket, whose
	// mapping is not the one STUN saw, and the NAT matrix selects the same
	// kinds of pair with this wait at 0 as at 1 s. A relay waits 2 s. A
	// small wait would buy nothing: pion looks again only on its 200 ms
	// check tick, so 10 to 150 ms all come out at about 200 ms.
	se.SetPrflxAcceptanceMinWait(0)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetInterfaceFilter(interfaceFilter(cfg.Interfaces))
	list := systemIfaces
	if cfg.Net != nil {
		list = nil // pion's virtual network has interfaces of its own
	}
	se.SetIPFilter(ipFilter(list, cfg.Interfaces, cfg.Loopback))
	if cfg.MDNS {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	} else {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	base, err := roam.configure(&se, cfg) // a change of address: roam.go
	if err != nil {
		return nil, fmt.Errorf("set up connection: %w", err)
	}
	sn, err := newStreamNet(base, guard) // a flood of SSRCs: ssrcfilter.go
	if err != nil {
		return nil, err
	}
	se.SetNet(sn)
	se.BufferFactory = guard.buffer
	se.SetSCTPMaxMessageSize(sctpMaxMessage)
	se.DetachDataChannels() // the call reads chat itself: readChat
	se.SetSCTPRTOMax(sctpRTOMax)
	se.LoggerFactory = &logging.DefaultLoggerFactory{Writer: newRateWriter(cfg.Log), DefaultLogLevel: logging.LogLevelWarn}

	var me webrtc.MediaEngine
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp},
		PayloadType:        opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var reg interceptor.Registry
	if err := webrtc.ConfigureRTCPReports(&reg); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureStatsInterceptor(&reg); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&reg))
	conf := webrtc.Configuration{ICEServers: cfg.iceServers()}
	if cfg.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return nil, fmt.Errorf("set up connection: %w", err)
	}
	guard.bind(pc)
	return pc, nil
}

// LoopbackInterfaces names this machine's loopback interfaces ("lo",
// "lo0"), for Config.Interfaces in calls on one machine.
func LoopbackInterfaces() []string {
	ifs, _ := net.Interfaces()
	var names []string
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 && i.Flags&net.FlagUp != 0 {
			names = append(names, i.Name)
		}
	}
	return names
}

// virtualPrefixes name interfaces that only slow ICE down: container and
// VM bridges that no peer can reach.
var virtualPrefixes = []string{"docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "cni", "flannel", "lxcbr", "podman"}

func interfaceFilter(only []string) func(string) bool {
	return func(name string) bool {
		if len(only) > 0 {
			for _, o := range only {
				if o == name {
					return true
				}
			}
			return false
		}
		for _, p := range virtualPrefixes {
			if strings.HasPrefix(name, p) {
				return false
			}
		}
		return true
	}
}

// Events returns the channel on which the call's events arrive. It is
// closed after the ByeEvent, or when Close is called.
func (c *Call) Events() <-chan Event { return c.events }

// Invite makes this side the caller and returns the invite code.
func (c *Call) Invite(ctx context.Context) (string, error) {
	if !c.begun.CompareAndSwap(false, true) {
		return "", ErrBusy
	}
	c.inviter.Store(true)
	ordered := true
	dc, err := c.pc.CreateDataChannel(chatLabel, &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return "", fmt.Errorf("create chat channel: %w", err)
	}
	c.attach(dc)
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	desc, err := c.gather(ctx, offer)
	if err != nil {
		return "", err
	}
	if c.cfg.SDP {
		return encodeSDPForm(desc), nil
	}
	code, err := codeFromSDP(KindInvite, c.secret, desc)
	if err != nil {
		return "", err
	}
	c.invite = code
	return code.String(), nil
}

// Accept applies the peer's answer to this side's invite and starts
// connecting.
func (c *Call) Accept(answer string) error {
	desc, code, err := parseDescription(answer, KindAnswer)
	if err != nil {
		var ce *CodeError
		if errors.As(err, &ce) && c.invite != nil && strings.HasPrefix(ce.msg, "this is an invite") {
			if own, perr := ParseCode(answer, KindInvite); perr == nil && own.Equal(c.invite) {
				return ErrOwnInvite
			}
		}
		return err
	}
	if code != nil && c.invite != nil && code.InviteTag != c.invite.Tag() {
		return ErrWrongInvite
	}
	c.expectPeer(desc, code)
	offered := mids(c.pc.LocalDescription())
	audio, err := checkAnswer(desc, offered)
	if err != nil {
		return err
	}
	if !audio {
		desc = withoutAudio(desc, offered)
	}
	if err := c.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("apply the answer: %w", err)
	}
	if tr := c.ownAudio(); !audio && tr != nil {
		// The peer takes no audio: nothing to send.
		if err := tr.Stop(); err != nil {
			return fmt.Errorf("apply the answer: %w", err)
		}
	}
	c.checkPeerChat(desc)
	c.post(func() { c.connecting(c.cfg.ConnectTimeout) })
	return nil
}

// Join makes this side the callee: it applies the invite and returns the
// answer code, then waits for the caller to apply it.
func (c *Call) Join(ctx context.Context, invite string) (string, error) {
	desc, code, err := parseDescription(invite, KindInvite)
	if err != nil {
		return "", err
	}
	plan, err := planOffer(desc)
	if err != nil {
		return "", err
	}
	if !c.begun.CompareAndSwap(false, true) {
		return "", ErrBusy
	}
	if err := c.bindAudio(plan); err != nil {
		return "", fmt.Errorf("apply the invite: %w", err)
	}
	c.expectPeer(desc, code)
	if err := c.pc.SetRemoteDescription(plan.unbundle(desc)); err != nil {
		return "", fmt.Errorf("apply the invite: %w", err)
	}
	if err := c.stopRejected(plan); err != nil {
		return "", err
	}
	c.checkPeerChat(desc)
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	local, err := c.gather(ctx, answer)
	if err != nil {
		return "", err
	}
	c.post(func() {
		c.answered = true
		c.connecting(c.cfg.AnswerWait + c.cfg.ConnectTimeout)
		// The joiner cannot tell a peer who has not pasted the answer yet
		// from a path that does not exist; after a while, it says both.
		c.hintTimer = c.after(c.cfg.ConnectTimeout, func() {
			if c.state == StateConnecting {
				c.setState(StateConnecting, "", stillWaiting(c.cfg.ConnectTimeout))
			}
		})
	})
	if c.cfg.SDP || code == nil {
		return encodeSDPForm(plan.finishAnswer(local)), nil
	}
	ac, err := codeFromSDP(KindAnswer, c.secret, local)
	if err != nil {
		return "", err
	}
	ac.InviteTag = code.Tag()
	return ac.String(), nil
}

// gather sets the local description and waits until candidates are
// gathered or GatherTimeout passes, whichever is first.
func (c *Call) gather(ctx context.Context, desc webrtc.SessionDescription) (*webrtc.SessionDescription, error) {
	complete := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(desc); err != nil {
		return nil, fmt.Errorf("set local description: %w", err)
	}
	t := c.cfg.Clock.NewTimer(c.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-complete:
	case <-t.C():
		c.logf("gathering: timed out after %v; using the candidates found so far", c.cfg.GatherTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.pc.LocalDescription(), nil
}

// Send queues a chat message and returns its id. A DeliveredEvent with that
// id follows once the peer has it.
func (c *Call) Send(text string) (uint64, error) {
	if err := checkText(text); err != nil {
		return 0, err
	}
	if c.ended.Load() {
		return 0, ErrCallEnded
	}
	if err := c.chatErr.Load(); err != nil {
		return 0, *err
	}
	id := c.nextID.Add(1)
	c.post(func() {
		c.unacked = append(c.unacked, id)
		c.sendFrame(frame{typ: frameMessage, id: id, text: text})
	})
	return id, nil
}

// Close ends the call at once and releases everything it holds. It is
// safe to call more than once.
func (c *Call) Close() error {
	c.once.Do(func() {
		c.ended.Store(true)
		close(c.quit)
	})
	<-c.done
	return nil
}

func (c *Call) run() {
	defer close(c.done)
	defer c.inbox.close()
	for {
		var out chan Event
		var next Event
		if len(c.pending) > 0 {
			out, next = c.events, c.pending[0]
		} else if c.finished {
			c.teardown()
			close(c.events)
			return
		}
		select {
		case <-c.inbox.ready:
			for _, f := range c.inbox.take() {
				f()
			}
		case out <- next:
			if e, ok := next.(ChatEvent); ok {
				c.queuedChat -= len(e.Text) + chatOverhead
			}
			c.pending[0] = nil
			c.pending = c.pending[1:]
		case <-c.quit:
			if c.dcOpen && c.hup != hupByeSent {
				_ = c.dc.Send(frame{typ: frameBye}.marshal())
			}
			c.finished = true
			c.teardown()
			close(c.events)
			return
		}
	}
}

func (c *Call) teardown() {
	for _, t := range []clock.Timer{c.connTimer, c.hintTimer, c.lostTimer, c.hupTimer, c.hupWatch, c.statsTimer, c.dropTimer, c.muteTimer, c.routeTimer} {
		stopTimer(t)
	}
	if c.stopRoutes != nil {
		c.stopRoutes()
	}
	c.statsMu.Lock()
	c.pcClosed = true
	err := c.pc.Close()
	c.statsMu.Unlock()
	if err != nil {
		c.logf("close: %v", err)
	}
	c.readers.Wait()
}

// post runs f on the call's goroutine. It never blocks.
func (c *Call) post(f func()) { c.inbox.put(f) }

// after runs f on the call's goroutine once d has passed on the call's
// clock. The timer only posts, so a clock may fire it on any goroutine.
func (c *Call) after(d time.Duration, f func()) clock.Timer {
	return c.cfg.Clock.AfterFunc(d, func() { c.post(f) })
}

// now reads the call's clock.
func (c *Call) now() time.Time { return c.cfg.Clock.Now() }

// maxPending bounds the events waiting to be read from Events. The peer's
// messages have their own bound (maxQueuedChat); what else comes
// is bounded by this side's own doing, and past maxPending only the
// events that end or change the call are kept.
const maxPending = 1024

func (c *Call) emit(e Event) {
	if c.finished {
		return
	}
	if _, ok := e.(StatsEvent); ok && len(c.pending) > 0 {
		if _, ok := c.pending[len(c.pending)-1].(StatsEvent); ok {
			c.pending[len(c.pending)-1] = e // nobody read the last one
			return
		}
	}
	if len(c.pending) >= maxPending {
		switch e.(type) {
		case StateEvent, ByeEvent:
		default:
			c.logf("call: dropped a %T: %d events unread", e, len(c.pending))
			return
		}
	}
	c.pending = append(c.pending, e)
}

func (c *Call) connecting(timeout time.Duration) {
	if c.state != "new" {
		return
	}
	c.setState(StateConnecting, "", "")
	c.connTimer = c.after(timeout, func() {
		if c.state == StateConnecting {
			c.fail(c.noPath(timeout))
		}
	})
}

func (c *Call) setState(s State, r Route, detail string) {
	c.state = s
	c.emit(StateEvent{State: s, Route: r, Detail: detail})
}

func (c *Call) onConnectionState(s webrtc.PeerConnectionState) {
	if c.finished {
		return
	}
	c.logf("connection: %s", s)
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if !c.checkPeer() {
			return
		}
		stopTimer(c.connTimer)
		stopTimer(c.hintTimer)
		stopTimer(c.lostTimer)
		c.reconnecting = false
		if c.state != StateConnected {
			first := c.statsTimer == nil
			r := c.route()
			c.setState(StateConnected, r, connectedDetail(r))
			if c.words == "" {
				words, err := c.safetyWords()
				if err != nil {
					c.logf("safety words: %v", err)
				} else {
					c.words = words
					c.emit(VerifyEvent{Words: words})
				}
			}
			if first {
				c.sampleStats()
			}
		}
	case webrtc.PeerConnectionStateDisconnected:
		if c.state != StateConnected && !c.reconnecting {
			return
		}
		if !c.reconnecting { // else "reconnecting…" is already said
			c.setState(StateDisconnected, "", "nothing heard from your peer for a few seconds; waiting for the connection to come back")
		}
		lost := c.cfg.SilenceTimeout + c.cfg.LostTimeout
		stopTimer(c.lostTimer)
		c.lostTimer = c.after(c.cfg.LostTimeout, func() {
			if c.state == StateDisconnected {
				c.fail(c.lostReason(lost))
			}
		})
	case webrtc.PeerConnectionStateFailed:
		c.fail("the connection failed")
	case webrtc.PeerConnectionStateClosed:
		c.closedUnderneath()
	}
}

func (c *Call) route() Route {
	pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return ""
	}
	switch {
	case pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Typ == webrtc.ICECandidateTypeRelay:
		return RouteRelay
	case pair.Local.Typ == webrtc.ICECandidateTypeHost && pair.Remote.Typ == webrtc.ICECandidateTypeHost:
		return RouteHost
	case pair.Local.Typ == webrtc.ICECandidateTypePrflx || pair.Remote.Typ == webrtc.ICECandidateTypePrflx:
		return RoutePrflx
	}
	return RouteSrflx
}

func (c *Call) fail(reason string) {
	if c.finished {
		return
	}
	c.setState(StateFailed, "", reason)
	c.finish(reason, errors.New(reason))
}

// finish emits the final events; the run goroutine then closes the
// connection and the events channel.
func (c *Call) finish(reason string, err error) {
	if c.finished {
		return
	}
	c.logf("call: ending: %s (state %s, hang-up %d, chat open %v)", reason, c.state, c.hup, c.dcOpen)
	c.ended.Store(true)
	c.reportDropped()
	if c.state != StateFailed {
		c.setState(StateClosed, "", "")
	}
	var undelivered []uint64
	if len(c.unacked) > 0 {
		undelivered = append(undelivered, c.unacked...)
		if err == nil {
			err = fmt.Errorf("%d of your messages were not delivered", len(undelivered))
		}
	}
	c.emit(ByeEvent{Reason: reason, Err: err, Undelivered: undelivered})
	c.finished = true
}

// inbox is a queue of functions, so that pion's callbacks can hand work
// to the call's goroutine without ever blocking. It has no bound of its
// own: the peer's messages, the one thing the network can multiply, are
// bounded where they are put (maxInboxBytes).
type inbox struct {
	mu     sync.Mutex
	q      []func()
	closed bool
	ready  chan struct{}
}

func newInbox() inbox { return inbox{ready: make(chan struct{}, 1)} }

func (b *inbox) put(f func()) {
	b.mu.Lock()
	if !b.closed {
		b.q = append(b.q, f)
	}
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q
	b.q = nil
	return q
}

func (b *inbox) close() {
	b.mu.Lock()
	b.closed, b.q = true, nil
	b.mu.Unlock()
}
