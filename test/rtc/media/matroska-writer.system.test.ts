/**
 * The recorder's media pipeline without a network (system tier: ffmpeg encodes, ffprobe and mkvinfo judge): real
 * encoded frames (ffmpeg: libvpx, libvpx-vp9, libx264; Opus from the fixture), packetized by werift's own packetizers, through our jitter buffer and frame assembler into the
 * Matroska writer, judged by ffmpeg/ffprobe/mkvinfo and test/helpers/media-check.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { H264Packetizer, Vp8Packetizer, Vp9Packetizer, type RtpPacket } from 'werift/nonstandard';
import { ID } from '../../../src/rtc/media/ebml.js';
import { MatroskaWriter, type MatroskaTrack } from '../../../src/rtc/media/matroska-writer.js';
import { FrameAssembler, type Frame, type TrackCodec } from '../../../src/rtc/media/rtp-frames.js';
import { h264SpsSize, opusHead, splitAnnexB, vp9FrameSize } from '../../../src/rtc/media/codec-info.js';
import { loadSource, readIvf } from '../../../src/rtc/publish-source.js';
import { ffmpegDecodes, probeFrames } from '../../helpers/browser-netns.js';
import { requireProgram } from '../../helpers/prereq.js';
import { checkStructure, describeVerdict, judgeRecording } from '../../helpers/media-check.js';

const dir = mkdtempSync(join(tmpdir(), 'rtc-media-'));
beforeAll(() => {
  requireProgram('ffmpeg', 'ffmpeg', ['-version']);
  requireProgram('ffprobe', 'ffmpeg', ['-version']);
  requireProgram('mkvinfo', 'mkvtoolnix', ['--version']);
});
const FIXTURE_AV = new URL('../../../fixtures/media/testsrc-av-320x240.webm', import.meta.url).pathname;
const STEP = 1000 / 30;

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

/** `n` frames of a 30 fps test pattern encoded with `codec`, one keyframe every `gop` frames. */
function encodeIvf(codec: 'libvpx' | 'libvpx-vp9', n: number, size: string, gop: number): Buffer[] {
  const out = join(dir, `${codec}-${n}-${size}.ivf`);
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-frames:v', String(n), '-c:v', codec, '-g', String(gop), '-deadline', 'realtime', '-b:v', '300k', '-f', 'ivf', out]);
  return readIvf(readFileSync(out)).frames.map((f) => f.data);
}

/** `n` H.264 access units (Annex B), split at the access unit delimiters x264 writes with aud=1. */
function encodeH264(n: number, size: string, gop: number): Buffer[] {
  const out = join(dir, `h264-${n}-${size}.264`);
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-frames:v', String(n), '-c:v', 'libx264', '-profile:v', 'baseline', '-g', String(gop), '-x264-params', 'aud=1', '-f', 'h264', out]);
  const data = readFileSync(out);
  const aus: Buffer[] = [];
  let current: Buffer[] = [];
  for (const nal of splitAnnexB(data)) {
    if ((nal[0]! & 0x1f) === 9 && current.length) {
      aus.push(Buffer.concat(current));
      current = [];
    }
    current.push(Buffer.from([0, 0, 0, 1]), nal);
  }
  if (current.length) aus.push(Buffer.concat(current));
  return aus;
}

/** Packetize frames 3000 ticks apart starting at `ts0` (uint32 arithmetic), as a sender would. */
function packetize(codec: TrackCodec, frames: Buffer[], ts0: number, mtu = 600): RtpPacket[][] {
  const p = codec === 'VP8' ? new Vp8Packetizer({ maxPayloadSize: mtu, sequenceNumber: 65_500 }) : codec === 'VP9' ? new Vp9Packetizer({ maxPayloadSize: mtu, sequenceNumber: 65_500 }) : new H264Packetizer({ maxPayloadSize: mtu, sequenceNumber: 65_500 });
  return frames.map((f, i) => {
    const ts = (ts0 + i * 3000) >>> 0;
    if (codec === 'VP9') return (p as Vp9Packetizer).packetize(f, ts, { isKeyframe: vp9FrameSize(f) !== undefined });
    return p.packetize(f, ts);
  });
}

