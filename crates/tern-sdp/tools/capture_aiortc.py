#!/usr/bin/env python3
"""Regenerates the aiortc SDP fixtures (needs `pip install aiortc`). Run inside
`unshare -n` (loopback only), after capture_chromium.py (it answers Chromium's
data-channel offer too):

  unshare -n sh -c 'ip link set lo up; exec VENV/bin/python tools/capture_aiortc.py tests/fixtures'
"""
import asyncio, os, sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
# aioice skips 127.0.0.1; loopback is all there is here.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def save(name, sdp):
    with open(os.path.join(OUT, name), "w", newline="") as f:
        f.write(sdp)


def pc():
    # Never the default public STUN server.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def offer_answer(setup):
    a, b = pc(), pc()
    setup(a)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    o, ans = a.localDescription.sdp, b.localDescription.sdp
    await a.close()
    await b.close()
    return o, ans


async def main():
    o, a = await offer_answer(lambda p: p.createDataChannel("chat"))
    save("aiortc-datachannel-offer.sdp", o)
    save("aiortc-datachannel-answer.sdp", a)

    def av(p):
        p.addTrack(AudioStreamTrack())
        p.addTrack(VideoStreamTrack())
        p.createDataChannel("data")

    o, a = await offer_answer(av)
    save("aiortc-av-datachannel-offer.sdp", o)
    save("aiortc-av-datachannel-answer.sdp", a)
    # aiortc answering Chromium.
    with open(os.path.join(OUT, "chromium-datachannel-offer.sdp")) as f:
        chrome_offer = f.read()
    b = pc()
    b.on("datachannel", lambda ch: None)
    await b.setRemoteDescription(RTCSessionDescription(sdp=chrome_offer, type="offer"))
    await b.setLocalDescription(await b.createAnswer())
    save("aiortc-answer-to-chromium.sdp", b.localDescription.sdp)
    await b.close()


asyncio.run(main())
