// The Redis room store against a real redis-server: the RoomStore contract (the same suite as the in-memory store),
// then what only a shared store has: several instances (three stores = three `serve` processes' worth) racing for the
// last place of a room, routing between instances, and the sweep of an instance that stopped refreshing its presence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { RedisRoomStore } from '../../src/signaling/redis-store.js';
import type { LocalDelivery, RoomStoreHost } from '../../src/signaling/rooms.js';
import { roomStoreContract } from './room-store-contract.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

interface Recorded {
  delivered: [string, string][];
  gone: [string, string, string[]][];
  reset: string[];
  states: string[];
}

function host(deliver?: LocalDelivery): RoomStoreHost & Recorded {
  const h: RoomStoreHost & Recorded = {
    delivered: [],
    gone: [],
    reset: [],
    states: [],
    deliverLocal: deliver ?? ((peer, text) => (h.delivered.push([peer, text]), true)),
    peerGone: (room, peer, remaining) => void h.gone.push([room, peer, [...remaining]]),
    resetPeers: (peers) => void h.reset.push(...peers),
    stateChanged: (state) => void h.states.push(state),
  };
  return h;
}

const prefix = (): string => `t${randomBytes(4).toString('hex')}:`;

async function store(p: string, deliver?: LocalDelivery, heartbeatMs = 10_000, url = redis.url): Promise<RedisRoomStore & { rec: Recorded }> {
  const h = host(deliver);
  const s = (await RedisRoomStore.connect({ url, prefix: p, heartbeatMs })).attach(h);
  return Object.assign(s, { rec: h });
}

/** An instance's internals the tests stop from outside (as a frozen event loop or kill -9 would). */
type Innards = { timers: NodeJS.Timeout[]; sub: { disconnect(): void }; cmd: { disconnect(): void }; tickPresence(): Promise<void> };
const innards = (s: RedisRoomStore): Innards => s as unknown as Innards;

/** Stop its timers and connections without cleaning up: as a kill -9 would. */
function kill(s: RedisRoomStore): void {
  const d = innards(s);
  for (const t of d.timers) clearInterval(t);
  d.sub.disconnect();
  d.cmd.disconnect();
}

roomStoreContract('RedisRoomStore (real redis-server)', (deliver) => store(prefix(), deliver));

