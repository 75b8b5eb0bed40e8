#!/usr/bin/env python3
"""The aiortc side of TestAiortcInterop (rtc/aiortc_test.go).

    aiortc_peer.py ROLE TONE_HZ LISTEN_HZ

ROLE is "offer" (aiortc offers, parley answers) or "answer" (parley offers).
The peer sends a sine tone of TONE_HZ as Opus audio and listens for
LISTEN_HZ in what it receives.

Signalling is parley's standard form (rtc/sdp.go, encodeSDPForm and
decodeSDPForm): base64 of the JSON {"type", "sdp"}, one line each way. As
"answer" the peer reads parley's offer from stdin and writes its answer; as
"offer" it writes its offer and reads parley's answer. Later stdin lines are
commands: "mute on" and "mute off" send a mute frame, "hangup" a bye frame. At the end of stdin the peer closes
its connection and exits.

Everything it has to say goes to stdout as JSON lines, {"type": ...}:

    code    its offer or answer ("code")
    state   a connection state change ("state"); once connected, "ms":
            milliseconds since it had both descriptions (it applied
            parley's answer, or made its own)
    pair    its selected candidate pair ("local", "remote": "host port type")
    open    the chat channel is open ("label")
    string  a plain string message from parley ("text")
    chat    a message frame from parley ("id", "text"); the peer acks it
    ack     parley's ack of one of the peer's frames ("id")
    mute    a mute frame from parley ("muted")
    bye     parley's bye ("answered": whether the peer answered it with
            its own, i.e. parley hung up first)
    audio   what it has received so far ("frames", and over the latest
            half second "rms" in dBFS, "freq" the dominant frequency in Hz
            and "tone" the energy share at LISTEN_HZ)
    error   something went wrong ("text")

The chat protocol is parley's (rtc/frame.go): binary frames
0x01 uvarint(id) UTF-8 text, 0x02 uvarint(id), 0x03, 0x04 muted.

Only loopback is used: no ICE servers, and aioice, which leaves out
127.0.0.1 and ::1, is made to gather on 127.0.0.1 alone.
"""

import asyncio
import base64
import binascii
import fractions
import json
import logging
import math
import sys
import time

import aioice.ice
import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame

RATE = 48000
FRAME = 960  # 20 ms
WINDOW = RATE // 2  # what the audio reports measure: the latest 0.5 s

# The texts the peer sends; aiortc_test.go expects them.
STRING_TEXT = "hello from aiortc, as a string \u2713"
FRAME_TEXTS = ["hello from aiortc, as a frame \u2713", "and a second frame from aiortc"]

# aioice gathers on every address but 127.0.0.1 and ::1; here, on
# 127.0.0.1 only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def report(kind, **fields):
    sys.stdout.write(json.dumps({"type": kind, **fields}) + "\n")
    sys.stdout.flush()


def encode_code(desc):
    """parley's encodeSDPForm: base64 of the JSON {type, sdp}."""
    j = json.dumps({"type": desc.type, "sdp": desc.sdp}, separators=(",", ":"))
    return base64.b64encode(j.encode()).decode()


def decode_code(code):
    """parley's decodeSDPForm: white space is ignored, padding optional."""
    s = "".join(code.split())
    try:
        raw = base64.b64decode(s, validate=True)
    except binascii.Error:
        s = s.rstrip("=")
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    d = json.loads(raw)
    if d.get("type") not in ("offer", "answer") or not d.get("sdp", "").startswith("v=0"):
        raise ValueError("not an offer or answer")
    return RTCSessionDescription(sdp=d["sdp"], type=d["type"])


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(b, pos):
    v, shift = 0, 0
    for i in range(pos, min(len(b), pos + 10)):
        v |= (b[i] & 0x7F) << shift
        if b[i] < 0x80:
            return v, i + 1
        shift += 7
    raise ValueError("malformed uvarint in a chat frame")


def message_frame(id_, text):
    return b"\x01" + uvarint(id_) + text.encode()


def ack_frame(id_):
    return b"\x02" + uvarint(id_)


BYE = b"\x03"


