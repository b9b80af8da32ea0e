/**
 * The few RTCP feedback messages record/publish build or read by hand: REMB (draft-alvestrand-rmcat-remb-03 §2.2,
 * an application-layer PSFB, FMT 15) and the keyframe requests PLI (RFC 4585 §6.3.1) and FIR (RFC 5104 §4.3.1).
 * werift serializes the packets; this module only fills the fields it leaves to the caller.
 */
import type { RtcpPacket } from 'werift/nonstandard';

type Nonstandard = typeof import('werift/nonstandard');

/** REMB carries the bitrate as an 18-bit mantissa and a 6-bit exponent (draft-alvestrand-rmcat-remb §2.2). */
export function rembMantissaExp(bps: number): { mantissa: number; exp: number } {
  let mantissa = Math.max(0, Math.floor(bps));
  let exp = 0;
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exp += 1;
  }
  return { mantissa, exp };
}

/** A REMB packet asking the sender of `ssrcs` to stay at or below `bps`. */
export function buildRemb(werift: Nonstandard, senderSsrc: number, ssrcs: number[], bps: number): InstanceType<Nonstandard['RtcpPayloadSpecificFeedback']> {
  const { mantissa, exp } = rembMantissaExp(bps);
  return new werift.RtcpPayloadSpecificFeedback({
    feedback: new werift.ReceiverEstimatedMaxBitrate({
      senderSsrc,
      // RFC 4585 §6.1: the media source SSRC of an application-layer PSFB is 0; the SSRCs it applies to follow.
      mediaSsrc: 0,
      ssrcNum: ssrcs.length,
      brExp: exp,
      brMantissa: mantissa,
      bitrate: BigInt(mantissa) << BigInt(exp),
      ssrcFeedbacks: ssrcs,
    }),
  });
}

export type FeedbackKind = { kind: 'keyframe' } | { kind: 'remb'; bps: number } | { kind: 'nack' } | { kind: 'rr'; fractionLost: number; jitter: number };

/** Classify the RTCP a sender receives: keyframe requests (PLI, FIR), REMB estimates, NACKs, receiver reports. */
export function classifyRtcp(packet: RtcpPacket): FeedbackKind[] {
  const out: FeedbackKind[] = [];
  const p = packet as unknown as { type: number; feedback?: { count?: number; bitrate?: bigint }; reports?: { fractionLost: number; jitter: number }[] };
  // Dispatch on the FMT value (RFC 4585 §6.3: PLI = 1; RFC 5104 §4.3.1: FIR = 4; REMB = 15), not on class names,
  // which werift's ESM bundle renames.
  if (p.type === 206 && p.feedback) {
    const fmt = p.feedback.count;
    if (fmt === 1 || fmt === 4) out.push({ kind: 'keyframe' });
    else if (fmt === 15 && typeof p.feedback.bitrate === 'bigint') out.push({ kind: 'remb', bps: Number(p.feedback.bitrate) });
  } else if (p.type === 205) {
    out.push({ kind: 'nack' });
  } else if ((p.type === 201 || p.type === 200) && Array.isArray(p.reports)) {
    for (const r of p.reports) out.push({ kind: 'rr', fractionLost: r.fractionLost, jitter: r.jitter });
  }
  return out;
}
