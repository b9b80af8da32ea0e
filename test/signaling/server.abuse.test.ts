// Resource limits that hold under abuse (issue 13 §2), measured with real sockets on port 0: squatters that never
// join, many connections from one address, unfinished fragmented messages, a recipient that never reads, floods of
// bad frames in the log, and token guessing. Each test failed on the server before these limits existed.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerEvent } from '../../src/signaling/server.js';
import { SignalingClient } from '../../src/signaling/client.js';
import { RtcError } from '../../src/errors.js';
import { Raw, barrier, signalingHarness } from './raw.js';

const { cleanup, server, open, joined } = signalingHarness();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A socket that reads nothing more: the kernel buffers fill, and nothing we send is ever acknowledged by a pong. */
function stopReading(raw: Raw): void {
  (raw.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
}
/** First message of a fresh connection (welcome or the refusal sent instead), then its close code. */
async function firstAndClose(url: string, opts: WebSocket.ClientOptions = {}): Promise<{ first: Record<string, unknown>; code: number }> {
  const ws = new WebSocket(url, opts);
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.once('close', (c) => reject(new Error(`closed (${c}) before any message`)));
  });
  const code = await new Promise<number>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve(-1) : ws.once('close', (c) => resolve(c))));
  return { first, code };
}

describe('connections that never join', () => {
  it('are closed after the join timeout (join-timeout, 4408), so squatters cannot lock out --max-connections', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ maxConnections: 10, joinTimeoutMs: 400, onEvent: (e) => events.push(e) });
    // Ten token-less squatters (from another loopback address, so the per-address cap is not what stops them).
    const squatters = await Promise.all(Array.from({ length: 10 }, () => open(s, { localAddress: '127.0.0.2' })));
    // The server is full now...
    await expect(SignalingClient.connect({ url: s.signalUrl, reconnect: false })).rejects.toMatchObject({ code: 'RTC_ERR_SIGNAL_REFUSED' });
    // ...until the squatters' join timeout runs out.
    for (const q of squatters) {
      expect(await q.error('join-timeout', 5000)).toMatchObject({ message: expect.stringMatching(/join/) });
      expect((await q.waitClose(5000)).code).toBe(4408);
    }
    const sc = await SignalingClient.connect({ url: s.signalUrl, reconnect: false });
    cleanup.push(() => sc.close());
    await expect(sc.join('real')).resolves.toMatchObject({ room: 'real', peers: [] });
    expect(events.filter((e) => e.event === 'join-timeout')).toHaveLength(10);
  });

  it('a joined connection is never closed by the join timeout, even after it leaves its room', async () => {
    const s = await server({ joinTimeoutMs: 200 });
    const a = await joined(s, 'stay');
    a.raw.send({ type: 'leave' });
    await a.raw.next('left');
    await sleep(600);
    await barrier(a.raw);
    expect(a.raw.closed).toBeUndefined();
  });
});

describe('connections per address', () => {
  it('caps concurrent connections from one address (too-many-connections, 1013); other addresses and freed slots still work', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ maxConnectionsPerAddress: 3, onEvent: (e) => events.push(e) });
    const held = [await open(s), await open(s), await open(s)];
    const refused = await firstAndClose(s.signalUrl);
    expect(refused.first).toMatchObject({ type: 'error', code: 'too-many-connections', message: expect.stringMatching(/3 connections/) });
    expect(refused.code).toBe(1013);
    expect(events).toContainEqual(expect.objectContaining({ event: 'address-full', address: '127.0.0.1' }));
    // Another address is not affected.
    const other = await open(s, { localAddress: '127.0.0.2' });
    other.send({ type: 'join', room: 'elsewhere' });
    await other.next('joined');
    // A slot freed by a close is counted back (the count does not leak).
    held[0]!.close();
    await held[0]!.waitClose();
    await expect.poll(async () => (await s.stats()).connections).toBe(3);
    const again = await open(s);
    again.send({ type: 'join', room: 'back' });
    await again.next('joined');
  });
});

