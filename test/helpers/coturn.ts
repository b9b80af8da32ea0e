/**
 * A real coturn (Debian's `turnserver`) on loopback for tests: ephemeral ports, its own empty config file (so
 * /etc/turnserver.conf — syslog, no-rfc5780 ... — never leaks in), long-term or TURN REST (`use-auth-secret`)
 * credentials, TCP, and TLS with a certificate generated for 127.0.0.1 into a temp dir.
 *
 *   const turn = await startCoturn();                       // long-term credentials
 *   const rest = await startCoturn({ auth: 'secret' });     // --use-auth-secret --static-auth-secret
 *   ... turn.urls.udp / turn.urls.tcp / turn.urls.tls, turn.username, turn.password, turn.caFile
 *   await turn.stop();
 *
 * Readiness is probed, not guessed: a STUN Binding over UDP must be answered and the TCP and TLS ports must accept.
 * coturn binds with SO_REUSEADDR, so a port race with another process would not fail loudly: ports are picked by
 * binding port 0 for UDP *and* TCP first, and every instance gets its own random realm by default.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CoturnOptions {
  /** 'long-term': --lt-cred-mech --user u:p (default). 'secret': --use-auth-secret --static-auth-secret S (TURN REST). */
  auth?: 'long-term' | 'secret';
  username?: string;
  password?: string;
  secret?: string;
  /** Default: a random realm per instance, so a port mix-up between two instances shows as a realm mismatch. */
  realm?: string;
  /** Start the TLS listener with a generated certificate (default true). */
  tls?: boolean;
  /**
   * Let the relay talk to loopback peers (default true: tests relay between loopback sockets). false leaves coturn's
   * default, which answers 403 to CreatePermission for 127.0.0.0/8 peers.
   */
  allowLoopbackPeers?: boolean;
  /**
   * Relay port range. Default 49152-64999, which leaves 65000-65535 to tests that need ports no other fixture
   * instance can allocate (e.g. to drop relayed packets with an nftables rule without touching anyone else's).
   */
  relayPorts?: [number, number];
  /** Listening and relay address: 127.0.0.1 (default) or ::1 (an IPv6-only server). */
  host?: '127.0.0.1' | '::1';
  /** Extra turnserver flags, e.g. ['--stale-nonce=1'], ['--user-quota=1'], ['--denied-peer-ip=127.0.0.1']. */
  extraArgs?: string[];
  /** Give up starting after this long (default 15 s: the machine is shared). */
  startTimeoutMs?: number;
}

export interface Coturn {
  host: string;
  /** UDP and TCP listening port. */
  port: number;
  /** TLS listening port (0 when started with tls: false). */
  tlsPort: number;
  urls: { udp: string; tcp: string; tls: string };
  /** Long-term username/password; in 'secret' mode these are empty (mint REST credentials from `secret`). */
  username: string;
  password: string;
  secret: string;
  realm: string;
  /** PEM certificate (self-signed, SAN IP:127.0.0.1 and DNS:localhost): pass as --ca to trust it. */
  caFile: string;
  certFile: string;
  keyFile: string;
  dir: string;
  pid: number;
  /** coturn's log so far (stdout, line-buffered). */
  logs(): string;
  stop(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';

/** Is `turnserver` installed? Tests call startCoturn and fail loudly if not (CI installs coturn). */
export function hasTurnserver(): boolean {
  return spawnSync('turnserver', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A port free for both UDP and TCP on 127.0.0.1 right now (coturn listens on both). */
export async function freeUdpTcpPort(host = DEFAULT_HOST, exclude: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const srv = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, host, () => resolve((srv.address() as { port: number }).port));
    });
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const udpOk = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, host, () => resolve(true));
    });
    sock.close();
    await new Promise<void>((r) => srv.close(() => r()));
    if (udpOk && !exclude.includes(port)) return port;
  }
  throw new Error('freeUdpTcpPort: no port free for both UDP and TCP after 50 attempts');
}

/** One STUN Binding request over UDP (RFC 8489 §6); resolves true when a response with our transaction id arrives. */
function stunBindingAnswered(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const tid = randomBytes(12);
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request
    req.writeUInt16BE(0, 2);
    req.writeUInt32BE(0x2112a442, 4); // magic cookie
    tid.copy(req, 8);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('message', (msg) => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(tid)) done(true);
    });
    sock.send(req, port, host);
  });
}

