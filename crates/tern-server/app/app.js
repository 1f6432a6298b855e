// tern's browser app: join a room, see who is there, chat, send files and
// make a video call, all peer to peer (a mesh: one RTCPeerConnection per
// other member). The server only relays signaling (docs/signaling.md).
import {limits, receiveFiles, sendFiles} from './wormhole.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const CHUNK = 64 * 1024;
// A server started with --token-secret admits only with a token: links
// carry it as ?token=… (`tern token` prints one).
const token = params.get('token') || undefined;

let ws, me, secret, room, myName, heartbeat, iceServers = [];
let localStream = null;
const peers = new Map(); // member id -> {name, pc, chat, polite, makingOffer, ignoreOffer, video}
const events = []; // for the automated test (autotest=…)

function log(text, cls = '') {
  console.log('[tern] ' + text);
  const p = document.createElement('p');
  p.textContent = text;
  if (cls) p.className = cls;
  $('log').append(p);
  $('log').scrollTop = $('log').scrollHeight;
  return p;
}

const debug = (...a) => params.get('autotest') && console.log('[tern]', ...a);

function renderPeople() {
  const ul = $('people');
  ul.replaceChildren();
  for (const [id, p] of peers) {
    const li = document.createElement('li');
    li.textContent = p.name || id;
    const send = document.createElement('button');
    send.textContent = 'Send file';
    send.onclick = () => pickFile(id);
    li.append(' ', send);
    ul.append(li);
  }
  if (!peers.size) ul.innerHTML = '<li class="sys">nobody else yet</li>';
}

function signal(to, data) {
  ws.send(JSON.stringify({type: 'signal', to, data}));
}

