/**
 * What `publish` does with the receiver's RTCP feedback (RFC 4585) and how it puts frames on the wire.
 *
 * - PLI / FIR (keyframe request): noted; the schedule skips to the file's next keyframe (publish-schedule.ts). A
 *   request within KEYFRAME_JUST_SENT_MS of a keyframe we sent is answered by that keyframe (the receiver asked before
 *   it arrived, e.g. the recorder's request on its first packet): skipping content would only lose frames.
 * - NACK: werift's sender retransmits from its history by itself.
 * - REMB: reported. A pre-encoded stream cannot change its bitrate; when the estimate is below the file's own video
 *   bitrate we say so once instead of pretending.
 */
import type { MediaStreamTrack, RTCRtpSender } from 'werift';
import { classifyRtcp } from './rtcp.js';
import { packetizeVp8, type Frame, type MediaSource } from './publish-source.js';

/** A keyframe request within this long of the previous one is served by the same skip. */
const KEYFRAME_REQUEST_MIN_GAP_MS = 300;
/** A keyframe sent this recently answers a new request (one RTT plus decode time, generously). */
const KEYFRAME_JUST_SENT_MS = 300;

export class SenderFeedback {
  keyframeRequests = 0;
  rembKbps: number | undefined;
  private pending = false;
  private lastRequest = -Infinity;
  private lastKeyframeSent = -Infinity;
  private rembWarned = false;

  constructor(
    private readonly sourceKbps: number | undefined,
    private readonly onRembBelowSource: (rembKbps: number, sourceKbps: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Read the RTCP the video sender receives. */
  listen(sender: RTCRtpSender): void {
    sender.onRtcp.subscribe((packet) => {
      for (const fb of classifyRtcp(packet)) {
        if (fb.kind === 'keyframe') this.keyframeRequested();
        else if (fb.kind === 'remb') this.remb(fb.bps / 1000);
      }
    });
  }

  keyframeSent(): void {
    this.lastKeyframeSent = this.now();
  }

  /** Is a keyframe owed? Clears the request. */
  takeKeyframeRequest(): boolean {
    if (!this.pending) return false;
    this.pending = false;
    return this.now() - this.lastKeyframeSent >= KEYFRAME_JUST_SENT_MS;
  }

  private keyframeRequested(): void {
    const t = this.now();
    if (t - this.lastRequest < KEYFRAME_REQUEST_MIN_GAP_MS) return;
    this.lastRequest = t;
    this.keyframeRequests += 1;
    this.pending = true;
  }

  private remb(kbps: number): void {
    this.rembKbps = kbps;
    if (this.sourceKbps !== undefined && kbps < this.sourceKbps * 0.8 && !this.rembWarned) {
      this.rembWarned = true;
      this.onRembBelowSource(kbps, this.sourceKbps);
    }
  }
}

/** The file's average video bitrate (kbit/s). */
export function sourceKbps(src: MediaSource): number | undefined {
  const v = src.video;
  if (!v || src.durationMs <= 0) return undefined;
  const bytes = v.frames.reduce((n, f) => n + f.data.length, 0);
  return (bytes * 8) / src.durationMs;
}

type Werift = typeof import('werift');

/**
 * One outgoing RTP stream: random initial sequence number and timestamp (RFC 3550 §5.1), timestamps from the
 * schedule's time on the codec clock, VP8 split per RFC 7741, one Opus packet per frame (RFC 7587 §4.2).
 */
export class RtpStream {
  sent = 0;
  private seq = Math.floor(Math.random() * 0xffff);
  private readonly ts0 = Math.floor(Math.random() * 0xffffffff);
  private pictureId = Math.floor(Math.random() * 0x7fff);

  constructor(
    private readonly werift: Pick<Werift, 'RtpHeader' | 'RtpPacket'>,
    readonly track: MediaStreamTrack,
    private readonly kind: 'video' | 'audio',
  ) {}

  send(frame: Frame, atMs: number): void {
    const { RtpHeader, RtpPacket } = this.werift;
    const clockPerMs = this.kind === 'video' ? 90 : 48; // 90 kHz (RFC 7741 §4.1), 48 kHz (RFC 7587 §4.1)
    const timestamp = (this.ts0 + Math.round(atMs * clockPerMs)) >>> 0;
    const payloads = this.kind === 'video' ? packetizeVp8(frame.data, undefined, (this.pictureId = (this.pictureId + 1) & 0x7fff)) : [frame.data];
    payloads.forEach((payload, i) => {
      const marker = this.kind === 'video' && i === payloads.length - 1;
      const header = new RtpHeader({ payloadType: this.kind === 'video' ? 96 : 111, sequenceNumber: this.seq, timestamp, marker });
      this.seq = (this.seq + 1) & 0xffff;
      this.track.writeRtp(new RtpPacket(header, payload));
    });
    this.sent += 1;
  }
}
