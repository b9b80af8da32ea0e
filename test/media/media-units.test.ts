/**
 * The pieces of record/publish that need no network: input checks (exit 2 before connecting), the container readers,
 * RTP packetization, VP8 keyframe parsing and REMB encoding. Plus publish → record between two real bins on loopback.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, runCli, spawnCli } from '../helpers/cli.js';
import { ffmpegDecodes, probeFrames } from '../helpers/browser-netns.js';
import { validateOutputPath, vp8KeyframeSize } from '../../src/rtc/record.js';
import { loadSource, packetizeVp8 } from '../../src/rtc/publish-source.js';
import { rembMantissaExp } from '../../src/rtc/rtcp.js';
import { RtcError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rtcweb-unit-'));

describe('record: output path checks (RTC_ERR_BAD_OUTPUT, exit 2, before connecting)', () => {
  it('rejects a non-.webm name, a directory, a missing or read-only directory, and an existing file without --force', () => {
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
    const existing = join(dir, 'existing.webm');
    writeFileSync(existing, 'x');
    expect(code(() => validateOutputPath(existing))).toBe('RTC_ERR_EXISTS');
    expect(validateOutputPath(existing, true)).toBe(existing);
    expect(validateOutputPath(join(dir, 'OK.WEBM'))).toBe(join(dir, 'OK.WEBM'));
    if (process.getuid?.() !== 0) {
      // root ignores directory permissions, so this case only means something for other users
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
    expect(vp8KeyframeSize(parts[0]!)).toEqual({ width: 640, height: 480 });
    expect(vp8KeyframeSize(parts[1]!)).toBeUndefined(); // not a frame start
    const delta = packetizeVp8(loadSource('testsrc').video!.frames[1]!.data)[0]!;
    expect(vp8KeyframeSize(delta)).toBeUndefined();
    // With the extended descriptor (X bit, 15-bit PictureID) as Chromium sends it.
    const ext = Buffer.concat([Buffer.from([0x90, 0x80, 0x81, 0x23]), key.subarray(0, 20)]);
    expect(vp8KeyframeSize(ext)).toEqual({ width: 640, height: 480 });
    expect(vp8KeyframeSize(Buffer.alloc(0))).toBeUndefined();
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

describe('publish → record between two bins on loopback', () => {
  it('records the WebM fixture (VP8 + Opus) that publish sends, and --audio-only keeps only Opus; the results decode', async () => {
    const serve = spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', '--json']);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('serve did not start')), 20_000);
        serve.stdout.on('data', (d: Buffer) => {
          const m = /"port":(\d+)/.exec(d.toString());
          if (m) {
            clearTimeout(t);
            resolve(Number(m[1]));
          }
        });
      });
      const signal = `ws://127.0.0.1:${port}/ws`;
      const out = join(dir, 'roundtrip.webm');
      const fixture = new URL('../../fixtures/media/testsrc-av-320x240.webm', import.meta.url).pathname;
      const pub = collect(spawnCli(['publish', '--room', 'rt', fixture, '--loop', '--duration', '8', '--signal', signal, '--ice-address', '127.0.0.1', '--json']), { timeoutMs: 60_000 });
      // A second pair at the same time: --audio-only keeps just the Opus track.
      const outA = join(dir, 'roundtrip-audio.webm');
      const pubA = collect(spawnCli(['publish', '--room', 'ra', fixture, '--loop', '--duration', '8', '--signal', signal, '--ice-address', '127.0.0.1', '--json']), { timeoutMs: 60_000 });
      const recA = collect(spawnCli(['record', '--room', 'ra', outA, '--audio-only', '--duration', '3', '--signal', signal, '--ice-address', '127.0.0.1', '--json']), { timeoutMs: 60_000 });
      const rec = await collect(spawnCli(['record', '--room', 'rt', out, '--duration', '4', '--signal', signal, '--ice-address', '127.0.0.1', '--json']), { timeoutMs: 60_000 });
      expect(rec.code, rec.stderr).toBe(0);
      const res = JSON.parse(rec.stdout.trim().split('\n').at(-1)!) as { video: { width: number; frames: number }; audio: { frames: number } };
      expect(res.video.width).toBe(320);
      expect(existsSync(out)).toBe(true);
      expect(ffmpegDecodes(out).ok).toBe(true);
      const p = probeFrames(out);
      expect(p.video!.frames).toBeGreaterThanOrEqual(0.9 * 30 * p.durationSeconds);
      expect(p.audio!.frames).toBeGreaterThan(100);
      const ra = await recA;
      expect(ra.code, ra.stderr).toBe(0);
      const resA = JSON.parse(ra.stdout.trim().split('\n').at(-1)!) as { video?: unknown; audio: { codec: string; frames: number } };
      expect(resA.video).toBeUndefined();
      expect(resA.audio.codec).toBe('opus');
      const pa = probeFrames(outA);
      expect(pa.video).toBeUndefined();
      expect(pa.audio!.frames).toBeGreaterThan(100);
      expect((await pubA).code).toBe(0);
      const pr = await pub;
      // The recorder leaving ends the publisher's session: peer-left is a normal stop for publish.
      expect(pr.code, pr.stderr).toBe(0);
    } finally {
      serve.kill('SIGKILL');
    }
  }, 90_000);
});


describe('publish → record with no server (--signal manual)', () => {
  it('pipes the one-line offer and answer between the two bins and records a decodable file', async () => {
    const out = join(dir, 'manual.webm');
    // publish offers (human mode: the offer line is alone on stdout); record answers (--json: a manual-answer event).
    const pub = spawnCli(['publish', 'testsrc', '--manual', '--loop', '--duration', '8', '--ice-address', '127.0.0.1']);
    const rec = spawnCli(['record', out, '--signal', 'manual', '--duration', '2', '--ice-address', '127.0.0.1', '--json']);
    let offer: string | undefined;
    let answer: string | undefined;
    let pBuf = '';
    let rBuf = '';
    pub.stdout.on('data', (d: Buffer) => {
      pBuf += d.toString();
      const nl = pBuf.indexOf('\n');
      if (offer === undefined && nl >= 0) {
        offer = pBuf.slice(0, nl);
        rec.stdin.write(offer + '\n');
      }
    });
    rec.stdout.on('data', (d: Buffer) => {
      rBuf += d.toString();
      for (const line of rBuf.split('\n')) {
        if (answer === undefined && line.includes('"manual-answer"')) {
          answer = (JSON.parse(line) as { line: string }).line;
          pub.stdin.write(answer + '\n');
        }
      }
    });
    // Not collect(): it closes stdin, and stdin is where the other side's line arrives.
    const exitOf = (child: typeof pub): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('close', (code) => {
          clearTimeout(t);
          resolve({ code, stdout, stderr });
        });
      });
    const [pr, rr] = await Promise.all([exitOf(pub), exitOf(rec)]);
    expect(offer ?? '', pr.stderr + rr.stderr).toMatch(/^rtc1\.offer\./);
    expect(answer ?? '', rr.stderr).toMatch(/^rtc1\.answer\./);
    expect(rr.code, rr.stderr).toBe(0);
    const res = JSON.parse(rr.stdout.trim().split('\n').at(-1)!) as { path: string; video: { frames: number } };
    expect(res.video.frames).toBeGreaterThan(30);
    expect(ffmpegDecodes(out).ok).toBe(true);
    expect(pr.code, pr.stderr).toBe(0);
  }, 90_000);
});
