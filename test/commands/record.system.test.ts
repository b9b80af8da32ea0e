/**
 * record and publish end to end (system tier): publish → record between two real bins on loopback, the files judged
 * by ffprobe and mkvinfo, and an output directory on a read-only mount (unshare + mount). The pure pieces are in
 * record.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, collect, spawnCli } from '../helpers/cli.js';
import { ffmpegDecodes, probeFrames } from '../helpers/browser-netns.js';
import { requireProgram } from '../helpers/prereq.js';
import { describeVerdict, judgeRecording } from '../helpers/media-check.js';

const dir = mkdtempSync(join(tmpdir(), 'rtcweb-unit-'));
beforeAll(() => {
  requireProgram('ffmpeg', 'ffmpeg', ['-version']);
  requireProgram('ffprobe', 'ffmpeg', ['-version']);
  requireProgram('mkvinfo', 'mkvtoolnix', ['--version']);
});

describe('record: output path checks that need a mount namespace', () => {
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
