/**
 * recv-file and the disk: a file that cannot fit (free space, --max-size) is refused before a byte is written, a stream
 * of unknown size that fills the disk leaves no partial file behind, and a sender hashing a big file before its header
 * is not mistaken for a stalled one. Real processes on loopback; a real full disk is a 1 MiB tmpfs in a private mount
 * namespace (root; CI runs as root).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import {
  collect,
  errorCode,
  failedResult,
  partials,
  peerFlags,
  peerTestBed,
  randomFile,
  resultOf,
  spawnCli,
  uniqueRoom,
  type CliResult,
} from '../helpers/peer.js';

const bed = peerTestBed('rtc-disk-');
const { sub } = bed;

/** Run send-file; `input` goes to its stdin (it may stop reading early: a refused stream is not an error here). */
function runSender(args: string[], input?: Buffer): Promise<CliResult> {
  const child = spawnCli(['send-file', ...args]);
  child.stdin.on('error', () => {});
  return collect(child, { input, timeoutMs: 120_000 });
}

/**
 * recv-file with --out on a fresh 1 MiB tmpfs that only its own mount namespace sees. After it exits, the shell reports
 * what was left on that tmpfs (`left`, every path) and how much of it is used (`usedKiB`), then exits with its code.
 */
async function recvOnTinyDisk(room: string, sendArgs: string[], input?: Buffer): Promise<{ recv: CliResult & { left: string[]; usedKiB: number }; send: CliResult }> {
  const mnt = sub(`tmpfs-${room}`);
  const script = [
    'mount -t tmpfs -o size=1m rtc-peer-test "$1" || exit 99',
    'shift',
    '"$@"',
    'rc=$?',
    'echo "LEFT:$(cd "$RTC_MNT" && find . -mindepth 1 | sort | tr "\\n" "|")" >&2',
    'echo "USED:$(df -k --output=used "$RTC_MNT" | tail -1)" >&2',
    'exit $rc',
  ].join('\n');
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', mnt, process.execPath, BIN, 'recv-file', ...peerFlags(bed.server.signalUrl, room), '--out', mnt], {
    stdio: 'pipe',
    env: { ...process.env, NO_COLOR: '1', RTC_MNT: mnt },
  });
  const recvDone = collect(child, { timeoutMs: 120_000 });
  const send = await runSender([...peerFlags(bed.server.signalUrl, room), ...sendArgs], input);
  const r = await recvDone;
  expect(r.code, r.stderr).not.toBe(99);
  const left = /LEFT:(.*)/.exec(r.stderr)?.[1]?.split('|').filter(Boolean) ?? ['(no report)'];
  const usedKiB = Number(/USED:\s*(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  // The tmpfs lived only in the receiver's mount namespace: nothing landed in the real directory.
  expect(readdirSync(mnt)).toEqual([]);
  return { recv: { ...r, left, usedKiB }, send };
}

describe('a file that cannot fit is refused before any byte is written', () => {
  it('refuses a 4 MiB file for a 1 MiB disk (RTC_ERR_TOO_LARGE) and still takes the next file', async () => {
    const src = sub('fit-src');
    await randomFile(join(src, 'big.bin'), 4 * 1024 * 1024);
    writeFileSync(join(src, 'small.txt'), 'fits');
    const { recv, send } = await recvOnTinyDisk(uniqueRoom('disk'), [join(src, 'big.bin'), join(src, 'small.txt')]);
    expect(recv.code, recv.stderr).toBe(1);
    const res = failedResult(recv);
    expect(res.failed).toMatchObject([{ index: 0, code: 'RTC_ERR_TOO_LARGE', message: expect.stringMatching(/needs 4194304 more bytes but only \d+ are free/) }]);
    expect(res.files.map((f) => f.name)).toEqual(['small.txt']);
    expect(res.bytes).toBe(4); // not one byte of big.bin crossed the channel
    expect(recv.left).toEqual(['./small.txt']);
    expect(send.code, send.stderr).toBe(1);
    expect(errorCode(send)).toBe('RTC_ERR_TOO_LARGE');
  }, 120_000);

  it('removes the partial file of a stdin stream that filled the disk (RTC_ERR_WRITE on both sides)', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const { recv, send } = await recvOnTinyDisk(uniqueRoom('disk'), ['-'], data);
    expect(recv.code, recv.stderr).toBe(1);
    expect(errorCode(recv)).toBe('RTC_ERR_WRITE');
    expect(recv.stderr).toMatch(/no space left|ENOSPC/i);
    expect(send.code, send.stderr).toBe(1);
    expect(errorCode(send)).toBe('RTC_ERR_WRITE');
    // An unknown-size stream cannot resume: its partial file (and rtc-cli's partial directory) are gone, the disk free.
    expect(recv.left).toEqual([]);
    expect(recv.usedKiB).toBeLessThan(64);
  }, 120_000);
});

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
