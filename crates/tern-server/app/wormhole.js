// The browser's side of `tern send` / `tern recv` (see tern-cli's wormhole.rs
// and transfer.rs, which this mirrors): meet in the room named after the
// code's number, run SPAKE2 with the whole code as the password, confirm the
// key, exchange offer and answer with a MAC under it (which authenticates the
// DTLS fingerprints), then move files over one data channel with SHA-256
// checked per file.
//
// SPAKE2 here is the symmetric Ed25519 variant of the `spake2` crate and of
// python-spake2 (magic-wormhole): point arithmetic from the vendored
// noble-ed25519, hashing, HKDF and HMAC from WebCrypto. Files up to
// `limits.hashInMemory` are hashed by WebCrypto in one go (about ten times
// faster); larger ones piece by piece as they stream (noble-hashes), so
// neither side ever holds such a file in memory: the receiver folds what
// arrived into a Blob every 64 MiB, which the browser keeps off the page's
// heap (on disk if large).
import {Point} from './vendor/noble-ed25519.js';
import {sha256 as streamingSha256} from './vendor/noble-hashes/sha2.js';

export const WORDS = [
  'acid', 'acorn', 'actor', 'agent', 'alarm', 'album', 'alpha', 'amber', 'anchor', 'angel',
  'ankle', 'apple', 'apron', 'arrow', 'atlas', 'atom', 'aunt', 'autumn', 'avocado', 'badge',
  'bagel', 'baker', 'bamboo', 'banana', 'banjo', 'barley', 'basil', 'basket', 'beach', 'beacon',
  'beard', 'beetle', 'bell', 'berry', 'bicycle', 'bison', 'blanket', 'blossom', 'blue', 'boat',
  'bonfire', 'bottle', 'boulder', 'bracket', 'bread', 'breeze', 'brick', 'bridge', 'broom',
  'bubble', 'bucket', 'buffalo', 'bundle', 'butter', 'button', 'cabin', 'cactus', 'camel',
  'candle', 'canoe', 'canyon', 'carbon', 'carpet', 'carrot', 'castle', 'cedar', 'cello', 'cement',
  'chalk', 'cherry', 'chess', 'cider', 'cinnamon', 'circle', 'citrus', 'clay', 'cliff', 'clock',
  'cloud', 'clover', 'cobalt', 'cocoa', 'comet', 'copper', 'coral', 'cotton', 'cougar', 'crane',
  'crayon', 'cricket', 'crystal', 'cuckoo', 'cupcake', 'daisy', 'dancer', 'delta', 'desert',
  'diamond', 'dinner', 'dolphin', 'donkey', 'dragon', 'drum', 'eagle', 'earth', 'echo', 'eclipse',
  'elbow', 'ember', 'emerald', 'engine', 'falcon', 'feather', 'fern', 'fiddle', 'fig', 'flame',
  'flute', 'forest', 'fossil', 'fox', 'galaxy', 'garden', 'garlic', 'gecko', 'ginger', 'glacier',
  'globe', 'goose', 'granite', 'grape', 'gravel', 'guitar', 'hammer', 'harbor', 'hazel', 'helmet',
  'heron', 'honey', 'horizon', 'husky', 'iceberg', 'igloo', 'indigo', 'iris', 'island', 'ivory',
  'jacket', 'jaguar', 'jasmine', 'jelly', 'jigsaw', 'juniper', 'kayak', 'kettle', 'kiwi', 'koala',
  'ladder', 'lagoon', 'lantern', 'lava', 'lemon', 'lilac', 'lizard', 'lobster', 'lotus', 'magnet',
  'mango', 'maple', 'marble', 'meadow', 'melon', 'meteor', 'mint', 'mirror', 'monsoon', 'moose',
  'mosaic', 'muffin', 'nectar', 'nickel', 'noodle', 'nutmeg', 'oasis', 'ocean', 'olive', 'onion',
  'orbit', 'orchid', 'otter', 'owl', 'oyster', 'paddle', 'panda', 'papaya', 'parrot', 'peach',
  'pebble', 'pepper', 'piano', 'pickle', 'pigeon', 'pillow', 'pine', 'planet', 'plum', 'pony',
  'poppy', 'prairie', 'pretzel', 'prism', 'pumpkin', 'quartz', 'quill', 'rabbit', 'radish', 'rain',
  'raven', 'reef', 'ribbon', 'river', 'robin', 'rocket', 'saddle', 'saffron', 'salmon', 'sandal',
  'sapphire', 'saturn', 'sequoia', 'shadow', 'shell', 'silver', 'sketch', 'sparrow', 'spider',
  'spruce', 'squash', 'stone', 'sugar', 'summit', 'sunset', 'swan', 'tango', 'teapot', 'thistle',
  'thunder', 'tiger', 'timber', 'tomato', 'topaz', 'tulip', 'tundra', 'turtle', 'umbrella',
  'valley', 'velvet', 'violet', 'volcano', 'walnut', 'walrus', 'willow', 'window', 'winter',
];