class Tone(AudioStreamTrack):
    """A sine tone at -10 dBFS, 48 kHz mono, paced in real time."""

    def __init__(self, hz):
        super().__init__()
        self.hz = hz

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += FRAME
            wait = self._start + self._timestamp / RATE - time.time()
            await asyncio.sleep(wait)
        else:
            self._start = time.time()
            self._timestamp = 0
        t = (numpy.arange(FRAME) + self._timestamp) / RATE
        pcm = (0.316 * 32767 * numpy.sin(2 * math.pi * self.hz * t)).astype(numpy.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.pts = self._timestamp
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


def measure(pcm, listen_hz):
    """Level (dBFS RMS), dominant frequency and the share of energy within
    25 Hz of listen_hz, of mono int16 samples."""
    x = pcm.astype(numpy.float64) / 32768
    rms = math.sqrt(float(numpy.mean(x * x)))
    db = 20 * math.log10(rms) if rms > 0 else -200.0
    spec = numpy.abs(numpy.fft.rfft(x * numpy.hanning(len(x)))) ** 2
    freqs = numpy.fft.rfftfreq(len(x), 1 / RATE)
    spec[freqs < 50] = 0  # no DC
    total = float(spec.sum())
    peak = float(freqs[int(numpy.argmax(spec))])
    near = numpy.abs(freqs - listen_hz) <= 25
    share = float(spec[near].sum()) / total if total > 0 else 0.0
    return round(db, 1), round(peak, 1), round(share, 3)


async def listen(track, listen_hz):
    """Decodes parley's audio (aiortc decodes Opus to 48 kHz stereo) and
    reports on it every 25 frames."""
    frames, buf = 0, numpy.zeros(0, dtype=numpy.int16)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        a = frame.to_ndarray().reshape(-1)
        if len(frame.layout.channels) == 2:
            a = a[0::2]  # the left channel
        buf = numpy.concatenate([buf, a])[-WINDOW:]
        frames += 1
        if frames % 25 == 0 and len(buf) == WINDOW:
            db, freq, share = measure(buf, listen_hz)
            report("audio", frames=frames, rms=db, freq=freq, tone=share)


async def stdin_lines():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def pair_of(pc):
    """The selected candidate pair, from aioice's internals."""
    try:
        conn = pc.sctp.transport.transport._connection
        p = conn._nominated.get(1)
        if p is None:
            return None
        lc, rc = p.local_candidate, p.remote_candidate
        return "%s %d %s" % (lc.host, lc.port, lc.type), "%s %d %s" % (rc.host, rc.port, rc.type)
    except AttributeError:
        return None


async def main():
    role, tone_hz, listen_hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    if role not in ("offer", "answer"):
        raise SystemExit("role must be offer or answer")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    stdin = await stdin_lines()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tasks = []
    state = {"channel": None, "bye_sent": False, "connected_at": None, "applied_at": None}

    @pc.on("connectionstatechange")
    async def on_state():
        s = pc.connectionState
        fields = {"state": s}
        if s == "connected" and state["applied_at"] is not None:
            fields["ms"] = round((time.monotonic() - state["applied_at"]) * 1000, 1)
        report("state", **fields)
        if s == "connected":
            p = pair_of(pc)
            if p:
                report("pair", local=p[0], remote=p[1])

    @pc.on("track")
    def on_track(track):
        if track.kind == "audio":
            tasks.append(asyncio.ensure_future(listen(track, listen_hz)))

    def send(data):
        ch = state["channel"]
        if ch is None or ch.readyState != "open":
            report("error", text="chat channel not open to send %r" % (data[:1],))
            return
        ch.send(data)

    def on_open(ch):
        report("open", label=ch.label)
        send(STRING_TEXT)
        for i, text in enumerate(FRAME_TEXTS, 1):
            send(message_frame(i, text))

    def on_message(m):
        if isinstance(m, str):
            report("string", text=m)
            return
        try:
            kind = m[0] if m else None
            if kind == 1:
                id_, pos = read_uvarint(m, 1)
                report("chat", id=id_, text=m[pos:].decode("utf-8"))
                send(ack_frame(id_))
            elif kind == 2:
                report("ack", id=read_uvarint(m, 1)[0])
            elif kind == 3:
                answered = not state["bye_sent"]
                if answered:
                    state["bye_sent"] = True
                    send(BYE)
                report("bye", answered=answered)
            elif kind == 4:
                report("mute", muted=m[1:] == b"\x01")
            else:
                report("error", text="unknown chat frame %r" % (m,))
        except (ValueError, UnicodeDecodeError) as e:
            report("error", text="bad chat frame %r: %s" % (m, e))

    def attach(ch):
        state["channel"] = ch
        ch.on("message", on_message)
        ch.on("close", lambda: report("closed"))

    @pc.on("datachannel")
    def on_datachannel(ch):
        # A channel the peer opened is open already.
        attach(ch)
        on_open(ch)

    if role == "offer":
        pc.addTrack(Tone(tone_hz))
        ch = pc.createDataChannel("chat", ordered=True)
        attach(ch)
        ch.on("open", lambda: on_open(ch))
        await pc.setLocalDescription(await pc.createOffer())  # gathers
        report("code", code=encode_code(pc.localDescription))
        line = await stdin.readline()
        if not line:
            raise SystemExit("no answer on stdin")
        state["applied_at"] = time.monotonic()
        await pc.setRemoteDescription(decode_code(line.decode()))
    else:
        line = await stdin.readline()
        if not line:
            raise SystemExit("no offer on stdin")
        await pc.setRemoteDescription(decode_code(line.decode()))
        # The tone goes on the transceiver of parley's audio.
        pc.addTrack(Tone(tone_hz))
        await pc.setLocalDescription(await pc.createAnswer())  # gathers
        state["applied_at"] = time.monotonic()
        report("code", code=encode_code(pc.localDescription))

    while True:
        line = await stdin.readline()
        if not line:
            break
        cmd = line.decode().strip()
        if cmd == "hangup":
            state["bye_sent"] = True
            send(BYE)
        elif cmd in ("mute on", "mute off"):
            send(b"\x04" + (b"\x01" if cmd == "mute on" else b"\x00"))
        elif cmd:
            report("error", text="unknown command %r" % cmd)

    await pc.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # reported, then the exit status says it too
        report("error", text="%s: %s" % (type(e).__name__, e))
        raise
