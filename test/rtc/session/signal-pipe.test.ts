/**
 * The relayed-message path of room negotiation (src/rtc/session/signal-pipe.ts), between two real signaling clients
 * through a real server: messages are kept until someone asks for them, decoded with the codec in force at that
 * moment, routed kinds go to their handler, and other peers are ignored once the remote is known.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { SignalingServer } from '../../../src/signaling/server.js';
import { plainCodec, SignalPipe, type Relayed } from '../../../src/rtc/session/signal-pipe.js';
import { defaultSignaling } from '../../../src/rtc/session/signaling.js';
import type { PeerSignaling } from '../../../src/rtc/session/types.js';
import { exchangeCodec, sealedCodec } from '../../../src/rtc/auth/codecs.js';
import { SealedChannel } from '../../../src/rtc/auth/sealed.js';
import { startSignalingServer } from '../../../src/signaling/server.js';
import { uniqueRoom } from '../../helpers/peer.js';

let server: SignalingServer;
const open: PeerSignaling[] = [];

beforeAll(async () => {
  // Rooms of three: one test needs a third peer in the room.
  server = await startSignalingServer({ host: '127.0.0.1', port: 0, webRoot: null, roomSize: 3 });
});

afterAll(async () => {
  for (const s of open) await s.close();
  await server?.close();
});

async function clients(count: number): Promise<{ sig: PeerSignaling; id: string }[]> {
  const room = uniqueRoom('pipe');
  const out: { sig: PeerSignaling; id: string }[] = [];
  for (let i = 0; i < count; i++) {
    const sig = await defaultSignaling(server.signalUrl, undefined, new AbortController().signal);
    open.push(sig);
    out.push({ sig, id: (await sig.join(room)).id });
  }
  return out;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

describe('SignalPipe', () => {
  it('opens a sealed offer that arrived right behind the key confirmation with the codec switched to afterwards', async () => {
    const [joiner, creator] = await clients(2);
    const ke = randomBytes(16);
    const errors: unknown[] = [];
    const pipe = new SignalPipe(creator!.sig, exchangeCodec, (e) => errors.push(e));
    const sealer = new SealedChannel(ke, 'joiner');
    // Both arrive before the creator asks for either: the offer must not be decoded by the exchange codec.
    joiner!.sig.send(creator!.id, { kind: 'auth-confirm', cA: 'x' });
    joiner!.sig.send(creator!.id, sealer.seal({ kind: 'offer', sdp: 'v=0 sealed' }));
    await settle();
    const confirm = await pipe.next(['auth-confirm']);
    expect(confirm.msg.kind).toBe('auth-confirm');
    pipe.setCodec(sealedCodec(new SealedChannel(ke, 'creator')));
    const offer = await pipe.next<{ kind: 'offer'; sdp: string }>(['offer']);
    expect(offer.msg).toEqual({ kind: 'offer', sdp: 'v=0 sealed' });
    expect(errors).toEqual([]);
  });

  it('routes candidates and bye as they come, keeps the rest for next(), and ignores others once locked', async () => {
    const [a, b, c] = await clients(3);
    const pipe = new SignalPipe(a!.sig, plainCodec, (e) => {
      throw e;
    });
    const routed: Relayed[] = [];
    b!.sig.send(a!.id, { kind: 'candidate', candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' });
    b!.sig.send(a!.id, { kind: 'answer', sdp: 'v=0 b' });
    await settle();
    pipe.lockRemote(b!.id);
    c!.sig.send(a!.id, { kind: 'answer', sdp: 'v=0 c' }); // another peer in the room: ignored
    c!.sig.send(a!.id, { kind: 'candidate', candidate: 'candidate:2 1 udp 1 192.0.2.2 1 typ host' });
    b!.sig.send(a!.id, { kind: 'surprise' }); // an unknown kind: ignored
    b!.sig.send(a!.id, { kind: 'bye' });
    await settle();
    pipe.route(['candidate', 'bye'], (m) => routed.push(m));
    const answer = await pipe.next<{ kind: 'answer'; sdp: string }>(['answer']);
    expect(answer).toEqual({ from: b!.id, msg: { kind: 'answer', sdp: 'v=0 b' } });
    expect(routed.map((m) => [m.from, m.msg.kind])).toEqual([
      [b!.id, 'candidate'],
      [b!.id, 'bye'],
    ]);
  });

  it('a payload the codec refuses ends the attempt (onFatal), once', async () => {
    const [joiner, creator] = await clients(2);
    const errors: unknown[] = [];
    const pipe = new SignalPipe(creator!.sig, exchangeCodec, (e) => errors.push(e));
    joiner!.sig.send(creator!.id, { kind: 'offer', sdp: 'v=0 plain' });
    joiner!.sig.send(creator!.id, { kind: 'offer', sdp: 'v=0 plain again' });
    void pipe.next(['auth-hello']);
    await settle();
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toMatch(/unauthenticated offer/);
  });
});
