/**
 * From one track's RTP packets to whole, decodable frames with exact RTP times.
 *
 * 1. Jitter buffer (jitter-buffer.ts): puts packets back in sequence order and waits up to `latencyMs` for a missing
 *    one, long enough for a NACK retransmission (RFC 4585 §6.2.1) to arrive.
 * 2. Frame assembly: the packets of one frame share an RTP timestamp and the last one carries the marker bit
 *    (RFC 7741 §4.1 VP8, RFC 9628 §4.1 VP9, RFC 6184 §5.1 H.264); an Opus packet is one frame (RFC 7587 §4.2).
 *    werift's depacketizers turn the payloads into a frame (H.264 as Annex B, converted to length prefixes here).
 * 3. Decodability: a video frame with a hole is dropped, and so is every later frame until a keyframe, because a
 *    decoder that misses a reference frame shows garbage until the next keyframe; `onNeedKeyframe` asks for one.
 *    A gap between frames is harmless when the picture IDs (RFC 7741 §4.2, RFC 9628 §4.2) show no frame is missing
 *    (e.g. a lost padding packet, which the sender cannot retransmit).
 *
 * Time: every frame carries its RTP timestamp extended past the 32-bit wrap (RFC 3550 §5.1), relative to the track's
 * first packet, so its exact time is ticks / clockRate: nothing is rounded or accumulated here.
 */
import type { RtpPacket } from 'werift/nonstandard';
import { dePacketizeRtpPackets } from 'werift/nonstandard';
import { JitterBuffer, type JitterOutput } from './jitter-buffer.js';
import {
  NAL_IDR,
  NAL_PPS,
  NAL_SPS,
  annexBToLengthPrefixed,
  avcDecoderConfig,
  h264SpsSize,
  nalType,
  splitAnnexB,
  vp8FrameSize,
  vp8IsKeyframe,
  vp9FrameSize,
  vp9IsKeyframe,
  type PictureSize,
} from './codec-info.js';

export type TrackCodec = 'VP8' | 'VP9' | 'H264' | 'OPUS';

export interface Frame {
  data: Buffer;
  keyframe: boolean;
  /** RTP ticks since the track's first packet (wrap-around already undone). */
  ticks: number;
  /** On a keyframe: the picture size it carries (VP8/VP9 keyframe header, H.264 SPS). */
  size?: PictureSize;
  /** H.264 keyframe: the AVCDecoderConfigurationRecord built from its SPS/PPS. */
  avcConfig?: Buffer;
}

export interface FrameStats {
  frames: number;
  /** Frames dropped because a packet of theirs, or a reference frame before them, never arrived. */
  dropped: number;
  /** Payloads werift's depacketizer rejected (malformed input): dropped, never fatal. */
  malformed: number;
}

export interface FrameAssemblerOptions {
  codec: TrackCodec;
  clockRate: number;
  /** RTP timestamp of the track's first packet: ticks are counted from it. */
  firstTimestamp: number;
  /** How long (wall clock) the jitter buffer waits for a missing packet. */
  latencyMs: number;
  /** Clock for the jitter buffer (tests). */
  now?: () => number;
  onFrame: (f: Frame) => void;
  /** A video frame had to be dropped: a keyframe would let decoding resume. */
  onNeedKeyframe?: () => void;
}

const DEPACKETIZER_NAME: Record<TrackCodec, Parameters<typeof dePacketizeRtpPackets>[0]> = { VP8: 'VP8', VP9: 'VP9', H264: 'MPEG4/ISO/AVC', OPUS: 'OPUS' };

export class FrameAssembler {
  readonly stats: FrameStats = { frames: 0, dropped: 0, malformed: 0 };
  private readonly jitter: JitterBuffer<RtpPacket>;
  private readonly video: boolean;
  private packets: RtpPacket[] = [];
  private lastSeq: number | undefined;
  private lastTs: number;
  private ticks = 0;
  /** Packets of this RTP timestamp are skipped: the frame lost its head. */
  private skipTs: number | undefined;
  /** A packet went missing since the last complete frame. */
  private gap = false;
  private needKeyframe: boolean;
  private lastPictureId: number | undefined;

  constructor(private readonly opts: FrameAssemblerOptions) {
    this.video = opts.codec !== 'OPUS';
    this.needKeyframe = this.video;
    this.lastTs = opts.firstTimestamp;
    this.jitter = new JitterBuffer<RtpPacket>(opts.latencyMs, (o) => this.take(o), opts.now);
  }

  /** A packet as received (any order, duplicates allowed). */
  push(rtp: RtpPacket): void {
    this.jitter.push(rtp);
  }

  /** End of stream: release what the jitter buffer still holds and finish what can be finished. */
  flush(): void {
    this.jitter.flush();
    if (this.packets.length && !this.video) this.finish();
    // A video frame without its marker packet is incomplete: dropped.
    if (this.packets.length) this.drop();
  }

  private take(out: JitterOutput<RtpPacket>): void {
    if ('lost' in out) this.markGap();
    else this.packet(out.packet);
  }

  private markGap(): void {
    this.gap = true;
    if (!this.packets.length) return;
    // The frame in progress has a hole: drop it, and the rest of its packets when they come.
    this.skipTs = this.packets[0]!.header.timestamp;
    this.drop();
  }

