/**
 * Relay-only through a real coturn on loopback (RFC 8656) with long-term credentials (system tier). Manual copy/paste
 * SDP: send-file.manual.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
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

/** Milliseconds from the result line (the last stdout line, carrying "files") to the process exit. */
function exitAfterResultMs(child: ReturnType<typeof spawnCli>): Promise<number> {
  let resultAt: number | undefined;
  child.stdout.on('data', (d: Buffer) => {
    if (resultAt === undefined && d.toString().includes('"files":')) resultAt = Date.now();
  });
  return new Promise((resolve) => child.on('close', () => resolve(resultAt === undefined ? Number.POSITIVE_INFINITY : Date.now() - resultAt)));
}

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
