"""
How an independent WebRTC stack (aiortc) meets an rtc-cli peer, written from rtc-cli's documentation alone:

- docs/signaling-protocol.md: one WebSocket at /ws, JSON text frames with a `type`; `welcome`, `join` -> `joined`
  (`peers`, oldest first), `relay` with `to`, `peer-joined`, `peer-left`, `leave`.
- docs/peer-signaling.md: the later joiner offers; relayed payloads `offer`, `answer`, `candidate`, `bye`; candidates
  that arrive before the remote description are queued; unknown kinds are ignored; manual mode exchanges one
  `rtc1.<offer|answer>.<base64url(deflate-raw(JSON))>` line each way instead of a server.

Nothing here imports rtc-cli code: the point is to find out whether the documents are enough.
"""
import asyncio
import base64
import json
import re
import sys
import zlib

import websockets
from aiortc import RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

MANUAL_MAX_BYTES = 256 * 1024


class PeerError(Exception):
    """A failure the harness reports as {"event":"error"} (exit 1)."""


def run_main(coro):
    """Run a peer to its end: 0 after its result, 1 with an {"event":"error"} line for an expected failure."""
    try:
        asyncio.run(coro)
    except (PeerError, asyncio.TimeoutError, OSError) as e:
        emit("error", message=f"{type(e).__name__}: {e}")
        return 1
    return 0


def emit(event, **fields):
    """One NDJSON line on stdout: what the test harness reads."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------------------------
# Manual mode lines (docs/peer-signaling.md "Manual mode")


def encode_manual_line(kind, sdp):
    raw = json.dumps({"type": kind, "sdp": sdp}).encode("utf-8")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)  # wbits -15: raw deflate, RFC 1951
    data = comp.compress(raw) + comp.flush()
    return f"rtc1.{kind}." + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_manual_line(line, expect):
    s = re.sub(r"\s+", "", line)
    m = re.fullmatch(r"rtc1\.(offer|answer)\.([A-Za-z0-9_-]+)", s)
    if not m or m.group(1) != expect:
        raise PeerError(f"expected an rtc1.{expect}. line, got {s[:40]!r}")
    data = base64.urlsafe_b64decode(m.group(2) + "=" * (-len(m.group(2)) % 4))
    d = zlib.decompressobj(-15)
    raw = d.decompress(data, MANUAL_MAX_BYTES)
    if d.unconsumed_tail:
        raise PeerError("the pasted description is larger than 256 KiB")
    obj = json.loads(raw)
    if obj.get("type") != expect or not str(obj.get("sdp", "")).startswith("v=0"):
        raise PeerError("the pasted line holds no session description")
    return obj["sdp"]


async def read_stdin_line():
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


# ---------------------------------------------------------------------------------------------------------------
# The room server (docs/signaling-protocol.md)


class Room:
    """One signaling connection joined to one room."""

    def __init__(self, ws):
        self.ws = ws
        self.id = None

    @classmethod
    async def join(cls, url, room, token=None, timeout=10):
        # No permessage-deflate (the protocol says the server does not use it).
        ws = await asyncio.wait_for(websockets.connect(url, compression=None, max_size=1 << 20), timeout)
        r = cls(ws)
        welcome = await r._recv(timeout)
        if welcome.get("type") != "welcome":
            raise PeerError(f"expected welcome, got {welcome.get('type')}")
        msg = {"type": "join", "room": room}
        if token is not None:
            msg["token"] = token
        await r.send_raw(msg)
        joined = await r._recv(timeout)
        if joined.get("type") != "joined":
            raise PeerError(f"join refused: {joined}")
        r.id = joined["id"]
        return r, joined["peers"]

    async def _recv(self, timeout):
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def send_raw(self, msg):
        await self.ws.send(json.dumps(msg))

    async def relay(self, to, data):
        await self.send_raw({"type": "relay", "to": to, "data": data})

    async def messages(self):
        """Server messages until the connection closes (relay, peer-joined, peer-left, error, ...)."""
        try:
            async for text in self.ws:
                try:
                    yield json.loads(text)
                except ValueError:
                    continue
        except websockets.ConnectionClosed:
            return

    async def close(self):
        try:
            await self.send_raw({"type": "leave"})
        except Exception:
            pass
        await self.ws.close()


# ---------------------------------------------------------------------------------------------------------------
# Negotiation (docs/peer-signaling.md)


def is_payload(d):
    """Relayed payloads we understand; anything else is ignored, never fatal."""
    if not isinstance(d, dict):
        return False
    k = d.get("kind")
    if k in ("offer", "answer"):
        return isinstance(d.get("sdp"), str) and d["sdp"] != ""
    if k == "candidate":
        return isinstance(d.get("candidate"), str)
    return k == "bye"


def to_ice_candidate(d):
    """A relayed `candidate` payload as aiortc's RTCIceCandidate (None for end-of-candidates)."""
    text = d["candidate"]
    if text.startswith("a="):
        text = text[2:]
    if text.startswith("candidate:"):
        text = text[len("candidate:"):]
    if not text:
        return None
    c = candidate_from_sdp(text)
    c.sdpMid = d.get("sdpMid")
    c.sdpMLineIndex = d.get("sdpMLineIndex")
    return c


