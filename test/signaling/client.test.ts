// The typed SignalingClient (src/signaling/client.ts) against the real server on port 0.
import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { SignalingClient } from '../../src/signaling/client.js';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/server.js';
import { RtcError } from '../../src/errors.js';
import { WebSocketServer } from 'ws';
import type { JoinResult, RelayedMessage } from '../../src/signaling/types.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(opts: Parameters<typeof startSignalingServer>[0] = {}): Promise<SignalingServer> {
  const s = await startSignalingServer({ port: 0, ...opts });
  cleanup.push(() => s.close());
  return s;
}

async function client(url: string, extra: Partial<Parameters<typeof SignalingClient.connect>[0]> = {}): Promise<SignalingClient> {
  const c = await SignalingClient.connect({ url, ...extra });
  cleanup.push(() => c.close());
  return c;
}

function nextEvent<T>(emitter: SignalingClient, event: string, timeoutMs = 15_000): Promise<T> {
  return once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) }).then((args) => args[0] as T);
}

async function rejection(p: Promise<unknown>): Promise<RtcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RtcError);
    return e as RtcError;
  }
  throw new Error('expected a rejection');
}

/** A port nothing listens on (bound then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP server that accepts and never answers (no HTTP upgrade, no welcome). */
async function silentServer(): Promise<number> {
  const sockets: Socket[] = [];
  const silent = createServer((sock) => {
    sockets.push(sock);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        silent.close(() => r());
      }),
  );
  return (silent.address() as { port: number }).port;
}