async function hex(buf) {
  const h = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- peers -------------------------------------------------------------

// The newcomer offers to everyone already there (`initiator`); the others
// wait for that first offer, so the first negotiation never collides. Later
// renegotiations (a call starting) use perfect negotiation.
function addPeer(id, name, initiator = false) {
  if (peers.has(id)) return peers.get(id);
  const pc = new RTCPeerConnection({iceServers});
  const p = {name, pc, polite: me > id, makingOffer: false, ignoreOffer: false, video: null,
    initiator, negotiated: false, pending: []};
  peers.set(id, p);
  // Chat on a negotiated channel: both sides make it, no glare.
  p.chat = pc.createDataChannel('chat', {negotiated: true, id: 0});
  p.chat.onmessage = (e) => {
    log(`${p.name}: ${e.data}`);
    events.push({kind: 'chat', from: p.name, text: e.data});
  };
  pc.onicecandidate = ({candidate}) => signal(id, {candidate});
  pc.onnegotiationneeded = async () => {
    debug('negotiationneeded', pc.signalingState, 'polite', p.polite);
    if (!p.initiator && !p.negotiated) return; // the newcomer's offer is on its way
    try {
      p.makingOffer = true;
      await pc.setLocalDescription();
      signal(id, {description: pc.localDescription});
    } catch (e) { log('negotiation failed: ' + e, 'sys'); }
    finally { p.makingOffer = false; }
  };
  pc.ondatachannel = ({channel}) => {
    if (channel.label.startsWith('file:')) receiveFile(p, channel);
  };
  pc.ontrack = ({streams}) => {
    if (!p.video) {
      p.video = document.createElement('video');
      p.video.autoplay = true;
      p.video.playsInline = true;
      $('videos').append(p.video);
    }
    p.video.srcObject = streams[0];
  };
  pc.oniceconnectionstatechange = () => debug('ice', pc.iceConnectionState);
  pc.onsignalingstatechange = () => debug('signaling', pc.signalingState);
  pc.onconnectionstatechange = () => {
    debug('connection', pc.connectionState);
    if (pc.connectionState === 'failed') log(`connection to ${p.name} failed`, 'sys');
  };
  if (localStream) for (const t of localStream.getTracks()) pc.addTrack(t, localStream);
  renderPeople();
  return p;
}

function removePeer(id) {
  const p = peers.get(id);
  if (!p) return;
  p.pc.close();
  p.video?.remove();
  peers.delete(id);
  log(`${p.name} left`, 'sys');
  renderPeople();
}

// Perfect negotiation (W3C example): the polite side yields on glare.
async function onSignal(from, data) {
  const p = peers.get(from) || addPeer(from, from);
  const pc = p.pc;
  try {
    if (data.description) {
      debug('got', data.description.type, 'in', pc.signalingState, 'making', p.makingOffer);
      const offerCollision = data.description.type === 'offer' && (p.makingOffer || pc.signalingState !== 'stable');
      p.ignoreOffer = !p.polite && offerCollision;
      if (p.ignoreOffer) return;
      await pc.setRemoteDescription(data.description);
      p.negotiated = true;
      // Candidates that came before the description.
      for (const c of p.pending.splice(0)) await pc.addIceCandidate(c).catch(() => {});
      if (data.description.type === 'offer') {
        await pc.setLocalDescription();
        signal(from, {description: pc.localDescription});
      }
    } else if ('candidate' in data) {
      if (!pc.remoteDescription) { p.pending.push(data.candidate); return; }
      try { await pc.addIceCandidate(data.candidate); }
      catch (e) { if (!p.ignoreOffer) throw e; }
    }
  } catch (e) { log('signaling error: ' + e, 'sys'); }
}

// ---- files -------------------------------------------------------------

function pickFile(to) {
  const input = document.createElement('input');
  input.type = 'file';
  input.onchange = () => input.files[0] && sendFile(to, input.files[0]);
  input.click();
}

async function sendFile(to, file) {
  const p = peers.get(to);
  const dc = p.pc.createDataChannel(`file:${file.name}:${file.size}`, {ordered: true});
  dc.binaryType = 'arraybuffer';
  const line = log(`sending ${file.name} to ${p.name} `, 'me');
  const bar = document.createElement('progress');
  bar.max = file.size || 1;
  line.append(bar);
  await new Promise((r) => (dc.onopen = r));
  const data = await file.arrayBuffer();
  dc.bufferedAmountLowThreshold = 1 << 20;
  for (let off = 0; off < data.byteLength; off += CHUNK) {
    if (dc.bufferedAmount > 8 << 20) await new Promise((r) => (dc.onbufferedamountlow = r));
    dc.send(data.slice(off, off + CHUNK));
    bar.value = Math.min(off + CHUNK, data.byteLength);
  }
  dc.send(JSON.stringify({sha256: await hex(data)}));
  const verdict = await new Promise((r) => (dc.onmessage = (e) => r(JSON.parse(e.data))));
  line.append(verdict.ok ? ' delivered, checksum verified' : ' FAILED: ' + verdict.error);
  events.push({kind: 'file-sent', name: file.name, ok: verdict.ok});
  dc.close();
}

function receiveFile(p, dc) {
  const [, name, sizeText] = dc.label.match(/^file:(.*):(\d+)$/) || [];
  const size = +sizeText;
  dc.binaryType = 'arraybuffer';
  const parts = [];
  let got = 0;
  const line = log(`receiving ${name} from ${p.name} `);
  const bar = document.createElement('progress');
  bar.max = size || 1;
  line.append(bar);
  dc.onmessage = async (e) => {
    if (typeof e.data !== 'string') {
      parts.push(e.data);
      got += e.data.byteLength;
      bar.value = got;
      return;
    }
    const {sha256} = JSON.parse(e.data);
    const blob = new Blob(parts);
    const mine = await hex(await blob.arrayBuffer());
    const ok = got === size && mine === sha256;
    dc.send(JSON.stringify(ok ? {ok} : {ok, error: 'checksum mismatch'}));
    if (ok) {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.textContent = ` save ${name} (checksum verified)`;
      line.append(a);
    } else line.append(' checksum mismatch: discarded');
    events.push({kind: 'file-received', name, size: got, ok, sha256: mine});
  };
}

// ---- call --------------------------------------------------------------

async function startCall() {
  localStream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const v = document.createElement('video');
  v.muted = true;
  v.autoplay = true;
  v.playsInline = true;
  v.srcObject = localStream;
  $('videos').prepend(v);
  for (const p of peers.values()) for (const t of localStream.getTracks()) p.pc.addTrack(t, localStream);
  $('call').classList.add('hidden');
  $('screen').classList.remove('hidden');
}

async function shareScreen() {
  const screen = await navigator.mediaDevices.getDisplayMedia({video: true});
  const track = screen.getVideoTracks()[0];
  for (const p of peers.values()) {
    const sender = p.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    if (sender) await sender.replaceTrack(track);
  }
}

async function framesDecoded() {
  let n = 0;
  for (const p of peers.values()) {
    (await p.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0;
    });
  }
  return n;
}

// ---- joining -----------------------------------------------------------

