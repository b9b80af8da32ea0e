// `rtc-cli load signaling` (the real bin) against a real `rtc-cli serve`: a clean run delivers everything and measures
// latency; what the server refuses shows in the result (rate-limited relays as errors and losses, connections over
// --max-per-address as join failures); bad invocations exit 2 and nothing runs without an explicit URL.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startInstance } from '../signaling/redis-harness.js';
import type { LoadResult } from '../../src/load/signaling.js';

const result = (stdout: string): LoadResult => JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult;

describe('rtc-cli load signaling', () => {
  it('loads a server: everything joins, every relay is delivered and timed', async () => {
    const s = await startInstance(undefined, ['--max-per-address', '10000', '--rate', '1000', '--burst', '1000']);
    const res = await runCli(['load', 'signaling', s.signal, '--clients', '200', '--rate', '2000', '--duration', '2', '--warmup', '0.5', '--json'], { timeoutMs: 60_000 });
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.event === 'progress' && l.phase === 'sending')).toBe(true);
    const r = result(res.stdout);
    expect(r).toMatchObject({ clients: 200, rooms: 100, joined: 200, joinFailures: {}, errors: {}, lost: 0, disconnected: 0 });
    // 2 s at 2,000/s (the generator may fall a little behind on a busy machine, never ahead).
    expect(r.sent).toBeGreaterThan(3000);
    expect(r.sent).toBeLessThanOrEqual(4000 + 100);
    expect(r.delivered).toBe(r.sent);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
    expect(r.joinMs.max).toBeGreaterThan(0);
    // The server saw them: its stop line counts the relays.
    s.child.kill('SIGTERM');
    const done = await s.done;
    expect(done.code).toBe(0);
    const stopped = done.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'stopped')!;
    expect(stopped.messagesRelayed as number).toBeGreaterThanOrEqual(r.delivered);
  });

  it('reports what the server refused: rate-limited relays as errors and losses, connections over the per-address cap as join failures', async () => {
    const s = await startInstance(undefined, ['--max-per-address', '20', '--rate', '10', '--burst', '10']);
    const res = await runCli(['load', 'signaling', s.signal, '--clients', '30', '--rate', '1000', '--duration', '1', '--warmup', '0', '--json'], { timeoutMs: 60_000 });
    expect(res.code, res.stderr).toBe(0);
    const r = result(res.stdout);
    expect(r.joined).toBe(20);
    expect(r.joinFailures['too-many-connections']).toBe(10);
    expect(r.errors['rate-limited']).toBeGreaterThan(0);
    expect(r.lost).toBeGreaterThan(0);
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });

  it('needs an explicit ws(s) URL and sane numbers (exit 2), and says why', async () => {
    const none = await runCli(['load', 'signaling', '--json']);
    expect(none.code).toBe(2);
    const http = await runCli(['load', 'signaling', 'http://127.0.0.1:3000/ws', '--json']);
    expect(http.code).toBe(2);
    expect(http.stdout).toContain('RTC_ERR_BAD_URL');
    const odd = await runCli(['load', 'signaling', 'ws://127.0.0.1:1/ws', '--clients', '3', '--json']);
    expect(odd.code).toBe(2);
    expect(odd.stdout).toMatch(/clients must be even/);
    const many = await runCli(['load', 'signaling', 'ws://127.0.0.1:1/ws', '--clients', '50002', '--json']);
    expect(many.code).toBe(2);
    const dead = await runCli(['load', 'signaling', 'ws://127.0.0.1:1/ws', '--clients', '2', '--duration', '0.2', '--json']);
    expect(dead.code).toBe(1);
    expect(dead.stdout).toContain('RTC_ERR_SIGNAL_CONNECT');
    expect(dead.stdout).toContain('ECONNREFUSED');
  });
});
