#!/usr/bin/env python3
"""aiortc as the offerer against a `tern echo` at URL (argv[1]); the
negotiated channel id the echo makes is argv[2]. Runs the scenarios and
prints one JSON list of {name, ok, detail}. Loopback only."""
import asyncio, json, sys, urllib.request

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
URL, NEG = sys.argv[1].rstrip("/"), int(sys.argv[2])
results = []


def pattern(i, size):
    return bytes(((i * 7 + k) & 255) for k in range(size)) if size < 64 else (i.to_bytes(4, "big") + bytes(range(256)) * (size // 256 + 1))[:size]


async def post_offer(pc):
    body = json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}).encode()
    req = urllib.request.Request(URL + "/offer", data=body, headers={"content-type": "application/json"})
    loop = asyncio.get_running_loop()
    raw = await loop.run_in_executor(None, lambda: urllib.request.urlopen(req, timeout=20).read())
    a = json.loads(raw)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=a["sdp"], type=a["type"]))


async def opened(ch):
    if ch.readyState == "open":
        return
    fut = asyncio.get_running_loop().create_future()
    ch.on("open", lambda: fut.done() or fut.set_result(True))
    await asyncio.wait_for(fut, 10)


async def round_trip(ch, msgs, timeout=30):
    got, done = [], asyncio.get_running_loop().create_future()

    @ch.on("message")
    def on_message(m):
        got.append(m)
        if len(got) == len(msgs) and not done.done():
            done.set_result(True)

    for m in msgs:
        while ch.bufferedAmount > 4 << 20:
            await asyncio.sleep(0.005)
        ch.send(m)
    try:
        await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        raise Exception(f"{ch.label}: {len(got)}/{len(msgs)} echoed")
    return got


async def scenario(name, coro):
    try:
        detail = await coro
        results.append({"name": name, "ok": True, "detail": str(detail or "")})
    except Exception as e:
        results.append({"name": name, "ok": False, "detail": repr(e)})


async def main():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    labels = ["one", "empty", "small", "bulk", "big", "unordered", "neg", "closer"]
    ch = {l: pc.createDataChannel(l) for l in labels if l not in ("unordered", "neg")}
    ch["unordered"] = pc.createDataChannel("unordered", ordered=False)
    ch["rtx0"] = pc.createDataChannel("rtx0", ordered=False, maxRetransmits=0)
    ch["neg"] = pc.createDataChannel("neg", negotiated=True, id=NEG)
    await pc.setLocalDescription(await pc.createOffer())
    await post_offer(pc)
    for c in ch.values():
        await opened(c)

    async def one():
        r = await round_trip(ch["one"], ["hello from aiortc"])
        assert r == ["hello from aiortc"], r

    async def empty():
        r = await round_trip(ch["empty"], ["", b""])
        assert r == ["", b""], r

    async def small():
        msgs = [pattern(i, 16) for i in range(2000)]
        r = await round_trip(ch["small"], msgs)
        assert r == msgs, "differs"

    async def bulk():
        msgs = [pattern(i, 65536) for i in range(128)]  # 8 MiB
        t0 = asyncio.get_running_loop().time()
        r = await round_trip(ch["bulk"], msgs, 120)
        assert r == msgs, "differs"
        return f"{16 / (asyncio.get_running_loop().time() - t0):.1f} MiB/s both ways"

    async def big():
        m = pattern(3, 65536)
        assert await round_trip(ch["big"], [m]) == [m]

    async def unordered():
        msgs = [pattern(i, 100) for i in range(500)]
        r = await round_trip(ch["unordered"], msgs)
        assert sorted(r) == sorted(msgs), "differs"

    async def rtx0():
        msgs = [pattern(i, 100) for i in range(500)]
        got = []
        ch["rtx0"].on("message", got.append)
        for m in msgs:
            ch["rtx0"].send(m)
        await asyncio.sleep(1.5)
        assert all(m in msgs for m in got), "corrupt"
        return f"{len(got)}/500"

    async def neg():
        assert await round_trip(ch["neg"], ["negotiated"]) == ["negotiated"]

    async def closer():
        fut = asyncio.get_running_loop().create_future()
        ch["closer"].on("close", lambda: fut.done() or fut.set_result(True))
        ch["closer"].close()
        await asyncio.wait_for(fut, 5)

    for name, f in [("one message", one), ("empty text and binary", empty), ("2,000 small messages in order", small),
                    ("8 MiB in 64 KiB messages", bulk), ("a 64 KiB message", big), ("unordered", unordered),
                    ("maxRetransmits 0", rtx0), ("negotiated", neg), ("close from aiortc", closer)]:
        await scenario(name, f())
    await pc.close()
    print(json.dumps(results), flush=True)


asyncio.run(main())
