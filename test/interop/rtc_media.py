"""
Media an aiortc peer sends to `rtc-cli record` and receives from `rtc-cli publish`.

The sent video is generated, so a recording can be checked frame by frame: frame n (0-based) is a gray picture with a
white bar at column (8 n) mod width and, along the top, n written as 16 bits (MSB first, white = 1) in blocks of
width/16 x 16 pixels. Its RTP timestamp is exactly n * 90000 / fps after the first (aiortc converts frame.pts in a
1/90000 time base). Audio is a 440 Hz sine, 20 ms Opus frames, frame n at sample n * 960. Both are paced in real
time from one start instant, so the tracks stay in sync.
"""
import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000
AUDIO_SAMPLES = 960  # 20 ms


class Clock:
    """One start instant shared by both tracks."""

    def __init__(self):
        self.start = None

    async def wait_until(self, seconds):
        """Sleep until `seconds` after the start; return how late we are then (s): > 0 when the sender is starved."""
        if self.start is None:
            self.start = time.monotonic()
        delay = self.start + seconds - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return time.monotonic() - (self.start + seconds)


def pattern_frame(n, width, height):
    img = np.full((height, width, 3), 96, dtype=np.uint8)
    x = (8 * n) % width
    img[16:, x : x + 8] = 255
    block = width // 16
    for bit in range(16):
        if (n >> (15 - bit)) & 1:
            img[0:16, bit * block : (bit + 1) * block] = 255
        else:
            img[0:16, bit * block : (bit + 1) * block] = 0
    return img


def read_frame_number(img):
    """The inverse of pattern_frame on a decoded picture (rgb24 ndarray)."""
    width = img.shape[1]
    block = width // 16
    n = 0
    for bit in range(16):
        v = img[2:14, bit * block + 2 : (bit + 1) * block - 2].mean()
        n = (n << 1) | (1 if v > 128 else 0)
    return n


class PacedTrack(MediaStreamTrack):
    """`frames` frames, frame n due `due(n)` seconds after the shared clock's start; then the track ends."""

    def __init__(self, clock, frames):
        super().__init__()
        self.clock, self.frames = clock, frames
        self.sent = 0
        # The furthest a frame was made behind its schedule (ms): a loaded machine starves the sender, not rtc-cli.
        self.max_lag_ms = 0.0

    async def recv(self):
        n = self.sent
        if n >= self.frames:
            self.stop()
            raise MediaStreamError
        lag = await self.clock.wait_until(self.due(n))
        self.max_lag_ms = max(self.max_lag_ms, lag * 1000)
        frame = self.make(n)
        self.sent += 1
        return frame


class PatternVideo(PacedTrack):
    kind = "video"

    def __init__(self, clock, frames, fps=30, width=320, height=240):
        super().__init__(clock, frames)
        self.fps, self.width, self.height = fps, width, height

    def due(self, n):
        return n / self.fps

    def make(self, n):
        frame = av.VideoFrame.from_ndarray(pattern_frame(n, self.width, self.height), format="rgb24")
        frame.pts = n * VIDEO_CLOCK // self.fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class SineAudio(PacedTrack):
    kind = "audio"

    def due(self, n):
        return n * AUDIO_SAMPLES / AUDIO_RATE

    def make(self, n):
        t = (np.arange(AUDIO_SAMPLES) + n * AUDIO_SAMPLES) / AUDIO_RATE
        samples = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = n * AUDIO_SAMPLES
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


def prefer_codec(transceiver, mime):
    """Offer/answer exactly this codec (and its RTX), so both sides agree on what is sent."""
    caps = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    chosen = [c for c in caps if c.mimeType.lower() == mime.lower()]
    rtx = [c for c in caps if c.mimeType.lower().endswith("/rtx")]
    transceiver.setCodecPreferences(chosen + rtx)


class Counter:
    """Counts what arrives on a received track (decoded frames), first and last frame size, frame numbers seen."""

    def __init__(self, kind):
        self.kind = kind
        self.frames = 0
        self.width = None
        self.height = None

    async def consume(self, track):
        try:
            while True:
                frame = await track.recv()
                self.frames += 1
                if self.kind == "video":
                    self.width, self.height = frame.width, frame.height
        except MediaStreamError:
            pass

    def summary(self):
        s = {"frames": self.frames}
        if self.kind == "video":
            s.update(width=self.width, height=self.height)
        return s
