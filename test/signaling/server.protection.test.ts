// Every malformed or refused input gets an `error` reply with a stable code and the server keeps serving
// (docs/signaling-protocol.md "Errors" and "Limits"). Real sockets on port 0.
import { describe, expect, it } from 'vitest';
import { connect as tcpConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { ServerEvent, SignalingServer } from '../../src/signaling/server.js';
import { Raw, barrier, signalingHarness } from './raw.js';

const { cleanup, server, open, joined } = signalingHarness();

/** The server still does its job: a fresh pair can join and relay. */
async function stillServes(s: SignalingServer): Promise<void> {
  const room = `alive-${randomBytes(4).toString('hex')}`;
  const a = await joined(s, room);
  const b = await joined(s, room);
  a.raw.send({ type: 'relay', data: 'ok' });
  expect((await b.raw.next('relay')).data).toBe('ok');
}

describe('malformed input', () => {
  it('invalid JSON → bad-json; non-objects and missing type → bad-message; unknown type → unknown-type', async () => {
    const s = await server();
    const r = await open(s);
    for (const text of ['{', 'not json', '{"type":', '\u0000', '']) {
      r.sendText(text);
      expect(await r.error('bad-json')).toMatchObject({ type: 'error', message: expect.any(String) });
    }
    for (const text of ['[]', '42', '"join"', 'null', 'true', '{}', '{"type":5}', '{"type":null}', '{"__proto__":{"type":"join"}}']) {
      r.sendText(text);
      await r.error('bad-message');
    }
    r.send({ type: 'hack', room: 'x' });
    expect(await r.error('unknown-type')).toMatchObject({ ref: 'hack' });
    r.send({ type: 'join', room: 'r', token: 7 });
    expect(await r.error('bad-message')).toMatchObject({ ref: 'join' });
    await stillServes(s);
  });

  it('binary frames → bad-message, the socket stays usable', async () => {
    const s = await server();
    const r = await open(s);
    r.sendText(Buffer.from(JSON.stringify({ type: 'join', room: 'bin' })), true);
    expect((await r.error('bad-message')).message).toMatch(/binary/);
    r.send({ type: 'join', room: 'bin' });
    await r.next('joined');
  });

  it('bad room names → bad-room', async () => {
    const s = await server();
    const r = await open(s);
    for (const room of ['', 'a'.repeat(65), 'a b', '../etc', 'caf\u00e9', 'x/y', 'room\n', 42, null, ['r']]) {
      r.send({ type: 'join', room });
      expect(await r.error('bad-room')).toMatchObject({ ref: 'join' });
    }
    r.send({ type: 'join' });
    await r.error('bad-room');
    r.send({ type: 'join', room: 'A-z_0.9' + 'a'.repeat(57) });
    expect(await r.next('joined')).toMatchObject({ room: 'A-z_0.9' + 'a'.repeat(57) });
    r.send({ type: 'relay', data: 1, room: 'bad room' });
    await r.error('bad-room');
  });

  it('messages before join → not-joined', async () => {
    const s = await server();
    const r = await open(s);
    r.send({ type: 'relay', data: { sdp: 'x' } });
    expect(await r.error('not-joined')).toMatchObject({ ref: 'relay' });
    r.send({ type: 'relay', to: 'someone', data: 1 });
    await r.error('not-joined');
    r.send({ type: 'leave' });
    expect(await r.error('not-joined')).toMatchObject({ ref: 'leave' });
    r.send({ type: 'relay' });
    expect(await r.error('bad-message')).toMatchObject({ ref: 'relay' });
  });

  it('prototype-pollution keys are inert data', async () => {
    const s = await server();
    const a = await joined(s, 'proto');
    const b = await joined(s, 'proto');
    a.raw.sendText('{"type":"relay","__proto__":{"to":"nobody","isAdmin":true},"constructor":{"prototype":{"polluted":1}},"data":{"__proto__":{"polluted":true},"x":1}}');
    const m = await b.raw.next('relay');
    expect(Object.prototype.hasOwnProperty.call(m.data, '__proto__')).toBe(true);
    expect((m.data as { x: number }).x).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    a.raw.sendText('{"type":"join","room":"other","__proto__":{"room":"proto"}}');
    await a.raw.error('too-many-rooms');
  });

  it('oversize messages → too-large (socket usable); frames past the hard cap are closed with 1009; the server survives', async () => {
    const s = await server({ maxMessageBytes: 1024 });
    const a = await joined(s, 'big');
    const b = await joined(s, 'big');
    a.raw.send({ type: 'relay', data: 'x'.repeat(2000) });
    expect(await a.raw.error('too-large')).toMatchObject({ message: expect.stringMatching(/1024/) });
    a.raw.send({ type: 'relay', data: 'small' });
    expect((await b.raw.next('relay')).data).toBe('small');
    // 4× maxMessageBytes (at least 64 KiB) is the hard cap: ws refuses the frame from its header.
    a.raw.sendText('x'.repeat(200_000));
    expect((await a.raw.waitClose()).code).toBe(1009);
    expect(await b.raw.next('peer-left')).toMatchObject({ id: a.id });
    await stillServes(s);
  });

  it('a huge announced frame length and garbage bytes do not hurt the server', async () => {
    const s = await server();
    // A masked text frame header announcing 2^62 bytes.
    const ws = new WebSocket(s.signalUrl);
    await new Promise((r) => ws.once('message', r));
    const sock = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    sock.write(Buffer.from([0x81, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    await new Promise<void>((resolve) => ws.once('close', () => resolve()));
    // Plain TCP garbage on the HTTP port.
    const t = tcpConnect(s.port, '127.0.0.1');
    await new Promise((r) => t.once('connect', r));
    t.write(randomBytes(4096));
    await new Promise<void>((resolve) => {
      t.on('close', () => resolve());
      t.on('error', () => resolve());
      t.resume();
    });
    // Invalid UTF-8 in a text frame (RFC 6455 §8.1): ws closes with 1007.
    const r = await open(s);
    r.sendText(Buffer.from([0xc3, 0x28]));
    expect((await r.waitClose()).code).toBe(1007);
    await stillServes(s);
  });
});

describe('limits', () => {
  it('flooding → rate-limited (once per second), then a persistent flooder is cut off', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ rateLimit: { perSecond: 5, burst: 10 }, onEvent: (e) => events.push(e) });
    const a = await joined(s, 'flood');
    const b = await joined(s, 'flood');
    for (let i = 0; i < 50; i++) a.raw.send({ type: 'relay', data: i });
    expect(await a.raw.error('rate-limited')).toMatchObject({ message: expect.stringMatching(/5 messages\/s/) });
    // At most burst (10) minus the join got through before the limiter kicked in, plus the trickle of the refill.
    await new Promise((r) => setTimeout(r, 300));
    const delivered = b.raw.drain().filter((m) => m.type === 'relay').length;
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(delivered).toBeLessThan(30);
    expect(a.raw.drain().filter((m) => m.type === 'error' && m.code === 'rate-limited').length).toBeLessThanOrEqual(1);
    // Keep flooding far past being told: the server closes with 1008 (policy violation).
    for (let i = 0; i < 1500; i++) a.raw.sendText('{"type":"ping"}');
    expect((await a.raw.waitClose()).code).toBe(1008);
    expect(events.some((e) => e.event === 'refused' && e.code === 'rate-limited')).toBe(true);
  });

  it('rooms per connection: too-many-rooms, already-joined, and `room` disambiguates relay/leave', async () => {
    const s = await server({ maxRoomsPerConnection: 2, roomSize: 4 });
    const r = await open(s);
    r.send({ type: 'join', room: 'one' });
    const j1 = await r.next('joined');
    r.send({ type: 'join', room: 'one' });
    expect(await r.error('already-joined')).toMatchObject({ room: 'one' });
    r.send({ type: 'join', room: 'two' });
    const j2 = await r.next('joined');
    expect(j2.id).toBe(j1.id);
    r.send({ type: 'join', room: 'three' });
    expect(await r.error('too-many-rooms')).toMatchObject({ ref: 'join', room: 'three' });
    const inTwo = await joined(s, 'two');
    const inOne = await joined(s, 'one');
    r.send({ type: 'relay', data: 'which?' });
    expect((await r.error('bad-message')).message).toMatch(/several rooms/);
    r.send({ type: 'relay', room: 'two', data: 'to two' });
    expect(await inTwo.raw.next('relay')).toMatchObject({ room: 'two', data: 'to two' });
    r.send({ type: 'relay', room: 'three', data: 'x' });
    await r.error('not-joined');
    r.send({ type: 'leave', room: 'one' });
    expect(await r.next('left')).toEqual({ type: 'left', room: 'one' });
    expect(await inOne.raw.next('peer-left')).toMatchObject({ room: 'one', id: j1.id });
    await barrier(inOne.raw);
    expect(inOne.raw.drain().filter((m) => m.type === 'relay')).toEqual([]);
  });

  it('maxConnections → server-full and close 1013', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ maxConnections: 2, onEvent: (e) => events.push(e) });
    await open(s);
    await open(s);
    const ws = new WebSocket(s.signalUrl);
    cleanup.push(() => ws.terminate());
    const first = await new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
    expect(first).toMatchObject({ type: 'error', code: 'server-full' });
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1013);
    expect(events.some((e) => e.event === 'server-full')).toBe(true);
  });

  it('a recipient that stops reading is cut off (slow-consumer) instead of buffering without bound', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ maxBufferedBytes: 64 * 1024, maxMessageBytes: 128 * 1024, rateLimit: { perSecond: 10_000, burst: 10_000 }, onEvent: (e) => events.push(e) });
    const a = await joined(s, 'slow');
    const b = await joined(s, 'slow');
    await a.raw.next('peer-joined');
    // b stops reading from its TCP socket: the kernel buffers fill, then ws's send buffer grows on the server.
    (b.raw.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const chunk = JSON.stringify({ type: 'relay', data: 'y'.repeat(100_000) });
    for (let i = 0; i < 400 && !events.some((e) => e.event === 'slow-consumer'); i++) {
      a.raw.sendText(chunk);
      if (i % 20 === 19) await barrier(a.raw);
    }
    await expect.poll(() => events.some((e) => e.event === 'slow-consumer'), { timeout: 20_000 }).toBe(true);
    expect(await a.raw.next('peer-left', 20_000)).toMatchObject({ id: b.id });
  });
});

