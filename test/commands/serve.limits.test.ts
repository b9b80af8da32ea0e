// The limits as `serve` flags, end to end through the real bin (built by the global setup): each flag reaches the
// server, bad values are usage errors, and the --json log does not grow with a flood of bad frames.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import WebSocket from 'ws';
import { collect, runCli, spawnCli, waitForJsonLine } from '../helpers/cli.js';
import { Raw, barrier } from '../signaling/raw.js';

let tmp: string;
const children: ChildProcessWithoutNullStreams[] = [];
const sockets: Raw[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'sig-limits-'));
});
afterEach(() => {
  for (const r of sockets.splice(0)) r.terminate();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type Listening = { event: string; signal: string; port: number; allowOrigins?: string[] };

function serve(args: string[]): { child: ChildProcessWithoutNullStreams; stdout: () => string } {
  const child = spawnCli(['serve', '--port', '0', '--json', ...args], { env: { RTC_CLI_CONFIG_DIR: path.join(tmp, 'cfg') } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { child, stdout: () => out };
}
async function open(url: string, opts: WebSocket.ClientOptions = {}): Promise<Raw> {
  const { raw } = await Raw.open(url, opts);
  sockets.push(raw);
  return raw;
}

describe('serve limit flags', () => {
  it('--join-timeout, --max-per-address and --allow-origin reach the server', async () => {
    const { child } = serve(['--join-timeout', '0.3', '--max-per-address', '2', '--allow-origin', 'https://App.Example:443']);
    const l = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    expect(l.allowOrigins).toEqual(['https://app.example']);
    const squatter = await open(l.signal);
    expect((await squatter.waitClose(5000)).code).toBe(4408);
    const a = await open(l.signal);
    await open(l.signal);
    const third = new WebSocket(l.signal);
    third.on('error', () => {});
    const first = await new Promise<Record<string, unknown>>((resolve) => third.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>)));
    expect(first).toMatchObject({ type: 'error', code: 'too-many-connections' });
    a.send({ type: 'join', room: 'r' });
    await a.next('joined');
    // An allowed page origin gets in; another origin does not.
    const status = (origin: string): Promise<string | number> =>
      new Promise((resolve) => {
        a.terminate(); // free a slot for the probe
        const ws = new WebSocket(l.signal, { headers: { Origin: origin } });
        ws.on('open', () => {
          ws.terminate();
          resolve('open');
        });
        ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    await new Promise((r) => setTimeout(r, 200));
    expect(await status('https://app.example')).toBe('open');
    expect(await status('https://evil.example')).toBe(403);
    child.kill('SIGTERM');
    expect((await collect(child)).code).toBe(0);
  });

  it('a flood of 1-byte bad frames does not grow the --json log more than the flood itself (--log-rate)', async () => {
    const { child, stdout } = serve(['--rate', '100000', '--burst', '100000']);
    const l = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    const r = await open(l.signal);
    await barrier(r);
    const before = stdout().length;
    const FRAMES = 2000;
    for (let i = 0; i < FRAMES; i++) r.sendText('x');
    await barrier(r);
    r.close();
    await expect.poll(() => stdout(), { timeout: 10_000 }).toMatch(/"event":"disconnect"/);
    const logged = stdout().length - before;
    // On the wire each frame is 7 bytes (2 header + 4 mask + 1 payload); before --log-rate each one logged a ~110-byte line.
    const wire = FRAMES * 7;
    expect(logged).toBeLessThan(wire / 2);
    const lines = stdout().slice(before).trim().split('\n').map((x) => JSON.parse(x) as { event: string; suppressed?: number });
    const refused = lines.filter((x) => x.event === 'refused');
    const suppressed = lines.reduce((n, x) => n + (x.suppressed ?? 0), 0);
    expect(refused.length + suppressed).toBe(FRAMES);
    child.kill('SIGTERM');
    expect((await collect(child)).code).toBe(0);
  });

  it('--auth-failures throttles token guessing per address', async () => {
    const child = spawnCli(['serve', '--port', '0', '--json', '--auth-failures', '2'], { env: { RTC_TOKEN: 'right', RTC_CLI_CONFIG_DIR: path.join(tmp, 'cfg') } });
    children.push(child);
    const l = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    const codes: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await open(l.signal);
      r.send({ type: 'join', room: 'x', token: `guess${i}` });
      codes.push((await r.next('error')).code);
    }
    expect(codes).toEqual(['unauthorized', 'unauthorized', 'throttled', 'throttled']);
    child.kill('SIGTERM');
    expect((await collect(child)).code).toBe(0);
  });

  it('a loopback server answers HTTP only to loopback Host names (DNS rebinding)', async () => {
    const { child, stdout } = serve([]);
    const l = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    const status = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: l.port, path: '/', headers: { Host: host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await status(`localhost:${l.port}`)).toBe(200);
    expect(await status(`rebind.attacker.example:${l.port}`)).toBe(403);
    child.kill('SIGTERM');
    expect((await collect(child)).code).toBe(0);
    expect(stdout()).toMatch(/"event":"forbidden","address":"127\.0\.0\.1","reason":"host","value":"rebind\.attacker\.example:\d+"/);
  });

  it('bad values are usage errors (exit 2) that say what to pass', async () => {
    for (const [args, pattern] of [
      [['--allow-origin', '*'], /not an origin/],
      [['--allow-origin', 'https://app.example/path'], /no path/],
      [['--join-timeout', '0'], /--join-timeout/],
      [['--max-per-address', '0'], /--max-per-address/],
      [['--max-pending-bytes', '1000', '--max-message-bytes', '2000'], /at least maxMessageBytes/],
      [['--log-rate', 'lots'], /--log-rate/],
      [['--auth-failures', '-1'], /--auth-failures/],
    ] as const) {
      const res = await runCli(['serve', ...args, '--json']);
      expect(res.code, args.join(' ')).toBe(2);
      const obj = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { error: { code: string; message: string } };
      expect(obj.error.code, args.join(' ')).toBe('RTC_ERR_USAGE');
      expect(obj.error.message, args.join(' ')).toMatch(pattern);
    }
  });

  it('--help lists every limit flag with its default', async () => {
    const res = await runCli(['serve', '--help']);
    for (const s of ['--allow-origin <origin>', '--join-timeout <seconds>', '--max-per-address <n>', '(default: 100)', '--max-backlog <bytes>', '--max-pending-bytes <bytes>', '--max-pending-total <bytes>', '--log-rate <n>', '--auth-failures <n>']) {
      expect(res.stdout).toContain(s);
    }
  });
});