/** Feed packets to a FrameAssembler, the clock advancing `stepMs` before each packet. */
function assemble(codec: TrackCodec, packets: RtpPacket[], opts: { ts0: number; stepMs?: number } = { ts0: 0 }): { frames: Frame[]; needKeyframe: number } {
  const frames: Frame[] = [];
  let needKeyframe = 0;
  let now = 0;
  const assembler = new FrameAssembler({ codec, clockRate: 90000, firstTimestamp: opts.ts0, latencyMs: 500, onFrame: (f) => frames.push(f), onNeedKeyframe: () => needKeyframe++, now: () => now });
  for (const p of packets) {
    now += opts.stepMs ?? 1;
    assembler.push(p);
  }
  assembler.flush();
  return { frames, needKeyframe };
}

function writeVideo(path: string, codec: TrackCodec, frames: Frame[], track: Partial<MatroskaTrack> = {}): void {
  const codecId = { VP8: 'V_VP8', VP9: 'V_VP9', H264: 'V_MPEG4/ISO/AVC', OPUS: 'A_OPUS' }[codec];
  const first = frames[0]!;
  const w = MatroskaWriter.open({
    path,
    docType: codec === 'H264' ? 'matroska' : 'webm',
    writingApp: 'rtc-cli test',
    tracks: [{ number: 1, kind: 'video', codecId, codecPrivate: first.avcConfig, width: first.size?.width, height: first.size?.height, ...track }],
  });
  frames.forEach((f, i) => w.addFrame({ track: 1, timeMs: (f.ticks * 1000) / 90000, keyframe: f.keyframe, data: f.data, durationMs: STEP, explicitDuration: i === frames.length - 1 }));
  w.finalize();
}

