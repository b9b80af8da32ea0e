/**
 * A real redis-server (Debian's package) for tests: a free loopback port, its own temp dir, no persistence
 * (`--save ''`, no AOF), optionally a password (`requirepass`). It can be stopped and started again on the same port
 * (the "Redis restarted under traffic" tests) and paused (SIGSTOP: a Redis that hangs).
 *
 *   const redis = await startRedis();                    // redis.url = redis://127.0.0.1:PORT
 *   const locked = await startRedis({ password: 'pw' }); // locked.url = redis://:pw@127.0.0.1:PORT
 *   await redis.stop(); await redis.start();             // same port, empty again
 *   await redis.close();
 *
 * Readiness is probed (a PING answered), never guessed. A missing redis-server fails loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  port: number;
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  password?: string;
  /** Start (again) on the same port, empty. */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit (no persistence: the data is gone). */
  stop(): Promise<void>;
  /** SIGKILL. */
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Run one command with redis-cli and return its output (for assertions on keys). */
  cli(...args: string[]): string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function requireRedis(): void {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('redis-server is not installed: run `bash scripts/install-test-deps.sh` (Debian package redis-server)');
}

/** Resolve once the server answers PING (+PONG, or -NOAUTH when a password is set). */
async function waitReady(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      const done = (v: boolean): void => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(500, () => done(false));
      s.on('error', () => done(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(opts: { password?: string; startTimeoutMs?: number } = {}): Promise<RedisServer> {
  requireRedis();
  const dir = mkdtempSync(join(tmpdir(), 'rtc-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  if (opts.password) args.push('--requirepass', opts.password);
  const server: RedisServer = {
    port,
    password: opts.password,
    url: `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitReady(port, opts.startTimeoutMs ?? 15_000, child);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGCONT');
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
    async kill() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    cli(...cmd: string[]) {
      const auth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : [];
      const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...cmd], { encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) throw new Error(`redis-cli ${cmd.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
