/**
 * recv-file facing a hostile sender (issue 13 §3): the real rtc-cli recv-file against a scripted werift peer in its own
 * process (test/helpers/hostile-sender.ts) through a real signaling server, on loopback only. Each test is an attack that
 * worked before: a planted symlink at `<name>.part`, the user's own `report.part` revealed and deleted, `done` before
 * the announced files, and a sender that only sends keepalives.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  collect,
  errorCode,
  failedResult,
  partialOf,
  partials,
  peerFlags,
  peerTestBed,
  receivedBySender,
  resultOf,
  spawnCli,
  spawnHostileSender,
  transferResult,
  uniqueRoom,
  type CliResult,
  type Step,
} from '../helpers/peer.js';

const bed = peerTestBed('rtc-hostile-');
const { sub } = bed;

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/**
 * recv-file waits in a room; the hostile sender joins and plays `steps`. Both run to their end. `ms`: from the channel
 * being open (the sender's `connected` event) to recv-file's exit, so connection setup on a loaded machine is not in it.
 */
async function against(steps: Step[], recvArgs: string[]): Promise<{ recv: CliResult; sender: CliResult; ms: number }> {
  const room = uniqueRoom('hostile');
  const recv = spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), ...recvArgs]);
  const recvDone = collect(recv, { timeoutMs: 90_000 });
  const sender = await spawnHostileSender(bed.server.signalUrl, room, steps, bed.dir);
  let connectedAt = NaN;
  sender.stdout.on('data', (d: Buffer) => {
    if (Number.isNaN(connectedAt) && d.toString().includes('"event":"connected"')) connectedAt = Date.now();
  });
  const senderDone = collect(sender, { timeoutMs: 90_000 });
  const r = await recvDone;
  const ms = Date.now() - connectedAt;
  return { recv: r, sender: await senderDone, ms };
}

const hello = (files: number | null): Step => ({ send: { t: 'hello', v: 1, files } });