const ID = new TextEncoder().encode('tern-wormhole-v1');
const CHUNK = 64 * 1024;
const READ = 1 << 20; // bytes read from a File at a time
const FOLD = 64 << 20; // received bytes gathered into a Blob at a time

/** Tunables (the tests lower `hashInMemory` to exercise streaming). */
export const limits = {hashInMemory: 256 << 20};

/**
 * SHA-256 of a file fed in pieces. Up to `limits.hashInMemory` bytes it
 * ignores the pieces and hashes `whole` (the File sent, or the Blob
 * received, which exist anyway) with WebCrypto at the end; above that it
 * hashes each piece as it streams by.
 */
function fileHasher(size) {
  const h = size > limits.hashInMemory ? streamingSha256.create() : null;
  return {
    update: (b) => h?.update(b),
    hex: async (whole) => toHex(h ? h.digest() : await sha256(await whole.arrayBuffer())),
  };
}
const enc = new TextEncoder();

/** A fresh code: `number-word-word`, the number in 1..=max, as `tern send` makes them. */
export function newCode(max = 999) {
  const b = crypto.getRandomValues(new Uint8Array(4));
  const n = ((b[0] << 8) | b[1]) % max + 1;
  return `${n}-${WORDS[b[2] % WORDS.length]}-${WORDS[b[3] % WORDS.length]}`;
}

/** The room a code meets in, after checking its shape. */
export function roomOf(code) {
  const [n, ...words] = code.split('-');
  if (!/^\d{1,5}$/.test(n) || +n > 65535 || words.length < 2 || words.some((w) => !w)) {
    throw new Error(`"${code}" is not a code like 7-purple-sausage (number-word-word)`);
  }
  return `tern-wormhole-${+n}`;
}

// ---- SPAKE2 (symmetric, Ed25519) -------------------------------------------

const S = Point.fromHex('6f00dae87c1be1a73b5922ef431cd8f57879569c222d22b1cd71e8546ab8e6f1');
const L = Point.CURVE().n;

