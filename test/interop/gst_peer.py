#!/usr/bin/python3
"""
A GStreamer webrtcbin peer for rtc-cli (Debian gstreamer1.0-plugins-bad 1.22 + gstreamer1.0-nice, python3-gst-1.0,
gir1.2-gst-plugins-bad-1.0), written from docs/*.md alone. It always joins second, so it offers (the later joiner
offers), with bundle-policy max-bundle: webrtcbin then marks every m-section but the first `a=bundle-only` with port 0
(RFC 8843 §6), and trickles its candidates (RFC 8838) after the offer.

    gst_peer.py send-media --signal URL --room R --seconds S [--kinds video,audio]   # to `rtc-cli record`
    gst_peer.py recv-media --signal URL --room R --seconds S [--kinds video,audio]   # from `rtc-cli publish`

Output: NDJSON events on stdout like aiortc_peer.py; the last is {"event":"result",...} or {"event":"error",...}.
GStreamer runs its GLib main loop in a thread; signaling is asyncio in the main thread.
"""
import argparse
import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

from rtc_signal import PeerError, Room, emit, is_payload, run_main  # noqa: E402

VIDEO_PT, AUDIO_PT = 96, 97
SOURCES = {
    "video": "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 "
    "! vp8enc name=enc_video deadline=1 keyframe-max-dist=60 ! rtpvp8pay pt={pt} ! application/x-rtp,media=video,encoding-name=VP8,payload={pt} ! w.",
    "audio": "audiotestsrc is-live=true wave=sine samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 "
    "! audioconvert ! opusenc name=enc_audio frame-size=20 ! rtpopuspay pt={pt} ! application/x-rtp,media=audio,encoding-name=OPUS,payload={pt} ! w.",
}
RECV_CAPS = {
    "video": f"application/x-rtp,media=video,encoding-name=VP8,payload={VIDEO_PT},clock-rate=90000",
    "audio": f"application/x-rtp,media=audio,encoding-name=OPUS,payload={AUDIO_PT},clock-rate=48000",
}


class GstPeer:
    def __init__(self, a, loop):
        self.a, self.loop = a, loop
        self.offer = asyncio.get_running_loop().create_future()
        self.connected = asyncio.Event()
        self.candidates = asyncio.Queue()
        self.counts = {}
        Gst.init(None)
        desc = ["webrtcbin name=w bundle-policy=max-bundle"]
        if a.mode == "send-media":
            for k in a.kinds:
                desc.append(SOURCES[k].format(pt=VIDEO_PT if k == "video" else AUDIO_PT))
        parsed = Gst.parse_launch(" ".join(desc))
        if isinstance(parsed, Gst.Pipeline):
            self.pipe = parsed
        else:  # a lone webrtcbin (receiving only) comes back as the element itself
            self.pipe = Gst.Pipeline.new("recv")
            self.pipe.add(parsed)
        self.w = self.pipe.get_by_name("w")
        if a.mode == "recv-media":
            for k in a.kinds:
                caps = Gst.Caps.from_string(RECV_CAPS[k])
                self.w.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, caps)
            self.w.connect("pad-added", self._on_pad)
        self.w.connect("on-negotiation-needed", self._on_negotiation_needed)
        self.w.connect("on-ice-candidate", self._on_ice_candidate)
        self.w.connect("notify::connection-state", self._on_state)
        # Live sources run from PLAYING on (webrtcbin needs their caps to offer), but only the frames encoded between
        # "connected" and "stop" go out, and are counted: one encoder buffer is one frame (VP8, or 20 ms of Opus).
        self.sending = False
        self.remote_set = False
        self.sent = {}
        if a.mode == "send-media":
            for k in a.kinds:
                self.sent[k] = 0
                pad = self.pipe.get_by_name(f"enc_{k}").get_static_pad("src")
                pad.add_probe(Gst.PadProbeType.BUFFER, self._gate, k)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", lambda _b, m: self._call(self._fail, m.parse_error()[0].message))

    def _gate(self, _pad, _info, kind):
        if not self.sending:
            return Gst.PadProbeReturn.DROP
        self.sent[kind] += 1
        return Gst.PadProbeReturn.OK

    def _call(self, fn, *args):
        self.loop.call_soon_threadsafe(fn, *args)

    def _fail(self, message):
        if not self.offer.done():
            self.offer.set_exception(PeerError(message))
        emit("gst-error", message=message)

    # GStreamer thread -> asyncio
    def _on_negotiation_needed(self, _w):
        self.w.emit("create-offer", None, Gst.Promise.new_with_change_func(self._on_offer, None))

    def _on_offer(self, promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            # webrtcbin may ask before every pad has caps; it asks again once they have (the timeout covers "never").
            self._call(emit, "create-offer-retry", reply=reply.to_string() if reply else None)
            return
        text = offer.sdp.as_text()  # now: the reply (and the offer in it) is freed after this callback
        self.w.emit("set-local-description", offer, None)
        self._call(lambda: self.offer.done() or self.offer.set_result(text))

    def _on_ice_candidate(self, _w, mline, candidate):
        self._call(self.candidates.put_nowait, (mline, candidate))

    def _on_state(self, *_):
        if self.w.get_property("connection-state") == GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
            self._call(self.connected.set)

    def _on_pad(self, _w, pad):
        caps = pad.get_current_caps().get_structure(0)
        kind = caps.get_string("media")
        chain = "rtpvp8depay ! vp8dec" if kind == "video" else "rtpopusdepay ! opusdec"
        dec = Gst.parse_bin_from_description(f"queue ! {chain} ! fakesink name=sink sync=false async=false", True)
        self.pipe.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad("sink"))
        self.counts[kind] = 0

        def probe(_pad, _info):
            self.counts[kind] += 1
            return Gst.PadProbeReturn.OK

        dec.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)

    # asyncio -> GStreamer
    def set_answer(self, sdp):
        res, msg = GstSdp.SDPMessage.new_from_text(sdp)
        if res != GstSdp.SDPResult.OK:
            raise PeerError("the answer does not parse")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.w.emit("set-remote-description", answer, None)

    def add_candidate(self, d):
        text = d["candidate"][2:] if d["candidate"].startswith("a=") else d["candidate"]
        if text and d.get("sdpMLineIndex") is not None:
            self.w.emit("add-ice-candidate", d["sdpMLineIndex"], text)

    def mid_of(self, mline, offer_sdp):
        mids = [line[6:].strip() for line in offer_sdp.splitlines() if line.startswith("a=mid:")]
        return mids[mline] if mline < len(mids) else None


