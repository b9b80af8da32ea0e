/**
 * The RTCP feedback a recorder sends its sender (RFC 4585): keyframe requests (PLI, §6.3.1) and REMB
 * (draft-alvestrand-rmcat-remb) bounding the sender's bitrate.
 *
 * Keyframes: a decoder can only start at a keyframe, and werift asks for none by itself. We ask
 * - on the first video packet (the recording should start with a picture, not wait for the sender's next keyframe),
 * - whenever a video frame had to be dropped as undecodable (a packet the jitter buffer gave up on), until a keyframe
 *   comes back. Not on every NACK: werift's receiver.onPacketLost fires each time it sends a NACK, and most NACKs are
 *   answered in time (the previous recorder asked for a keyframe on each, ~1.5 per second at 5 % loss);
 * - every KEYFRAME_INTERVAL_MS while recording: each keyframe starts a cluster with a cue, so seeking stays cheap and
 *   a damaged stretch heals within the interval.
 * Requests are spaced at least MIN_GAP_MS apart: libwebrtc ignores a request within ~300 ms of its last keyframe.
 */
import type { RTCRtpReceiver } from 'werift';
import { buildRemb } from './rtcp.js';

export const KEYFRAME_INTERVAL_MS = 4000;
const MIN_GAP_MS = 350;

interface VideoSource {
  ssrc: number | undefined;
  transceiver: { receiver: RTCRtpReceiver };
}

export class KeyframeRequests {
  count = 0;
  private last = -Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Send a PLI for `v` unless one went out less than MIN_GAP_MS ago (then the pending keyframe answers both). */
  request(v: VideoSource, force = false): void {
    const ssrc = v.ssrc;
    if (!ssrc) return;
    const t = this.now();
    if (!force && t - this.last < MIN_GAP_MS) return;
    this.last = t;
    this.count += 1;
    void v.transceiver.receiver.sendRtcpPLI(ssrc).catch(() => {});
  }
}

/** Send one REMB for all video sources: they may ramp up to `bps` (REMB applies to the SSRCs it lists). */
export async function sendRemb(videos: VideoSource[], bps: number): Promise<void> {
  const v = videos.filter((x) => x.ssrc);
  if (v.length === 0) return;
  const { receiver } = v[0]!.transceiver;
  const werift = await import('werift/nonstandard');
  const pkt = buildRemb(werift, receiver.rtcpSsrc, v.map((x) => x.ssrc!), bps);
  await receiver.dtlsTransport.sendRtcp([pkt]).catch(() => {});
}
