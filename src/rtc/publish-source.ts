/**
 * What `rtc-cli publish` sends: frames read from an IVF (VP8) or WebM (VP8 + Opus) file, or the built-in test
 * pattern, and their RTP packetization. Pre-encoded frames are sent as they are: no decoder, no encoder.
 *
 * - IVF: the libvpx test container, a 32-byte file header and a 12-byte header per frame.
 * - WebM: a Matroska subset (RFC 9559). A flat scan that steps into every master element, so unknown-size Segments
 *   and Clusters (what streaming writers, werift included, produce) need no special case. SimpleBlock and Block,
 *   no lacing (what browsers, ffmpeg and werift write for VP8/Opus).
 * - VP8 RTP payload: RFC 7741 §4.2 (one-byte descriptor, S bit on a frame's first packet, marker bit on its last).
 * - Opus RTP payload: RFC 7587 §4.2 (one Opus packet per RTP packet, 48 kHz clock).
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtcError } from '../errors.js';
import { vp8IsKeyframe } from './media/codec-info.js';
import { ID, readId, readUint, readVint } from './media/ebml.js';

export interface Frame {
  data: Buffer;
  /** Presentation time from the start of the file, ms. */
  timeMs: number;
  keyframe: boolean;
}

export interface MediaSource {
  name: string;
  video?: { codec: 'VP8'; width: number; height: number; frames: Frame[] };
  audio?: { codec: 'opus'; channels: number; frames: Frame[] };
  /** Time of the last frame plus one frame interval: where the next loop starts. */
  durationMs: number;
}

/** A small VP8 IVF (ffmpeg testsrc 640x480 @ 30 fps, a keyframe every 30 frames, 4 s) shipped with the package. */
export const TESTSRC_PATH = fileURLToPath(new URL('../../fixtures/media/testsrc-640x480-30fps.ivf', import.meta.url));
const MAX_INPUT_BYTES = 512 * 1024 * 1024;

function badMedia(path: string, why: string): RtcError {
  return new RtcError('RTC_ERR_BAD_MEDIA', `cannot send "${path}": ${why}`, {
    hint: 'publish sends VP8 IVF files and VP8/Opus WebM files, e.g. ffmpeg -i in.mp4 -c:v libvpx -g 30 -c:a libopus out.webm',
  });
}