describe('partial files: only rtc-cli\'s own, never a symlink', () => {
  it('does not follow a symlink planted at <name>.part: the file outside --out keeps its contents', async () => {
    const out = sub('symlink/out');
    const outside = sub('symlink/outside');
    writeFileSync(join(outside, 'target.txt'), 'precious');
    symlinkSync('../outside/target.txt', join(out, 'victim.part'));
    const { recv } = await against([hello(1), { file: { index: 0, name: 'victim', content: 'PWNED by the sender' } }, { waitClose: 5_000 }], ['--out', out]);
    expect(recv.code, recv.stderr).toBe(0);
    expect(readFileSync(join(outside, 'target.txt'), 'utf8')).toBe('precious');
    expect(lstatSync(join(out, 'victim.part')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(out, 'victim.part'))).toBe('../outside/target.txt');
    expect(lstatSync(join(out, 'victim')).isFile()).toBe(true);
    expect(readFileSync(join(out, 'victim'), 'utf8')).toBe('PWNED by the sender');
  }, 120_000);

  it('never reveals, resumes or deletes the user\'s own report.part', async () => {
    const out = sub('userpart');
    writeFileSync(join(out, 'report.part'), 'my private notes');
    const content = 'x'.repeat(100);
    const { recv, sender } = await against([hello(1), { file: { index: 0, name: 'report', content } }, { waitClose: 5_000 }], ['--out', out]);
    expect(recv.code, recv.stderr).toBe(0);
    const accept = receivedBySender(sender).find((m) => m.t === 'accept');
    expect(accept).toMatchObject({ t: 'accept', index: 0, offset: 0, prefixSha256: null, savedAs: 'report' });
    expect(readFileSync(join(out, 'report.part'), 'utf8')).toBe('my private notes');
    expect(readFileSync(join(out, 'report'), 'utf8')).toBe(content);
  }, 120_000);

  it('offers a kept partial file only to a sender announcing the same name, size and SHA-256', async () => {
    const out = sub('bound');
    const whole = Buffer.alloc(1_000, 0x62);
    const header = { t: 'file', index: 0, name: 'data.bin', size: whole.length, sha256: sha(whole), chunkSize: 65_536 };
    // 1. A sender sends 400 of 1000 bytes and vanishes: recv-file keeps a 400-byte partial file.
    const first = await against(
      [hello(1), { send: header }, { expect: 'accept' }, { send: { t: 'start', index: 0, offset: 0 } }, { bytes: 400, fill: 0x62 }, { sleep: 500 }],
      ['--out', out],
    );
    expect(first.recv.code).toBe(1);
    expect(errorCode(first.recv)).toBe('RTC_ERR_PEER_LEFT');
    expect(statSync(partialOf(out, 'data.bin')).size).toBe(400);

    // 2. Another sender announces the same name with other contents: it learns nothing and cannot build on it.
    const other = await against(
      [hello(1), { send: { ...header, sha256: sha('something else') } }, { expect: 'accept' }, { sleep: 300 }],
      ['--out', out],
    );
    expect(receivedBySender(other.sender).find((m) => m.t === 'accept')).toMatchObject({ offset: 0, prefixSha256: null });
    expect(statSync(partialOf(out, 'data.bin')).size).toBe(400);

    // 3. The same file again: offered from byte 400, with the SHA-256 of those bytes; the rest completes it.
    const again = await against(
      [
        hello(1), { send: header }, { expect: 'accept' }, { send: { t: 'start', index: 0, offset: 400 } }, { bytes: 600, fill: 0x62 },
        { send: { t: 'end', index: 0, size: 1_000, sha256: sha(whole) } }, { expect: 'ack' }, { send: { t: 'done', files: 1 } }, { waitClose: 5_000 },
      ],
      ['--out', out],
    );
    expect(receivedBySender(again.sender).find((m) => m.t === 'accept')).toMatchObject({ offset: 400, prefixSha256: sha(whole.subarray(0, 400)) });
    expect(again.recv.code, again.recv.stderr).toBe(0);
    expect(transferResult(again.recv).files[0]).toMatchObject({ name: 'data.bin', offset: 400, transferred: 600, sha256: sha(whole) });
    expect(readFileSync(join(out, 'data.bin')).equals(whole)).toBe(true);
    expect(partials(out)).toEqual([]);
  }, 180_000);
});

describe('a session ends only when every announced file is settled', () => {
  it('fails (exit 1, RTC_ERR_PROTOCOL) on done after 1 of 3 announced files, keeping the verified one', async () => {
    const out = sub('early-done');
    const { recv } = await against(
      [hello(3), { file: { index: 0, name: 'a.txt', content: 'first' } }, { send: { t: 'done', files: 3 } }, { waitClose: 5_000 }],
      ['--out', out],
    );
    expect(recv.code, recv.stderr).toBe(1);
    const err = resultOf(recv) as { error: { code: string; message: string; details: { result: { files: { name: string }[] } } } };
    expect(err.error.code).toBe('RTC_ERR_PROTOCOL');
    expect(err.error.message).toMatch(/after 1 of 3 announced file/);
    expect(err.error.details.result.files.map((f) => f.name)).toEqual(['a.txt']);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('first');
  }, 120_000);

  it('fails when done contradicts hello, or counts files that never came when hello gave no count', async () => {
    const out = sub('lying-done');
    const lying = await against([hello(1), { send: { t: 'done', files: 0 } }, { waitClose: 5_000 }], ['--out', out]);
    expect(lying.recv.code).toBe(1);
    expect(errorCode(lying.recv)).toBe('RTC_ERR_PROTOCOL');
    const uncounted = await against(
      [hello(null), { file: { index: 0, name: 'b.txt', content: 'b' } }, { send: { t: 'done', files: 2 } }, { waitClose: 5_000 }],
      ['--out', out],
    );
    expect(uncounted.recv.code).toBe(1);
    expect(resultOf(uncounted.recv)).toMatchObject({ error: { code: 'RTC_ERR_PROTOCOL', message: expect.stringMatching(/after 1 of 2/) } });
  }, 120_000);
});

