/**
 * send-file / recv-file end to end: two real rtc-cli processes through a real signaling server, on loopback only
 * (--ice-address 127.0.0.1, no STUN/TURN). Protocol under test: docs/file-transfer-protocol.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SignalingServer } from '../../src/signaling/server.js';
import {
  collect,
  errorCode,
  peerFlags,
  randomFile,
  removeDir,
  failedResult,
  partialOf,
  partials,
  transferResult,
  sha256File,
  spawnCli,
  startServer,
  tempDir,
  uniqueRoom,
  waitForProgress,
} from '../helpers/peer.js';

let server: SignalingServer;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  dir = await tempDir();
});

afterAll(async () => {
  await server?.close();
  if (dir) await removeDir(dir);
});

async function sub(name: string): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  const p = join(dir, name);
  await mkdir(p, { recursive: true });
  return p;
}

describe('send-file / recv-file through serve on loopback', () => {
  it('moves several files (0 bytes, small, >50 MB) byte-exact and reports the selected pair', async () => {
    const src = await sub('multi-src');
    const out = await sub('multi-out');
    const hashes: Record<string, string> = {
      'empty.bin': await randomFile(join(src, 'empty.bin'), 0),
      'small.bin': await randomFile(join(src, 'small.bin'), 12_345),
      'big.bin': await randomFile(join(src, 'big.bin'), 52 * 1024 * 1024 + 7),
    };
    const room = uniqueRoom();
    // The receiver starts first and waits; the sender joins later and offers.
    const recv = spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', out, '--timeout', '60']);
    const recvDone = collect(recv, { timeoutMs: 150_000 });
    const send = await collect(
      spawnCli(['send-file', ...peerFlags(server.signalUrl, room), '--timeout', '60', ...Object.keys(hashes).map((n) => join(src, n))]),
      { timeoutMs: 150_000 },
    );
    const r = await recvDone;
    expect(send.code, send.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    for (const [name, h] of Object.entries(hashes)) {
      expect(await sha256File(join(out, name))).toBe(h);
    }
    expect(readdirSync(out).sort()).toEqual(Object.keys(hashes).sort()); // no partial file or directory left behind
    const res = transferResult(r);
    expect(res.files.map((f) => [f.name, f.size, f.sha256])).toEqual([
      ['empty.bin', 0, hashes['empty.bin']],
      ['small.bin', 12_345, hashes['small.bin']],
      ['big.bin', 52 * 1024 * 1024 + 7, hashes['big.bin']],
    ]);
    expect(res.path).toBe('direct');
    expect(res.selectedPair.local).toMatchObject({ type: 'host', protocol: 'udp', address: '127.0.0.1' });
    expect(res.selectedPair.remote.address).toBe('127.0.0.1');
    expect(res.bytes).toBe(52 * 1024 * 1024 + 7 + 12_345);
    const sres = transferResult(send);
    expect(sres.role).toBe('sender');
    expect(sres.files).toHaveLength(3);
    // NDJSON progress events came before the result.
    expect(r.stdout).toContain('"event":"progress"');
  }, 180_000);

  it('resumes from the verified partial file after the receiver is killed mid-transfer', async () => {
    const src = await sub('resume-src');
    const out = await sub('resume-out');
    // Large enough that the first progress report (200 ms in) comes well before the end on the native engine (~80 MB/s).
    const size = 64 * 1024 * 1024;
    const hash = await randomFile(join(src, 'r.bin'), size);
    const room = uniqueRoom();
    const recv1 = spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', out]);
    const recv1Done = collect(recv1, { timeoutMs: 120_000 });
    const send1 = spawnCli(['send-file', ...peerFlags(server.signalUrl, room), join(src, 'r.bin')]);
    const send1Done = collect(send1, { timeoutMs: 120_000 });
    await waitForProgress(recv1, 3 * 1024 * 1024);
    recv1.kill('SIGKILL');
    await recv1Done;
    const s1 = await send1Done;
    // The sender notices promptly (signaling peer-left / channel close) and fails with exit 1.
    expect(s1.code, s1.stderr).toBe(1);
    expect(errorCode(s1)).toBe('RTC_ERR_PEER_LEFT');
    const partSize = statSync(partialOf(out, 'r.bin')).size;
    expect(partSize).toBeGreaterThan(0);
    expect(existsSync(join(out, 'r.bin'))).toBe(false);

    const room2 = uniqueRoom();
    const recv2Done = collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, room2), '--out', out]), { timeoutMs: 120_000 });
    const s2 = await collect(spawnCli(['send-file', ...peerFlags(server.signalUrl, room2), join(src, 'r.bin')]), { timeoutMs: 120_000 });
    const r2 = await recv2Done;
    expect(s2.code, s2.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await sha256File(join(out, 'r.bin'))).toBe(hash);
    const res = transferResult(r2);
    expect(res.files[0].offset).toBe(partSize);
    expect(res.bytes).toBe(size - partSize); // fewer bytes crossed the channel the second time
    expect(transferResult(s2).bytes).toBe(size - partSize);
    expect(partials(out)).toEqual([]);
    expect(readdirSync(out)).toEqual(['r.bin']); // the partial directory went with its last file
  }, 180_000);

  it('receiver exits 1 and keeps the partial file (no final file) when the sender is killed mid-transfer', async () => {
    const src = await sub('senderkill-src');
    const out = await sub('senderkill-out');
    await randomFile(join(src, 's.bin'), 64 * 1024 * 1024); // see the resume test: killed well before the end
    const room = uniqueRoom();
    const recv = spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', out]);
    const recvDone = collect(recv, { timeoutMs: 120_000 });
    const send = spawnCli(['send-file', ...peerFlags(server.signalUrl, room), join(src, 's.bin')]);
    const sendDone = collect(send, { timeoutMs: 120_000 });
    await waitForProgress(recv, 2 * 1024 * 1024);
    const killedAt = Date.now();
    send.kill('SIGKILL');
    await sendDone;
    const r = await recvDone;
    expect(r.code, r.stderr).toBe(1);
    expect(errorCode(r)).toBe('RTC_ERR_PEER_LEFT');
    // Detected through signaling peer-left, not the 15 s idle timeout or 30 s ICE consent.
    expect(Date.now() - killedAt).toBeLessThan(12_000);
    expect(statSync(partialOf(out, 's.bin')).size).toBeGreaterThan(0);
    expect(existsSync(join(out, 's.bin'))).toBe(false);
  }, 180_000);

  it('fails with RTC_ERR_HASH_MISMATCH (exit 1 on both sides) when the source changes while it is sent, touching nothing of the user', async () => {
    const src = await sub('mismatch-src');
    const out = await sub('mismatch-out');
    const size = 64 * 1024 * 1024; // the sender must still be short of the last 4 MiB at its first progress report
    await randomFile(join(src, 'm.bin'), size);
    writeFileSync(join(out, 'm.bin'), 'the user had this file');
    const room = uniqueRoom();
    const recvDone = collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', out]), { timeoutMs: 120_000 });
    const send = spawnCli(['send-file', ...peerFlags(server.signalUrl, room), join(src, 'm.bin')]);
    const sendDone = collect(send, { timeoutMs: 120_000 });
    await waitForProgress(send, 1);
    // Rewrite the last 4 MiB in place (same size): the sender already announced the SHA-256 of the old contents.
    const fh = await open(join(src, 'm.bin'), 'r+');
    await fh.write(randomBytes(4 * 1024 * 1024), 0, 4 * 1024 * 1024, size - 4 * 1024 * 1024);
    await fh.close();
    const [s, r] = await Promise.all([sendDone, recvDone]);
    expect(r.code, r.stderr).toBe(1);
    expect(errorCode(r)).toBe('RTC_ERR_HASH_MISMATCH');
    expect(s.code, s.stderr).toBe(1);
    expect(errorCode(s)).toBe('RTC_ERR_HASH_MISMATCH');
    expect(readFileSync(join(out, 'm.bin'), 'utf8')).toBe('the user had this file');
    expect(readdirSync(out)).toEqual(['m.bin']); // no "m (1).bin", no partial file
  }, 180_000);

  it('refuses hostile names, strips directories, and never overwrites without --force', async () => {
    const src = await sub('names-src');
    const out = await sub('names/out');
    const parent = join(dir, 'names');
    writeFileSync(join(src, 'data.bin'), 'payload');
    writeFileSync(join(out, 'keep.txt'), 'original');
    const names = ['../x', '/etc/passwd', 'a/b', '', '..', 'CON', 'keep.txt', 'bell\u0007.txt'];
    const room = uniqueRoom();
    const recvDone = collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--out', out]), { timeoutMs: 120_000 });
    const args = ['send-file', ...peerFlags(server.signalUrl, room)];
    for (const n of names) args.push('--name', n);
    for (let i = 0; i < names.length; i++) args.push(join(src, 'data.bin'));
    const s = await collect(spawnCli(args), { timeoutMs: 120_000 });
    const r = await recvDone;
    expect(r.code, r.stderr).toBe(1);
    expect(errorCode(r)).toBe('RTC_ERR_UNSAFE_NAME');
    expect(s.code, s.stderr).toBe(1);
    const res = failedResult(r);
    expect(res.failed.map((f) => f.index)).toEqual([0, 1, 3, 4, 5, 7]);
    expect(res.files.map((f) => f.name)).toEqual(['b', 'keep (1).txt']);
    expect(res.files[1].requestedName).toBe('keep.txt');
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('original');
    expect(readFileSync(join(out, 'keep (1).txt'), 'utf8')).toBe('payload');
    expect(readdirSync(out).sort()).toEqual(['b', 'keep (1).txt', 'keep.txt']);
    expect(readdirSync(parent).sort()).toEqual(['out']); // nothing escaped the output directory

    // --force replaces it.
    const room2 = uniqueRoom();
    const recv2 = collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, room2), '--out', out, '--force']), { timeoutMs: 120_000 });
    const s2 = await collect(spawnCli(['send-file', ...peerFlags(server.signalUrl, room2), '--name', 'keep.txt', join(src, 'data.bin')]), { timeoutMs: 120_000 });
    expect(s2.code, s2.stderr).toBe(0);
    expect((await recv2).code).toBe(0);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('payload');
  }, 180_000);

  it('sends stdin ("-") and receives to --stdout', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 11);
    const room = uniqueRoom();
    const recv = spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), '--stdout']);
    const chunks: Buffer[] = [];
    recv.stdout.on('data', (d: Buffer) => chunks.push(d));
    let stderr = '';
    recv.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const recvExit = new Promise<number | null>((res) => recv.on('close', (c) => res(c)));
    recv.stdin.end();
    const s = await collect(spawnCli(['send-file', ...peerFlags(server.signalUrl, room), '-']), { input: data, timeoutMs: 120_000 });
    expect(s.code, s.stderr).toBe(0);
    expect(await recvExit, stderr).toBe(0);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    // The result went to stderr as JSON, with the hash of what arrived.
    const { createHash } = await import('node:crypto');
    expect(stderr).toContain(createHash('sha256').update(data).digest('hex'));
    expect(transferResult(s).files[0]).toMatchObject({ name: 'stdin', path: '-', size: data.length });
  }, 120_000);

  it('exits 2 before connecting for a missing file, and 1 with RTC_ERR_NO_PEER when nobody comes', async () => {
    // A signaling URL nothing listens on: a usage error must not even try to connect.
    const missing = await collect(spawnCli(['send-file', '--signal', 'ws://127.0.0.1:9/ws', '--room', 'x', '--json', join(dir, 'nope.bin')]));
    expect(missing.code).toBe(2);
    expect(errorCode(missing)).toBe('RTC_ERR_FILE_NOT_FOUND');

    const out = await sub('nopeer-out');
    const lonely = await collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, uniqueRoom()), '--out', out, '--timeout', '1.5']));
    expect(lonely.code).toBe(1);
    expect(errorCode(lonely)).toBe('RTC_ERR_NO_PEER');

    // Ctrl-C while waiting for a peer: prompt, non-zero (130), RTC_ERR_INTERRUPTED.
    const waiting = spawnCli(['recv-file', ...peerFlags(server.signalUrl, uniqueRoom()), '--out', out, '--timeout', '60']);
    const waitingDone = collect(waiting, { timeoutMs: 30_000 });
    await new Promise<void>((res) => waiting.stdout.on('data', (d: Buffer) => d.toString().includes('waiting-for-peer') && res()));
    waiting.kill('SIGINT');
    const interrupted = await waitingDone;
    expect(interrupted.code).toBe(130);
    expect(errorCode(interrupted)).toBe('RTC_ERR_INTERRUPTED');

    const badOut = await collect(spawnCli(['recv-file', ...peerFlags(server.signalUrl, uniqueRoom()), '--out', join(dir, 'no-such-dir')]));
    expect(badOut.code).toBe(2);
    expect(errorCode(badOut)).toBe('RTC_ERR_BAD_OUTPUT');
  }, 60_000);
});