async function join(roomName, name) {
  room = roomName;
  myName = name;
  try { iceServers = (await (await fetch('/config')).json()).iceServers; } catch { iceServers = []; }
  ws = new WebSocket(new URL('/ws', location.href).href.replace(/^http/, 'ws'));
  ws.onopen = () => ws.send(JSON.stringify({type: 'join', room, name, member: me, secret, token}));
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === 'joined') {
      me = m.member;
      secret = m.secret;
      $('join').classList.add('hidden');
      $('inroom').classList.remove('hidden');
      $('chat').classList.remove('hidden');
      $('roomname').textContent = room;
      $('myname').textContent = name;
      log(`joined ${room}`, 'sys');
      for (const other of m.members) addPeer(other.id, other.name, true);
      renderPeople();
    } else if (m.type === 'member-joined') {
      log(`${m.member.name} joined`, 'sys');
      addPeer(m.member.id, m.member.name);
    } else if (m.type === 'member-left') removePeer(m.member);
    else if (m.type === 'signal') onSignal(m.from, m.data);
    else if (m.type === 'error') log(`server: ${m.message}`, 'sys');
  };
  // Rejoin under the same member id after a dropped connection.
  ws.onclose = () => setTimeout(() => join(room, myName), 2000);
  // One heartbeat for the page, whichever socket is current (a rejoin
  // calls join again).
  heartbeat ??= setInterval(() => ws.readyState === 1 && ws.send('{"type":"ping"}'), 10000);
}

$('join').onsubmit = (e) => {
  e.preventDefault();
  join($('room').value, $('name').value);
};
$('chat').onsubmit = (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text) return;
  for (const p of peers.values()) if (p.chat.readyState === 'open') p.chat.send(text);
  log(`${myName}: ${text}`, 'me');
  $('text').value = '';
};
$('call').onclick = () => startCall().catch((e) => log('camera: ' + e, 'sys'));
$('screen').onclick = () => shareScreen().catch((e) => log('screen: ' + e, 'sys'));
renderPeople();

// ---- files with the tern command (tern send / tern recv) ---------------------

function transferLine(text) {
  const line = log(text);
  const bar = document.createElement('progress');
  const note = document.createElement('span');
  line.append(' ', bar, ' ', note);
  let start = 0;
  let shown = 0;
  return {
    line,
    ui: {
      status: (t) => (note.textContent = t),
      // Rate and time left, as the CLI's progress bar shows them (at most
      // four times a second).
      progress: (done, total) => {
        bar.max = total || 1;
        bar.value = done;
        const now = performance.now();
        start ||= now;
        if (now - shown < 250 && done < total) return;
        shown = now;
        const rate = done / Math.max((now - start) / 1000, 1e-3);
        const left = rate > 0 ? Math.ceil((total - done) / rate) : 0;
        note.textContent = `${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB, ` +
          `${(rate / 1e6).toFixed(1)} MB/s, ${left} s left`;
      },
    },
  };
}

function serverFlag() {
  return location.origin === 'http://127.0.0.1:8080' ? '' : ` --server ${location.origin}`;
}

// `hooks` (optional): `joined(code)` once the code is ours, `timing` as in timed().
async function wormholeSend(files, code = undefined, hooks = {}) {
  const {line, ui: plain} = transferLine(`Sending ${files.length} file(s): getting a code…`);
  const ui = timed(plain, hooks.timing);
  ui.joined = (c) => {
    hooks.joined?.(c);
    line.firstChild.textContent = `Sending ${files.length} file(s). On the other machine run:`;
    const cmd = document.createElement('code');
    cmd.textContent = `tern recv ${c}${serverFlag()}${token ? ' --token <a tern-wormhole-* token>' : ''}`;
    line.insertBefore(cmd, line.childNodes[1]);
    line.insertBefore(document.createElement('br'), cmd);
    ui.status('waiting for the receiver…');
  };
  try {
    await sendFiles({code, files, ui, token});
  } catch (e) {
    plain.status('failed: ' + e.message);
    throw e;
  }
}

// `timing` (optional) gets when the first and the last byte moved.
function timed(ui, timing) {
  if (!timing) return ui;
  return {...ui, progress: (done, total) => {
    timing.first ??= performance.now();
    timing.last = performance.now();
    ui.progress(done, total);
  }};
}

async function wormholeReceive(code, timing) {
  const {line, ui: plain} = transferLine(`Receiving with ${code}`);
  const ui = timed(plain, timing);
  try {
    const files = await receiveFiles({code, ui, token});
    if (files.text !== undefined) {
      const pre = document.createElement('pre');
      pre.textContent = files.text; // as text, never as markup
      line.append(pre);
    }
    for (const f of files) {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(f.blob);
      a.download = f.path.replaceAll('/', '_');
      a.textContent = `save ${f.path}`;
      line.append(document.createElement('br'), a);
    }
    return files;
  } catch (e) {
    ui.status('failed: ' + e.message);
    throw e;
  }
}