const bigBE = (bytes) => bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
const sha256 = async (b) => new Uint8Array(await crypto.subtle.digest('SHA-256', b));

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function less(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

// HKDF-SHA256(salt = "", info = "SPAKE2 pw", 48 bytes), big-endian, mod L.
async function passwordScalar(password) {
  const ikm = await crypto.subtle.importKey('raw', password, 'HKDF', false, ['deriveBits']);
  const okm = await crypto.subtle.deriveBits(
    {name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode('SPAKE2 pw')}, ikm, 48 * 8);
  return bigBE(new Uint8Array(okm)) % L;
}

function randomScalar() {
  for (;;) {
    const s = bigBE(crypto.getRandomValues(new Uint8Array(64))) % L;
    if (s !== 0n) return s;
  }
}

/**
 * Starts SPAKE2 with `password` (bytes): returns the 33-byte message for the
 * peer and `finish(peerMessage)`, which resolves to the 32-byte shared key.
 */
export async function spake2Start(password, id = ID) {
  const pw = await passwordScalar(password);
  if (pw === 0n) throw new Error('degenerate password scalar');
  const x = randomScalar();
  const mine = Point.BASE.multiply(x).add(S.multiply(pw)).toBytes();
  const message = concat(Uint8Array.of(0x53), mine);
  const finish = async (theirs) => {
    if (theirs.length !== 33 || theirs[0] !== 0x53) throw new Error('malformed SPAKE2 message');
    let Y;
    try { Y = Point.fromBytes(theirs.subarray(1)); } catch { throw new Error('malformed SPAKE2 message'); }
    const k = Y.add(S.multiply(L - pw)).multiply(x).toBytes();
    const other = theirs.subarray(1);
    const [first, second] = less(mine, other) ? [mine, other] : [other, mine];
    return sha256(concat(await sha256(password), await sha256(id), first, second, k));
  };
  return {message, finish};
}

// ---- rendezvous ------------------------------------------------------------

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function hmac(key, ...parts) {
  const k = await crypto.subtle.importKey('raw', key, {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, concat(...parts.map((p) =>
    typeof p === 'string' ? enc.encode(p) : p))));
}

function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** A queue over a WebSocket or data channel: `next(ms)` waits for one message. */
function queue(target, what) {
  const items = [];
  const waiters = [];
  let closed = null;
  const push = (v) => (waiters.length ? waiters.shift().resolve(v) : items.push(v));
  target.addEventListener('message', (e) => push(e.data));
  target.addEventListener('close', () => {
    closed = new Error(`${what} closed`);
    for (const w of waiters.splice(0)) w.reject(closed);
  });
  return {
    next(ms, timeoutText) {
      if (items.length) return Promise.resolve(items.shift());
      if (closed) return Promise.reject(closed);
      return new Promise((resolve, reject) => {
        const w = {resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); }};
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(timeoutText));
        }, ms);
        waiters.push(w);
      });
    },
  };
}

const other = (role) => (role === 'sender' ? 'receiver' : 'sender');

