// Room semantics and relay of the signaling server (docs/signaling-protocol.md), over real sockets on port 0.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingServer, type ServerEvent, type SignalingServer } from '../../src/signaling/server.js';
import { Raw, barrier } from './raw.js';

let server: SignalingServer;
const events: ServerEvent[] = [];
const open: Raw[] = [];

async function joined(room: string): Promise<{ raw: Raw; id: string; peers: string[] }> {
  const { raw, joined } = await Raw.joined(server.signalUrl, room);
  open.push(raw);
  return { raw, id: joined.id as string, peers: joined.peers as string[] };
}

beforeAll(async () => {
  server = await startSignalingServer({ port: 0, roomSize: 3, onEvent: (e) => events.push(e) });
});
afterEach(() => {
  for (const r of open.splice(0)) r.terminate();
});
afterAll(async () => {
  await server.close();
});

describe('rooms', () => {
  it('welcomes with the protocol version and limits', async () => {
    const { raw, welcome } = await Raw.open(server.signalUrl);
    open.push(raw);
    expect(welcome).toMatchObject({ type: 'welcome', v: 1, auth: false, maxMessageBytes: 65536, maxRooms: 1 });
    expect(server.signalUrl).toBe(`ws://127.0.0.1:${server.port}/ws`);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
  });

  it('assigns ids, lists existing peers oldest first, tells others about joins', async () => {
    const a = await joined('r1');
    expect(a.peers).toEqual([]);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    const b = await joined('r1');
    expect(b.peers).toEqual([a.id]);
    expect(await a.raw.next('peer-joined')).toEqual({ type: 'peer-joined', room: 'r1', id: b.id });
    const c = await joined('r1');
    expect(c.peers).toEqual([a.id, b.id]);
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect((await b.raw.next('peer-joined')).id).toBe(c.id);
    expect((await a.raw.next('peer-joined')).id).toBe(c.id);
  });

  it('answers full when the room holds roomSize peers, and the socket stays usable', async () => {
    await joined('cap');
    await joined('cap');
    await joined('cap');
    const { raw } = await Raw.open(server.signalUrl);
    open.push(raw);
    raw.send({ type: 'join', room: 'cap' });
    expect(await raw.next('full')).toEqual({ type: 'full', room: 'cap', size: 3 });
    // Still usable: join another room on the same socket.
    raw.send({ type: 'join', room: 'cap2' });
    expect(await raw.next('joined')).toMatchObject({ room: 'cap2', peers: [] });
    expect(events).toContainEqual(expect.objectContaining({ event: 'full', room: 'cap' }));
  });

  it('leave answers left, others get peer-left, and the slot is free again', async () => {
    const a = await joined('lv');
    const b = await joined('lv');
    await a.raw.next('peer-joined');
    b.raw.send({ type: 'leave' });
    expect(await b.raw.next('left')).toEqual({ type: 'left', room: 'lv' });
    expect(await a.raw.next('peer-left')).toEqual({ type: 'peer-left', room: 'lv', id: b.id });
    // b may join again (a new membership, same connection id).
    b.raw.send({ type: 'join', room: 'lv' });
    expect(await b.raw.next('joined')).toMatchObject({ room: 'lv', id: b.id, peers: [a.id] });
  });

  it('a disconnect produces peer-left', async () => {
    const a = await joined('dc');
    const b = await joined('dc');
    await a.raw.next('peer-joined');
    b.raw.terminate();
    expect(await a.raw.next('peer-left')).toEqual({ type: 'peer-left', room: 'dc', id: b.id });
    const c = await joined('dc');
    expect(c.peers).toEqual([a.id]);
  });

  it('an empty room is forgotten: the room count goes back to 0, a rejoin gets a fresh room, the cap does not leak', async () => {
    // A server of its own, so the counts are exactly this test's.
    const s = await startSignalingServer({ port: 0, webRoot: null, roomSize: 2, rateLimit: { perSecond: 10_000, burst: 10_000 } });
    try {
      const health = async (): Promise<{ rooms: number; peersInRooms: number }> => (await (await fetch(`${s.url}healthz`)).json()) as { rooms: number; peersInRooms: number };
      const a = await Raw.joined(s.signalUrl, 'gone');
      const b = await Raw.joined(s.signalUrl, 'gone');
      expect(await health()).toMatchObject({ rooms: 1, peersInRooms: 2 });
      // One leaves, one disconnects: both ways of emptying a room.
      a.raw.send({ type: 'leave' });
      await a.raw.next('left');
      expect(await health()).toMatchObject({ rooms: 1, peersInRooms: 1 });
      b.raw.terminate();
      await expect.poll(health).toMatchObject({ rooms: 0, peersInRooms: 0 });
      // Rejoin: a fresh room with nobody in it, and room for two again.
      a.raw.send({ type: 'join', room: 'gone' });
      expect(await a.raw.next('joined')).toMatchObject({ room: 'gone', peers: [] });
      const c = await Raw.joined(s.signalUrl, 'gone');
      expect(c.joined.peers).toEqual([a.joined.id]);
      a.raw.terminate();
      c.raw.terminate();
      // Many rooms come and go; none is kept.
      const r = await Raw.open(s.signalUrl);
      for (let i = 0; i < 200; i++) {
        r.raw.send({ type: 'join', room: `churn-${i}` });
        await r.raw.next('joined');
        r.raw.send({ type: 'leave' });
        await r.raw.next('left');
      }
      await expect.poll(health).toMatchObject({ rooms: 0, peersInRooms: 0 });
      expect(await s.stats()).toMatchObject({ rooms: 0, peersInRooms: 0, connections: 1 });
      r.raw.terminate();
    } finally {
      await s.close();
    }
  });
});

