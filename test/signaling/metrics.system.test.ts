// GET /metrics of the real bin with a real redis-server (system tier): cross-instance latency, the store's state and
// round trip; and that a plain `serve` loads neither ioredis nor prom-client while --redis does. Without Redis:
// metrics.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { Raw } from './raw.js';
import { startInstance } from './redis-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { BIN, collect, waitForJsonLine } from '../helpers/cli.js';
import { sample } from '../helpers/prometheus.js';

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

describe('GET /metrics', () => {
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
      // Measured by each presence refresh (every --heartbeat, 1 s here): the first may still be ahead.
      await expect
        .poll(async () => sample(await (await fetch(b.listening.metrics as string)).text(), 'rtc_signaling_store_roundtrip_seconds_count'), { timeout: 5_000 })
        .toBeGreaterThan(0);
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
