/**
 * What `record` writes and what it therefore accepts from the peer. The container is chosen by the output's extension,
 * before any network work:
 *
 * - `.webm`: WebM allows only VP8, VP9 and AV1 video and Opus/Vorbis audio (webmproject.org container guidelines), so
 *   record offers/accepts VP8 and VP9 (+ Opus) only. A peer that can send nothing else (H.264 only) is refused with
 *   RTC_ERR_BAD_OUTPUT naming the fix (record to .mkv).
 * - `.mkv`: Matroska (RFC 9559) holds all of them: VP8, VP9, H.264 (+ Opus).
 *
 * The feedback a recorder needs is offered with every video codec: NACK (RFC 4585 §6.2.1; retransmissions come back on
 * the same SSRC, no RTX), PLI (RFC 4585 §6.3.1) and goog-remb. No transport-cc: negotiated with Chromium it made the
 * sender's bitrate collapse (werift sends no transport feedback the sender can use); REMB bounds it instead.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { RTCRtpCodecParameters } from 'werift';
import { RtcError } from '../errors.js';
import type { TrackCodec } from './media/rtp-frames.js';

export type Container = 'webm' | 'matroska';

export interface OutputTarget {
  /** Absolute path of the finished file. */
  path: string;
  /** Where frames go while recording; renamed to `path` when finalized. */
  partPath: string;
  container: Container;
}

const CONTAINERS: Record<string, Container> = { '.webm': 'webm', '.mkv': 'matroska' };

/** Exit 2 before any network work: a .webm or .mkv in a writable directory (RTC_ERR_BAD_OUTPUT), not clobbering. */
export function validateOutputPath(outPath: string, force = false): OutputTarget {
  const path = resolve(outPath);
  const container = CONTAINERS[extname(path).toLowerCase()];
  if (!container) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output "${outPath}" must end in .webm or .mkv`, {
      hint: 'out.webm holds VP8/VP9 + Opus; out.mkv (Matroska) also holds H.264',
    });
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the output "${outPath}" is a directory`, { hint: 'give a file name, e.g. dir/out.webm' });
  }
  const dir = dirname(path);
  if (!existsSync(dir)) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `the directory "${dir}" does not exist`, { hint: 'create the directory or choose another output path' });
  }
  if (!statSync(dir).isDirectory()) {
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `"${dir}" is a file, not a directory`, { hint: 'choose an output path inside a directory' });
  }
  try {
    // W_OK also fails on a read-only file system (EROFS), which is what stops root, who ignores permissions.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'EROFS' ? 'it is on a read-only file system' : 'permission denied';
    throw new RtcError('RTC_ERR_BAD_OUTPUT', `cannot write to the directory "${dir}" (${why})`, { hint: 'choose a directory you can write to' });
  }
  if (existsSync(path) && !force) {
    throw new RtcError('RTC_ERR_EXISTS', `"${outPath}" already exists`, { hint: 'pass --force to overwrite it' });
  }
  return { path, partPath: `${path}.part`, container };
}

/** The codecs a recorder accepts for this container, in preference order, with the feedback above. */
export async function recorderCodecs(container: Container): Promise<{ video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] }> {
  const { RTCRtpCodecParameters } = await import('werift');
  const fb = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }];
  const video = [
    new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: fb }),
    new RTCRtpCodecParameters({ mimeType: 'video/VP9', clockRate: 90000, rtcpFeedback: fb }),
  ];
  if (container === 'matroska') {
    video.push(
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        rtcpFeedback: fb,
        parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
      }),
    );
  }
  return { video, audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })] };
}

/** The codec of a negotiated MIME type, or undefined for one record cannot write. */
export function trackCodecOf(mimeType: string | undefined): TrackCodec | undefined {
  switch (mimeType?.toLowerCase()) {
    case 'video/vp8':
      return 'VP8';
    case 'video/vp9':
      return 'VP9';
    case 'video/h264':
      return 'H264';
    case 'audio/opus':
      return 'OPUS';
    default:
      return undefined;
  }
}

/** Matroska CodecID (RFC 9559 §27, codec mappings). */
export const MATROSKA_CODEC_ID: Record<TrackCodec, string> = { VP8: 'V_VP8', VP9: 'V_VP9', H264: 'V_MPEG4/ISO/AVC', OPUS: 'A_OPUS' };

/** The name shown to users and in --json: VP8, VP9, H264, opus. */
export function codecLabel(c: TrackCodec): string {
  return c === 'OPUS' ? 'opus' : c;
}

/**
 * What the remote description says about video, once connected. A `.webm` recorder never accepts H.264, so a peer
 * that offered video in nothing else ends up with a rejected video section: say so (exit 2: the fix is the output
 * name) instead of silently recording audio only. A video section the peer declined (port 0, no codec in common) is
 * returned as a warning.
 */
export function checkRemoteVideo(remoteSdp: string | undefined, container: Container, wantsVideo: boolean): string | undefined {
  if (!wantsVideo || !remoteSdp) return undefined;
  const sections = remoteSdp.split(/\r?\n(?=m=)/).filter((s) => s.startsWith('m=video'));
  for (const s of sections) {
    const codecs = [...s.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gim)].map((m) => m[1]!.toUpperCase());
    const media = codecs.filter((c) => !['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03'].includes(c));
    if (container === 'webm' && media.length && media.every((c) => c === 'H264')) {
      throw new RtcError('RTC_ERR_BAD_OUTPUT', 'the peer sends video only as H.264, which a WebM file cannot hold', {
        hint: 'record to a Matroska file instead, e.g. out.mkv (VP8, VP9 and H.264)',
      });
    }
  }
  if (sections.length && sections.every((s) => /^m=video 0 /.test(s))) {
    return 'the peer declined video (no video codec in common); recording audio only';
  }
  return undefined;
}
