"""
rtc-cli's file transfer protocol v1 over an aiortc data channel, written from docs/file-transfer-protocol.md alone:
a negotiated channel (id 1, label "rtc-cli-file", reliable, ordered); JSON text messages with a `t` are control
messages, binary messages are the bytes of the file opened by the last `start`.
"""
import asyncio
import hashlib
import json
import os

from rtc_signal import PeerError, emit

CHANNEL_ID = 1
CHANNEL_LABEL = "rtc-cli-file"
CHUNK = 16 * 1024
HIGH_WATER = 1024 * 1024
PING_AFTER = 2.0


def open_channel(pc):
    """Both sides create the channel before negotiation (negotiated: true, id 1)."""
    return pc.createDataChannel(CHANNEL_LABEL, negotiated=True, id=CHANNEL_ID)


class Link:
    """Control messages in arrival order; file bytes handed to `on_bytes`."""

    def __init__(self, dc):
        self.dc = dc
        self.control = asyncio.Queue()
        self.on_bytes = None
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self.low = asyncio.Event()
        if dc.readyState == "open":
            self.opened.set()
        dc.bufferedAmountLowThreshold = HIGH_WATER // 2
        dc.on("open", self.opened.set)
        dc.on("close", self.closed.set)
        dc.on("bufferedamountlow", self.low.set)

        @dc.on("message")
        def _message(m):
            if isinstance(m, str):
                msg = json.loads(m)
                if msg.get("t") == "ping":
                    return  # keepalive, ignored on receipt
                if msg.get("t") == "error":
                    emit("peer-error", code=msg.get("code"), message=msg.get("message"))
                self.control.put_nowait(msg)
            elif self.on_bytes is not None:
                self.on_bytes(m)
            else:
                self.control.put_nowait({"t": "__bytes-outside-file"})

    def send(self, msg):
        self.dc.send(json.dumps(msg))

    async def next(self, timeout):
        return await asyncio.wait_for(self.control.get(), timeout)

    async def write(self, chunk):
        """Send bytes, keeping the channel's buffer bounded (backpressure)."""
        while self.dc.bufferedAmount > HIGH_WATER:
            self.low.clear()
            await asyncio.wait_for(self.low.wait(), 30)
        self.dc.send(chunk)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


async def send_files(session, link, paths, timeout):
    """The sender's side: hello, then file/accept/start/bytes/end/ack per file, then done."""
    await asyncio.wait_for(link.opened.wait(), timeout)
    link.send({"t": "hello", "v": 1, "files": len(paths)})
    results = []
    for index, path in enumerate(paths):
        size = os.path.getsize(path)
        digest = sha256_file(path)
        name = os.path.basename(path)
        link.send({"t": "file", "index": index, "name": name, "size": size, "sha256": digest, "chunkSize": CHUNK})
        reply = await link.next(timeout)
        if reply.get("t") == "reject":
            results.append({"name": name, "rejected": reply.get("code")})
            continue
        if reply.get("t") != "accept" or reply.get("index") != index:
            raise PeerError(f"expected accept for file {index}, got {reply}")
        offset = 0
        prefix = reply.get("prefixSha256")
        if reply.get("offset", 0) > 0 and prefix is not None:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                h.update(f.read(reply["offset"]))
            if h.hexdigest() == prefix:
                offset = reply["offset"]
        link.send({"t": "start", "index": index, "offset": offset})
        with open(path, "rb") as f:
            f.seek(offset)
            for chunk in iter(lambda: f.read(CHUNK), b""):
                await link.write(chunk)
        link.send({"t": "end", "index": index, "size": size, "sha256": digest})
        ack = await link.next(timeout)
        if ack.get("t") != "ack" or ack.get("index") != index or ack.get("ok") is not True:
            raise PeerError(f"the receiver did not confirm file {index}: {ack}")
        results.append({"name": name, "size": size, "sha256": digest, "savedAs": ack["savedAs"], "offset": offset})
    link.send({"t": "done", "files": len(paths)})
    # The receiver hangs up first: wait (at most 3 s) for its bye / channel close / peer-left.
    waiters = [asyncio.ensure_future(session.gone.wait()), asyncio.ensure_future(link.closed.wait())]
    done, pending = await asyncio.wait(waiters, timeout=3, return_when=asyncio.FIRST_COMPLETED)
    for w in pending:
        w.cancel()
    return {"files": results, "receiverHungUp": bool(done)}


async def receive_files(link, out_dir, timeout):
    """The receiver's side. Names are reduced to their last path component (a test peer, not a hardened one)."""
    await asyncio.wait_for(link.opened.wait(), timeout)
    hello = await link.next(timeout)
    if hello.get("t") != "hello" or hello.get("v") != 1:
        link.send({"t": "error", "code": "RTC_ERR_PROTOCOL", "message": "expected hello v1"})
        raise PeerError(f"expected hello v1, got {hello}")
    files = []
    while True:
        msg = await link.next(timeout)
        if msg.get("t") == "done":
            break
        if msg.get("t") != "file" or msg.get("index") != len(files):
            raise PeerError(f"expected file {len(files)} or done, got {msg}")
        files.append(await _receive_one(link, out_dir, msg, timeout))
        if hello.get("files") is not None and len(files) >= hello["files"]:
            msg = await link.next(timeout)
            if msg.get("t") != "done":
                raise PeerError(f"expected done, got {msg}")
            break
    return {"files": files, "announced": hello.get("files")}


async def _receive_one(link, out_dir, header, timeout):
    index = header["index"]
    name = os.path.basename(header["name"].replace("\\", "/")) or "unnamed"
    path = os.path.join(out_dir, name)
    h = hashlib.sha256()
    received = [0]
    f = open(path + ".part", "wb")

    def on_bytes(b):
        f.write(b)
        h.update(b)
        received[0] += len(b)

    link.on_bytes = on_bytes
    link.send({"t": "accept", "index": index, "offset": 0, "prefixSha256": None, "savedAs": name})
    start = await link.next(timeout)
    if start.get("t") != "start" or start.get("index") != index or start.get("offset") != 0:
        raise PeerError(f"expected start at 0 for file {index}, got {start}")
    end = await link.next(timeout)
    link.on_bytes = None
    f.close()
    if end.get("t") != "end" or end.get("index") != index:
        raise PeerError(f"expected end for file {index}, got {end}")
    got = h.hexdigest()
    expected = header.get("sha256") or end["sha256"]
    if got != expected or received[0] != end["size"]:
        os.unlink(path + ".part")
        link.send({"t": "ack", "index": index, "ok": False, "code": "RTC_ERR_HASH_MISMATCH", "message": "sha256 mismatch"})
        raise PeerError(f"file {index}: sha256 {got} != {expected}")
    os.replace(path + ".part", path)
    link.send({"t": "ack", "index": index, "ok": True, "sha256": got, "savedAs": name})
    return {"name": name, "path": path, "size": received[0], "sha256": got}