describe('progress deadline: keepalives alone do not hold recv-file', () => {
  it('drops a sender that only pings before its first file, within --idle-timeout', async () => {
    const out = sub('stall-idle');
    const { recv, ms } = await against([hello(1), { sleep: 30_000 }], ['--out', out, '--idle-timeout', '3']);
    expect(recv.code, recv.stderr).toBe(1);
    expect(errorCode(recv)).toBe('RTC_ERR_STALLED');
    expect(recv.stdout).toMatch(/sent no file data and took no step for 3 s/);
    expect(ms).toBeLessThan(15_000); // the sender's script would have pinged for 30 s after connecting
  }, 120_000);

  it('drops a sender that stops sending bytes mid-file, keeping the partial file for a resume', async () => {
    const out = sub('stall-mid');
    const { recv } = await against(
      [
        hello(1), { send: { t: 'file', index: 0, name: 'm.bin', size: 1_000_000, sha256: sha('whatever'), chunkSize: 65_536 } },
        { expect: 'accept' }, { send: { t: 'start', index: 0, offset: 0 } }, { bytes: 100_000 }, { sleep: 30_000 },
      ],
      ['--out', out, '--idle-timeout', '3'],
    );
    expect(recv.code, recv.stderr).toBe(1);
    expect(errorCode(recv)).toBe('RTC_ERR_STALLED');
    expect(statSync(partialOf(out, 'm.bin')).size).toBe(100_000);
    expect(existsSync(join(out, 'm.bin'))).toBe(false);
  }, 120_000);

  it('counts growing ping.work (a sender hashing a big file) as progress, but not stuck or misdirected work', async () => {
    const out = sub('work');
    const file: Step = { file: { index: 0, name: 'w.txt', content: 'worth the wait' } };
    const work = (step: number, index = 0): Step => ({ work: { index, phase: 'hash', total: 10_000_000, step, everyMs: 1_000, forMs: 7_000 } });
    const honest = await against([hello(1), work(1_000_000), file, { waitClose: 5_000 }], ['--out', out, '--idle-timeout', '3']);
    expect(honest.recv.code, honest.recv.stderr).toBe(0);
    expect(readFileSync(join(out, 'w.txt'), 'utf8')).toBe('worth the wait');

    const stuck = await against([hello(1), work(0), file], ['--out', out, '--idle-timeout', '3']);
    expect(errorCode(stuck.recv)).toBe('RTC_ERR_STALLED');
    const elsewhere = await against([hello(1), work(1_000_000, 5), file], ['--out', out, '--idle-timeout', '3']);
    expect(errorCode(elsewhere.recv)).toBe('RTC_ERR_STALLED');
    expect(readdirSync(out)).toEqual(['w.txt']);
  }, 180_000);
});

describe('names the sender should not get', () => {
  it('refuses a name longer than the protocol\'s own field used to allow for that one file, not the session', async () => {
    const out = sub('longname');
    const { recv } = await against(
      [hello(2), { file: { index: 0, name: 'n'.repeat(6_000), content: 'long' } }, { file: { index: 1, name: 'ok.txt', content: 'fine' } }, { waitClose: 5_000 }],
      ['--out', out],
    );
    expect(recv.code, recv.stderr).toBe(1);
    const res = failedResult(recv);
    expect(res.failed).toMatchObject([{ index: 0, code: 'RTC_ERR_UNSAFE_NAME', message: expect.stringMatching(/too long/) }]);
    expect(res.files.map((f) => f.name)).toEqual(['ok.txt']);
    expect(readdirSync(out)).toEqual(['ok.txt']);
  }, 120_000);
});