/** The other side of `code`, met through the server at `wsUrl`, key confirmed. */
export class Rendezvous {
  /**
   * Joins the room of `code` (a sender without a code takes a random one
   * whose number no other transfer holds), calls `onJoined(code)`, waits for
   * the other side and confirms the key.
   */
  static async meet(wsUrl, code, role, waitMs = 10 * 60 * 1000, onJoined = () => {}, token = undefined) {
    if (!globalThis.crypto?.subtle) {
      throw new Error('this page needs HTTPS (or localhost) for its cryptography: start tern serve with --tls-cert/--tls-key');
    }
    let r;
    for (let attempt = 0; !r; attempt++) {
      // Short numbers first; longer ones only when a busy server has the
      // short ones taken (as tern-cli's wormhole.rs does).
      const tryCode = code || newCode(attempt < 16 ? 999 : attempt < 32 ? 9999 : 65535);
      const room = roomOf(tryCode);
      const ws = new WebSocket(wsUrl);
      const q = queue(ws, 'the signaling connection');
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error(`cannot reach the signaling server at ${wsUrl}`));
      });
      const joining = new Rendezvous(ws, q, role);
      ws.send(JSON.stringify({type: 'join', room, name: role, token}));
      let joined;
      try {
        joined = await joining.next(10000);
      } catch (e) {
        joining.close();
        // A full room is taken too.
        if (role === 'sender' && !code && e.code === 'room-full' && attempt < 63) continue;
        throw e;
      }
      if (joined.type !== 'joined') { joining.close(); throw new Error('the signaling server did not let us join'); }
      const members = joined.members || [];
      if (role === 'sender' && members.length) {
        joining.close(); // leaves at once: the number stays free for its owner
        if (code) throw new Error(`code number ${code.split('-')[0]} is in use by another transfer: pick another number`);
        if (attempt >= 63) throw new Error('every code number tried is in use on this server: try again later');
        continue;
      }
      if (role === 'receiver') {
        const sender = members.find((m) => m.name === 'sender');
        if (!sender) {
          joining.close();
          throw new Error(`nobody is sending with code ${tryCode}: check the code (or start the sender first)`);
        }
        joining.peer = sender.id;
      }
      joining.code = tryCode;
      r = joining;
    }
    code = r.code;
    r.ping = setInterval(() => r.ws.readyState === 1 && r.ws.send('{"type":"ping"}'), 10000);
    try {
      onJoined(code);
      if (role === 'sender') {
        for (;;) {
          const m = await r.next(waitMs);
          if (m.type === 'member-joined') { r.peer = m.member.id; break; }
        }
      }
      const pake = await spake2Start(enc.encode(code));
      r.signal({pake: b64(pake.message)});
      let key;
      try { key = await pake.finish(unb64(await r.fromPeer('pake', waitMs))); }
      catch (e) { throw new Error('key exchange failed: ' + e.message); }
      r.key = key;
      r.signal({confirm: b64(await hmac(key, 'confirm ', role))});
      const theirs = unb64(await r.fromPeer('confirm', waitMs));
      if (!constantTimeEqual(theirs, await hmac(key, 'confirm ', other(role)))) {
        throw new Error('wrong code: the other side derived a different key; nothing was sent');
      }
      return r;
    } catch (e) {
      r.close();
      throw e;
    }
  }

  constructor(ws, q, role) {
    this.ws = ws;
    this.q = q;
    this.role = role;
  }

  /** Leaves the room (freeing the code's number at once) and disconnects. */
  close() {
    clearInterval(this.ping);
    if (this.ws.readyState === 1) this.ws.send('{"type":"leave"}');
    this.ws.close();
  }

  async next(ms) {
    for (;;) {
      const m = JSON.parse(await this.q.next(ms, 'the other side did not show up in time'));
      if (m.type === 'error') {
        // `code` is the server's stable one (docs/signaling.md).
        throw Object.assign(new Error('signaling server: ' + m.message), {code: m.code});
      }
      if (m.type !== 'pong') return m;
    }
  }

  signal(data) {
    this.ws.send(JSON.stringify({type: 'signal', to: this.peer, data}));
  }

  async fromPeer(field, ms) {
    for (;;) {
      const m = await this.next(ms);
      if (m.type === 'member-left' && m.member === this.peer) throw new Error('the other side went away');
      if (m.type !== 'signal' || m.from !== this.peer) continue;
      if (typeof m.data?.[field] === 'string') return m.data[field];
      if (typeof m.data?.error === 'string') throw new Error('the other side: ' + m.data.error);
    }
  }

  /** Sends our complete description (after ICE gathering) with its MAC. */
  async sendDescription(sdp) {
    const mac = await hmac(this.key, 'sdp ', this.role, sdp);
    this.signal({sdp, mac: b64(mac)});
  }

  /** The peer's description, after checking its MAC. */
  async recvDescription(ms = 60000) {
    for (;;) {
      const m = await this.next(ms);
      if (m.type === 'member-left' && m.member === this.peer) throw new Error('the other side went away');
      if (m.type !== 'signal' || m.from !== this.peer) continue;
      const {sdp, mac, error} = m.data || {};
      if (typeof sdp !== 'string' || typeof mac !== 'string') {
        if (typeof error === 'string') throw new Error('the other side: ' + error);
        continue;
      }
      let tag;
      try { tag = unb64(mac); } catch { tag = new Uint8Array(0); }
      if (!constantTimeEqual(tag, await hmac(this.key, 'sdp ', other(this.role), sdp))) {
        throw new Error('the offer or answer was altered on the way (bad MAC): not connecting');
      }
      return {type: this.role === 'sender' ? 'answer' : 'offer', sdp};
    }
  }
}

// ---- transfer --------------------------------------------------------------

async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise((resolve) => {
    const check = () => pc.iceGatheringState === 'complete' && resolve();
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', (e) => !e.candidate && resolve());
    setTimeout(resolve, 10000); // send what we have
  });
}

const toHex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

function wsUrlOf(server) {
  return new URL('/ws', server).href.replace(/^http/, 'ws');
}

