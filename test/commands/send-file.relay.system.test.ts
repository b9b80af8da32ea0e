/**
 * The two other ways peers connect: manual copy/paste SDP (no server: the one-line offer/answer is piped between the
 * two processes exactly as a user would paste it), and relay-only through a real coturn on loopback (RFC 8656) with
 * long-term credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import type { SignalingServer } from '../../src/signaling/server.js';
import {
  collect,
  peerFlags,
  randomFile,
  removeDir,
  sha256File,
  spawnCli,
  startServer,
  tempDir,
  transferResult,
  uniqueRoom,
  type CliResult,
} from '../helpers/peer.js';

let dir: string;
let server: SignalingServer;
let turn: Coturn;

beforeAll(async () => {
  dir = await tempDir();
  server = await startServer();
  turn = await startCoturn({ tls: false });
});

afterAll(async () => {
  await turn?.stop();
  await server?.close();
  if (dir) await removeDir(dir);
});

function exitOf(child: ReturnType<typeof spawnCli>): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Milliseconds from the result line (the last stdout line, carrying "files") to the process exit. */
function exitAfterResultMs(child: ReturnType<typeof spawnCli>): Promise<number> {
  let resultAt: number | undefined;
  child.stdout.on('data', (d: Buffer) => {
    if (resultAt === undefined && d.toString().includes('"files":')) resultAt = Date.now();
  });
  return new Promise((resolve) => child.on('close', () => resolve(resultAt === undefined ? Number.POSITIVE_INFINITY : Date.now() - resultAt)));
}

describe('manual SDP exchange', () => {
  it('connects two processes by piping the one-line offer and answer between them', async () => {
    const src = join(dir, 'manual-src');
    const out = join(dir, 'manual-out');
    mkdirSync(src);
    mkdirSync(out);
    const hash = await randomFile(join(src, 'm.bin'), 2 * 1024 * 1024 + 3);
    // Sender in human mode: the offer line is alone on stdout. Receiver in --json: the answer comes as an event.
    const send = spawnCli(['send-file', '--manual', '--ice-address', '127.0.0.1', join(src, 'm.bin')]);
    const recv = spawnCli(['recv-file', '--signal', 'manual', '--ice-address', '127.0.0.1', '--out', out, '--json']);
    let offer: string | undefined;
    let answer: string | undefined;
    let sBuf = '';
    let rBuf = '';
    send.stdout.on('data', (d: Buffer) => {
      sBuf += d.toString();
      const nl = sBuf.indexOf('\n');
      if (offer === undefined && nl >= 0) {
        offer = sBuf.slice(0, nl);
        recv.stdin.write(offer + '\n');
      }
    });
    recv.stdout.on('data', (d: Buffer) => {
      rBuf += d.toString();
      for (const line of rBuf.split('\n')) {
        if (answer === undefined && line.includes('"manual-answer"')) {
          answer = (JSON.parse(line) as { line: string }).line;
          send.stdin.write(answer + '\n');
        }
      }
    });
    const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(offer).toMatch(/^rtc1\.offer\.[A-Za-z0-9_-]+$/);
    expect(answer).toMatch(/^rtc1\.answer\.[A-Za-z0-9_-]+$/);
    expect(await sha256File(join(out, 'm.bin'))).toBe(hash);
    const res = transferResult(r);
    expect(res.path).toBe('direct');
    expect(res.selectedPair.local.address).toBe('127.0.0.1');
  }, 120_000);

  it('refuses a pasted line that is not an offer with RTC_ERR_BAD_SDP (exit 2)', async () => {
    const out = join(dir, 'manual-bad');
    mkdirSync(out);
    const r = await collect(spawnCli(['recv-file', '--manual', '--ice-address', '127.0.0.1', '--out', out, '--json']), {
      input: 'v=0 this is not a line from rtc-cli\n',
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('RTC_ERR_BAD_SDP');
    expect(existsSync(join(out, 'm.bin'))).toBe(false);
  }, 60_000);
});

describe('relay-only through coturn', () => {
  it.each(['udp', 'tcp'] as const)('sends a file with both peers forced onto TURN relay candidates (turn:...?transport=%s)', async (transport) => {
    const src = join(dir, `relay-src-${transport}`);
    const out = join(dir, `relay-out-${transport}`);
    mkdirSync(src);
    mkdirSync(out);
    const hash = await randomFile(join(src, 't.bin'), 1024 * 1024);
    const room = uniqueRoom('relay');
    const ice = ['--ice-server', turn.urls[transport], '--ice-username', turn.username, '--ice-credential', turn.password, '--relay-only'];
    const recvChild = spawnCli(['recv-file', ...peerFlags(server.signalUrl, room), ...ice, '--out', out]);
    const recvExit = exitAfterResultMs(recvChild);
    const recvDone = collect(recvChild, { timeoutMs: 90_000 });
    const sendChild = spawnCli(['send-file', ...peerFlags(server.signalUrl, room), ...ice, join(src, 't.bin')]);
    const sendExit = exitAfterResultMs(sendChild);
    const s = await collect(sendChild, { timeoutMs: 90_000 });
    const r = await recvDone;
    // werift 0.24 kept a TURN refresh timer alive after close (the process lingered for minutes after a relayed
    // session); nothing may keep a peer command running once its result is out.
    expect(await sendExit).toBeLessThan(2_000);
    expect(await recvExit).toBeLessThan(2_000);
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(out, 't.bin'))).toBe(hash);
    for (const res of [transferResult(s), transferResult(r)]) {
      expect(res.path).toBe('relayed');
      expect(res.selectedPair.local.type).toBe('relay');
      expect(res.selectedPair.local.address).toBe('127.0.0.1');
    }
    // Each side's relay candidate is the other's remote: the pair runs TURN server to TURN server.
    expect(transferResult(s).selectedPair.remote.port).toBe(transferResult(r).selectedPair.local.port);
  }, 120_000);
});
