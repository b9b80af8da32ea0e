/**
 * recv-file and a full disk (system tier): a file that cannot fit the free space is refused before a byte is written,
 * and a stream of unknown size that fills the disk leaves no partial file behind. Real processes on loopback; the full
 * disk is a 1 MiB tmpfs in a private mount namespace (root; CI runs as root). --max-size: recv-file.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { requireRoot } from '../helpers/prereq.js';
import {
  collect,
  errorCode,
  failedResult,
  peerFlags,
  peerTestBed,
  randomFile,
  runSender,
  uniqueRoom,
  type CliResult,
} from '../helpers/peer.js';

const bed = peerTestBed('rtc-disk-');
beforeAll(() => requireRoot('a tmpfs in a private mount namespace (unshare --mount)'));
const { sub } = bed;

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
    expect(errorCode(send), send.stderr).toBe('RTC_ERR_WRITE');
    // An unknown-size stream cannot resume: its partial file (and rtc-cli's partial directory) are gone, the disk free.
    expect(recv.left).toEqual([]);
    expect(recv.usedKiB).toBeLessThan(64);
  }, 120_000);
});