async function iceServersOf(server) {
  try { return (await (await fetch(new URL('/config', server))).json()).iceServers || []; }
  catch { return []; }
}

/** `promise`, or an error saying `why` after `ms`. */
function within(promise, ms, why) {
  let t;
  return Promise.race([promise, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(why)), ms)))])
    .finally(() => clearTimeout(t));
}

async function control(q, ms) {
  const m = await q.next(ms, 'the other side stopped responding');
  if (typeof m !== 'string') throw new Error('the other side sent data out of turn');
  return JSON.parse(m);
}

/**
 * Sends `files` (File objects; `path` defaults to the name) to whoever runs
 * `tern recv <code>`; without a `code`, a fresh one whose number is free,
 * handed to `ui.joined(code)` once the room is ours. `ui.status(text)` and
 * `ui.progress(done, total)` report.
 * Resolves when the receiver confirmed every checksum.
 */
export async function sendFiles({server = location.href, code, files, ui = {}, waitMs, token}) {
  const status = ui.status || (() => {});
  const progress = ui.progress || (() => {});
  const rv = await Rendezvous.meet(wsUrlOf(server), code, 'sender', waitMs, (c) => {
    code = c;
    ui.joined?.(c);
  }, token);
  const pc = new RTCPeerConnection({iceServers: await iceServersOf(server)});
  try {
    status('connecting…');
    const dc = pc.createDataChannel('tern-transfer');
    dc.binaryType = 'arraybuffer';
    const q = queue(dc, 'the data channel');
    // Listen before anything is awaited: the channel may open before
    // setRemoteDescription's promise settles.
    const opened = new Promise((resolve, reject) => {
      dc.addEventListener('open', resolve);
      dc.addEventListener('close', () => reject(new Error('the data channel closed before it opened')));
    });
    opened.catch(() => {}); // handled below; no unhandled rejection meanwhile
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    await rv.sendDescription(pc.localDescription.sdp);
    await pc.setRemoteDescription(await rv.recvDescription());
    await within(opened, 30000, 'could not connect to the other side (no data channel after 30 s)');
    rv.close();
    const list = files.map((f) => ({path: f.path || f.name, size: f.size}));
    dc.send(JSON.stringify({files: list}));
    const reply = await control(q, 10 * 60 * 1000); // the receiver may be asking its person
    if (reply.error) throw new Error('the receiver refused: ' + reply.error);
    const total = list.reduce((n, f) => n + f.size, 0);
    let sent = 0;
    dc.bufferedAmountLowThreshold = 1 << 20;
    const t0 = performance.now();
    for (const f of files) {
      const hash = fileHasher(f.size);
      // Read ahead one piece while the previous one goes out.
      let next = f.slice(0, READ).arrayBuffer();
      for (let at = 0; at < f.size; at += READ) {
        const data = new Uint8Array(await next);
        if (data.byteLength !== Math.min(READ, f.size - at)) throw new Error(`${f.name} changed while sending`);
        if (at + READ < f.size) next = f.slice(at + READ, at + 2 * READ).arrayBuffer();
        hash.update(data);
        for (let off = 0; off < data.byteLength; off += CHUNK) {
          if (dc.readyState !== 'open') throw new Error('the other side went away in the middle of the transfer');
          if (dc.bufferedAmount > 8 << 20) await new Promise((r) => (dc.onbufferedamountlow = r));
          const piece = data.subarray(off, off + CHUNK);
          dc.send(piece);
          sent += piece.byteLength;
          progress(sent, total);
        }
      }
      dc.send(JSON.stringify({sha256: await hash.hex(f)}));
    }
    const end = await control(q, 120000);
    if (end.error) throw new Error('the receiver failed: ' + end.error);
    if (!end.done) throw new Error('the receiver did not confirm the transfer');
    const secs = (performance.now() - t0) / 1000;
    status(`sent ${files.length} file(s), ${total} bytes in ${secs.toFixed(2)} s ` +
      `(${(total / 1e6 / Math.max(secs, 1e-9)).toFixed(1)} MB/s); checksums verified by the receiver`);
    // Everything arrived and was confirmed: close the connection now (the
    // other side sees its channel end at once).
    pc.close();
    return {files: list, bytes: total};
  } finally {
    rv.close();
    // On failure, give our error message a moment to leave first.
    setTimeout(() => pc.close(), 1000);
  }
}