describe('token auth', () => {
  it('join without or with a wrong token → unauthorized + close 4401; the right token joins', async () => {
    const s = await server({ token: 'correct horse' });
    const r1 = await Raw.open(s.signalUrl);
    cleanup.push(() => r1.raw.terminate());
    expect(r1.welcome.auth).toBe(true);
    r1.raw.send({ type: 'relay', data: 1 });
    await r1.raw.error('not-joined');
    r1.raw.send({ type: 'join', room: 'sec' });
    expect(await r1.raw.error('unauthorized')).toMatchObject({ ref: 'join' });
    expect((await r1.raw.waitClose()).code).toBe(4401);

    const r2 = await open(s);
    r2.send({ type: 'join', room: 'sec', token: 'correct horsE' });
    await r2.error('unauthorized');
    expect((await r2.waitClose()).code).toBe(4401);

    const r3 = await open(s);
    r3.send({ type: 'join', room: 'sec', token: 'x'.repeat(5000) });
    await r3.error('unauthorized');

    const ok = await Raw.joined(s.signalUrl, 'sec', { token: 'correct horse' });
    cleanup.push(() => ok.raw.terminate());
    expect(ok.joined).toMatchObject({ room: 'sec', peers: [] });
  });
});

describe('heartbeat', () => {
  it('drops a peer that stops answering pings (peer-left), keeps one that answers', async () => {
    const events: ServerEvent[] = [];
    // 400 ms: short for the test, long enough that a loaded machine does not starve the answering client's pong.
    const s = await server({ heartbeatIntervalMs: 400, onEvent: (e) => events.push(e) });
    const live = await joined(s, 'hb');
    // A client whose WebSocket layer never answers pings: a vanished phone, a frozen tab.
    const ws = new WebSocket(s.signalUrl, { autoPong: false });
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once('message', r));
    ws.send(JSON.stringify({ type: 'join', room: 'hb' }));
    const joinedMsg = await new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
    expect(joinedMsg.type).toBe('joined');
    expect(await live.raw.next('peer-joined')).toMatchObject({ id: joinedMsg.id });
    // Gone within two intervals (+ scheduling slack on a loaded machine).
    expect(await live.raw.next('peer-left', 15_000)).toMatchObject({ id: joinedMsg.id });
    expect(events).toContainEqual({ event: 'heartbeat-timeout', id: joinedMsg.id });
    // The answering peer survived many intervals.
    expect(live.raw.closed).toBeUndefined();
    await barrier(live.raw);
  });
});