class Session:
    """
    One negotiated peer connection. `gone` is set when the remote hangs up (bye, peer-left, or the connection
    failing); `role` is "offerer" or "answerer".
    """

    def __init__(self, pc, before_offer=None):
        self.pc = pc
        # Called with the pc when we turn out to be the offerer, before createOffer (e.g. to add recvonly transceivers).
        self.before_offer = before_offer
        self.role = None
        self.room = None
        self.remote = None
        self.gone = asyncio.Event()
        self.gone_reason = None
        self.connected = asyncio.Event()
        self._pending = []  # candidates that came before the remote description
        self._remote_set = False
        self._reader = None

        @pc.on("connectionstatechange")
        async def _state():
            if pc.connectionState == "connected":
                self.connected.set()
            elif pc.connectionState in ("failed", "closed"):
                self._hang_up(f"connection {pc.connectionState}")

    def _hang_up(self, reason):
        if not self.gone.is_set():
            self.gone_reason = reason
            self.gone.set()

    async def _add_candidate(self, d):
        if not self._remote_set:
            self._pending.append(d)
            return
        try:
            c = to_ice_candidate(d)
            if c is not None:
                await self.pc.addIceCandidate(c)
        except Exception:
            pass  # a candidate we cannot use is not fatal (the doc says so too)

    async def _set_remote(self, kind, sdp):
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        self._remote_set = True
        for d in self._pending:
            await self._add_candidate(d)
        self._pending = []

    async def negotiate_room(self, url, room_name, token, timeout):
        self.room, peers = await Room.join(url, room_name, token)
        emit("joined", id=self.room.id, peers=len(peers))
        inbox = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._read(inbox))
        if peers:
            # The later joiner offers, to the oldest peer.
            self.role, self.remote = "offerer", peers[0]
            if self.before_offer:
                self.before_offer(self.pc)
            await self.pc.setLocalDescription(await self.pc.createOffer())  # aiortc gathers here, completely
            emit("offer-sent", sdp=self.pc.localDescription.sdp)
            await self.room.relay(self.remote, {"kind": "offer", "sdp": self.pc.localDescription.sdp})
            answer = await asyncio.wait_for(self._next(inbox, "answer"), timeout)
            emit("answer-received", sdp=answer["sdp"])
            await self._set_remote("answer", answer["sdp"])
        else:
            self.role = "answerer"
            emit("waiting-for-peer")
            offer = await asyncio.wait_for(self._next(inbox, "offer"), timeout)
            emit("offer-received", sdp=offer["sdp"])
            await self._set_remote("offer", offer["sdp"])
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            emit("answer-sent", sdp=self.pc.localDescription.sdp)
            await self.room.relay(self.remote, {"kind": "answer", "sdp": self.pc.localDescription.sdp})
        emit("negotiated", role=self.role)

    async def _read(self, inbox):
        async for m in self.room.messages():
            t = m.get("type")
            if t == "peer-left" and self.remote is not None and m.get("id") == self.remote:
                self._hang_up("peer-left")
            elif t == "relay" and is_payload(m.get("data")):
                if self.remote is not None and m.get("from") != self.remote:
                    continue  # another peer in the room: not ours
                d = m["data"]
                if d["kind"] == "candidate":
                    await self._add_candidate(d)
                elif d["kind"] == "bye":
                    self._hang_up("bye")
                else:
                    if self.remote is None:
                        self.remote = m.get("from")
                    await inbox.put(d)
        self._hang_up("signaling closed")

    async def _next(self, inbox, kind):
        while True:
            d = await inbox.get()
            if d["kind"] == kind:
                return d

    async def negotiate_manual(self, role):
        """No server: print our line (after complete gathering), read theirs from stdin."""
        self.role = role
        if role == "offerer":
            if self.before_offer:
                self.before_offer(self.pc)
            await self.pc.setLocalDescription(await self.pc.createOffer())
            emit("manual-line", line=encode_manual_line("offer", self.pc.localDescription.sdp))
            answer = decode_manual_line(await read_stdin_line(), "answer")
            await self._set_remote("answer", answer)
        else:
            offer = decode_manual_line(await read_stdin_line(), "offer")
            await self._set_remote("offer", offer)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            emit("manual-line", line=encode_manual_line("answer", self.pc.localDescription.sdp))
        emit("negotiated", role=role)

    async def wait_connected(self, timeout):
        await asyncio.wait_for(self.connected.wait(), timeout)
        emit("connected")

    async def close(self, say_bye=True):
        """Hang up: bye over signaling (peer-signaling.md), then close the connection and leave the room."""
        if say_bye and self.room and self.remote and not self.gone.is_set():
            try:
                await self.room.relay(self.remote, {"kind": "bye"})
            except Exception:
                pass
        await self.pc.close()
        if self.room:
            await self.room.close()
        if self._reader:
            self._reader.cancel()
