/**
 * The pieces of record/publish that need no network: input checks (exit 2 before connecting), the container readers,
 * RTP packetization, VP8 keyframe parsing and REMB encoding. Plus publish → record between two real bins on loopback.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, collect, runCli, spawnCli } from '../helpers/cli.js';
import { ffmpegDecodes, probeFrames } from '../helpers/browser-netns.js';
import { describeVerdict, judgeRecording } from '../helpers/media-check.js';
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

  it('a directory on a read-only mount → the bin exits 2 with RTC_ERR_BAD_OUTPUT, even as root (private mount namespace)', () => {
    const ro = mkdtempSync(join(tmpdir(), 'rtcweb-ro-'));
    // unshare: a mount namespace of its own (with a user namespace, so it also works without root); the bind mount
    // and its read-only remount exist only in there. EROFS stops root, who ignores permission bits.
    const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" "$3" record --room r "$1/out.webm" --signal ws://127.0.0.1:9/ws --json`;
    const r = spawnSync('unshare', ['--map-root-user', '--mount', 'sh', '-c', script, 'sh', ro, process.execPath, BIN], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, 'unshare (util-linux) must be installed').toBeUndefined();
    expect(r.status, r.stderr).toBe(2);
    const err = JSON.parse(r.stdout.trim()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('RTC_ERR_BAD_OUTPUT');
    expect(err.error.message).toMatch(/read-only file system/);
    expect(existsSync(join(ro, 'out.webm.part'))).toBe(false);
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

describe('publish → record between two bins on loopback', () => {
  /** `rtc-cli serve` on an ephemeral port; returns its signaling URL and the child to kill. */
  async function startServe(): Promise<{ signal: string; kill: () => void }> {
    const serve = spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', '--json']);
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
    return { signal: `ws://127.0.0.1:${port}/ws`, kill: () => serve.kill('SIGKILL') };
  }
  const fixture = new URL('../../fixtures/media/testsrc-av-320x240.webm', import.meta.url).pathname;
  // Each publisher stops when its recorder leaves (peer-left); its --duration is only a bound, long enough that a slow
  // start on a loaded machine never has the publisher leave before the recorder is connected.
  const publishArgs = (room: string, source: string, signal: string): string[] => ['publish', '--room', room, source, '--loop', '--duration', '30', '--signal', signal, '--ice-address', '127.0.0.1', '--json'];
  const recordArgs = (room: string, out: string, signal: string, extra: string[]): string[] => ['record', '--room', room, out, ...extra, '--signal', signal, '--ice-address', '127.0.0.1', '--json'];

  it('records the WebM fixture (VP8 + Opus), and at the same time --audio-only keeps only Opus; clean files', async () => {
    const serve = await startServe();
    try {
      const out = join(dir, 'roundtrip.webm');
      const pub = collect(spawnCli(publishArgs('rt', fixture, serve.signal)), { timeoutMs: 60_000 });
      // A second pair at the same time: --audio-only keeps just the Opus track.
      const outA = join(dir, 'roundtrip-audio.webm');
      const pubA = collect(spawnCli(publishArgs('ra', fixture, serve.signal)), { timeoutMs: 60_000 });
      const recA = collect(spawnCli(recordArgs('ra', outA, serve.signal, ['--audio-only', '--duration', '3'])), { timeoutMs: 60_000 });
      const rec = await collect(spawnCli(recordArgs('rt', out, serve.signal, ['--duration', '4'])), { timeoutMs: 60_000 });
      expect(rec.code, rec.stderr).toBe(0);
      const res = JSON.parse(rec.stdout.trim().split('\n').at(-1)!) as { video: { width: number; frames: number }; audio: { frames: number } };
      expect(res.video.width).toBe(320);
      expect(existsSync(out)).toBe(true);
      expect(ffmpegDecodes(out).ok).toBe(true);
      const p = probeFrames(out);
      expect(p.video!.frames).toBeGreaterThanOrEqual(0.9 * 30 * p.durationSeconds);
      expect(p.audio!.frames).toBeGreaterThan(100);
      const v = judgeRecording(out);
      expect([...v.structure.problems, ...v.mkvinfo, ...v.ffprobe], describeVerdict(v)).toEqual([]);
      expect(v.seek.ok, v.seek.detail).toBe(true);

      const ra = await recA;
      expect(ra.code, ra.stderr).toBe(0);
      const resA = JSON.parse(ra.stdout.trim().split('\n').at(-1)!) as { video?: unknown; audio: { codec: string; frames: number } };
      expect(resA.video).toBeUndefined();
      expect(resA.audio.codec).toBe('opus');
      const pa = probeFrames(outA);
      expect(pa.video).toBeUndefined();
      expect(pa.audio!.frames).toBeGreaterThan(100);
      const va = judgeRecording(outA);
      expect([...va.structure.problems, ...va.mkvinfo, ...va.ffprobe], describeVerdict(va)).toEqual([]);
      expect(va.timeline.audio!.maxGapMs).toBeLessThanOrEqual(25);
      expect((await pubA).code).toBe(0);
      const pr = await pub;
      // The recorder leaving ends the publisher's session: peer-left is a normal stop for publish.
      expect(pr.code, pr.stderr).toBe(0);
    } finally {
      serve.kill();
    }
  }, 90_000);

  it('records the IVF pattern on the exact RTP clock: frame k at k × 33.333 ms (± 0.5 ms), into a clean .mkv', async () => {
    const serve = await startServe();
    try {
      // testsrc's frames are exactly 3000 ticks (33.333 ms) apart on the 90 kHz clock: a fractional millisecond.
      const out = join(dir, 'roundtrip-timing.mkv');
      const pub = collect(spawnCli(publishArgs('rtt', 'testsrc', serve.signal)), { timeoutMs: 60_000 });
      const rec = await collect(spawnCli(recordArgs('rtt', out, serve.signal, ['--duration', '5'])), { timeoutMs: 60_000 });
      expect(rec.code, rec.stderr).toBe(0);
      const v = judgeRecording(out);
      expect(v.structure.docType).toBe('matroska');
      expect([...v.structure.problems, ...v.mkvinfo, ...v.ffprobe], describeVerdict(v)).toEqual([]);
      // Every frame sits on the RTP clock, rounded once to the file's 1 ms. werift's recorder added a truncated 33 ms
      // per frame: 0.67 ms off after 2 frames, 1 % fast overall.
      const pts = probeFrames(out).video!.times.map((t) => t * 1000);
      expect(pts.length).toBeGreaterThan(100);
      const step = 1000 / 30;
      const worst = Math.max(...pts.map((t) => Math.abs(t - pts[0]! - Math.round((t - pts[0]!) / step) * step)));
      expect(worst).toBeLessThanOrEqual(0.5 + 1e-6);
      expect((await pub).code).toBe(0);
    } finally {
      serve.kill();
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