describe('Matroska writer', () => {
  let vp8: Buffer[];
  beforeAll(() => {
    vp8 = encodeIvf('libvpx', 300, '320x240', 60);
  }, 120_000);

  it('finalized file: exact times (rounded once, not accumulated), clusters at keyframes, cues, SeekHead, sizes, clean for mkvinfo/ffprobe, seekable', () => {
    const path = join(dir, 'writer.webm');
    const src = loadSource(FIXTURE_AV);
    const audio = src.audio!.frames;
    const w = MatroskaWriter.open({
      path,
      docType: 'webm',
      writingApp: 'rtc-cli test',
      tracks: [
        { number: 1, kind: 'video', codecId: 'V_VP8', width: 320, height: 240 },
        { number: 2, kind: 'audio', codecId: 'A_OPUS', codecPrivate: opusHead(2), seekPreRollNs: 80_000_000 },
      ],
    });
    // 10 s: 300 video frames on the exact 30 fps grid, Opus frames every 20 ms (the fixture's, looped), in time order.
    const items = [
      ...vp8.map((data, i) => ({ track: 1, timeMs: i * STEP, data, keyframe: (data[0]! & 1) === 0 })),
      ...Array.from({ length: 500 }, (_, i) => ({ track: 2, timeMs: i * 20, data: audio[i % audio.length]!.data, keyframe: true })),
    ].sort((a, b) => a.timeMs - b.timeMs);
    for (const it of items) w.addFrame({ ...it, durationMs: it.track === 2 ? 20 : STEP });
    const { durationMs } = w.finalize();
    expect(durationMs).toBe(10_000);
    const v = judgeRecording(path, 5);
    expect([...v.structure.problems, ...v.mkvinfo, ...v.ffprobe], describeVerdict(v)).toEqual([]);
    expect(v.structure.seekEntries).toEqual(['Info', 'Tracks', 'Cues', 'Tags']);
    expect(v.structure.clusters).toBe(5); // a keyframe every 60 frames = every 2 s
    expect(v.structure.cuePoints).toBe(5);
    expect(v.seek.ok, v.seek.detail).toBe(true);
    expect(v.timeline.video!.frames).toBe(300);
    expect(v.timeline.audio!.frames).toBe(500);
    expect(v.timeline.audio!.maxGapMs).toBeCloseTo(20, 6);
    // Frame k at round(k × 33.333): frame 299 at 9967 ms (an accumulated 33 ms step would put it at 9867).
    const pts = probeFrames(path).video!.times.map((t) => Math.round(t * 1000));
    expect(pts.slice(0, 4)).toEqual([0, 33, 67, 100]);
    expect(pts.at(-1)).toBe(9967);
    expect(ffmpegDecodes(path).ok).toBe(true);
  });

  it('crash safety: every added frame is on disk at once, and the file cut at any byte still decodes', () => {
    const path = join(dir, 'crash.webm.part');
    const w = MatroskaWriter.open({ path, docType: 'webm', writingApp: 'rtc-cli test', tracks: [{ number: 1, kind: 'video', codecId: 'V_VP8', width: 320, height: 240 }] });
    vp8.slice(0, 150).forEach((data, i) => w.addFrame({ track: 1, timeMs: i * STEP, data, keyframe: (data[0]! & 1) === 0 }));
    // Never finalized: the state `kill -9` leaves behind.
    w.abandon();
    expect(probeFrames(path).video!.frames).toBe(150);
    expect(checkStructure(path).problems).toEqual(expect.arrayContaining(['the Segment has an unknown size (never finalized)']));
    const buf = readFileSync(path);
    // The header (EBML, SeekHead, Info, Tracks) is written in one go when the writer opens; from the first block on,
    // any cut leaves a playable file.
    const firstBlock = buf.indexOf(Buffer.from([ID.SimpleBlock]), buf.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75])));
    for (const cut of [firstBlock + 50, Math.floor(buf.length / 3), Math.floor(buf.length / 2) + 7, buf.length - 5]) {
      const p = join(dir, `cut-${cut}.webm`);
      writeFileSync(p, buf.subarray(0, cut));
      const dec = ffmpegDecodes(p);
      expect(dec.ok, `cut at ${cut}: ${dec.stderr}`).toBe(true);
    }
  });

  it('audio only: a cluster (and a cue) at least every 5 s, clean structure', () => {
    const path = join(dir, 'audio.webm');
    const audio = loadSource(FIXTURE_AV).audio!.frames;
    const w = MatroskaWriter.open({ path, docType: 'webm', writingApp: 'rtc-cli test', tracks: [{ number: 1, kind: 'audio', codecId: 'A_OPUS', codecPrivate: opusHead(2) }] });
    for (let i = 0; i < 1000; i++) w.addFrame({ track: 1, timeMs: i * 20, data: audio[i % audio.length]!.data, keyframe: true, durationMs: 20 });
    w.finalize();
    const v = judgeRecording(path);
    expect([...v.structure.problems, ...v.mkvinfo, ...v.ffprobe], describeVerdict(v)).toEqual([]);
    expect(v.structure.clusters).toBe(4);
    expect(v.structure.cuePoints).toBe(4);
    expect(v.timeline.audio!.frames).toBe(1000);
  });
});