describe('unfinished fragmented messages', () => {
  it('the bytes all connections hold in unfinished messages stay under maxPendingTotalBytes (excess connections: 1013)', async () => {
    const events: ServerEvent[] = [];
    const budget = 1024 * 1024;
    const s = await server({ maxPendingTotalBytes: budget, maxMessageBytes: 64 * 1024, onEvent: (e) => events.push(e) });
    const conns = await Promise.all(Array.from({ length: 12 }, () => open(s)));
    const fragment = Buffer.alloc(200 * 1024, 0x61);
    // Each starts a text message (FIN=0, RFC 6455 §5.4) and never finishes it.
    for (const c of conns) c.ws.send(fragment, { binary: false, fin: false });
    await expect.poll(() => conns.filter((c) => c.closed).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(12 - Math.floor(budget / fragment.length));
    for (const c of conns.filter((x) => x.closed)) expect(c.closed!.code).toBe(1013);
    const stats = await s.stats();
    expect(stats.pendingBytes).toBeGreaterThan(0);
    expect(stats.pendingBytes).toBeLessThanOrEqual(budget);
    expect(events.some((e) => e.event === 'pending-limit')).toBe(true);
    // Closing the holders gives the budget back; a message sent in fragments then goes through.
    for (const c of conns) c.terminate();
    await expect.poll(async () => (await s.stats()).pendingBytes, { timeout: 10_000 }).toBe(0);
    const a = await joined(s, 'frag');
    const b = await joined(s, 'frag');
    const text = JSON.stringify({ type: 'relay', data: 'z'.repeat(50_000) });
    a.raw.ws.send(text.slice(0, 20_000), { fin: false });
    a.raw.ws.send(text.slice(20_000), { fin: true });
    expect(((await b.raw.next('relay')).data as string).length).toBe(50_000);
  });

  it('one connection may hold at most maxPendingBytes of an unfinished message (1009)', async () => {
    const s = await server({ maxMessageBytes: 32 * 1024, maxPendingBytes: 96 * 1024 });
    const r = await open(s);
    for (let i = 0; i < 3; i++) r.ws.send(Buffer.alloc(40 * 1024, 0x62), { binary: false, fin: false });
    expect((await r.waitClose()).code).toBe(1009);
    // Frames up to the per-connection cap are still answered with too-large, the socket stays open.
    const t = await open(s);
    t.sendText('x'.repeat(80 * 1024));
    await t.error('too-large');
    await barrier(t);
  });
});

describe('a recipient that never reads', () => {
  it('is cut off once its unacknowledged backlog passes maxBufferedBytes, even while the kernel still absorbs it', async () => {
    const events: ServerEvent[] = [];
    const s = await server({
      maxBufferedBytes: 128 * 1024,
      heartbeatIntervalMs: 60_000,
      rateLimit: { perSecond: 10_000, burst: 10_000 },
      onEvent: (e) => events.push(e),
    });
    const a = await joined(s, 'deaf');
    const b = await joined(s, 'deaf');
    await a.raw.next('peer-joined');
    stopReading(b.raw);
    // b keeps talking (so it looks alive) but never reads a byte.
    const chatter = setInterval(() => b.raw.send({ type: 'ping' }), 50);
    cleanup.push(() => clearInterval(chatter));
    const chunk = JSON.stringify({ type: 'relay', data: 'y'.repeat(16 * 1024) });
    // 400 KiB in all: far less than loopback's socket buffers take, so bufferedAmount alone would never notice.
    for (let i = 0; i < 25 && !events.some((e) => e.event === 'slow-consumer'); i++) {
      a.raw.sendText(chunk);
      await barrier(a.raw);
    }
    await expect.poll(() => events.find((e) => e.event === 'slow-consumer'), { timeout: 10_000 }).toMatchObject({ id: b.id });
    const cut = events.find((e) => e.event === 'slow-consumer') as { bufferedBytes: number };
    expect(cut.bufferedBytes).toBeGreaterThan(128 * 1024);
    expect(cut.bufferedBytes).toBeLessThan(128 * 1024 + 2 * chunk.length);
    expect(await a.raw.next('peer-left')).toMatchObject({ id: b.id });
  });

  it('sending messages does not count as alive: only a pong echoing the ping proves the peer reads (RFC 6455 §5.5.3)', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ heartbeatIntervalMs: 300, onEvent: (e) => events.push(e) });
    const live = await joined(s, 'echo');
    const deaf = await joined(s, 'echo');
    await live.raw.next('peer-joined');
    stopReading(deaf.raw);
    const chatter = setInterval(() => {
      deaf.raw.send({ type: 'ping' });
      deaf.raw.ws.pong(Buffer.from('unsolicited')); // a forged pong without reading the ping
    }, 50);
    cleanup.push(() => clearInterval(chatter));
    expect(await live.raw.next('peer-left', 10_000)).toMatchObject({ id: deaf.id });
    expect(events).toContainEqual({ event: 'heartbeat-timeout', id: deaf.id });
    expect(live.raw.closed).toBeUndefined();
  });
});

