// GET /metrics of the real bin with the in-memory store: what it counts (connections, rooms, peers, messages in /
// relayed / dropped by reason, errors by code, relay latency), what it must never show (room names, peer ids, payloads,
// tokens), where it is served (its own listener, not the public port), its bearer token. With Redis, and the lazy
// loading of ioredis/prom-client: metrics.system.test.ts.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Raw, barrier } from './raw.js';
import { startInstance } from './redis-harness.js';
import { sample } from '../helpers/prometheus.js';

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
});
