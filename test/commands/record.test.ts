/**
 * The pieces of record/publish that need no network: input checks (exit 2 before connecting), the container readers,
 * RTP packetization, VP8 keyframe parsing and REMB encoding. publish → record between two bins, judged by ffprobe and
 * mkvinfo, and the read-only mount are in record.system.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { validateOutputPath } from '../../src/rtc/record.js';
import { checkRemoteVideo } from '../../src/rtc/record-output.js';
import { vp8FrameSize } from '../../src/rtc/media/codec-info.js';
import { loadSource, packetizeVp8 } from '../../src/rtc/publish-source.js';
import { rembMantissaExp } from '../../src/rtc/rtcp.js';
import { RtcError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rtcweb-unit-'));

describe('record: output path checks (RTC_ERR_BAD_OUTPUT, exit 2, before connecting)', () => {
  it('rejects a name that is neither .webm nor .mkv, a directory, a missing directory, a file in the way, and an existing file without --force', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
        return undefined;
      } catch (e) {
        return (e as RtcError).code;
      }
    };
    expect(code(() => validateOutputPath(join(dir, 'out.mp4')))).toBe('RTC_ERR_BAD_OUTPUT');
    expect(code(() => validateOutputPath(dir + '/'))).toBe('RTC_ERR_BAD_OUTPUT');
    expect(code(() => validateOutputPath(join(dir, 'missing', 'out.webm')))).toBe('RTC_ERR_BAD_OUTPUT');
    // A file where the directory should be (ENOTDIR): fails for root too.
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => validateOutputPath(join(file, 'out.webm'))).toThrow(/is a file, not a directory/);
    const existing = join(dir, 'existing.webm');
    writeFileSync(existing, 'x');
    expect(code(() => validateOutputPath(existing))).toBe('RTC_ERR_EXISTS');
    expect(validateOutputPath(existing, true)).toEqual({ path: existing, partPath: `${existing}.part`, container: 'webm' });
    expect(validateOutputPath(join(dir, 'OK.WEBM')).container).toBe('webm');
    expect(validateOutputPath(join(dir, 'call.mkv')).container).toBe('matroska');
    if (process.getuid?.() !== 0) {
      // For other users, directory permissions count too (root ignores them: the read-only mount below covers root).
      const ro = join(dir, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      expect(code(() => validateOutputPath(join(ro, 'out.webm')))).toBe('RTC_ERR_BAD_OUTPUT');
    }
  });

  it('the bin exits 2 at once, without a signaling server (nothing listens on the --signal port)', async () => {
    for (const out of [join(dir, 'x.mp4'), join(dir, 'nope', 'x.webm')]) {
      const r = await runCli(['record', '--room', 'r', out, '--signal', 'ws://127.0.0.1:9/ws', '--json'], { timeoutMs: 20_000 });
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout.trim()).error.code).toBe('RTC_ERR_BAD_OUTPUT');
      expect(r.stderr).toContain('hint:');
    }
    const both = await runCli(['record', '--room', 'r', join(dir, 'x.webm'), '--video-only', '--audio-only'], { timeoutMs: 20_000 });
    expect(both.code).toBe(2);
  });
});

describe('record: what the remote description says about video', () => {
  const sdp = (video: string): string =>
    ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2', video, ''].join('\r\n');
  const h264Only = 'm=video 9 UDP/TLS/RTP/SAVPF 102 103\r\na=rtpmap:102 H264/90000\r\na=rtpmap:103 rtx/90000';

  it('refuses H.264-only video for a .webm (exit 2, names .mkv), accepts it for .mkv, warns when video was declined', () => {
    expect(() => checkRemoteVideo(sdp(h264Only), 'webm', true)).toThrow(expect.objectContaining({ code: 'RTC_ERR_BAD_OUTPUT', hint: expect.stringMatching(/\.mkv/) }));
    expect(checkRemoteVideo(sdp(h264Only), 'matroska', true)).toBeUndefined();
    expect(checkRemoteVideo(sdp(h264Only), 'webm', false)).toBeUndefined(); // --audio-only
    expect(checkRemoteVideo(sdp('m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000'), 'webm', true)).toBeUndefined();
    expect(checkRemoteVideo(sdp('m=video 0 UDP/TLS/RTP/SAVPF 0'), 'webm', true)).toMatch(/declined video/);
    expect(checkRemoteVideo(undefined, 'webm', true)).toBeUndefined();
  });
});

describe('publish: sources', () => {
  it('reads the shipped IVF test pattern: 120 VP8 frames at 30 fps, a keyframe every second', () => {
    const s = loadSource('testsrc');
    expect(s.video).toMatchObject({ codec: 'VP8', width: 640, height: 480 });
    expect(s.video!.frames).toHaveLength(120);
    expect(s.video!.frames.filter((f) => f.keyframe)).toHaveLength(4);
    expect(s.video!.frames[1]!.timeMs).toBeCloseTo(33.33, 1);
    expect(s.durationMs).toBeCloseTo(4000, 0);
  });

  it('reads a VP8+Opus WebM (ffmpeg-written) with both tracks, times from 0', () => {
    const s = loadSource(new URL('../../fixtures/media/testsrc-av-320x240.webm', import.meta.url).pathname);
    expect(s.video).toMatchObject({ width: 320, height: 240 });
    expect(s.video!.frames.length).toBe(90);
    expect(s.audio!.frames.length).toBeGreaterThan(140);
    expect(s.video!.frames[0]!.keyframe).toBe(true);
    expect(Math.min(s.video!.frames[0]!.timeMs, s.audio!.frames[0]!.timeMs)).toBe(0);
  });

  it('rejects what it cannot send with RTC_ERR_BAD_MEDIA / RTC_ERR_FILE_NOT_FOUND (exit 2)', async () => {
    const junk = join(dir, 'junk.webm');
    writeFileSync(junk, Buffer.from('this is not a video file at all'));
    expect(() => loadSource(junk)).toThrow(expect.objectContaining({ code: 'RTC_ERR_BAD_MEDIA' }));
    const vp9 = Buffer.alloc(32);
    vp9.write('DKIF', 0, 'latin1');
    vp9.write('VP90', 8, 'latin1');
    const vp9Path = join(dir, 'vp9.ivf');
    writeFileSync(vp9Path, vp9);
    expect(() => loadSource(vp9Path)).toThrow(/only VP80/);
    const r = await runCli(['publish', '--room', 'r', junk, '--signal', 'ws://127.0.0.1:9/ws', '--json'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout.trim()).error.code).toBe('RTC_ERR_BAD_MEDIA');
    const missing = await runCli(['publish', '--room', 'r', join(dir, 'missing.ivf'), '--signal', 'ws://127.0.0.1:9/ws', '--json'], { timeoutMs: 20_000 });
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout.trim()).error.code).toBe('RTC_ERR_FILE_NOT_FOUND');
  });
});

describe('RTP and RTCP pieces', () => {
  it('packetizes a VP8 keyframe per RFC 7741 and reads its size back (RFC 6386 §9.1)', () => {
    const key = loadSource('testsrc').video!.frames[0]!.data;
    const parts = packetizeVp8(key, 1000);
    expect(parts.length).toBe(Math.ceil(key.length / 1000));
    expect(parts[0]![0]).toBe(0x10); // S=1, PID=0
    expect(parts.slice(1).every((p) => p[0] === 0x00)).toBe(true);
    expect(Buffer.concat(parts.map((p) => p.subarray(1)))).toEqual(key);
    // With a PictureID (what publish sends): X=1, I=1, M=1 and the same 15-bit id on every packet of the frame.
    const withId = packetizeVp8(key, 1000, 0x1234);
    expect(withId[0]!.subarray(0, 4)).toEqual(Buffer.from([0x90, 0x80, 0x92, 0x34]));
    expect(withId[1]!.subarray(0, 4)).toEqual(Buffer.from([0x80, 0x80, 0x92, 0x34]));
    expect(Buffer.concat(withId.map((p) => p.subarray(4)))).toEqual(key);
    expect(vp8FrameSize(key)).toEqual({ width: 640, height: 480 });
    expect(vp8FrameSize(loadSource('testsrc').video!.frames[1]!.data)).toBeUndefined(); // a delta frame
    expect(vp8FrameSize(key.subarray(0, 9))).toBeUndefined(); // truncated
    expect(vp8FrameSize(Buffer.alloc(0))).toBeUndefined();
  });

  it('encodes REMB bitrates as an 18-bit mantissa and exponent', () => {
    for (const bps of [0, 1000, 262_143, 262_144, 2_500_000, 100_000_000]) {
      const { mantissa, exp } = rembMantissaExp(bps);
      expect(mantissa).toBeLessThan(1 << 18);
      const back = mantissa * 2 ** exp;
      expect(back).toBeLessThanOrEqual(bps);
      expect(bps - back).toBeLessThan(2 ** exp);
    }
  });
});