describe('log volume', () => {
  it('refusals are logged at most logRate per second per connection, with a count of what was left out', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ logRate: 2, rateLimit: { perSecond: 100_000, burst: 100_000 }, onEvent: (e) => events.push(e) });
    const r = await open(s);
    const started = Date.now();
    for (let i = 0; i < 1000; i++) r.sendText('x');
    await barrier(r);
    const seconds = (Date.now() - started) / 1000;
    const refused = events.filter((e) => e.event === 'refused');
    // A burst of 10 × logRate, then logRate per second.
    expect(refused.length).toBeLessThanOrEqual(20 + Math.ceil(seconds * 2) + 1);
    r.close();
    await expect.poll(() => events.find((e) => e.event === 'disconnect')).toBeDefined();
    const logged = refused.length;
    const suppressed = events.reduce((n, e) => n + ('suppressed' in e && typeof e.suppressed === 'number' ? e.suppressed : 0), 0);
    expect(logged + suppressed).toBe(1000);
  });
});

describe('token guessing', () => {
  it('after authFailuresPerMinute wrong tokens an address is throttled (throttled, 4429) without comparing; others are not', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ token: 'the right one', authFailuresPerMinute: 5, onEvent: (e) => events.push(e) });
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await open(s);
      r.send({ type: 'join', room: 'vault', token: `guess-${i}` });
      const m = await r.next('error');
      answers.push(`${m.code as string}/${(await r.waitClose()).code}`);
    }
    expect(answers.slice(0, 5)).toEqual(Array(5).fill('unauthorized/4401'));
    expect(answers.slice(5)).toEqual(Array(15).fill('throttled/4429'));
    // While throttled, even the right token is refused: the answer says nothing about the guess.
    const r = await open(s);
    r.send({ type: 'join', room: 'vault', token: 'the right one' });
    expect(await r.error('throttled')).toMatchObject({ message: expect.stringMatching(/wrong tokens/) });
    // Another address is not affected.
    const ok = await open(s, { localAddress: '127.0.0.2' });
    ok.send({ type: 'join', room: 'vault', token: 'the right one' });
    await ok.next('joined');
    expect(events.filter((e) => e.event === 'throttled').length).toBeGreaterThanOrEqual(1);
  });

  it('the Node client reports a throttled join as RTC_ERR_SIGNAL_AUTH and does not reconnect', async () => {
    const s = await server({ token: 't', authFailuresPerMinute: 1 });
    const bad = await SignalingClient.connect({ url: s.signalUrl, token: 'wrong' });
    cleanup.push(() => bad.close());
    await expect(bad.join('r')).rejects.toMatchObject({ code: 'RTC_ERR_SIGNAL_AUTH' });
    const throttled = await SignalingClient.connect({ url: s.signalUrl, token: 't' });
    cleanup.push(() => throttled.close());
    const err = await throttled.join('r').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtcError);
    expect(err).toMatchObject({ code: 'RTC_ERR_SIGNAL_AUTH', message: expect.stringMatching(/too many wrong tokens/) });
    expect((err as RtcError).hint).toMatch(/minute/);
  });
});
