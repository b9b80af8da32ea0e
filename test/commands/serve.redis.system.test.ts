// Several real `rtc-cli serve --redis` processes sharing rooms through a real redis-server: the protocol behaves as on
// one instance (relay, room-wide relay, peer-joined/left, full, the cap), the cap holds when three instances race,
// kill -9 of an instance, Redis stopped and restarted under traffic, a Redis with a password, nothing listening,
// and SIGTERM draining through a TCP load balancer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Raw, barrier } from '../signaling/raw.js';
import { startInstance, startBalancer } from '../signaling/redis-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { runCli } from '../helpers/cli.js';
import { SignalingClient } from '../../src/signaling/client.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

const room = (p = 'r'): string => `${p}-${randomBytes(4).toString('hex')}`;
/** A fresh key prefix per test: tests share one redis-server. */
const prefixArgs = (): string[] => ['--redis-prefix', `t${randomBytes(3).toString('hex')}:`];

describe('serve --redis: rooms shared by several instances', () => {
  it('two instances: relay, room-wide relay, peer-joined/left, full and the room count behave as on one', async () => {
    const p = prefixArgs();
    const [a, b] = await Promise.all([startInstance(redis.url, p), startInstance(redis.url, p)]);
    expect(a.listening.redis).toMatchObject({ url: redis.url });
    const r = room();
    const c1 = await Raw.joined(a.signal, r);
    expect(c1.joined.peers).toEqual([]);
    const c2 = await Raw.joined(b.signal, r);
    const id1 = c1.joined.id as string;
    const id2 = c2.joined.id as string;
    expect(c2.joined.peers).toEqual([id1]);
    expect(await c1.raw.next('peer-joined')).toEqual({ type: 'peer-joined', room: r, id: id2 });
    // Right after peer-joined, the newcomer is reachable with `to`.
    c1.raw.send({ type: 'relay', to: id2, data: { n: 1 } });
    expect(await c2.raw.next('relay')).toEqual({ type: 'relay', room: r, from: id1, data: { n: 1 } });
    c2.raw.send({ type: 'relay', data: { n: 2 } });
    expect(await c1.raw.next('relay')).toEqual({ type: 'relay', room: r, from: id2, data: { n: 2 } });
    // Ordered across instances.
    for (let i = 0; i < 50; i++) c1.raw.send({ type: 'relay', data: { i } });
    for (let i = 0; i < 50; i++) expect((await c2.raw.next('relay')).data).toEqual({ i });
    // The cap counts members on every instance.
    const third = await Raw.open(a.signal);
    third.raw.send({ type: 'join', room: r });
    expect(await third.raw.next('full')).toEqual({ type: 'full', room: r, size: 2 });
    // Errors as on one instance: `to` someone not in the room.
    c1.raw.send({ type: 'relay', to: 'nobody-here1', data: 1 });
    expect(await c1.raw.error('unknown-peer')).toMatchObject({ ref: 'relay', room: r });
    const hA = await a.health();
    expect(hA.status).toBe(200);
    expect(hA.body).toMatchObject({ ok: true, status: 'ok', rooms: 1, peersInRooms: 2, store: { kind: 'redis', state: 'ok' } });
    expect((await b.health()).body).toMatchObject({ rooms: 1, peersInRooms: 2 });
    c2.raw.send({ type: 'leave' });
    await c2.raw.next('left');
    expect(await c1.raw.next('peer-left')).toEqual({ type: 'peer-left', room: r, id: id2 });
    c1.raw.close();
    await expect.poll(async () => (await a.health()).body.rooms, { timeout: 10_000 }).toBe(0);
    third.raw.terminate();
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.done).code).toBe(0);
    expect((await b.done).code).toBe(0);
  });

  it('three instances, cap 2, three peers joining one room at the same instant: exactly one gets full (50 rounds)', async () => {
    const p = prefixArgs();
    const insts = await Promise.all([0, 1, 2].map(() => startInstance(redis.url, p)));
    for (let round = 0; round < 50; round++) {
      const r = room('race');
      const raws = await Promise.all(insts.map(async (i) => (await Raw.open(i.signal)).raw));
      // All three joins leave in the same tick, each to another instance.
      for (const raw of raws) raw.send({ type: 'join', room: r });
      const answers = await Promise.all(raws.map((raw) => raw.next((m) => m.type === 'joined' || m.type === 'full')));
      expect(answers.filter((m) => m.type === 'full'), `round ${round}`).toHaveLength(1);
      const joined = answers.filter((m) => m.type === 'joined');
      // Exactly one saw an empty room: the order is one order, as on one instance.
      expect(joined.map((m) => (m.peers as string[]).length).sort()).toEqual([0, 1]);
      for (const raw of raws) raw.terminate();
    }
    await expect.poll(async () => (await insts[0]!.health()).body.rooms, { timeout: 15_000 }).toBe(0);
    for (const i of insts) i.child.kill('SIGTERM');
    for (const i of insts) expect((await i.done).code).toBe(0);
  });

  it('kill -9 of an instance: its peers are removed and their room-mates get peer-left within 2 heartbeat intervals', async () => {
    const p = [...prefixArgs(), '--heartbeat', '1'];
    const [a, b] = await Promise.all([startInstance(redis.url, p), startInstance(redis.url, p)]);
    const r = room('kill');
    const onA = await Raw.joined(a.signal, r);
    const onB = await Raw.joined(b.signal, r);
    await onA.raw.next('peer-joined');
    expect((await b.health()).body).toMatchObject({ rooms: 1, peersInRooms: 2 });
    const t0 = Date.now();
    a.child.kill('SIGKILL');
    expect(await onB.raw.next('peer-left', 5000)).toEqual({ type: 'peer-left', room: r, id: onA.joined.id });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(2 * 1000);
    expect((await b.health()).body).toMatchObject({ rooms: 1, peersInRooms: 1 });
    // Its place is free again: a newcomer (on the surviving instance) gets in.
    const again = await Raw.joined(b.signal, r);
    expect(again.joined.peers).toEqual([onB.joined.id]);
    b.child.kill('SIGTERM');
    expect((await b.done).code).toBe(0);
  });

  it('Redis stopped and restarted under traffic: degraded, local rooms work, every relay is delivered or refused, memberships re-published', async () => {
    const own = await startRedis();
    try {
      const p = [...prefixArgs(), '--heartbeat', '1'];
      const [a, b] = await Promise.all([startInstance(own.url, p), startInstance(own.url, p)]);
      const local = room('local');
      const cross = room('cross');
      const l1 = await Raw.joined(a.signal, local);
      const l2 = await Raw.joined(a.signal, local);
      const x1 = await Raw.joined(a.signal, cross);
      const x2 = await Raw.joined(b.signal, cross);
      await x1.raw.next('peer-joined');

      // Traffic: x1 sends a numbered relay to x2 every 10 ms through the whole outage.
      let sent = 0;
      const got = new Set<number>();
      let refused = 0;
      x2.raw.ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as { type: string; data?: { i?: number } };
        if (m.type === 'relay' && typeof m.data?.i === 'number') got.add(m.data.i);
      });
      x1.raw.ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as { type: string; code?: string; ref?: string };
        if (m.type === 'error' && m.ref === 'relay') refused++;
      });
      const traffic = setInterval(() => x1.raw.send({ type: 'relay', data: { i: sent++ } }), 10);
      try {
        await new Promise((r) => setTimeout(r, 300));
        await own.stop();
        await expect.poll(async () => (await a.health()).status, { timeout: 10_000 }).toBe(503);
        const h = await a.health();
        expect(h.body).toMatchObject({ ok: false, status: 'degraded', store: { kind: 'redis', state: 'degraded' } });
        // A room whose members are all on this instance keeps working.
        l1.raw.send({ type: 'relay', data: 'still here' });
        expect((await l2.raw.next('relay')).data).toBe('still here');
        // The cross-instance relay is refused to its sender, not lost.
        expect(await x1.raw.error('undeliverable', 5000)).toMatchObject({ ref: 'relay', room: cross });
        // A join needs the shared store: refused with server-busy (try again later).
        const late = await Raw.open(a.signal);
        late.raw.send({ type: 'join', room: room('late') });
        expect(await late.raw.error('server-busy')).toMatchObject({ ref: 'join' });
        late.raw.terminate();

        await own.start();
        await expect.poll(async () => (await a.health()).status, { timeout: 15_000 }).toBe(200);
        await expect.poll(async () => (await b.health()).status, { timeout: 15_000 }).toBe(200);
        // Re-published: the memberships and presences are back in the (empty) restarted Redis.
        expect(own.cli('ZCARD', `${p[1]}room:${cross}`)).toBe('2');
        expect(own.cli('ZCARD', `${p[1]}room:${local}`)).toBe('2');
        // ... at their old places: the order (who joined first) survives Redis losing everything.
        expect(own.cli('ZRANGE', `${p[1]}room:${cross}`, '0', '-1').split('\n').map((m) => m.split(' ')[0])).toEqual([x1.joined.id, x2.joined.id]);
        expect(Number(own.cli('SCARD', `${p[1]}insts`))).toBe(2);
        // Relays cross again.
        const before = got.size;
        await expect.poll(() => got.size, { timeout: 10_000 }).toBeGreaterThan(before + 5);
      } finally {
        clearInterval(traffic);
      }
      await barrier(x1.raw);
      await new Promise((r) => setTimeout(r, 500));
      // Never a silent loss: every relay sent was delivered or answered with an error.
      expect(got.size + refused).toBe(sent);
      expect(refused).toBeGreaterThan(0);
      expect(a.events.some((e) => e.event === 'store' && e.state === 'degraded')).toBe(true);
      expect(a.events.some((e) => e.event === 'store' && e.state === 'ok')).toBe(true);
      for (const i of [a, b]) i.child.kill('SIGTERM');
      expect((await a.done).code).toBe(0);
      expect((await b.done).code).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('SIGTERM drains: the instance stops accepting, its clients reconnect through the load balancer to the other and re-join fast; exit 0', async () => {
    const p = prefixArgs();
    const [a, b] = await Promise.all([startInstance(redis.url, p), startInstance(redis.url, p)]);
    const lb = await startBalancer([a.port, b.port]);
    const r = room('drain');
    const x = await SignalingClient.connect({ url: lb.signal });
    const y = await SignalingClient.connect({ url: lb.signal });
    expect(lb.picks).toEqual([a.port, b.port]);
    const jx = await x.join(r);
    await y.join(r);
    const peerEvents: string[] = [];
    y.on('peer-left', (id) => peerEvents.push(`left ${id}`));
    y.on('peer-joined', (id) => peerEvents.push(`joined ${id}`));
    const reconnected = new Promise<{ id: string; peers: string[] } | undefined>((resolve) => x.once('reconnected', resolve));
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    const rejoined = await reconnected;
    const ms = Date.now() - t0;
    expect(rejoined?.peers).toEqual([y.id]);
    expect(ms).toBeLessThan(1500);
    expect(lb.picks.at(-1)).toBe(b.port);
    await expect.poll(() => peerEvents).toEqual([`left ${jx.id}`, `joined ${rejoined!.id}`]);
    const msg = new Promise((resolve) => y.once('message', resolve));
    x.send({ after: 'drain' });
    expect(await msg).toEqual({ from: rejoined!.id, data: { after: 'drain' } });
    const res = await a.done;
    expect(res.code).toBe(0);
    expect(a.events.at(-1)).toMatchObject({ event: 'stopped' });
    process.stderr.write(`drain → re-joined on the other instance in ${ms} ms\n`);
    await x.close();
    await y.close();
    b.child.kill('SIGTERM');
    expect((await b.done).code).toBe(0);
  });
});

