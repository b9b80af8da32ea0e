// Real peer commands whose two ends sit on different `serve --redis` instances: a file transfer (send-file →
// recv-file, SHA-256 checked) and a recording (publish testsrc → record, a WebM ffprobe can read). Everything they
// negotiate (offer, answer, candidates) crosses Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startInstance, type Instance } from './redis-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { collect, spawnCli } from '../helpers/cli.js';
import { jsonLines, randomFile, removeDir, tempDir } from '../helpers/peer.js';

let redis: RedisServer;
let a: Instance;
let b: Instance;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  const p = ['--redis-prefix', `p${randomBytes(3).toString('hex')}:`];
  [a, b] = await Promise.all([startInstance(redis.url, p, {}, true), startInstance(redis.url, p, {}, true)]);
  dir = await tempDir('rtc-redis-peers-');
});
afterAll(async () => {
  a?.child.kill('SIGTERM');
  b?.child.kill('SIGTERM');
  await a?.done;
  await b?.done;
  await redis?.close();
  if (dir) await removeDir(dir);
});

const common = (signal: string, room: string): string[] => ['--signal', signal, '--room', room, '--ice-address', '127.0.0.1', '--json'];

describe('peers on different instances', () => {
  it('send-file on one instance, recv-file on the other: the file arrives intact', async () => {
    const room = `xfer-${randomBytes(3).toString('hex')}`;
    const file = join(dir, 'payload.bin');
    const sha = await randomFile(file, 2 * 1024 * 1024);
    const out = join(dir, 'in');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const recv = collect(spawnCli(['recv-file', '--out', out, ...common(b.signal, room)]), { timeoutMs: 90_000 });
    const send = await collect(spawnCli(['send-file', file, ...common(a.signal, room)]), { timeoutMs: 90_000 });
    const r = await recv;
    expect(send.code, send.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    const result = jsonLines(r.stdout).find((o) => 'files' in o) as { files: { sha256: string }[] };
    expect(result.files[0]!.sha256).toBe(sha);
    // Both servers saw the room: one peer each.
    expect(a.events.some((e) => e.event === 'join' && e.room === room)).toBe(true);
    expect(b.events.some((e) => e.event === 'join' && e.room === room)).toBe(true);
  });

  it('publish testsrc on one instance, record on the other: a WebM with VP8 frames', async () => {
    const room = `rec-${randomBytes(3).toString('hex')}`;
    const webm = join(dir, 'rec.webm');
    const pub = collect(spawnCli(['publish', 'testsrc', '--loop', '--duration', '15', ...common(a.signal, room)]), { timeoutMs: 90_000 });
    const rec = await collect(spawnCli(['record', webm, '--duration', '2', ...common(b.signal, room)]), { timeoutMs: 90_000 });
    expect(rec.code, rec.stderr).toBe(0);
    const res = jsonLines(rec.stdout).at(-1) as { video: { codec: string; frames: number } };
    expect(res.video.codec).toBe('VP8');
    expect(res.video.frames).toBeGreaterThan(20);
    expect(readFileSync(webm).subarray(0, 4).toString('hex')).toBe('1a45dfa3');
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', webm], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    expect(probe.stdout).toContain('vp8');
    expect((await pub).code).toBe(0);
  });
});
