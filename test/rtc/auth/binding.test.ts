/**
 * The DTLS channel binding of code sessions (docs/peer-auth.md §DTLS binding), with real werift peers connected over
 * loopback through a real signaling server: both ends of one DTLS session export the same value; a peer that compares
 * against the other end of a *different* DTLS session (what each victim of a man in the middle sees) stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';
import type { SignalingServer } from '../../../src/signaling/server.js';
import { connectPeer, type PeerSession, type PeerSessionOptions } from '../../../src/rtc/peer.js';
import { dtlsExporters, verifyDtlsBinding } from '../../../src/rtc/auth/binding.js';
import { sealedCodec } from '../../../src/rtc/auth/codecs.js';
import { SealedChannel } from '../../../src/rtc/auth/sealed.js';
import { SignalPipe } from '../../../src/rtc/session/signal-pipe.js';
import { defaultSignaling } from '../../../src/rtc/session/signaling.js';
import { RtcError } from '../../../src/errors.js';
import { startServer, uniqueRoom } from '../../helpers/peer.js';

let server: SignalingServer;
const sessions: PeerSession[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const s of sessions) await s.close();
  await server?.close();
});

function options(extra: Partial<PeerSessionOptions>): PeerSessionOptions {
  return {
    ice: { iceServers: [], relayOnly: false, iceAddress: '127.0.0.1' },
    signal: server.signalUrl,
    timeoutMs: 30_000,
    setup: (pc) => void pc.createDataChannel('t', { negotiated: true, id: 7 }),
    ...extra,
  };
}

/** Two connected peers; with `code`, through the code exchange. */
async function pair(code: boolean): Promise<[PeerSession, PeerSession]> {
  if (!code) {
    const room = uniqueRoom('bind');
    const a = connectPeer(options({ room }));
    await new Promise((r) => setTimeout(r, 300));
    const b = connectPeer(options({ room }));
    const both = await Promise.all([a, b]);
    sessions.push(...both);
    return both;
  }
  let resolveCode!: (c: string) => void;
  const codeP = new Promise<string>((r) => (resolveCode = r));
  const a = connectPeer(options({ auth: { create: true }, onEvent: (e) => e.type === 'code' && resolveCode(e.code) }));
  const b = connectPeer(options({ auth: { code: await codeP } }));
  const both = await Promise.all([a, b]);
  sessions.push(...both);
  return both;
}

/** Two sealed pipes between two signaling clients in a fresh room, as a code session has them after the exchange. */
async function sealedPipes(): Promise<[SignalPipe, SignalPipe, () => Promise<void>]> {
  const ac = new AbortController();
  const x = await defaultSignaling(server.signalUrl, undefined, ac.signal);
  const y = await defaultSignaling(server.signalUrl, undefined, ac.signal);
  const room = uniqueRoom('pipes');
  const jx = await x.join(room);
  const jy = await y.join(room);
  const ke = randomBytes(16);
  const fail = (e: unknown): void => {
    throw e;
  };
  const px = new SignalPipe(x, sealedCodec(new SealedChannel(ke, 'joiner')), fail);
  const py = new SignalPipe(y, sealedCodec(new SealedChannel(ke, 'creator')), fail);
  px.lockRemote(jy.id);
  py.lockRemote(jx.id);
  return [px, py, async () => void (await Promise.all([x.close(), y.close()]))];
}

function exporterBytes(pc: RTCPeerConnection): number[] {
  return dtlsExporters(pc).map((e) => Buffer.from(e, 'base64url').length);
}

describe('DTLS channel binding', () => {
  it('a code session is authenticated and both ends export the same 32-byte value', async () => {
    const [a, b] = await pair(true);
    expect(a.authenticated && b.authenticated).toBe(true);
    expect(exporterBytes(a.pc)).toEqual([32]);
    expect(dtlsExporters(a.pc)).toEqual(dtlsExporters(b.pc));
  }, 60_000);

  it('ends of two different DTLS sessions (a man in the middle) differ, and both checks stop with RTC_ERR_PEER_AUTH', async () => {
    const [s1a, s1b] = await pair(false);
    const [, s2b] = await pair(false);
    expect(s1a.authenticated || s1b.authenticated).toBe(false);
    expect(dtlsExporters(s1a.pc)).not.toEqual(dtlsExporters(s2b.pc));

    const [px, py, close] = await sealedPipes();
    try {
      const results = await Promise.allSettled([verifyDtlsBinding(px, s1a.pc), verifyDtlsBinding(py, s2b.pc)]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const err = (r as PromiseRejectedResult).reason as RtcError;
        expect(err).toBeInstanceOf(RtcError);
        expect(err.code).toBe('RTC_ERR_PEER_AUTH');
        expect(err.message).toMatch(/sits in the middle/);
      }
    } finally {
      await close();
    }

    // Control: the two ends of one session pass, and a peer that cannot read its exporter (null) is accepted.
    const [qx, qy, close2] = await sealedPipes();
    try {
      await expect(Promise.all([verifyDtlsBinding(qx, s1a.pc), verifyDtlsBinding(qy, s1b.pc)])).resolves.toBeDefined();
      const browserLike = verifyDtlsBinding(qx, s1a.pc);
      qy.send({ kind: 'dtls-binding', exporters: null });
      await expect(browserLike).resolves.toBeUndefined();
    } finally {
      await close2();
    }
  }, 90_000);
});