describe('serve --redis: credentials and failures at start', () => {
  it('a Redis with a password: the right one works (and is never printed), a wrong one exits 1 with RTC_ERR_REDIS', async () => {
    const pw = `pw-${randomBytes(6).toString('hex')}`;
    const locked = await startRedis({ password: pw });
    try {
      const p = prefixArgs();
      // The URL from the environment, as the README recommends.
      const [a, b] = await Promise.all([startInstance(undefined, p, { RTC_REDIS_URL: locked.url }), startInstance(undefined, p, { RTC_REDIS_URL: locked.url })]);
      expect(JSON.stringify(a.listening)).not.toContain(pw);
      expect((a.listening.redis as { url: string }).url).toContain('***');
      const r = room();
      const c1 = await Raw.joined(a.signal, r);
      const c2 = await Raw.joined(b.signal, r);
      c2.raw.send({ type: 'relay', data: 'through a locked Redis' });
      expect((await c1.raw.next('relay')).data).toBe('through a locked Redis');
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      const out = [await a.done, await b.done];
      for (const o of out) {
        expect(o.code).toBe(0);
        expect(o.stdout + o.stderr).not.toContain(pw);
      }

      const wrong = await runCli(['serve', '--port', '0', '--json', '--redis', locked.url.replace(pw, 'not-the-password')]);
      expect(wrong.code).toBe(1);
      const err = JSON.parse(wrong.stdout.trim().split('\n').at(-1)!) as { error: { code: string; message: string } };
      expect(err.error.code).toBe('RTC_ERR_REDIS');
      expect(err.error.message).toMatch(/refused the credentials/);
      expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password');
      const none = await runCli(['serve', '--port', '0', '--json', '--redis', `redis://127.0.0.1:${locked.port}`]);
      expect(none.code).toBe(1);
      expect(none.stdout).toContain('RTC_ERR_REDIS');
    } finally {
      await locked.close();
    }
  });

  it('rediss:// (TLS): works with the CA trusted through NODE_EXTRA_CA_CERTS, and says what failed without it', async () => {
    const tls = await startRedis({ tls: true, password: 'tls-pw' });
    try {
      const p = prefixArgs();
      const env = { NODE_EXTRA_CA_CERTS: tls.caFile!, RTC_REDIS_URL: tls.url };
      const [a, b] = await Promise.all([startInstance(undefined, p, env), startInstance(undefined, p, env)]);
      const r = room('tls');
      const c1 = await Raw.joined(a.signal, r);
      const c2 = await Raw.joined(b.signal, r);
      // As in every cross-instance test: c1's instance knows of c2 once c1 has heard peer-joined (see the protocol doc).
      expect(await c1.raw.next('peer-joined')).toMatchObject({ id: c2.joined.id });
      c1.raw.send({ type: 'relay', data: 'over TLS' });
      expect((await c2.raw.next('relay')).data).toBe('over TLS');
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      for (const i of [a, b]) {
        const res = await i.done;
        expect(res.code).toBe(0);
        expect(res.stderr).not.toMatch(/Warning/);
      }
      const untrusted = await runCli(['serve', '--port', '0', '--json'], { env: { RTC_REDIS_URL: tls.url } });
      expect(untrusted.code).toBe(1);
      const err = JSON.parse(untrusted.stdout.trim().split('\n').at(-1)!) as { error: { code: string; message: string; hint: string } };
      expect(err.error).toMatchObject({ code: 'RTC_ERR_REDIS' });
      expect(err.error.message).toMatch(/TLS|certificate/i);
      expect(err.error.hint).toContain('NODE_EXTRA_CA_CERTS');
      expect(untrusted.stdout + untrusted.stderr).not.toContain('tls-pw');
    } finally {
      await tls.close();
    }
  });

  it('nothing listening at the URL: exit 1, RTC_ERR_REDIS naming the URL (password masked); a bad URL is a usage error', async () => {
    const dead = await startRedis();
    const port = dead.port;
    await dead.close();
    const res = await runCli(['serve', '--port', '0', '--redis', `redis://:hunter2@127.0.0.1:${port}`]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`nothing is listening at redis://:***@127.0.0.1:${port}`);
    expect(res.stderr).toContain('RTC_ERR_REDIS');
    expect(res.stdout + res.stderr).not.toContain('hunter2');
    const bad = await runCli(['serve', '--port', '0', '--redis', 'http://127.0.0.1:6379', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('RTC_ERR_BAD_URL');
  });
});
