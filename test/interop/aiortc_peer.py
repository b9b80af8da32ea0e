#!/usr/bin/python3
"""
An aiortc (Debian python3-aiortc 1.4) peer for rtc-cli, written from docs/*.md alone. Run it with /usr/bin/python3.

    aiortc_peer.py send-file  --signal URL --room R FILE...        # to `rtc-cli recv-file`
    aiortc_peer.py recv-file  --signal URL --room R --out DIR      # from `rtc-cli send-file`
    aiortc_peer.py send-media --signal URL --room R --seconds S    # to `rtc-cli record` (VP8 + Opus)
    aiortc_peer.py recv-media --signal URL --room R                # from `rtc-cli publish`
    ... --manual [--role offerer|answerer] instead of --signal/--room: one rtc1 line each way (stdout / stdin)

Output: one JSON object per line on stdout ({"event": ...}); the last is {"event":"result",...} (exit 0) or
{"event":"error","message":...} (exit 1). aioice never gathers on loopback: run it where a non-loopback address
exists (the tests use a network namespace with a veth address). iceServers is always empty: nothing leaves the host.
"""
import argparse
import asyncio
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402

import rtc_file  # noqa: E402
import rtc_media  # noqa: E402
from rtc_signal import Session, emit, run_main  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["send-file", "recv-file", "send-media", "recv-media"])
    p.add_argument("files", nargs="*")
    p.add_argument("--signal")
    p.add_argument("--room")
    p.add_argument("--token")
    p.add_argument("--manual", action="store_true")
    p.add_argument("--role", choices=["offerer", "answerer"], default="offerer")
    p.add_argument("--out", default=".")
    p.add_argument("--seconds", type=float, default=5.0, help="send-media: how long to send; recv-media: the longest to wait")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--kinds", default="video,audio", help="media sections in this order (e.g. audio,video or video)")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--verbose", action="store_true")
    a = p.parse_intermixed_args(argv)  # files may come before or after the options
    a.kinds = [k for k in a.kinds.split(",") if k]
    if not a.kinds or any(k not in ("video", "audio") for k in a.kinds):
        p.error("--kinds takes video and/or audio, comma separated")
    if not a.manual and not (a.signal and a.room):
        p.error("give --signal and --room, or --manual")
    return a


async def negotiate(session, a):
    if a.manual:
        await session.negotiate_manual(a.role)
    else:
        await session.negotiate_room(a.signal, a.room, a.token, a.timeout)
    await session.wait_connected(a.timeout)


async def send_media(session, a):
    pc = session.pc
    clock = rtc_media.Clock()
    video = rtc_media.PatternVideo(clock, frames=round(a.seconds * a.fps), fps=a.fps)
    audio = rtc_media.SineAudio(clock, frames=round(a.seconds * 50))
    tracks = {"video": (video, "video/VP8"), "audio": (audio, "audio/opus")}
    for track, mime in (tracks[k] for k in a.kinds):
        pc.addTrack(track)
        t = next(t for t in pc.getTransceivers() if t.sender.track is track)
        rtc_media.prefer_codec(t, mime)
    await negotiate(session, a)
    # Send until both tracks ran out of frames (or the receiver hung up).
    ended = asyncio.ensure_future(_all_ended(*(tracks[k][0] for k in a.kinds)))
    gone = asyncio.ensure_future(session.gone.wait())
    await asyncio.wait([ended, gone], timeout=a.seconds + a.timeout, return_when=asyncio.FIRST_COMPLETED)
    # Keep answering NACKs a moment, so the last frames can still be repaired.
    if not session.gone.is_set():
        await asyncio.sleep(1.0)
    for f in (ended, gone):
        f.cancel()
    result = {"receiverLeft": session.gone.is_set()}
    if "video" in a.kinds:
        result["video"] = {"codec": "VP8", "framesSent": video.sent, "fps": a.fps, "width": video.width, "height": video.height, "maxLagMs": round(video.max_lag_ms)}
    if "audio" in a.kinds:
        result["audio"] = {"codec": "opus", "framesSent": audio.sent, "maxLagMs": round(audio.max_lag_ms)}
    return result


async def _all_ended(*tracks):
    while any(t.readyState != "ended" for t in tracks):
        await asyncio.sleep(0.05)


async def recv_media(session, a):
    pc = session.pc
    counters = {}
    tasks = []

    @pc.on("track")
    def _track(track):
        c = counters.setdefault(track.kind, rtc_media.Counter(track.kind))
        tasks.append(asyncio.ensure_future(c.consume(track)))

    # As offerer we ask for both kinds; as answerer the offer creates them (recvonly).
    session.before_offer = lambda pc: [pc.addTransceiver(k, direction="recvonly") for k in a.kinds]
    await negotiate(session, a)
    await asyncio.wait_for(session.gone.wait(), a.seconds + a.timeout)
    for t in tasks:
        t.cancel()
    return {kind: c.summary() for kind, c in counters.items()} | {"hangUp": session.gone_reason}


async def run(a):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # explicit: aiortc's default is a public STUN server
    session = Session(pc)
    try:
        if a.mode in ("send-file", "recv-file"):
            link = rtc_file.Link(rtc_file.open_channel(pc))
            await negotiate(session, a)
            if a.mode == "send-file":
                result = await rtc_file.send_files(session, link, a.files, a.timeout)
            else:
                result = await rtc_file.receive_files(link, a.out, a.timeout)
        elif a.mode == "send-media":
            result = await send_media(session, a)
        else:
            result = await recv_media(session, a)
        result["role"] = session.role
        result["remoteHungUp"] = session.gone_reason
        emit("result", **result)
    finally:
        # The receiver of files hangs up first (docs/file-transfer-protocol.md): bye, then close and leave.
        await session.close()


def main(argv):
    a = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING, stream=sys.stderr)
    return run_main(run(a))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
