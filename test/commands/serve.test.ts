// End to end: the real `rtc-cli` bin (built by the global setup) running `serve`, talked to over real sockets; and the
// help/usage surface (`--help` lists every command without loading werift, usage errors exit 2).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { BIN, collect, runCli, spawnCli, waitForJsonLine } from '../helpers/cli.js';
import { importTrace } from '../helpers/import-trace.js';
import { Raw } from '../signaling/raw.js';

let tmp: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'sig-cli-'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function serve(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  const c = spawnCli(['serve', '--port', '0', '--json', ...args], { env: { RTC_CLI_CONFIG_DIR: path.join(tmp, 'cfg'), ...env } });
  children.push(c);
  return c;
}

type Listening = { event: string; url: string; signal: string; port: number; fingerprint256?: string; certPath?: string; auth: boolean };

describe('rtc-cli serve (real bin)', () => {
  it('prints the listening line, relays between two clients, logs joins without payloads, exits 0 on SIGTERM', async () => {
    const child = serve([]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = collect(child, { timeoutMs: 60_000 });
    const listening = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    expect(listening.url).toBe(`http://127.0.0.1:${listening.port}/`);
    expect(listening.signal).toBe(`ws://127.0.0.1:${listening.port}/ws`);
    expect(listening.auth).toBe(false);

    const a = await Raw.joined(listening.signal, 'e2e');
    const b = await Raw.joined(listening.signal, 'e2e');
    a.raw.send({ type: 'relay', data: { sdp: 'PAYLOAD-MARKER' } });
    expect((await b.raw.next('relay')).data).toEqual({ sdp: 'PAYLOAD-MARKER' });
    await expect.poll(() => out, { timeout: 20_000 }).toMatch(/"event":"join"[^\n]*"peers":2/);
    const page = await fetch(listening.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');

    child.kill('SIGTERM');
    // The server closes our sockets with 1001 (going away).
    expect((await a.raw.waitClose()).code).toBe(1001);
    const res = await done;
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => typeof l.event === 'string')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: 'stopped', messagesRelayed: 1 });
    expect(res.stdout).not.toContain('PAYLOAD-MARKER');
    expect(res.stderr).not.toContain('PAYLOAD-MARKER');
  });

  it('--https generates and reuses a certificate, prints its fingerprint, and a wss client trusting it connects', async () => {
    const child = serve(['--https']);
    const listening = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    expect(listening.signal).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect(listening.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(listening.certPath).toBe(path.join(tmp, 'cfg', 'serve-cert.pem'));
    const ca = await readFile(listening.certPath as string, 'utf8');
    const { raw } = await Raw.open(listening.signal, { ca });
    raw.send({ type: 'join', room: 'tls' });
    expect(await raw.next('joined')).toMatchObject({ room: 'tls' });
    raw.terminate();
    child.kill('SIGINT');
    expect((await collect(child)).code).toBe(0);

    // Second start: same certificate.
    const again = serve(['--https']);
    const l2 = await waitForJsonLine<Listening>(again, (o) => o.event === 'listening');
    expect(l2.fingerprint256).toBe(listening.fingerprint256);
    again.kill('SIGTERM');
    expect((await collect(again)).code).toBe(0);
  });

  it('--token (from RTC_TOKEN) is enforced and never printed', async () => {
    const token = 'tok-SECRET-1234';
    const child = serve([], { RTC_TOKEN: token });
    const done = collect(child, { timeoutMs: 60_000 });
    const listening = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening');
    expect(listening.auth).toBe(true);
    const bad = await Raw.open(listening.signal);
    bad.raw.send({ type: 'join', room: 'r', token: 'wrong' });
    await bad.raw.error('unauthorized');
    expect((await bad.raw.waitClose()).code).toBe(4401);
    const good = await Raw.joined(listening.signal, 'r', { token });
    expect(good.joined.type).toBe('joined');
    good.raw.terminate();
    child.kill('SIGTERM');
    const res = await done;
    expect(res.code).toBe(0);
    expect(res.stdout + res.stderr).not.toContain(token);
  });

  it('human output names the page URL and the --signal value', async () => {
    const child = spawnCli(['serve', '--port', '0'], { env: { RTC_CLI_CONFIG_DIR: path.join(tmp, 'cfg') } });
    children.push(child);
    const done = collect(child, { timeoutMs: 60_000 });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/--signal ws:\/\/127\.0\.0\.1:\d+\/ws/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(out).toMatch(/http:\/\/127\.0\.0\.1:\d+\//);
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
  });

  it('--host 0.0.0.0 lists an URL per interface (loopback first) and warns when there is no token', async () => {
    const child = serve(['--host', '0.0.0.0']);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = collect(child, { timeoutMs: 60_000 });
    const listening = await waitForJsonLine<Listening & { urls: string[]; signals: string[] }>(child, (o) => o.event === 'listening');
    expect(listening.urls[0]).toBe(`http://127.0.0.1:${listening.port}/`);
    expect(listening.signals.length).toBe(listening.urls.length);
    expect(listening.signals.every((u) => u.endsWith(`:${listening.port}/ws`))).toBe(true);
    await expect.poll(() => err, { timeout: 10_000 }).toMatch(/without --token/);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });

  it('a port in use → RTC_ERR_LISTEN, exit 1, with a hint', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const res = await runCli(['serve', '--port', String(port), '--json']);
      expect(res.code).toBe(1);
      const err = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { ok: boolean; error: { code: string; hint: string } };
      expect(err).toMatchObject({ ok: false, error: { code: 'RTC_ERR_LISTEN' } });
      expect(err.error.hint).toMatch(/--port/);
      expect(res.stderr).toContain('RTC_ERR_LISTEN');
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('usage errors exit 2 with RTC_ERR_USAGE / RTC_ERR_BAD_ADDRESS in --json', async () => {
    for (const args of [
      ['serve', '--room-size', '0'],
      ['serve', '--port', '70000'],
      ['serve', '--heartbeat', 'soon'],
      ['serve', '--bogus-flag'],
      ['serve', '--cert', path.join(tmp, 'c.pem')],
    ]) {
      const res = await runCli([...args, '--json']);
      expect(res.code, args.join(' ')).toBe(2);
      const obj = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { error: { code: string } };
      expect(obj.error.code).toBe('RTC_ERR_USAGE');
    }
    const res = await runCli(['serve', '--host', 'not-an-ip', '--json']);
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('RTC_ERR_BAD_ADDRESS');
  });
});

describe('help', () => {
  it('`rtc-cli serve --help` shows flags, defaults, env var and an example', async () => {
    const res = await runCli(['serve', '--help']);
    expect(res.code).toBe(0);
    for (const s of ['--port <n>', '(default: 3000)', '--host <ip>', '"127.0.0.1"', '--room-size <n>', '(default: 2)', '--https', '--cert <file>', '--key <file>', '--token <secret>', 'env: RTC_TOKEN', '--heartbeat <seconds>', '(default: 10)', '--max-connections <n>', 'Examples:', 'rtc-cli serve --host 0.0.0.0 --https']) {
      expect(res.stdout).toContain(s);
    }
  });

  it('`rtc-cli --help` lists every registered command, one line each, without importing werift', async () => {
    // Every command registered in src/commands/index.ts, by the name its module declares.
    const cmdDir = fileURLToPath(new URL('../../src/commands/', import.meta.url));
    const index = await readFile(path.join(cmdDir, 'index.ts'), 'utf8');
    const files = [...index.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => m[1]);
    expect(files).toContain('serve');
    const names: string[] = [];
    for (const f of files) {
      const src = await readFile(path.join(cmdDir, `${f}.ts`), 'utf8');
      const m = /\.command\('([\w-]+)/.exec(src);
      if (m) names.push(m[1]);
    }
    expect((await readdir(cmdDir)).length).toBeGreaterThan(1);

    // A module-resolution hook that records every resolution of werift (node:module register, Node >= 20.6).
    const trace = await importTrace(tmp, ['werift']);
    const env = { ...process.env, NO_COLOR: '1' };

    // Control: the hook does see a werift import.
    const control = spawnSync(process.execPath, [...trace.nodeArgs, '--input-type=module', '-e', "await import('werift')"], {
      env,
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(control.status, control.stderr).toBe(0);
    expect(await trace.read()).toContain('werift');
    await trace.reset();

    const res = spawnSync(process.execPath, [...trace.nodeArgs, BIN, '--help'], { env, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(await trace.read()).toEqual([]);
    const commandsSection = res.stdout.split(/^Commands:$/m)[1] ?? '';
    for (const n of names) expect(commandsSection).toMatch(new RegExp(`^  ${n}\\b.*\\S`, 'm'));
    expect(res.stdout).toContain('serve');
  });
});
