/**
 * The tracks a recorder receives: one IncomingTrack per remote audio/video track, from its first RTP packet to frames.
 *
 * Before the file exists the frames are kept (pre-roll), so the recording starts with the first keyframe and the first
 * audio frame instead of whatever arrives after the writer is ready; then they go to the recording's sink.
 *
 * A/V alignment is arrival-based, measured on the pre-roll: for each track the smallest transit time
 * (arrival − RTP time) over its packets, i.e. the packet that waited least. Both tracks share one transport (BUNDLE),
 * so their network delay is the same and what remains is the sender's own latency from capture to send. Measured with
 * Chromium against its RTCP Sender Reports (the exact capture clock), in 5 runs: audio placed 8.7–10.2 ms late
 * relative to video, well inside what viewers notice (ITU-R BT.1359: about +45/−125 ms). RTCP SR (RFC 3550 §6.4.1) is not used: Chromium sends its first audio SR
 * only ~2.2 s after the first packet, and werift-based senders (our own publish) fill the SR's NTP fraction with the
 * decimal digits of the milliseconds, which would misalign tracks by up to a second.
 */
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { RtpPacket } from 'werift/nonstandard';
import type { PictureSize } from './media/codec-info.js';
import { FrameAssembler, type Frame, type TrackCodec } from './media/rtp-frames.js';
import { trackCodecOf } from './record-output.js';

export type MediaKind = 'video' | 'audio';

/**
 * How long the video jitter buffer waits for a missing packet (werift's default is 200 ms). A recorder can afford
 * latency: 500 ms gives NACK retransmissions time to arrive (5 % random loss from Chromium: 94 % of the frames kept at
 * 200 ms, 99.8 % at 500 ms). Audio is not retransmitted (no NACK for Opus): its buffer only restores order.
 */
const VIDEO_JITTER_MS = 500;
const AUDIO_JITTER_MS = 100;
/** Frames kept before the writer starts: 60 s of audio, 30 s of 30 fps video. */
const MAX_PREROLL_FRAMES = 3000;

/** RFC 3550 Appendix A.3: expected = extended highest sequence number − first + 1; lost = expected − received. */
export class SequenceStats {
  private base: number | undefined;
  private maxExt = 0;
  private cycles = 0;
  received = 0;

  note(seq: number): void {
    this.received += 1;
    if (this.base === undefined) {
      this.base = seq;
      this.maxExt = seq;
      return;
    }
    const maxSeq = this.maxExt & 0xffff;
    const delta = (seq - maxSeq + 0x10000) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (seq < maxSeq) this.cycles += 0x10000;
      this.maxExt = this.cycles + seq;
    }
  }

  get lost(): number {
    if (this.base === undefined) return 0;
    return Math.max(0, this.maxExt - this.base + 1 - this.received);
  }
}

export interface IncomingHooks {
  /** The first packet of a track (video: ask for a keyframe now). */
  onFirstPacket(t: IncomingTrack): void;
  /** A video frame was lost: a keyframe would let decoding resume. */
  onNeedKeyframe(t: IncomingTrack): void;
}

export class IncomingTrack {
  readonly loss = new SequenceStats();
  packets = 0;
  /** Frames received before the recording started (video from its first keyframe). */
  preroll: Frame[] = [];
  /** The smallest arrival − RTP time seen, ms (performance.now() clock). Frozen when the recording starts. */
  minTransitMs = Infinity;
  /** Video: the picture size of the first keyframe (what the file's header says). */
  size: PictureSize | undefined;
  private assembler: FrameAssembler | undefined;
  private firstTs = 0;
  private sink: ((f: Frame) => void) | undefined;
  private frozen = false;

  constructor(
    readonly track: MediaStreamTrack,
    readonly transceiver: RTCRtpTransceiver,
    readonly kind: MediaKind,
    readonly codec: TrackCodec,
    readonly clockRate: number,
    private readonly hooks: IncomingHooks,
  ) {}