describe('relay', () => {
  it('without `to` reaches every other member of the room, not the sender', async () => {
    const a = await joined('rw');
    const b = await joined('rw');
    const c = await joined('rw');
    const data = { sdp: 'v=0\r\n', nested: [1, 'two', null] };
    a.raw.send({ type: 'relay', data });
    for (const r of [b, c]) {
      const m = await r.raw.next('relay');
      expect(m).toMatchObject({ type: 'relay', room: 'rw', from: a.id });
      expect((m.data as Record<string, unknown>).sdp).toBe('v=0\r\n');
      expect((m.data as Record<string, unknown>).nested).toEqual([1, 'two', null]);
    }
    await barrier(a.raw);
    expect(a.raw.drain().filter((m) => m.type === 'relay')).toEqual([]);
  });

  it('with `to` reaches only that peer', async () => {
    const a = await joined('rt');
    const b = await joined('rt');
    const c = await joined('rt');
    a.raw.send({ type: 'relay', to: c.id, data: { candidate: 'x' } });
    expect(await c.raw.next('relay')).toEqual({ type: 'relay', room: 'rt', from: a.id, data: { candidate: 'x' } });
    await barrier(b.raw);
    await barrier(a.raw);
    expect(b.raw.drain().filter((m) => m.type === 'relay')).toEqual([]);
  });

  it('refuses `to` a peer in another room (unknown-peer) and delivers nothing there', async () => {
    const a = await joined('iso1');
    const x = await joined('iso2');
    a.raw.send({ type: 'relay', to: x.id, data: 'secret' });
    expect(await a.raw.error('unknown-peer')).toMatchObject({ ref: 'relay', room: 'iso1' });
    a.raw.send({ type: 'relay', to: a.id, data: 'self' });
    await a.raw.error('unknown-peer');
    await barrier(x.raw);
    expect(x.raw.drain().filter((m) => m.type === 'relay')).toEqual([]);
  });

  it('relays arbitrary JSON values as data (string, number, null, array)', async () => {
    const a = await joined('vals');
    const b = await joined('vals');
    for (const data of ['s', 42, null, [1, { a: 2 }], false]) {
      a.raw.send({ type: 'relay', data });
      expect((await b.raw.next('relay')).data).toEqual(data);
    }
  });
});
