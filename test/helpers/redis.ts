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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  port: number;
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  password?: string;
  /** With `tls`: the CA (the self-signed server certificate) a client must trust. */
  caFile?: string;
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
async function waitReady(port: number, timeoutMs: number, child: ChildProcess, ca?: Buffer): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = ca ? tlsConnect({ port, host: '127.0.0.1', ca }) : connect(port, '127.0.0.1');
      const done = (v: boolean): void => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(500, () => done(false));
      s.on('error', () => done(false));
      s.on(ca ? 'secureConnect' : 'connect', () => s.write('PING\r\n'));
      s.on('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `tls`: only a TLS port (a certificate for 127.0.0.1 generated with openssl into the temp dir); url is rediss://. */
export async function startRedis(opts: { password?: string; tls?: boolean; startTimeoutMs?: number } = {}): Promise<RedisServer> {
  requireRedis();
  const dir = mkdtempSync(join(tmpdir(), 'rtc-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  let ca: Buffer | undefined;
  if (opts.tls) {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    ca = readFileSync(cert);
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  if (opts.password) args.push('--requirepass', opts.password);
  const server: RedisServer = {
    port,
    password: opts.password,
    caFile: opts.tls ? join(dir, 'cert.pem') : undefined,
    url: `${opts.tls ? 'rediss' : 'redis'}://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitReady(port, opts.startTimeoutMs ?? 15_000, child, ca);
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
      const auth = [...(opts.password ? ['-a', opts.password, '--no-auth-warning'] : []), ...(opts.tls ? ['--tls', '--cacert', join(dir, 'cert.pem')] : [])];
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