describe('RedisRoomStore across instances', () => {
  it('three instances, cap 2, three joins at the same instant: exactly one is refused, 50 times over', async () => {
    const p = prefix();
    const stores = await Promise.all([store(p), store(p), store(p)]);
    try {
      for (let i = 0; i < 50; i++) {
        const room = `race-${i}`;
        const results = await Promise.all(stores.map((s, k) => s.join(room, `peer${k}`, 2)));
        expect(results.filter((r) => !r.ok), `round ${i}`).toHaveLength(1);
        expect(Number(redis.cli('ZCARD', `${p}room:${room}`))).toBe(2);
      }
      expect(await stores[0]!.counts()).toEqual({ rooms: 50, peers: 100 });
    } finally {
      for (const s of stores) await s.close();
    }
    // Closing left nothing behind: no room, no presence, no membership set.
    expect(redis.cli('KEYS', `${p}room:*`)).toBe('');
    expect(redis.cli('KEYS', `${p}inst:*`)).toBe('');
    expect(redis.cli('HMGET', `${p}count`, 'rooms', 'peers')).toBe('0\n0');
  });

  it('relays reach a peer on another instance, in order; peer-joined finds the newcomer routable', async () => {
    const p = prefix();
    const a = await store(p);
    const b = await store(p);
    try {
      expect(await a.join('r', 'alice', 2)).toEqual({ ok: true, peers: [] });
      expect(await b.join('r', 'bob', 2)).toEqual({ ok: true, peers: ['alice'] });
      // b's snapshot reached a before anything b sends after it: a routes to bob at once.
      await b.deliver('r', ['alice'], 'peer-joined bob');
      await expect.poll(() => a.rec.delivered).toEqual([['alice', 'peer-joined bob']]);
      expect(await a.members('r')).toEqual(['alice', 'bob']);
      for (let i = 0; i < 100; i++) void a.deliver('r', ['bob'], `m${i}`);
      expect(await a.deliver('r', ['bob'], 'last')).toEqual([]);
      await expect.poll(() => b.rec.delivered.length).toBe(101);
      expect(b.rec.delivered.map(([, t]) => t)).toEqual([...Array.from({ length: 100 }, (_, i) => `m${i}`), 'last']);
      // bob leaves: alice's instance hears it (peer-left announced there) and forgets bob.
      expect(await b.leave('r', 'bob')).toEqual([]);
      await expect.poll(() => a.rec.gone).toEqual([['r', 'bob', ['alice']]]);
      expect(await a.members('r')).toEqual(['alice']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a relay to an instance that is gone is reported undelivered (never a silent loss)', async () => {
    const p = prefix();
    const a = await store(p);
    const b = await store(p);
    await a.join('r', 'alice', 2);
    await b.join('r', 'bob', 2);
    await expect.poll(() => a.members('r')).toEqual(['alice', 'bob']);
    // b vanishes without a word (its connections dropped, its presence still valid).
    innards(b).sub.disconnect();
    innards(b).cmd.disconnect();
    expect(await a.deliver('r', ['alice', 'bob'], 'hello')).toEqual(['bob']);
    await a.close();
  });

  it('an instance declared dead while alive (it could not refresh in time) starts over: new id, its clients asked to reconnect', async () => {
    const p = prefix();
    const alive = await store(p, undefined, 1000);
    const stalled = await store(p, undefined, 1000);
    await alive.join('r', 'alice', 2);
    await stalled.join('r', 'bob', 2);
    const s = innards(stalled);
    for (const t of s.timers) clearInterval(t); // an event loop stuck for longer than the TTL
    await expect.poll(() => alive.rec.gone, { timeout: 5000, interval: 20 }).toEqual([['r', 'bob', ['alice']]]);
    const oldId = stalled.instanceId;
    await s.tickPresence(); // it wakes up: its refresh finds the tombstone
    expect(stalled.rec.reset).toEqual(['bob']);
    expect(stalled.instanceId).not.toBe(oldId);
    expect(await stalled.members('r')).toEqual([]);
    // Its clients join again (as the reconnecting bob would) and everything is consistent.
    expect(await stalled.join('r', 'bob2', 2)).toEqual({ ok: true, peers: ['alice'] });
    await expect.poll(() => alive.members('r')).toEqual(['alice', 'bob2']);
    await alive.close();
    await stalled.close();
  });

  it('an instance that stops refreshing its presence is swept: its peers leave, the others hear it, the counts go down', async () => {
    const p = prefix();
    const alive = await store(p, undefined, 1000);
    const doomed = await store(p, undefined, 1000);
    await alive.join('r', 'alice', 2);
    await doomed.join('r', 'bob', 2);
    const t0 = Date.now();
    kill(doomed);
    await expect.poll(() => alive.rec.gone, { timeout: 5000, interval: 20 }).toEqual([['r', 'bob', ['alice']]]);
    // Within 2 heartbeat intervals (the presence TTL is one interval; the sweep runs four times per interval).
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await alive.counts()).toEqual({ rooms: 1, peers: 1 });
    expect(await alive.members('r')).toEqual(['alice']);
    expect(redis.cli('EXISTS', `${p}reaped:${doomed.instanceId}`)).toBe('1');
    await alive.close();
  });
});

describe('RedisRoomStore when Redis restarts empty', () => {
  it('members of live instances stay routable while they are restored; those of an instance that died meanwhile leave once', async () => {
    const own = await startRedis(); // it is stopped and restarted here: not the shared one
    const stores: RedisRoomStore[] = [];
    try {
      const p = prefix();
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => store(p, undefined, 1000, own.url)));
      stores.push(a!, b!);
      await a!.join('r', 'alice', 3);
      await b!.join('r', 'bob', 3);
      await c!.join('r', 'carol', 3);
      await expect.poll(() => a!.members('r')).toEqual(['alice', 'bob', 'carol']);
      await own.stop();
      await expect.poll(() => a!.health().state, { timeout: 5000 }).toBe('degraded');
      kill(c!); // dies while Redis is away: nobody will ever restore carol
      await own.start();
      await expect.poll(() => a!.health().state, { timeout: 10_000 }).toBe('ok');
      await expect.poll(() => b!.health().state, { timeout: 10_000 }).toBe('ok');
      // Whoever was restored first still routes to the other live member (no relay to nobody meanwhile).
      expect(await a!.deliver('r', ['bob'], 'still there')).toEqual([]);
      await expect.poll(() => b!.rec.delivered).toContainEqual(['bob', 'still there']);
      // carol: peer-left once on each live instance, within the grace (one TTL) plus a sweep.
      await expect.poll(() => a!.rec.gone, { timeout: 5000, interval: 50 }).toEqual([['r', 'carol', ['alice']]]);
      await expect.poll(() => b!.rec.gone, { timeout: 5000, interval: 50 }).toEqual([['r', 'carol', ['bob']]]);
      expect(await a!.members('r')).toEqual(['alice', 'bob']);
      expect(await b!.members('r')).toEqual(['alice', 'bob']);
      expect(own.cli('ZRANGE', `${p}room:r`, '0', '-1').split('\n').map((m) => m.split(' ')[0])).toEqual(['alice', 'bob']);
      // No second peer-left later (a sweep must not find carol again).
      await new Promise((r) => setTimeout(r, 1500));
      expect(a!.rec.gone).toHaveLength(1);
      expect(b!.rec.gone).toHaveLength(1);
    } finally {
      for (const s of stores) await s.close();
      await own.close();
    }
  });
});