  private packet(rtp: RtpPacket): void {
    const { sequenceNumber: seq, timestamp: ts, marker } = rtp.header;
    if (this.lastSeq !== undefined && seq !== ((this.lastSeq + 1) & 0xffff)) this.markGap();
    this.lastSeq = seq;
    this.ticks += (ts - this.lastTs) | 0; // signed 32-bit step: wrap-around and reordering (RFC 3550 §5.1)
    this.lastTs = ts;
    if (rtp.payload.length === 0) return; // padding only
    if (!this.video) {
      this.packets = [rtp];
      this.finish();
      return;
    }
    if (this.skipTs === ts) return;
    this.skipTs = undefined;
    if (this.packets.length && this.packets[0]!.header.timestamp !== ts) this.finish(); // previous frame had no marker
    if (this.packets.length === 0 && !isFrameStart(this.opts.codec, rtp.payload)) {
      // The frame's first packet is missing: nothing of this frame can be used.
      this.skipTs = ts;
      this.gap = true;
      this.countDrop();
      return;
    }
    this.packets.push(rtp);
    if (marker) this.finish();
  }

  private drop(): void {
    this.packets = [];
    this.countDrop();
  }

  private countDrop(): void {
    this.stats.dropped += 1;
    if (this.video) {
      this.needKeyframe = true;
      this.opts.onNeedKeyframe?.();
    }
  }

  private finish(): void {
    const packets = this.packets;
    this.packets = [];
    const head = packets[0]!;
    const ticks = this.ticks - ((this.lastTs - head.header.timestamp) | 0);
    let data: Buffer;
    try {
      data = this.opts.codec === 'OPUS' ? head.payload : dePacketizeRtpPackets(DEPACKETIZER_NAME[this.opts.codec], packets).data;
    } catch {
      this.stats.malformed += 1;
      if (this.video) this.countDrop();
      return;
    }
    if (data.length === 0) return;
    const frame = this.video ? this.videoFrame(data, ticks, head.payload) : { data, keyframe: true, ticks };
    if (!frame) return;
    this.stats.frames += 1;
    this.opts.onFrame(frame);
  }

  private videoFrame(data: Buffer, ticks: number, firstPayload: Buffer): Frame | undefined {
    const frame = describeVideoFrame(this.opts.codec, data, ticks);
    const pictureId = pictureIdOf(this.opts.codec, firstPayload);
    // After a gap, a frame may still follow its reference if the picture IDs are consecutive (nothing was lost).
    const lostFrame = this.gap && !(pictureId !== undefined && this.lastPictureId !== undefined && pictureId === nextPictureId(this.lastPictureId, firstPayload, this.opts.codec));
    this.gap = false;
    if (pictureId !== undefined) this.lastPictureId = pictureId;
    if (lostFrame) this.needKeyframe = true;
    if (this.needKeyframe && !frame.keyframe) {
      this.countDrop();
      return undefined;
    }
    this.needKeyframe = false;
    return frame;
  }
}

/** Keyframe flag, size and (H.264) length-prefixed data and decoder configuration of a depacketized video frame. */
export function describeVideoFrame(codec: TrackCodec, data: Buffer, ticks: number): Frame {
  if (codec === 'VP8') {
    const keyframe = vp8IsKeyframe(data);
    return { data, keyframe, ticks, size: keyframe ? vp8FrameSize(data) : undefined };
  }
  if (codec === 'VP9') {
    const keyframe = vp9IsKeyframe(data);
    return { data, keyframe, ticks, size: keyframe ? vp9FrameSize(data) : undefined };
  }
  const nals = splitAnnexB(data);
  const keyframe = nals.some((n) => nalType(n) === NAL_IDR);
  const sps = nals.find((n) => nalType(n) === NAL_SPS);
  const ppss = nals.filter((n) => nalType(n) === NAL_PPS);
  const frame: Frame = { data: annexBToLengthPrefixed(nals), keyframe, ticks };
  if (keyframe && sps && sps.length >= 4 && ppss.length) {
    frame.size = h264SpsSize(sps);
    frame.avcConfig = avcDecoderConfig(sps, ppss);
  }
  return frame;
}

/** Is this payload the first packet of a frame? (VP8 S bit with partition 0, VP9 B bit, H.264 not a middle FU-A.) */
export function isFrameStart(codec: TrackCodec, payload: Buffer): boolean {
  const b = payload[0];
  if (b === undefined) return false;
  if (codec === 'VP8') return (b & 0x10) !== 0 && (b & 0x07) === 0;
  if (codec === 'VP9') return (b & 0x08) !== 0;
  if (codec === 'H264') {
    const type = b & 0x1f;
    if (type === 28 || type === 29) return ((payload[1] ?? 0) & 0x80) !== 0; // FU-A/B: S bit
    return true; // single NAL unit or STAP-A
  }
  return true;
}

/** The PictureID of a VP8 (RFC 7741 §4.2) or VP9 (RFC 9628 §4.2) payload descriptor, when present. */
export function pictureIdOf(codec: TrackCodec, payload: Buffer): number | undefined {
  if (codec === 'VP8') {
    if (payload.length < 3 || !(payload[0]! & 0x80)) return undefined; // X bit
    if (!(payload[1]! & 0x80)) return undefined; // I bit
    return payload[2]! & 0x80 ? ((payload[2]! & 0x7f) << 8) | (payload[3] ?? 0) : payload[2]! & 0x7f;
  }
  if (codec === 'VP9') {
    if (payload.length < 2 || !(payload[0]! & 0x80)) return undefined; // I bit
    return payload[1]! & 0x80 ? ((payload[1]! & 0x7f) << 8) | (payload[2] ?? 0) : payload[1]! & 0x7f;
  }
  return undefined;
}

function nextPictureId(prev: number, payload: Buffer, codec: TrackCodec): number {
  const long = codec === 'VP8' ? (payload[2]! & 0x80) !== 0 : (payload[1]! & 0x80) !== 0;
  return (prev + 1) & (long ? 0x7fff : 0x7f);
}
