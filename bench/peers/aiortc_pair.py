#!/usr/bin/env python3
"""Side-by-side peer for the data-channel benchmarks: two aiortc peers in
one process on loopback, TOTAL_MIB (default 16) through one reliable ordered
channel in 64 KiB messages. Prints MB/s, CPU s/GB and the setup time.
Run inside `unshare -n` with the venv scripts/test makes:
  target/interop-venv/bin/python bench/peers/aiortc_pair.py"""
import asyncio, os, time

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
MIB = int(os.environ.get("TOTAL_MIB", "16"))


async def main():
    cfg = RTCConfiguration(iceServers=[])  # no public STUN server
    a, b = RTCPeerConnection(cfg), RTCPeerConnection(cfg)
    t0 = time.perf_counter()
    ch = a.createDataChannel("bench")
    got_channel = asyncio.get_running_loop().create_future()
    b.on("datachannel", lambda c: got_channel.done() or got_channel.set_result(c))
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    rx = await got_channel
    if ch.readyState != "open":
        opened = asyncio.get_running_loop().create_future()
        ch.on("open", lambda: opened.done() or opened.set_result(True))
        await opened
    setup_ms = (time.perf_counter() - t0) * 1e3
    total = MIB << 20
    done = asyncio.get_running_loop().create_future()
    got = 0

    def on_message(m):
        nonlocal got
        got += len(m)
        if got >= total and not done.done():
            done.set_result(True)

    rx.on("message", on_message)
    msg = bytes(64 * 1024)
    c0, t1 = time.process_time(), time.perf_counter()
    for _ in range(total // len(msg)):
        while ch.bufferedAmount > 4 << 20:
            await asyncio.sleep(0.001)
        ch.send(msg)
    await done
    secs, cpu = time.perf_counter() - t1, time.process_time() - c0
    print(f"aiortc ↔ aiortc, one process, loopback: {MIB} MiB in 64 KiB messages: {total / 1e6 / secs:.0f} MB/s, "
          f"{cpu / (total / 1e9):.1f} CPU s/GB (both peers), setup {setup_ms:.1f} ms")
    await a.close()
    await b.close()


asyncio.run(main())
