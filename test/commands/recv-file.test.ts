/**
 * recv-file's limits without a full disk: --max-size refuses an announced file and stops a stream that passes it, and a
 * sender hashing a big file before its header is not mistaken for a stalled one. Real processes on loopback. A real
 * full disk (a tmpfs in a private mount namespace, root): recv-file.disk.system.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect, errorCode, failedResult, partials, peerFlags, peerTestBed, randomFile, resultOf, runSender, spawnCli, uniqueRoom } from '../helpers/peer.js';

const bed = peerTestBed('rtc-recv-');
const { sub } = bed;

describe('--max-size', () => {
  it('refuses an announced file over it, and stops and removes a stream that passes it', async () => {
    const src = sub('max-src');
    const out = sub('max-out');
    await randomFile(join(src, 'a.bin'), 300_000);
    const room = uniqueRoom('max');
    const recvDone = collect(spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), '--out', out, '--max-size', '100K']), { timeoutMs: 90_000 });
    const send = await collect(spawnCli(['send-file', ...peerFlags(bed.server.signalUrl, room), join(src, 'a.bin')]), { timeoutMs: 90_000 });
    const recv = await recvDone;
    expect(recv.code, recv.stderr).toBe(1);
    expect(failedResult(recv).failed).toMatchObject([{ code: 'RTC_ERR_TOO_LARGE', message: expect.stringMatching(/300000 bytes, more than --max-size 102400/) }]);
    expect(errorCode(send)).toBe('RTC_ERR_TOO_LARGE');
    expect(readdirSync(out)).toEqual([]);

    const room2 = uniqueRoom('max');
    const recv2Done = collect(spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room2), '--out', out, '--max-size', '100K']), { timeoutMs: 90_000 });
    const send2 = await runSender([...peerFlags(bed.server.signalUrl, room2), '-'], randomBytes(300_000));
    const recv2 = await recv2Done;
    expect(recv2.code, recv2.stderr).toBe(1);
    expect(resultOf(recv2)).toMatchObject({ error: { code: 'RTC_ERR_TOO_LARGE', message: expect.stringMatching(/passed --max-size 102400/) } });
    expect(send2.code).toBe(1);
    expect(errorCode(send2)).toBe('RTC_ERR_TOO_LARGE');
    expect(partials(out)).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it('rejects a malformed size before connecting (exit 2)', async () => {
    const r = await collect(spawnCli(['recv-file', '--signal', 'ws://127.0.0.1:9/ws', '--room', 'x', '--json', '--max-size', '12 parsecs']));
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('RTC_ERR_USAGE');
    expect(r.stdout + r.stderr).toMatch(/--max-size must be a size such as/);
  });
});

describe('a sender hashing a big file keeps the receiver waiting legitimately', () => {
  it('sends ping.work while it hashes, so --idle-timeout 3 does not drop it; the file is then judged on its size', async () => {
    // A sparse file (no disk used) sized so that hashing it takes about 6 s here: longer than --idle-timeout 3.
    const probe = Buffer.alloc(64 * 1024 * 1024);
    const t0 = process.hrtime.bigint();
    const h = createHash('sha256');
    for (let i = 0; i < 4; i++) h.update(probe);
    h.digest();
    const bytesPerSecond = (4 * probe.length) / (Number(process.hrtime.bigint() - t0) / 1e9);
    const size = Math.min(64 * 1024 ** 3, Math.max(1024 ** 3, Math.round((bytesPerSecond * 6) / 1024 ** 2) * 1024 ** 2));
    const src = sub('sparse-src');
    const out = sub('sparse-out');
    writeFileSync(join(src, 'disk.img'), '');
    truncateSync(join(src, 'disk.img'), size);
    const room = uniqueRoom('hash');
    const started = Date.now();
    const recvDone = collect(spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), '--out', out, '--idle-timeout', '3', '--max-size', '1M']), { timeoutMs: 120_000 });
    const send = await collect(spawnCli(['send-file', ...peerFlags(bed.server.signalUrl, room), join(src, 'disk.img')]), { timeoutMs: 120_000 });
    const recv = await recvDone;
    const ms = Date.now() - started;
    // Refused for its size once its header came, not dropped as stalled while the sender hashed.
    expect(errorCode(recv), recv.stdout).toBe('RTC_ERR_TOO_LARGE');
    expect(errorCode(send)).toBe('RTC_ERR_TOO_LARGE');
    expect(ms, `hashing ${size} bytes was too quick to prove anything`).toBeGreaterThan(4_500);
    expect(readdirSync(out)).toEqual([]);
  }, 150_000);
});