describe('SignalingClient', () => {
  it('joins, sees peers, relays targeted and room-wide, and leaves', async () => {
    const s = await server();
    const a = await client(s.signalUrl);
    const b = await client(s.signalUrl);
    const ja = await a.join('room1');
    expect(ja).toEqual({ id: a.id, room: 'room1', peers: [] });
    expect(a.room).toBe('room1');
    const joinedA = nextEvent<string>(a, 'peer-joined');
    const jb = await b.join('room1');
    expect(jb.peers).toEqual([ja.id]);
    expect(await joinedA).toBe(jb.id);

    const gotB = nextEvent<RelayedMessage>(b, 'message');
    a.send({ type: 'offer', sdp: 'v=0' }, jb.id);
    expect(await gotB).toEqual({ from: ja.id, data: { type: 'offer', sdp: 'v=0' } });
    const gotA = nextEvent<RelayedMessage>(a, 'message');
    b.send('hello room');
    expect(await gotA).toEqual({ from: jb.id, data: 'hello room' });

    const leftA = nextEvent<string>(a, 'peer-left');
    await b.leave();
    expect(b.room).toBeUndefined();
    expect(await leftA).toBe(jb.id);
  });

  it('rejects RTC_ERR_SIGNAL_CONNECT with a hint when nothing listens', async () => {
    const port = await freePort();
    const err = await rejection(SignalingClient.connect({ url: `ws://127.0.0.1:${port}/ws`, connectTimeoutMs: 5000 }));
    expect(err.code).toBe('RTC_ERR_SIGNAL_CONNECT');
    expect(err.hint).toContain('rtc-cli serve');
  });

  it('rejects RTC_ERR_BAD_URL for a non-ws URL and RTC_ERR_SIGNAL_CONNECT for a wrong path', async () => {
    expect((await rejection(SignalingClient.connect({ url: 'http://127.0.0.1:1/ws' }))).code).toBe('RTC_ERR_BAD_URL');
    expect((await rejection(SignalingClient.connect({ url: 'not a url' }))).code).toBe('RTC_ERR_BAD_URL');
    const s = await server();
    const err = await rejection(SignalingClient.connect({ url: s.signalUrl.replace('/ws', '/nope') }));
    expect(err.code).toBe('RTC_ERR_SIGNAL_CONNECT');
    expect(err.message).toContain('404');
  });

  it('rejects RTC_ERR_TIMEOUT when the server never welcomes', async () => {
    // A TCP server that accepts and never answers the HTTP upgrade.
    const port = await silentServer();
    const err = await rejection(SignalingClient.connect({ url: `ws://127.0.0.1:${port}/ws`, connectTimeoutMs: 300 }));
    expect(err.code).toBe('RTC_ERR_TIMEOUT');
  });

  it('honours an abort signal while connecting', async () => {
    const port = await silentServer();
    const ac = new AbortController();
    const p = SignalingClient.connect({ url: `ws://127.0.0.1:${port}/ws`, signal: ac.signal, connectTimeoutMs: 30_000 });
    setTimeout(() => ac.abort(new RtcError('RTC_ERR_INTERRUPTED', 'test abort')), 50);
    expect((await rejection(p)).code).toBe('RTC_ERR_INTERRUPTED');
  });

  it('maps full / auth / refused to RTC_ERR_ROOM_FULL / RTC_ERR_SIGNAL_AUTH / RTC_ERR_SIGNAL_REFUSED', async () => {
    const s = await server({ roomSize: 1, token: 's3cret' });
    const a = await client(s.signalUrl, { token: 's3cret' });
    expect(a.welcome.auth).toBe(true);
    await a.join('solo');
    const b = await client(s.signalUrl, { token: 's3cret' });
    const full = await rejection(b.join('solo'));
    expect(full.code).toBe('RTC_ERR_ROOM_FULL');
    expect(full.details).toMatchObject({ room: 'solo', size: 1 });
    // The socket stays usable after `full`.
    await b.join('other');
    const refused = await rejection(b.join('third'));
    expect(refused.code).toBe('RTC_ERR_SIGNAL_REFUSED');
    expect(refused.details).toMatchObject({ code: 'too-many-rooms' });

    const wrong = await client(s.signalUrl, { token: 'nope' });
    const closed = nextEvent<RtcError | undefined>(wrong, 'closed');
    const auth = await rejection(wrong.join('solo2'));
    expect(auth.code).toBe('RTC_ERR_SIGNAL_AUTH');
    expect((await closed)?.code).toBe('RTC_ERR_SIGNAL_AUTH');

    const none = await client(s.signalUrl);
    expect((await rejection(none.join('solo3'))).code).toBe('RTC_ERR_SIGNAL_AUTH');
  });

  it('reports server errors for sends as `error` events (RTC_ERR_SIGNAL_REFUSED)', async () => {
    const s = await server();
    const a = await client(s.signalUrl);
    await a.join('errs');
    const err = nextEvent<RtcError>(a, 'error');
    a.send('x', 'no-such-peer');
    const e = await err;
    expect(e.code).toBe('RTC_ERR_SIGNAL_REFUSED');
    expect(e.details).toMatchObject({ code: 'unknown-peer' });
  });

  it('reconnects with backoff after the server restarts on the same port and re-joins its room', async () => {
    const s1 = await startSignalingServer({ port: 0 });
    const port = s1.port;
    const a = await client(s1.signalUrl, { backoffInitialMs: 50, backoffMaxMs: 400 });
    const b = await client(s1.signalUrl, { backoffInitialMs: 50, backoffMaxMs: 400 });
    await a.join('rejoin');
    await b.join('rejoin');
    const disconnected = nextEvent<string>(a, 'disconnected');
    const reA = nextEvent<JoinResult | undefined>(a, 'reconnected');
    const reB = nextEvent<JoinResult | undefined>(b, 'reconnected');
    await s1.close();
    expect(await disconnected).toMatch(/connection lost/);
    expect(a.room).toBeUndefined();
    // Queued while down, delivered after the re-join.
    const s2 = await server({ port });
    const [ja, jb] = await Promise.all([reA, reB]);
    expect(ja?.room).toBe('rejoin');
    expect(jb?.room).toBe('rejoin');
    expect(a.room).toBe('rejoin');
    expect((await s2.stats()).peersInRooms).toBe(2);
    // Both are back in the same room with new ids: relay works again.
    const got = nextEvent<RelayedMessage>(b, 'message');
    a.send({ after: 'restart' });
    expect(await got).toEqual({ from: a.id, data: { after: 'restart' } });
  });

  it('works within tight server limits: joins right after welcome, and reconnects and re-joins within them', async () => {
    // A 150 ms join timeout, two connections per address (exactly these two clients), heartbeat 200 ms.
    const limits = { joinTimeoutMs: 150, maxConnectionsPerAddress: 2, heartbeatIntervalMs: 200 };
    const s1 = await startSignalingServer({ port: 0, ...limits });
    const port = s1.port;
    const a = await client(s1.signalUrl, { backoffInitialMs: 50, backoffMaxMs: 400 });
    const b = await client(s1.signalUrl, { backoffInitialMs: 50, backoffMaxMs: 400 });
    expect(a.welcome.joinTimeoutMs).toBe(150);
    await a.join('tight');
    await b.join('tight');
    // Several heartbeats pass: both echo the pings and stay.
    await new Promise((r) => setTimeout(r, 700));
    expect(a.connected && b.connected).toBe(true);
    const reA = nextEvent<JoinResult | undefined>(a, 'reconnected');
    const reB = nextEvent<JoinResult | undefined>(b, 'reconnected');
    await s1.close();
    const s2 = await server({ port, ...limits });
    const [ja, jb] = await Promise.all([reA, reB]);
    expect(ja?.room).toBe('tight');
    expect(jb?.room).toBe('tight');
    expect(await s2.stats()).toMatchObject({ connections: 2, peersInRooms: 2 });
    const got = nextEvent<RelayedMessage>(b, 'message');
    a.send({ still: 'here' });
    expect(await got).toEqual({ from: a.id, data: { still: 'here' } });
  });

  it('queues sends made while reconnecting and flushes them after the re-join', async () => {
    const s1 = await startSignalingServer({ port: 0 });
    const port = s1.port;
    // First retry after 1-2 s, so the observer below is in the room before `a` comes back.
    const a = await client(s1.signalUrl, { backoffInitialMs: 2000, backoffMaxMs: 2000 });
    await a.join('queue');
    const disconnected = nextEvent<string>(a, 'disconnected');
    await s1.close();
    await disconnected;
    a.send({ n: 1 });
    a.send({ n: 2 });
    const s2 = await server({ port });
    // A raw-ish observer: another client joins first so it receives the flushed messages.
    const b = await client(s2.signalUrl);
    await b.join('queue');
    const msgs: unknown[] = [];
    b.on('message', (m) => msgs.push(m.data));
    await nextEvent(a, 'reconnected');
    await expect.poll(() => msgs, { timeout: 10_000 }).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('drops a silent link (no pings for 2.5 heartbeats) and reconnects instead of waiting for TCP', async () => {
    // A server that welcomes and answers join, then goes silent: no pings, like a path that died without a FIN.
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => new Promise<void>((r) => fake.close(() => r())));
    let connections = 0;
    fake.on('connection', (ws) => {
      connections++;
      ws.send(JSON.stringify({ type: 'welcome', v: 1, auth: false, maxMessageBytes: 65536, maxRooms: 1, heartbeatMs: 100 }));
      ws.on('message', () => ws.send(JSON.stringify({ type: 'joined', v: 1, room: 'quiet', id: `id${connections}`, peers: [] })));
    });
    await new Promise((r) => fake.once('listening', r));
    const url = `ws://127.0.0.1:${(fake.address() as { port: number }).port}/ws`;
    const a = await client(url, { backoffInitialMs: 20, backoffMaxMs: 50 });
    await a.join('quiet');
    const why = await nextEvent<string>(a, 'disconnected', 20_000);
    expect(why).toMatch(/1006/);
    const re = await nextEvent<JoinResult | undefined>(a, 'reconnected', 20_000);
    expect(re?.id).toBe('id2');
  });

  it('gives up after maxReconnectAttempts and emits closed', async () => {
    const s1 = await startSignalingServer({ port: 0 });
    const a = await client(s1.signalUrl, { backoffInitialMs: 20, backoffMaxMs: 40, maxReconnectAttempts: 3, connectTimeoutMs: 1000 });
    const closed = nextEvent<RtcError | undefined>(a, 'closed');
    await s1.close();
    const err = await closed;
    expect(err?.code).toBe('RTC_ERR_SIGNAL_CONNECT');
    expect(() => a.send('x')).toThrow(RtcError);
  });

  it('reconnect: false closes on a drop instead', async () => {
    const s1 = await startSignalingServer({ port: 0 });
    const a = await client(s1.signalUrl, { reconnect: false });
    const closed = nextEvent<RtcError | undefined>(a, 'closed');
    await s1.close();
    expect((await closed)?.code).toBe('RTC_ERR_SIGNAL_CONNECT');
  });

  it('close() is final and idempotent; an aborted signal closes the client', async () => {
    const s = await server();
    const a = await client(s.signalUrl);
    await a.join('bye');
    await a.close();
    await a.close();
    await expect.poll(async () => (await s.stats()).connections).toBe(0);
    const ac = new AbortController();
    const b = await client(s.signalUrl, { signal: ac.signal });
    const closed = nextEvent<RtcError | undefined>(b, 'closed');
    ac.abort();
    expect((await closed)?.code).toBe('RTC_ERR_INTERRUPTED');
    await expect(b.join('x')).rejects.toMatchObject({ code: 'RTC_ERR_SIGNAL_CONNECT' });
  });
});