export function loadSource(input: string): MediaSource {
  const path = input === 'testsrc' ? TESTSRC_PATH : input;
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw badMedia(input, 'not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof RtcError) throw e;
    throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `"${input}" does not exist`, { hint: 'give an .ivf or .webm file, or "testsrc" for the built-in test pattern' });
  }
  if (size > MAX_INPUT_BYTES) throw badMedia(input, `the file is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB (it is read into memory)`);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read "${input}": ${(e as Error).message}`, { cause: e });
  }
  const ext = extname(path).toLowerCase();
  let src: MediaSource;
  if (buf.subarray(0, 4).toString('latin1') === 'DKIF') src = parseIvf(buf, input);
  else if (buf.readUInt32BE(0) === 0x1a45dfa3) src = parseWebm(buf, input);
  else throw badMedia(input, `not an IVF or WebM file (extension "${ext || 'none'}", unknown signature)`);
  if (!src.video && !src.audio) throw badMedia(input, 'no VP8 video or Opus audio track in it');
  if (src.video && src.video.frames.length === 0) delete src.video;
  if (src.audio && src.audio.frames.length === 0) delete src.audio;
  if (!src.video && !src.audio) throw badMedia(input, 'it contains no frames');
  return src;
}

/** The frames of an IVF file (the libvpx test container: 32-byte header, then a 12-byte header per frame). */
export function readIvf(buf: Buffer): { fourcc: string; width: number; height: number; frames: { data: Buffer; timeMs: number }[]; stepMs: number } {
  const headerLen = buf.readUInt16LE(6);
  const fourcc = buf.subarray(8, 12).toString('latin1');
  const width = buf.readUInt16LE(12);
  const height = buf.readUInt16LE(14);
  const rate = buf.readUInt32LE(16) || 30;
  const scale = buf.readUInt32LE(20) || 1;
  const frames: { data: Buffer; timeMs: number }[] = [];
  let pos = Math.max(32, headerLen);
  while (pos + 12 <= buf.length) {
    const len = buf.readUInt32LE(pos);
    const pts = Number(buf.readBigUInt64LE(pos + 4));
    pos += 12;
    if (pos + len > buf.length) break; // a truncated last frame (a file still being written): stop there
    frames.push({ data: buf.subarray(pos, pos + len), timeMs: (pts * scale * 1000) / rate });
    pos += len;
  }
  return { fourcc, width, height, frames, stepMs: (scale * 1000) / rate };
}

export function parseIvf(buf: Buffer, name: string): MediaSource {
  if (buf.length < 32) throw badMedia(name, 'truncated IVF header');
  const ivf = readIvf(buf);
  if (ivf.fourcc !== 'VP80') throw badMedia(name, `IVF codec "${ivf.fourcc}" (only VP80 is sent)`);
  const frames: Frame[] = ivf.frames.map((f) => ({ ...f, keyframe: vp8IsKeyframe(f.data) }));
  return { name, video: { codec: 'VP8', width: ivf.width, height: ivf.height, frames }, durationMs: frames.length ? frames[frames.length - 1]!.timeMs + ivf.stepMs : 0 };
}

/** The elements the WebM reader steps into (their children follow); everything else is read or skipped whole. */
const MASTERS = new Set<number>([ID.Segment, ID.Info, ID.Tracks, ID.TrackEntry, ID.Video, ID.Audio, ID.Cluster, ID.BlockGroup]);

export function parseWebm(buf: Buffer, name: string): MediaSource {
  interface Track {
    number?: number;
    type?: number;
    codec?: string;
    width?: number;
    height?: number;
    channels?: number;
  }
  const tracks: Track[] = [];
  let current: Track | undefined;
  let scaleNs = 1_000_000;
  let clusterTs = 0;
  const blocks: { track: number; timeTicks: number; data: Buffer; keyFlag: boolean }[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const id = readId(buf, pos);
    if (!id) break;
    const size = readVint(buf, pos + id.len);
    if (!size) break;
    const dataStart = pos + id.len + size.len;
    if (MASTERS.has(id.id)) {
      if (id.id === ID.TrackEntry) {
        current = {};
        tracks.push(current);
      }
      pos = dataStart; // step inside: children follow
      continue;
    }
    if (size.unknown) throw badMedia(name, `unknown-size element 0x${id.id.toString(16)} at byte ${pos}`);
    const end = dataStart + size.value;
    if (end > buf.length) break; // truncated tail (a recording cut by a crash): keep what is complete
    switch (id.id) {
      case ID.TimestampScale:
        scaleNs = readUint(buf, dataStart, size.value) || scaleNs;
        break;
      case ID.TrackNumber:
        if (current) current.number = readUint(buf, dataStart, size.value);
        break;
      case ID.TrackType:
        if (current) current.type = readUint(buf, dataStart, size.value);
        break;
      case ID.CodecID:
        if (current) current.codec = buf.subarray(dataStart, end).toString('latin1').replace(/\0+$/, '');
        break;
      case ID.PixelWidth:
        if (current) current.width = readUint(buf, dataStart, size.value);
        break;
      case ID.PixelHeight:
        if (current) current.height = readUint(buf, dataStart, size.value);
        break;
      case ID.Channels:
        if (current) current.channels = readUint(buf, dataStart, size.value);
        break;
      case ID.Timestamp:
        clusterTs = readUint(buf, dataStart, size.value);
        break;
      case ID.SimpleBlock:
      case ID.Block: {
        const tn = readVint(buf, dataStart);
        if (!tn || size.value < tn.len + 3) break;
        const rel = buf.readInt16BE(dataStart + tn.len);
        const flags = buf[dataStart + tn.len + 2]!;
        if (flags & 0x06) break; // laced blocks are not produced for VP8/Opus by common writers; skip them
        blocks.push({ track: tn.value, timeTicks: clusterTs + rel, data: buf.subarray(dataStart + tn.len + 3, end), keyFlag: (flags & 0x80) !== 0 });
        break;
      }
      default:
        break; // EBML header, Void, Cues, Tags, SeekHead, CodecPrivate ...: not needed to send
    }
    pos = end;
  }
  const toMs = (ticks: number): number => (ticks * scaleNs) / 1e6;
  const v = tracks.find((t) => t.type === 1 || t.codec?.startsWith('V_'));
  const a = tracks.find((t) => t.type === 2 || t.codec?.startsWith('A_'));
  const src: MediaSource = { name, durationMs: 0 };
  if (v && v.codec !== 'V_VP8') {
    if (!a || a.codec !== 'A_OPUS') throw badMedia(name, `video codec ${v.codec ?? '?'} (only V_VP8 is sent)`);
  }
  if (v?.codec === 'V_VP8' && v.number !== undefined) {
    const frames = blocks.filter((b) => b.track === v.number).map((b) => ({ data: b.data, timeMs: toMs(b.timeTicks), keyframe: vp8IsKeyframe(b.data) }));
    src.video = { codec: 'VP8', width: v.width ?? 0, height: v.height ?? 0, frames };
  }
  if (a?.codec === 'A_OPUS' && a.number !== undefined) {
    const frames = blocks.filter((b) => b.track === a.number).map((b) => ({ data: b.data, timeMs: toMs(b.timeTicks), keyframe: true }));
    src.audio = { codec: 'opus', channels: a.channels ?? 2, frames };
  }
  // Start at the first video keyframe (a decoder cannot start on a delta frame); rebase times to 0.
  if (src.video) {
    const k = src.video.frames.findIndex((f) => f.keyframe);
    if (k < 0) throw badMedia(name, 'the VP8 track has no keyframe');
    const t0 = src.video.frames[k]!.timeMs;
    src.video.frames = src.video.frames.slice(k);
    if (src.audio) src.audio.frames = src.audio.frames.filter((f) => f.timeMs >= t0);
  }
  const all = [...(src.video?.frames ?? []), ...(src.audio?.frames ?? [])];
  const t0 = Math.min(...all.map((f) => f.timeMs));
  for (const f of all) f.timeMs -= t0;
  const lastV = src.video?.frames.at(-1)?.timeMs ?? 0;
  const lastA = src.audio?.frames.at(-1)?.timeMs ?? 0;
  const stepV = src.video && src.video.frames.length > 1 ? lastV / (src.video.frames.length - 1) : 33;
  src.durationMs = Math.max(lastV + stepV, lastA + 20);
  return src;
}

/**
 * RFC 7741 §4.2: split one VP8 frame into RTP payloads of at most `mtu` bytes of frame data. With a `pictureId` the
 * descriptor is the 4-byte form libwebrtc sends (X=1, I=1, M=1: a 15-bit PictureID, the same on every packet of the
 * frame), which lets a receiver tell a lost frame from a lost packet between frames; without it, 1 byte.
 */
export function packetizeVp8(frame: Buffer, mtu = 1100, pictureId?: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < frame.length || off === 0; off += mtu) {
    const chunk = frame.subarray(off, Math.min(frame.length, off + mtu));
    const start = off === 0 ? 0x10 : 0x00; // S bit on the frame's first packet; PID=0
    const descriptor =
      pictureId === undefined ? Buffer.from([start]) : Buffer.from([0x80 | start, 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff]);
    out.push(Buffer.concat([descriptor, chunk]));
    if (frame.length === 0) break;
  }
  return out;
}
