// Isolation between rooms under many concurrent clients: 200 clients in 100 rooms all relay at once; every message
// arrives at exactly its room-mate, nothing crosses rooms, nothing is lost or duplicated.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/server.js';
import { Raw, barrier } from './raw.js';

const ROOMS = 100;
const PER_CLIENT = 5;
let server: SignalingServer;
const all: Raw[] = [];

beforeAll(async () => {
  // Every client comes from 127.0.0.1: raise the per-address cap (default 100) above the 200 used here.
  server = await startSignalingServer({ port: 0, webRoot: null, maxConnectionsPerAddress: 1000 });
});
afterAll(async () => {
  for (const r of all) r.terminate();
  await server.close();
});

it('200 clients in 100 rooms: every relay reaches its room-mate only', async () => {
  const pairs: { room: string; a: Raw; aId: string; b: Raw; bId: string }[] = [];
  // Join concurrently, room by room in parallel batches.
  await Promise.all(
    Array.from({ length: ROOMS }, async (_, i) => {
      const room = `iso-${i}`;
      const a = await Raw.joined(server.signalUrl, room);
      all.push(a.raw);
      const b = await Raw.joined(server.signalUrl, room);
      all.push(b.raw);
      expect(b.joined.peers).toEqual([a.joined.id]);
      pairs.push({ room, a: a.raw, aId: a.joined.id as string, b: b.raw, bId: b.joined.id as string });
    }),
  );
  expect(await server.stats()).toMatchObject({ connections: 2 * ROOMS, rooms: ROOMS, peersInRooms: 2 * ROOMS });

  // Everyone sends at once: half room-wide, half targeted, and a targeted attempt at another room's peer.
  for (const [i, p] of pairs.entries()) {
    const other = pairs[(i + 1) % pairs.length];
    for (let n = 0; n < PER_CLIENT; n++) {
      p.a.send({ type: 'relay', data: { room: p.room, from: 'a', n } });
      p.b.send({ type: 'relay', to: p.aId, data: { room: p.room, from: 'b', n } });
    }
    p.a.send({ type: 'relay', to: other.bId, data: { room: p.room, cross: true } });
  }
  // A ping round trip on every socket after its sends proves the server processed them (FIFO per connection).
  await Promise.all(pairs.flatMap((p) => [barrier(p.a), barrier(p.b)]));
  // Deliveries to the receivers happen in the same server turn as the send: a second barrier round flushes them.
  await Promise.all(pairs.flatMap((p) => [barrier(p.a), barrier(p.b)]));

  for (const p of pairs) {
    const toA = p.a.drain();
    const toB = p.b.drain();
    const relA = toA.filter((m) => m.type === 'relay');
    const relB = toB.filter((m) => m.type === 'relay');
    expect(relB.map((m) => m.data)).toEqual(Array.from({ length: PER_CLIENT }, (_, n) => ({ room: p.room, from: 'a', n })));
    expect(relA.map((m) => m.data)).toEqual(Array.from({ length: PER_CLIENT }, (_, n) => ({ room: p.room, from: 'b', n })));
    for (const m of [...relA, ...relB]) expect(m.room).toBe(p.room);
    expect(relB.every((m) => m.from === p.aId)).toBe(true);
    expect(relA.every((m) => m.from === p.bId)).toBe(true);
    // The cross-room attempt was refused to the sender and delivered nowhere.
    expect(toA.filter((m) => m.type === 'error').map((m) => m.code)).toEqual(['unknown-peer']);
  }
});