/**
 * Receives what `tern send` (or another page) sends with `code`. Resolves to
 * the files as `{path, size, sha256, blob}`, each checksum verified (or, from
 * `tern send --text`, no files and the message as the array's `text`).
 */
export async function receiveFiles({server = location.href, code, ui = {}, waitMs = 60000, token}) {
  const status = ui.status || (() => {});
  const progress = ui.progress || (() => {});
  const rv = await Rendezvous.meet(wsUrlOf(server), code, 'receiver', waitMs, undefined, token);
  const pc = new RTCPeerConnection({iceServers: await iceServersOf(server)});
  let dc;
  try {
    status('connecting…');
    // Take the channel (and start queueing its messages) in the event itself.
    let q;
    const channel = new Promise((resolve) => (pc.ondatachannel = (e) => {
      e.channel.binaryType = 'arraybuffer';
      q = queue(e.channel, 'the data channel');
      resolve(e.channel);
    }));
    await pc.setRemoteDescription(await rv.recvDescription());
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await rv.sendDescription(pc.localDescription.sdp);
    dc = await within(channel, 30000, 'could not connect to the sender (no data channel after 30 s)');
    rv.close();
    const refuse = (why) => {
      if (dc.readyState === 'open') dc.send(JSON.stringify({error: why}));
      return new Error(why);
    };
    const header = await control(q, 60000);
    if (typeof header.text === 'string') {
      // `tern send --text`: a message, not files.
      dc.send(JSON.stringify({done: true}));
      status('text received');
      return Object.assign([], {text: header.text});
    }
    if (!Array.isArray(header.files)) throw refuse('the sender sent no file list');
    for (const f of header.files) {
      if (typeof f.path !== 'string' || !f.path || f.path.split('/').some((c) => c === '' || c === '.' || c === '..')
          || !Number.isSafeInteger(f.size) || f.size < 0) {
        throw refuse(`refusing the path ${JSON.stringify(f.path)}`);
      }
    }
    dc.send(JSON.stringify({accept: true}));
    const total = header.files.reduce((n, f) => n + f.size, 0);
    let done = 0;
    const out = [];
    const t0 = performance.now();
    for (const f of header.files) {
      let parts = [];
      let unfolded = 0;
      let got = 0;
      const hash = fileHasher(f.size);
      while (got < f.size) {
        const m = await q.next(60000, 'no data for 60 s');
        if (typeof m === 'string') throw refuse(`${f.path}: the sender's data was cut short`);
        hash.update(new Uint8Array(m));
        parts.push(m);
        got += m.byteLength;
        done += m.byteLength;
        unfolded += m.byteLength;
        if (unfolded >= FOLD) { parts = [new Blob(parts)]; unfolded = 0; }
        progress(done, total);
      }
      if (got !== f.size) throw refuse(`${f.path}: got ${got} bytes, expected ${f.size}`);
      const end = await control(q, 60000);
      const blob = new Blob(parts);
      const mine = await hash.hex(blob);
      if (end.sha256 !== mine) throw refuse(`${f.path}: checksum mismatch, file discarded`);
      out.push({path: f.path, size: f.size, sha256: mine, blob});
    }
    dc.send(JSON.stringify({done: true}));
    const secs = (performance.now() - t0) / 1000;
    status(`received ${out.length} file(s), ${total} bytes in ${secs.toFixed(2)} s ` +
      `(${(total / 1e6 / Math.max(secs, 1e-9)).toFixed(1)} MB/s); SHA-256 verified`);
    return out;
  } finally {
    rv.close();
    // Let "done" reach the sender before closing.
    setTimeout(() => pc.close(), 2000);
  }
}