async def run(a):
    loop = asyncio.get_running_loop()
    glib = GLib.MainLoop()
    threading.Thread(target=glib.run, daemon=True).start()
    room, peers = await Room.join(a.signal, a.room, a.token)
    emit("joined", id=room.id, peers=len(peers))
    if not peers:
        raise PeerError("the webrtcbin peer only offers: start the rtc-cli side first")
    remote = peers[0]
    peer = GstPeer(a, loop)
    gone = asyncio.Event()
    answered = loop.create_future()
    early = []  # trickled candidates that came before the answer was applied
    peer.pipe.set_state(Gst.State.PLAYING)
    try:
        offer = await asyncio.wait_for(peer.offer, a.timeout)
        emit("offer-sent", sdp=offer)
        await room.relay(remote, {"kind": "offer", "sdp": offer})

        async def trickle():
            # RFC 8838: candidates after the offer, each with its m-line (webrtcbin names the index).
            while True:
                mline, cand = await peer.candidates.get()
                await room.relay(remote, {"kind": "candidate", "candidate": cand, "sdpMid": peer.mid_of(mline, offer), "sdpMLineIndex": mline})

        async def read():
            async for m in room.messages():
                if m.get("type") == "peer-left" and m.get("id") == remote:
                    gone.set()
                if m.get("type") != "relay" or m.get("from") != remote or not is_payload(m.get("data")):
                    continue
                d = m["data"]
                if d["kind"] == "answer" and not answered.done():
                    answered.set_result(d["sdp"])
                elif d["kind"] == "candidate":
                    # peer-signaling.md: queue candidates until the remote description is set, then apply in order
                    if peer.remote_set:
                        peer.add_candidate(d)
                    else:
                        early.append(d)
                elif d["kind"] == "bye":
                    gone.set()
            gone.set()

        tasks = [asyncio.ensure_future(trickle()), asyncio.ensure_future(read())]
        answer = await asyncio.wait_for(answered, a.timeout)
        emit("answer-received", sdp=answer)
        peer.set_answer(answer)
        peer.remote_set = True
        for d in early:
            peer.add_candidate(d)
        await asyncio.wait_for(peer.connected.wait(), a.timeout)
        emit("connected")
        if a.mode == "send-media":
            peer.sending = True
            try:
                await asyncio.wait_for(gone.wait(), a.seconds)
            except asyncio.TimeoutError:
                pass
            peer.sending = False
            await asyncio.sleep(1.0)  # NACKs for the last frames can still be answered
            result = {"sent": dict(peer.sent), "receiverLeft": gone.is_set()}
        else:
            await asyncio.wait_for(gone.wait(), a.seconds + a.timeout)
            result = {k: {"frames": n} for k, n in peer.counts.items()}
        emit("result", role="offerer", **result)
        for t in tasks:
            t.cancel()
    finally:
        if not gone.is_set():
            try:
                await room.relay(remote, {"kind": "bye"})
            except Exception:
                pass
        peer.pipe.set_state(Gst.State.NULL)
        glib.quit()
        await room.close()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["send-media", "recv-media"])
    p.add_argument("--signal", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--token")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--kinds", default="video,audio")
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args(argv)
    a.kinds = [k for k in a.kinds.split(",") if k in ("video", "audio")]
    return run_main(run(a))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
