#!/usr/bin/python3
"""
Print real offers/answers of the independent stacks as one JSON object, for fixtures/sdp/ (run inside a network
namespace with a test address: fixtures/sdp/generate-interop.ts does it). No peer is contacted: each description is
only created and gathered.

  aiortcOffer        aiortc 1.4 offering video + audio: BUNDLE, each m-section with its own ICE credentials/port
  aiortcAnswer       aiortc 1.4 answering fixtures/sdp/werift-offer.sdp (one set of credentials: it bundles)
  webrtcbinOffer     webrtcbin 1.22 (bundle-policy max-bundle) offering video + audio: the audio section bundle-only
  webrtcbinCandidates the candidates webrtcbin trickles after that offer, as [mlineindex, candidate]
"""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

import rtc_media  # noqa: E402


async def aiortc_offer():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    clock = rtc_media.Clock()
    for track in (rtc_media.PatternVideo(clock, 1), rtc_media.SineAudio(clock, 1)):
        pc.addTrack(track)
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def aiortc_answer(offer):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("chat", negotiated=True, id=2)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def webrtcbin_offer():
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    from gi.repository import GLib, Gst
    from gst_peer import SOURCES

    Gst.init(None)
    desc = "webrtcbin name=w bundle-policy=max-bundle " + SOURCES["video"].format(pt=96) + " " + SOURCES["audio"].format(pt=97)
    pipe = Gst.parse_launch(desc)
    w = pipe.get_by_name("w")
    out = {"offer": None, "candidates": []}
    loop = GLib.MainLoop()

    def on_offer(promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            return  # asked before every pad had caps; it asks again
        out["offer"] = offer.sdp.as_text()
        w.emit("set-local-description", offer, None)

    w.connect("on-negotiation-needed", lambda _w: w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None)))
    w.connect("on-ice-candidate", lambda _w, mline, cand: out["candidates"].append([mline, cand]))
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(3000, loop.quit)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    time.sleep(0.2)
    return out


def main():
    werift_offer = open(sys.argv[1]).read()
    result = {"aiortcOffer": asyncio.run(aiortc_offer()), "aiortcAnswer": asyncio.run(aiortc_answer(werift_offer))}
    gst = webrtcbin_offer()
    result["webrtcbinOffer"] = gst["offer"]
    result["webrtcbinCandidates"] = gst["candidates"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