  get ssrc(): number | undefined {
    return this.track.ssrc;
  }

  get firstFrame(): Frame | undefined {
    return this.preroll[0];
  }

  /** Frames dropped as undecodable (loss) and payloads werift could not parse. */
  get dropped(): number {
    return this.assembler ? this.assembler.stats.dropped + this.assembler.stats.malformed : 0;
  }

  /** Exact time of `ticks` (RTP ticks since the first packet) on the arrival clock, ms. */
  arrivalTimeMs(ticks: number): number {
    return (ticks * 1000) / this.clockRate + this.minTransitMs;
  }

  receive(rtp: RtpPacket, nowMs: number): void {
    this.packets += 1;
    this.loss.note(rtp.header.sequenceNumber);
    if (!this.assembler) {
      this.firstTs = rtp.header.timestamp;
      this.assembler = new FrameAssembler({
        codec: this.codec,
        clockRate: this.clockRate,
        firstTimestamp: this.firstTs,
        latencyMs: this.kind === 'video' ? VIDEO_JITTER_MS : AUDIO_JITTER_MS,
        onFrame: (f) => this.frame(f),
        onNeedKeyframe: () => this.hooks.onNeedKeyframe(this),
      });
      this.hooks.onFirstPacket(this);
    }
    if (!this.frozen) {
      const rtpMs = (((rtp.header.timestamp - this.firstTs) | 0) * 1000) / this.clockRate;
      this.minTransitMs = Math.min(this.minTransitMs, nowMs - rtpMs);
    }
    this.assembler.push(rtp);
  }

  /** From now on frames go to `sink`; the pre-roll is handed over first. The alignment is frozen. */
  startRecording(sink: (f: Frame) => void): void {
    this.frozen = true;
    const early = this.preroll;
    this.preroll = [];
    this.sink = sink;
    for (const f of early) sink(f);
  }

  /** Stop receiving: release what the jitter buffer holds (to the sink), then ignore everything. */
  finish(): void {
    this.assembler?.flush();
    this.sink = undefined;
    this.frozen = true;
  }

  private frame(f: Frame): void {
    this.size ??= f.size;
    if (this.sink) this.sink(f);
    else if (!this.frozen && this.preroll.length < MAX_PREROLL_FRAMES) this.preroll.push(f);
  }
}

/**
 * In a connectPeer `setup`: offer receive-only sections (when we offer) and turn each remote track of the wanted kinds
 * into an IncomingTrack. Tracks of a codec record cannot write are reported through `onUnsupported` and ignored.
 */
export function receiveTracks(
  pc: RTCPeerConnection,
  role: 'offerer' | 'answerer',
  kinds: MediaKind[],
  hooks: IncomingHooks & { onTrack(t: IncomingTrack): void; onUnsupported(kind: MediaKind, mimeType: string): void },
  now: () => number = () => performance.now(),
): void {
  if (role === 'offerer') for (const k of kinds) pc.addTransceiver(k, { direction: 'recvonly' });
  pc.onTrack.subscribe((track) => {
    const kind: MediaKind = track.kind === 'video' ? 'video' : 'audio';
    if (!kinds.includes(kind)) return;
    const transceiver = pc.getTransceivers().find((t) => t.receiver.tracks.includes(track));
    if (!transceiver) return;
    let incoming: IncomingTrack | 'ignored' | undefined;
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      if (incoming === undefined) {
        // The codec is known once packets flow (the negotiated payload type).
        const codec = trackCodecOf(track.codec?.mimeType);
        if (!codec) {
          hooks.onUnsupported(kind, track.codec?.mimeType ?? 'unknown');
          incoming = 'ignored';
          return;
        }
        incoming = new IncomingTrack(track, transceiver, kind, codec, track.codec?.clockRate ?? (kind === 'video' ? 90000 : 48000), hooks);
        hooks.onTrack(incoming);
      }
      if (incoming !== 'ignored') incoming.receive(rtp, now());
    });
  });
}
