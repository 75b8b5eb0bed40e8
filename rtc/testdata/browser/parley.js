// The browser side of TestBrowserInterop; see index.html.
'use strict';

const mode = new URLSearchParams(location.search).get('mode');
const utf8 = new TextDecoder('utf-8', {fatal: true});
const utf8enc = new TextEncoder();

function post(path, body) {
  return fetch(path, {method: 'POST', body});
}

function log(...args) {
  const line = args.join(' ');
  document.getElementById('log').textContent += line + '\n';
  post('/log', line).catch(() => {});
}

// report tells the test what happened: {type, text, id, count, local, remote}.
function report(type, fields = {}) {
  return post('/report', JSON.stringify({type, ...fields})).catch(() => {});
}

function fail(err) {
  log('error:', (err && err.stack) || err);
  report('error', {text: String((err && err.message) || err)});
}
window.addEventListener('error', e => fail(e.error || e.message));
window.addEventListener('unhandledrejection', e => fail(e.reason));

// parley's standard form: base64 of the JSON session description.
const encode = desc => btoa(JSON.stringify(desc));
const decode = code => JSON.parse(atob(code));

// parleyCode long-polls the test for parley's offer or answer.
async function parleyCode() {
  for (;;) {
    const r = await fetch('/parley');
    if (r.status === 200) return (await r.text()).trim();
    if (r.status !== 204) throw new Error('GET /parley: ' + r.status);
  }
}

// gathered resolves once ICE gathering is complete (no trickle in parley).
function gathered(pc) {
  return new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const t = setTimeout(() => {
      log('gathering: timed out; using the candidates found so far');
      resolve();
    }, 5000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

// Chat frames as in rtc/frame.go:
//   message = 0x01 uvarint(id) UTF-8 text;  ack = 0x02 uvarint(id);  bye = 0x03
function readUvarint(b, pos) {
  let v = 0, mul = 1;
  for (let i = pos; i < b.length && i < pos + 10; i++) {
    v += (b[i] & 0x7f) * mul;
    if (b[i] < 0x80) return [v, i + 1];
    mul *= 128;
  }
  throw new Error('malformed uvarint in a chat frame');
}

function uvarint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function frame(type, id, text) {
  const head = [type];
  if (type !== 3) head.push(...uvarint(id));
  const body = text === undefined ? new Uint8Array(0) : utf8enc.encode(text);
  const b = new Uint8Array(head.length + body.length);
  b.set(head);
  b.set(body, head.length);
  return b;
}

// chat speaks parley's chat protocol on the data channel: a plain string
// message, one binary frame, acks for parley's messages and a bye in
// answer to parley's.
function chat(dc) {
  dc.binaryType = 'arraybuffer';
  let byeSent = false;
  dc.addEventListener('open', () => {
    report('open', {text: dc.label});
    // Chromium 156 sometimes fails ("Send failed INVALID_STATE") the very
    // first send on a channel the peer opened, right in its open event;
    // a moment later it does not.
    setTimeout(() => {
      dc.send('hello from chromium, as a string \u2713');
      dc.send(frame(1, 1, 'hello from chromium, as a frame \u2713'));
    }, 100);
  });
  dc.addEventListener('message', e => {
    if (typeof e.data === 'string') {
      report('string', {text: e.data});
      return;
    }
    const b = new Uint8Array(e.data);
    switch (b[0]) {
      case 1: {
        const [id, pos] = readUvarint(b, 1);
        report('chat', {id, text: utf8.decode(b.subarray(pos))});
        dc.send(frame(2, id));
        break;
      }
      case 2:
        report('ack', {id: readUvarint(b, 1)[0]});
        break;
      case 3:
        if (!byeSent) {
          byeSent = true;
          dc.send(frame(3));
        }
        report('bye');
        break;
      default:
        report('error', {text: 'unknown chat frame type ' + b[0]});
    }
  });
  dc.addEventListener('close', () => report('closed'));
}

// watch reports the connection's state, every change of the selected
// candidate pair and the first audio packets received from parley.
function watch(pc) {
  let pair = '', audioSent = false;
  pc.addEventListener('connectionstatechange', () => {
    log('connection:', pc.connectionState);
    report('state', {text: pc.connectionState});
  });
  const timer = setInterval(async () => {
    if (pc.connectionState === 'closed' || pc.connectionState === 'failed') {
      clearInterval(timer);
      return;
    }
    const stats = await pc.getStats();
    stats.forEach(s => {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const p = stats.get(s.selectedCandidatePairId);
        const l = p && stats.get(p.localCandidateId);
        const r = p && stats.get(p.remoteCandidateId);
        const text = l && r && `local ${l.address} port ${l.port} ${l.candidateType}, ` +
          `remote ${r.address} port ${r.port} ${r.candidateType}`;
        if (text && text !== pair) {
          pair = text;
          report('pair', {local: l.address, remote: r.address, text});
        }
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.packetsReceived > 0 && !audioSent) {
        audioSent = true;
        const codec = s.codecId && stats.get(s.codecId);
        report('audio', {count: s.packetsReceived, text: codec ? codec.mimeType : ''});
      }
    });
  }, 100);
}

async function main() {
  log('mode', mode, navigator.userAgent);
  // The fake microphone of --use-fake-device-for-media-stream: a beep.
  const mic = await navigator.mediaDevices.getUserMedia({audio: true});
  const [track] = mic.getAudioTracks();
  // No STUN or TURN: the only candidates that matter are loopback ones.
  const pc = new RTCPeerConnection({iceServers: []});
  window.pc = pc;
  watch(pc);
  if (mode === 'answer') {
    pc.addEventListener('datachannel', e => chat(e.channel));
    await pc.setRemoteDescription(decode(await parleyCode()));
    pc.addTrack(track, mic);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await post('/browser', encode(pc.localDescription));
  } else if (mode === 'offer') {
    pc.addTransceiver(track, {direction: 'sendrecv', streams: [mic]});
    chat(pc.createDataChannel('chat'));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    await post('/browser', encode(pc.localDescription));
    await pc.setRemoteDescription(decode(await parleyCode()));
  } else {
    throw new Error('unknown mode ' + mode);
  }
  log('signalling done');
}

main().catch(fail);