describe('frame assembly (RTP → frames)', () => {
  let vp8: Buffer[];
  beforeAll(() => {
    vp8 = encodeIvf('libvpx', 90, '320x240', 30);
  }, 120_000);

  it('VP8: whole frames, exact ticks across the 32-bit RTP timestamp wrap, the size from the keyframe', () => {
    const ts0 = 2 ** 32 - 3000 * 10; // wraps after 10 frames
    const { frames, needKeyframe } = assemble('VP8', packetize('VP8', vp8, ts0).flat(), { ts0 });
    expect(frames).toHaveLength(90);
    expect(frames.map((f) => f.ticks)).toEqual(vp8.map((_, i) => i * 3000));
    expect(frames.map((f) => f.data)).toEqual(vp8);
    expect(frames[0]).toMatchObject({ keyframe: true, size: { width: 320, height: 240 } });
    expect(frames.filter((f) => f.keyframe)).toHaveLength(3);
    expect(needKeyframe).toBe(0);
  });

  it('VP8: a frame with a lost packet is dropped with every frame after it until the next keyframe, and a keyframe is asked for', () => {
    const pk = packetize('VP8', vp8, 0);
    const multi = pk.findIndex((p, i) => i > 0 && i < 25 && p.length >= 2); // a delta frame of several packets
    expect(multi).toBeGreaterThan(0);
    const lossy = pk.flatMap((p, i) => (i === multi ? p.slice(1) : p)); // its first packet never arrives
    const { frames, needKeyframe } = assemble('VP8', lossy, { ts0: 0 });
    expect(needKeyframe).toBeGreaterThan(0);
    const kept = frames.map((f) => f.ticks / 3000);
    expect(kept).toEqual([...Array.from({ length: multi }, (_, i) => i), ...Array.from({ length: 90 - 30 }, (_, i) => 30 + i)]);
  });

  it('VP8: a gap between frames whose picture IDs are consecutive (a lost padding packet) loses nothing', () => {
    const pk = packetize('VP8', vp8.slice(0, 30), 0).flat();
    // Renumber to leave a hole between frame 5 and 6: nothing of either frame is missing.
    let extra = 0;
    const withHole = pk.map((p) => {
      if (p.header.timestamp === 6 * 3000 && extra === 0) extra = 1;
      p.header.sequenceNumber = (p.header.sequenceNumber + extra) & 0xffff;
      return p;
    });
    const { frames, needKeyframe } = assemble('VP8', withHole, { ts0: 0, stepMs: 600 });
    expect(frames).toHaveLength(30);
    expect(needKeyframe).toBe(0);
  });

  it('H.264: STAP-A/FU-A packets become length-prefixed access units with the SPS size (cropped) and an avcC; the .mkv decodes', () => {
    const aus = encodeH264(60, '320x180', 30);
    const { frames } = assemble('H264', packetize('H264', aus, 12345).flat(), { ts0: 12345 });
    expect(frames).toHaveLength(60);
    expect(frames[0]).toMatchObject({ keyframe: true, size: { width: 320, height: 180 } });
    expect(frames[0]!.avcConfig![0]).toBe(1); // configurationVersion
    expect(frames[0]!.data.readUInt32BE(0)).toBeLessThan(frames[0]!.data.length); // a length prefix, not a start code
    expect(frames.filter((f) => f.keyframe)).toHaveLength(2);
    const path = join(dir, 'h264.mkv');
    writeVideo(path, 'H264', frames);
    const v = judgeRecording(path);
    expect([...v.structure.problems, ...v.mkvinfo, ...v.ffprobe], describeVerdict(v)).toEqual([]);
    expect(probeFrames(path).video).toMatchObject({ codec: 'h264', width: 320, height: 180, frames: 60 });
  });

  it('VP9: keyframes and sizes from the uncompressed header; the .webm decodes', () => {
    const frames9 = encodeIvf('libvpx-vp9', 45, '352x288', 30);
    expect(vp9FrameSize(frames9[0]!)).toEqual({ width: 352, height: 288 });
    expect(vp9FrameSize(frames9[1]!)).toBeUndefined();
    const { frames } = assemble('VP9', packetize('VP9', frames9, 7).flat(), { ts0: 7 });
    expect(frames).toHaveLength(45);
    expect(frames.filter((f) => f.keyframe)).toHaveLength(2);
    const path = join(dir, 'vp9.webm');
    writeVideo(path, 'VP9', frames);
    const v = judgeRecording(path);
    expect([...v.structure.problems, ...v.mkvinfo, ...v.ffprobe], describeVerdict(v)).toEqual([]);
    expect(probeFrames(path).video).toMatchObject({ codec: 'vp9', width: 352, height: 288, frames: 45 });
  });

  it('never throws on garbage payloads (hostile network input)', () => {
    const junk = packetize('VP8', vp8.slice(0, 5), 0).flat();
    for (const p of junk) p.payload = Buffer.from([0xff, 0xff, 0x00]);
    expect(() => assemble('VP8', junk)).not.toThrow();
    expect(() => assemble('H264', junk)).not.toThrow();
    expect(() => assemble('VP9', junk)).not.toThrow();
    expect(h264SpsSize(Buffer.from([0x67, 0xff]))).toBeUndefined();
    expect(vp9FrameSize(Buffer.from([0x82]))).toBeUndefined();
  });
});
