// GET /metrics of the real bin: what it counts (connections, rooms, peers, messages in / relayed / dropped by reason,
// errors by code, relay latency, the store's state and round trip), what it must never show (room names, peer ids,
// payloads, tokens), where it is served (its own listener, not the public port), its bearer token; and that a plain
// `serve` loads neither ioredis nor prom-client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { Raw, barrier } from './raw.js';
import { startInstance } from './redis-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { BIN, collect, waitForJsonLine } from '../helpers/cli.js';

let redis: RedisServer;
let tmp: string;
beforeAll(async () => {
  redis = await startRedis();
  tmp = await mkdtemp(path.join(tmpdir(), 'rtc-metrics-'));
});
afterAll(async () => {
  await redis?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** One sample's value from Prometheus text (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('counts what happened, by closed label sets only, on its own loopback listener', async () => {
    const token = `tok-${randomBytes(4).toString('hex')}`;
    const s = await startInstance(undefined, ['--metrics-port', '0', '--token', token]);
    const metricsUrl = s.listening.metrics as string;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const secretRoom = `secret-room-${randomBytes(3).toString('hex')}`;
    const a = await Raw.joined(s.signal, secretRoom, { token });
    const b = await Raw.joined(s.signal, secretRoom, { token });
    for (let i = 0; i < 3; i++) a.raw.send({ type: 'relay', data: { sdp: 'PAYLOAD-MARKER' } });
    for (let i = 0; i < 3; i++) await b.raw.next('relay');
    a.raw.sendText('{not json');
    await a.raw.error('bad-json');
    a.raw.send({ type: 'relay', to: 'nobody-at-all', data: 1 });
    await a.raw.error('unknown-peer');
    await barrier(a.raw);

    // Not on the public port.
    expect((await fetch(`${s.url}metrics`)).status).toBe(404);
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(sample(text, 'rtc_signaling_connections')).toBe(2);
    expect(sample(text, 'rtc_signaling_rooms')).toBe(1);
    expect(sample(text, 'rtc_signaling_peers')).toBe(2);
    expect(sample(text, 'rtc_signaling_messages_received_total')).toBe(2 + 3 + 1 + 1 + 1);
    expect(sample(text, 'rtc_signaling_messages_relayed_total')).toBe(3);
    expect(sample(text, 'rtc_signaling_messages_dropped_total{reason="invalid"}')).toBe(1);
    expect(sample(text, 'rtc_signaling_messages_dropped_total{reason="unknown-peer"}')).toBe(1);
    expect(sample(text, 'rtc_signaling_errors_sent_total{code="bad-json"}')).toBe(1);
    expect(sample(text, 'rtc_signaling_errors_sent_total{code="unknown-peer"}')).toBe(1);
    expect(sample(text, 'rtc_signaling_relay_latency_seconds_count{path="local"}')).toBe(3);
    expect(sample(text, 'rtc_signaling_relay_latency_seconds_bucket{path="local",le="+Inf"}')).toBe(3);
    expect(sample(text, 'rtc_signaling_store_up{store="memory"}')).toBe(1);
    expect(text).toContain('process_cpu_seconds_total');
    for (const secret of [secretRoom, 'PAYLOAD-MARKER', token, a.joined.id as string, b.joined.id as string]) expect(text).not.toContain(secret);
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });

  it('--metrics-token: a scraper must send it as a bearer token', async () => {
    const token = `m-${randomBytes(6).toString('hex')}`;
    const s = await startInstance(undefined, ['--metrics-port', '0'], { RTC_METRICS_TOKEN: token });
    const url = s.listening.metrics as string;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('rtc_signaling_connections');
    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.stdout + res.stderr).not.toContain(token);
  });

  it('with Redis: cross-instance latency, the store state and round trip, and undeliverable drops', async () => {
    const own = await startRedis();
    try {
      const p = ['--redis-prefix', `m${randomBytes(3).toString('hex')}:`, '--metrics-port', '0', '--heartbeat', '1'];
      const [a, b] = await Promise.all([startInstance(own.url, p), startInstance(own.url, p)]);
      const room = `m-${randomBytes(3).toString('hex')}`;
      const x = await Raw.joined(a.signal, room);
      const y = await Raw.joined(b.signal, room);
      await x.raw.next('peer-joined');
      for (let i = 0; i < 5; i++) x.raw.send({ type: 'relay', data: i });
      for (let i = 0; i < 5; i++) await y.raw.next('relay');
      const onB = await (await fetch(b.listening.metrics as string)).text();
      // Measured where it was delivered: on b, the path is remote.
      expect(sample(onB, 'rtc_signaling_relay_latency_seconds_count{path="remote"}')).toBe(5);
      expect(sample(onB, 'rtc_signaling_store_up{store="redis"}')).toBe(1);
      expect(sample(onB, 'rtc_signaling_store_roundtrip_seconds_count')).toBeGreaterThan(0);
      const onA = await (await fetch(a.listening.metrics as string)).text();
      expect(sample(onA, 'rtc_signaling_messages_relayed_total')).toBe(5);
      await own.stop();
      await expect.poll(async () => sample(await (await fetch(a.listening.metrics as string)).text(), 'rtc_signaling_store_up{store="redis"}'), { timeout: 10_000 }).toBe(0);
      x.raw.send({ type: 'relay', data: 'lost?' });
      await x.raw.error('undeliverable');
      const after = await (await fetch(a.listening.metrics as string)).text();
      expect(sample(after, 'rtc_signaling_messages_dropped_total{reason="undeliverable"}')).toBe(1);
      expect(sample(after, 'rtc_signaling_errors_sent_total{code="undeliverable"}')).toBe(1);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect((await a.done).code).toBe(0);
      expect((await b.done).code).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('lazy loading', () => {
  it('a plain `serve` never loads ioredis or prom-client; --redis and --metrics-port do', async () => {
    const trace = path.join(tmp, 'trace.txt');
    const hooks = path.join(tmp, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier === 'ioredis' || specifier === 'prom-client') appendFileSync(${JSON.stringify(trace)}, specifier + '\\n');
  return next(specifier, context);
}
`,
    );
    const register = path.join(tmp, 'register.mjs');
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const run = async (extra: string[]): Promise<string> => {
      await writeFile(trace, '');
      const child = spawn(process.execPath, ['--import', register, BIN, 'serve', '--port', '0', '--json', ...extra], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
      const done = collect(child);
      const l = await waitForJsonLine(child, (o) => o.event === 'listening');
      const j = await Raw.joined(l.signal as string, 'lazy');
      j.raw.terminate();
      child.kill('SIGTERM');
      expect((await done).code).toBe(0);
      return readFile(trace, 'utf8');
    };
    expect(await run([])).toBe('');
    const both = await run(['--redis', redis.url, '--redis-prefix', 'lazy:', '--metrics-port', '0']);
    expect(both).toContain('ioredis');
    expect(both).toContain('prom-client');
  });
});
