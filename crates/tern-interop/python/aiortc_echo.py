#!/usr/bin/env python3
"""An aiortc answerer with the `tern echo` contract: POST /offer with
{"type":"offer","sdp":...} answers {"type":"answer","sdp":...} once
gathering is complete; every data-channel message is echoed back unchanged,
and every audio and video track comes back on its own transceiver (decoded
and re-encoded by aiortc, as its server example relays).
Prints "listening on http://HOST:PORT" when ready. Loopback only."""
import asyncio, json, sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

# aioice skips 127.0.0.1; loopback is all there is in the test namespace.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
peers = set()
relay = MediaRelay()
NEGOTIATED = [int(x) for x in sys.argv[1:]]


def echo(channel):
    @channel.on("message")
    def on_message(message):
        channel.send(message)


async def answer(offer_json):
    offer = json.loads(offer_json)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never a public STUN server
    peers.add(pc)
    pc.on("datachannel", echo)

    @pc.on("track")
    def on_track(track):
        pc.addTrack(relay.subscribe(track))
    for n in NEGOTIATED:
        echo(pc.createDataChannel(f"neg{n}", negotiated=True, id=n))

    @pc.on("connectionstatechange")
    async def on_state():
        if pc.connectionState in ("failed", "closed"):
            peers.discard(pc)
            await pc.close()

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    return json.dumps({"type": pc.localDescription.type, "sdp": pc.localDescription.sdp})


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = 0
        for l in lines[1:]:
            if l.lower().startswith("content-length:"):
                length = int(l.split(":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        if lines[0].startswith("POST /offer"):
            out, status = (await answer(body)).encode(), "200 OK"
        else:
            out, status = b"not found", "404 Not Found"
    except Exception as e:  # a bad request gets its reason back
        out, status = str(e).encode(), "400 Bad Request"
    writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(out)}\r\nConnection: close\r\n\r\n".encode() + out)
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