if (!window.isSecureContext) {
  log('This page is not in a secure context (it needs HTTPS, or localhost): the browser turns off ' +
    'the cryptography that file transfers and calls need. Start tern serve with --tls-cert and ' +
    '--tls-key and open its https:// address.', 'sys');
}

$('wh-recv').onsubmit = (e) => {
  e.preventDefault();
  wormholeReceive($('wh-code').value.trim()).catch(() => {});
};
for (const id of ['wh-files', 'wh-folder']) {
  $(id).onchange = () => {
    // A folder's files keep their place in it (webkitRelativePath).
    const files = [...$(id).files].map((f) => Object.assign(f, {path: f.webkitRelativePath || f.name}));
    $(id).value = '';
    if (files.length) wormholeSend(files).catch(() => {});
  };
}

// ---- automated test (used by tern's test suite) ---------------------------
// ?room=…&name=…&autotest=a|b&report=URL: join, chat with the other page,
// 'a' sends a generated file to 'b', both start the call, and each page
// posts what it saw to `report`.
async function autotest(role, report) {
  const until = async (f, ms, what) => {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error('timeout: ' + what);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const result = {role};
  try {
    await join(params.get('room'), params.get('name'));
    await until(() => peers.size === 1, 20000, 'the other page');
    const [id, p] = [...peers][0];
    await until(() => p.chat.readyState === 'open', 20000, 'chat channel');
    p.chat.send(`hello from ${role}`);
    await until(() => events.some((e) => e.kind === 'chat'), 10000, 'chat message');
    result.chat = events.find((e) => e.kind === 'chat').text;
    if (role === 'a') {
      const bytes = new Uint8Array(3 << 20);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 255;
      result.fileSha256 = await hex(bytes);
      await sendFile(id, new File([bytes], 'test.bin'));
      result.file = events.find((e) => e.kind === 'file-sent');
    } else {
      await until(() => events.some((e) => e.kind === 'file-received'), 30000, 'file');
      result.file = events.find((e) => e.kind === 'file-received');
    }
    await startCall();
    await until(async () => (await framesDecoded()) > 0, 20000, 'video frames');
    result.framesDecoded = await framesDecoded();
  } catch (e) {
    result.error = String(e);
  }
  await fetch(report, {method: 'POST', mode: 'no-cors', body: JSON.stringify(result)});
}
if (params.get('autotest')) autotest(params.get('autotest'), params.get('report'));

// ?wormhole=recv&code=…&report=URL: receive from `tern send` and report each
// file's path, size and SHA-256. ?wormhole=send&size=N&report=URL[&code=…]:
// send a generated N-byte file (as browser/random.bin) and a short note to
// `tern recv`, posting {joined:true, code} to URL/../event once in the room
// (the page picks the code unless given one).
// &hashInMemory=N hashes files above N bytes piece by piece.
async function wormholeTest(mode, report) {
  const result = {mode};
  const code = params.get('code');
  if (params.get('hashInMemory')) limits.hashInMemory = +params.get('hashInMemory');
  try {
    if (mode === 'recv') {
      const timing = {};
      const files = await wormholeReceive(code, timing);
      result.files = files.map(({path, size, sha256}) => ({path, size, sha256}));
      if (files.text !== undefined) result.text = files.text;
      result.dataSecs = (timing.last - timing.first) / 1000;
    } else {
      const bytes = new Uint8Array(+params.get('size'));
      for (let off = 0; off < bytes.length; off += 65536) crypto.getRandomValues(bytes.subarray(off, off + 65536));
      const note = new TextEncoder().encode('hello from the page\n');
      const files = [Object.assign(new File([bytes], 'random.bin'), {path: 'browser/random.bin'}),
        new File([note], 'note.txt')];
      result.sha256 = {'browser/random.bin': await hex(bytes), 'note.txt': await hex(note)};
      const event = new URL('event', report).href;
      const timing = {};
      // Without &code=, the page picks a free code itself, as a person's would.
      await wormholeSend(files, code || undefined, {timing, joined: (c) => {
        result.code = c;
        fetch(event, {method: 'POST', mode: 'no-cors', body: JSON.stringify({joined: true, code: c})});
      }});
      result.dataSecs = (timing.last - timing.first) / 1000;
      result.sent = true;
    }
  } catch (e) {
    result.error = e.message;
  }
  result.log = $('log').innerText; // what the person would read
  await fetch(report, {method: 'POST', mode: 'no-cors', body: JSON.stringify(result)});
}
if (params.get('wormhole')) wormholeTest(params.get('wormhole'), params.get('report'));