function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Self-signed certificate for 127.0.0.1, ::1 and localhost (P-256: fast to generate). */
export function makeCert(dir: string, name = 'turn'): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const r = spawnSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not generate a test certificate: ${r.stderr || r.error?.message}`);
  return { certFile, keyFile };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startCoturn(opts: CoturnOptions = {}): Promise<Coturn> {
  if (!hasTurnserver()) {
    throw new Error('turnserver (coturn) is not installed: run `bash scripts/install-test-deps.sh` (apt-get install coturn)');
  }
  const auth = opts.auth ?? 'long-term';
  const HOST = opts.host ?? DEFAULT_HOST;
  const urlHost = HOST.includes(':') ? `[${HOST}]` : HOST;
  const tls = opts.tls ?? true;
  const realm = opts.realm ?? `test-${randomBytes(4).toString('hex')}.rtc-cli`;
  const username = auth === 'long-term' ? (opts.username ?? 'rtcuser') : '';
  const password = auth === 'long-term' ? (opts.password ?? `pw-${randomBytes(6).toString('hex')}`) : '';
  const secret = auth === 'secret' ? (opts.secret ?? `secret-${randomBytes(8).toString('hex')}`) : '';
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;

  const dir = mkdtempSync(join(tmpdir(), 'turn-coturn-'));
  const confFile = join(dir, 'turnserver.conf');
  // An explicit empty config: otherwise coturn reads /etc/turnserver.conf (Debian's sends logs to syslog).
  writeFileSync(confFile, '# rtc-cli test fixture: everything is on the command line\n');
  const { certFile, keyFile } = tls ? makeCert(dir) : { certFile: '', keyFile: '' };

  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeUdpTcpPort(HOST);
    // coturn also opens "alt" ports (listening port + 1) for RFC 5780 only with two listening IPs, so one is enough.
    const tlsPort = tls ? await freeUdpTcpPort(HOST, [port, port + 1]) : 0;
    const args = [
      '-c', confFile,
      '--listening-ip', HOST,
      '--relay-ip', HOST,
      '--listening-port', String(port),
      '--no-cli',
      '--no-dtls',
      '--realm', realm,
      '--fingerprint',
      '--pidfile', join(dir, 'turnserver.pid'),
      '--userdb', join(dir, 'turndb'),
      '--log-file', 'stdout',
      '--simple-log',
      '--no-software-attribute',
    ];
    // coturn refuses loopback peers unless told (CONFIG WARNING in its log); tests relay between loopback sockets.
    const [minPort, maxPort] = opts.relayPorts ?? [49152, 64999];
    args.push('--min-port', String(minPort), '--max-port', String(maxPort));
    if (opts.allowLoopbackPeers ?? true) args.push('--allow-loopback-peers', '--allowed-peer-ip', HOST);
    if (tls) args.push('--tls-listening-port', String(tlsPort), '--cert', certFile, '--pkey', keyFile);
    else args.push('--no-tls');
    if (auth === 'long-term') args.push('--lt-cred-mech', '--user', `${username}:${password}`);
    else args.push('--use-auth-secret', '--static-auth-secret', secret);
    args.push(...(opts.extraArgs ?? []));

    // stdbuf: coturn block-buffers its stdout log when it is not a terminal.
    const child = spawn('stdbuf', ['-oL', 'turnserver', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let log = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    let exited = false;
    const exitPromise = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        live.delete(child);
        resolve();
      });
    });

    const stop = async (): Promise<void> => {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exitPromise;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    };

    const deadline = Date.now() + startTimeoutMs;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      const udp = await stunBindingAnswered(HOST, port, 300);
      const tcp = udp && (await tcpAccepts(HOST, port, 300));
      const tlsOk = !tls || (tcp && (await tcpAccepts(HOST, tlsPort, 300)));
      if (udp && tcp && tlsOk) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        host: HOST,
        port,
        tlsPort,
        urls: {
          udp: `turn:${urlHost}:${port}?transport=udp`,
          tcp: `turn:${urlHost}:${port}?transport=tcp`,
          tls: tls ? `turns:${urlHost}:${tlsPort}?transport=tcp` : '',
        },
        username,
        password,
        secret,
        realm,
        caFile: certFile,
        certFile,
        keyFile,
        dir,
        pid: child.pid ?? -1,
        logs: () => log,
        stop,
      };
    }
    lastErr = exited ? `turnserver exited early:\n${log.slice(-3000)}` : `turnserver not ready within ${startTimeoutMs} ms:\n${log.slice(-3000)}`;
    if (!exited) {
      child.kill('SIGKILL');
      await exitPromise;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`startCoturn failed after 3 attempts: ${lastErr}`);
}
