#!/usr/bin/env python3
"""Regenerates the Chromium SDP fixtures: serves a page to headless Chromium
that creates offers and answers for several configurations and POSTs each SDP
back. Run inside `unshare -n` (loopback only):

  unshare -n sh -c 'ip link set lo up; exec python3 tools/capture_chromium.py tests/fixtures'
"""
import http.server, json, os, subprocess, sys, tempfile, threading

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
PAGE = r"""<!doctype html><script>
async function post(name, sdp) {
  await fetch('/sdp/' + name, {method: 'POST', body: sdp});
}
async function pairOf(setup) {
  const a = new RTCPeerConnection({iceServers: []});
  const b = new RTCPeerConnection({iceServers: []});
  await setup(a);
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await new Promise(r => { if (a.iceGatheringState === 'complete') r();
    a.onicegatheringstatechange = () => a.iceGatheringState === 'complete' && r(); });
  await b.setRemoteDescription(a.localDescription);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await new Promise(r => { if (b.iceGatheringState === 'complete') r();
    b.onicegatheringstatechange = () => b.iceGatheringState === 'complete' && r(); });
  return [a.localDescription.sdp, b.localDescription.sdp];
}
(async () => {
  try {
    let [o, a] = await pairOf(async pc => pc.createDataChannel('chat'));
    await post('chromium-datachannel-offer.sdp', o);
    await post('chromium-datachannel-answer.sdp', a);
    const media = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    [o, a] = await pairOf(async pc => {
      for (const t of media.getTracks()) pc.addTrack(t, media);
      pc.createDataChannel('data');
    });
    await post('chromium-av-datachannel-offer.sdp', o);
    await post('chromium-av-datachannel-answer.sdp', a);
    [o, a] = await pairOf(async pc => {
      pc.addTransceiver(media.getVideoTracks()[0], {direction: 'sendonly', streams: [media],
        sendEncodings: [{rid: 'q', scaleResolutionDownBy: 4}, {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]});
    });
    await post('chromium-simulcast-offer.sdp', o);
    await post('done', 'ok');
  } catch (e) { await post('done', 'error: ' + e); }
})();
</script>"""

done = threading.Event()
result = {}

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = PAGE.encode()
        self.send_response(200); self.send_header('content-type', 'text/html')
        self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers['content-length'])
        data = self.rfile.read(n).decode()
        name = self.path.rsplit('/', 1)[1]
        self.send_response(200); self.send_header('content-length', '0'); self.end_headers()
        if name == 'done':
            result['done'] = data; done.set()
        else:
            with open(os.path.join(OUT, name), 'w', newline='') as f:
                f.write(data)

srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
prof = tempfile.mkdtemp()
chrome = subprocess.Popen(['/usr/lib/chromium/chromium', '--headless', '--no-sandbox', '--disable-gpu',
    '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-dev-shm-usage', '--user-data-dir=' + prof,
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', 'http://127.0.0.1:%d/' % srv.server_port],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ok = done.wait(60)
chrome.terminate(); chrome.wait()
print(result.get('done', 'timeout'))
sys.exit(0 if ok and result.get('done') == 'ok' else 1)
