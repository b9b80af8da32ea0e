/**
 * `rtc-cli serve`: the signaling server (rooms + relay over WebSocket at /ws) and the companion page, on one port.
 * Runs until SIGINT/SIGTERM, then closes every socket and exits 0. Logic: src/signaling/serve.ts.
 */
import { InvalidArgumentError } from 'commander';
import { withFlagHint, type FlagHints } from '../cli/flag-hints.js';
import { DEFAULT_SERVE_PORT, DEFAULT_SIGNAL_URL, parseIntFlag, parseSecondsFlag } from '../cli/options.js';
import { defineCommand, type FlagTable } from '../cli/flags.js';
import type { CommandContext } from '../cli/context.js';
import type { ServerEvent } from '../signaling/server.js';
import { parseAllowedOrigin } from '../signaling/origin.js';
import { RtcError } from '../errors.js';
import { formatEndpoint } from '../stun/endpoint.js';

interface ServeFlags {
  port: number;
  host: string;
  https?: boolean;
  cert?: string;
  key?: string;
  webRoot?: string;
  token?: string;
  allowOrigin?: string[];
  roomSize: number;
  maxRooms: number;
  heartbeat: number;
  joinTimeout: number;
  maxConnections: number;
  maxPerAddress: number;
  maxMessageBytes: number;
  rate: number;
  burst: number;
  maxBacklog: number;
  maxPendingBytes?: number;
  maxPendingTotal: number;
  logRate: number;
  authFailures: number;
  redis?: string;
  redisPrefix: string;
  metricsPort?: number;
  metricsHost: string;
  metricsToken?: string;
  drainTimeout: number;
  stunPort?: number;
  stunAltHost?: string;
  stunAltPort?: number;
  stunRate?: number;
}

/** `--allow-origin` (repeatable): each value checked and normalised as the browser sends it. */
function collectOrigin(value: string, previous: string[] | undefined): string[] {
  try {
    return [...(previous ?? []), parseAllowedOrigin(value)];
  } catch (e) {
    throw new InvalidArgumentError(e instanceof RtcError ? `${e.message}; ${e.hint ?? ''}`.trim() : String(e));
  }
}

/** The flags behind the embedded STUN server's errors. */
const STUN_FLAG_HINTS: FlagHints = {
  option: {
    altHost: 'bind the primary to one specific address (rtc-cli serve --host <ip>) and give another as --stun-alt-host',
    altPort: 'give --stun-alt-port a port other than --stun-port',
  },
  code: { RTC_ERR_LISTEN: 'another STUN/TURN server (coturn?) uses that port; pick another with --stun-port' },
};

function describeEvent(e: ServerEvent): string | undefined {
  switch (e.event) {
    case 'join':
      return `peer ${e.id} joined room "${e.room}" (${e.peers} in it)`;
    case 'leave':
      return `peer ${e.id} left room "${e.room}"${e.reason === 'disconnect' ? ' (disconnected)' : ''}`;
    case 'full':
      return `room "${e.room}" is full: refused peer ${e.id}`;
    case 'heartbeat-timeout':
      return `peer ${e.id} stopped answering pings: dropped`;
    case 'slow-consumer':
      return `peer ${e.id} stopped reading (${e.bufferedBytes} bytes queued): dropped`;
    case 'server-full':
      return `refused a connection from ${e.address}: --max-connections reached`;
    case 'address-full':
      return `refused a connection from ${e.address}: --max-per-address reached`;
    case 'forbidden':
      return e.reason === 'origin'
        ? `refused a page of origin ${JSON.stringify(e.value)} from ${e.address} (not this server's; --allow-origin lets it in)`
        : `refused a request for Host ${JSON.stringify(e.value)} from ${e.address} (not a loopback name: DNS rebinding?)`;
    case 'join-timeout':
      return `peer ${e.id} did not join within --join-timeout: closed`;
    case 'throttled':
      return `peer ${e.id} from ${e.address}: too many wrong tokens, refused without checking`;
    case 'pending-limit':
      return `peer ${e.id}: unfinished messages passed --max-pending-total: closed`;
    case 'store':
      return e.message;
    case 'store-reset':
      return `peer ${e.id}: its rooms were lost while this instance was cut off from Redis; asked to reconnect`;
    case 'internal-error':
      return `internal error: ${e.message}`;
    default:
      return undefined;
  }
}

const LISTEN = 'Listening:';
const ACCESS = 'Rooms and access:';
const LIMITS = 'Limits (hold under abuse):';
const STUN = 'Embedded STUN server:';
const SCALE = 'Several instances, metrics and shutdown:';

const FLAGS: FlagTable<ServeFlags> = {
  port: { flags: '--port <n>', help: 'TCP port (0 = any free port)', parse: parseIntFlag('--port', 0, 65535), default: DEFAULT_SERVE_PORT, group: LISTEN },
  host: {
    flags: '--host <ip>',
    help: 'address to bind: 127.0.0.1 = this machine only, 0.0.0.0 = the LAN',
    doc: 'bind address; `0.0.0.0` (or `::`) for the LAN — every interface address is printed',
    default: '127.0.0.1',
    group: LISTEN,
  },
  https: {
    flags: '--https',
    help: 'serve HTTPS/WSS (needed for the camera page on other devices); generates a self-signed certificate unless --cert/--key',
    doc: 'HTTPS + WSS (the camera page on other devices needs it); a generated self-signed certificate unless `--cert`/`--key`',
    group: LISTEN,
  },
  cert: { flags: '--cert <file>', help: 'PEM certificate for --https (implies --https)', group: LISTEN },
  key: { flags: '--key <file>', help: 'PEM private key for --cert (implies --https)', group: LISTEN },
  webRoot: { flags: '--web-root <dir>', help: 'serve this directory at / instead of the bundled companion page', defaultText: "the package's src/web", group: LISTEN },
  token: {
    flags: '--token <secret>',
    env: 'RTC_TOKEN',
    help: 'clients must present this secret to join (prefer the env var; never printed)',
    doc: 'clients must send it in `join`; never printed or logged',
    group: ACCESS,
  },
  allowOrigin: {
    flags: '--allow-origin <origin>',
    help: 'repeatable: also let pages of this origin (scheme://host[:port]) use the server',
    doc: "repeatable: also let browser pages of this origin (`scheme://host[:port]`) use the server; the page's CSP may then connect there too",
    parse: collectOrigin,
    group: ACCESS,
  },
  roomSize: { flags: '--room-size <n>', help: 'peers per room; the next joiner gets "full"', parse: parseIntFlag('--room-size', 1, 10_000), default: 2, group: ACCESS },
  maxRooms: { flags: '--max-rooms <n>', help: 'rooms one connection may be in at once', parse: parseIntFlag('--max-rooms', 1, 1000), default: 1, group: ACCESS },
  heartbeat: {
    flags: '--heartbeat <seconds>',
    help: 'ping interval; a peer silent for two intervals is dropped',
    parse: parseSecondsFlag('--heartbeat', 0.05, 3600),
    default: 10_000,
    defaultText: '10',
    group: LIMITS,
  },
  joinTimeout: {
    flags: '--join-timeout <seconds>',
    help: 'close a connection that has not joined a room this long after connecting (4408)',
    parse: parseSecondsFlag('--join-timeout', 0.05, 3600),
    default: 10_000,
    defaultText: '10',
    group: LIMITS,
  },
  maxConnections: {
    flags: '--max-connections <n>',
    help: 'concurrent WebSocket connections; further ones get "server-full"',
    parse: parseIntFlag('--max-connections', 1, 1_000_000),
    default: 10_000,
    group: LIMITS,
  },
  maxPerAddress: {
    flags: '--max-per-address <n>',
    help: 'concurrent connections from one address (IPv6: one /64); more get "too-many-connections"',
    parse: parseIntFlag('--max-per-address', 1, 1_000_000),
    default: 100,
    group: LIMITS,
  },
  maxMessageBytes: {
    flags: '--max-message-bytes <n>',
    help: 'largest signaling message accepted; larger ones get "too-large"',
    parse: parseIntFlag('--max-message-bytes', 256, 16 * 1024 * 1024),
    default: 65_536,
    group: LIMITS,
  },
  rate: { flags: '--rate <n>', help: 'messages per second per connection, sustained (token bucket)', parse: parseIntFlag('--rate', 1, 1_000_000), default: 50, group: LIMITS },
  burst: { flags: '--burst <n>', help: 'messages a connection may send at once above --rate', parse: parseIntFlag('--burst', 1, 1_000_000), default: 200, group: LIMITS },
  maxBacklog: {
    flags: '--max-backlog <bytes>',
    help: 'disconnect a peer that has not read this much of what was sent to it ("slow-consumer")',
    parse: parseIntFlag('--max-backlog', 1024, 1024 ** 3),
    default: 4 * 1024 * 1024,
    group: LIMITS,
  },
  maxPendingBytes: {
    flags: '--max-pending-bytes <bytes>',
    help: 'bytes one connection may hold in an unfinished message; larger: close 1009',
    defaultText: '4 x --max-message-bytes, at least 65536',
    parse: parseIntFlag('--max-pending-bytes', 256, 64 * 1024 * 1024),
    group: LIMITS,
  },
  maxPendingTotal: {
    flags: '--max-pending-total <bytes>',
    help: 'bytes all connections together may hold in unfinished messages; the one that passes it: close 1013',
    parse: parseIntFlag('--max-pending-total', 1024, 64 * 1024 ** 3),
    default: 32 * 1024 * 1024,
    group: LIMITS,
  },
  logRate: {
    flags: '--log-rate <n>',
    help: 'log lines per connection per second after a burst of 10x (the rest is counted in "suppressed")',
    parse: parseIntFlag('--log-rate', 1, 1_000_000),
    default: 1,
    group: LIMITS,
  },
  authFailures: {
    flags: '--auth-failures <n>',
    help: 'wrong tokens one address may send per minute; then its token joins get "throttled" (4429) without being checked',
    parse: parseIntFlag('--auth-failures', 1, 1_000_000),
    default: 10,
    group: LIMITS,
  },
  redis: {
    flags: '--redis <url>',
    env: 'RTC_REDIS_URL',
    help: 'share rooms with other serve instances through Redis: redis://[:password@]host:6379[/db] or rediss:// (TLS); prefer the env var (the password)',
    doc:
      'share rooms with other `serve` instances through Redis: `redis://[:password@]host[:port][/db]`, `rediss://` for TLS. ' +
      'Prefer the env var: a flag shows in `ps`. See [Several instances](#several-instances-redis)',
    defaultText: 'off (rooms in memory)',
    group: SCALE,
  },
  redisPrefix: {
    flags: '--redis-prefix <prefix>',
    help: 'prefix of every Redis key and channel (instances sharing rooms use the same one)',
    doc: 'prefix of every Redis key and channel; instances that share rooms use the same one, unrelated deployments on one Redis use different ones',
    default: 'rtc:',
    group: SCALE,
  },
  metricsPort: {
    flags: '--metrics-port <port>',
    help: 'serve GET /metrics (Prometheus text) on this separate port (0 = any free port)',
    doc: 'serve `GET /metrics` (Prometheus text) on this separate port; 0 picks one (printed as `metrics` in the listening line). See [Metrics](#metrics)',
    parse: parseIntFlag('--metrics-port', 0, 65535),
    defaultText: 'off',
    group: SCALE,
  },
  metricsHost: { flags: '--metrics-host <ip>', help: 'address of the metrics listener (it reveals load: keep it private)', default: '127.0.0.1', group: SCALE },
  metricsToken: {
    flags: '--metrics-token <secret>',
    env: 'RTC_METRICS_TOKEN',
    help: 'scrapers must send Authorization: Bearer <secret> (prefer the env var)',
    group: SCALE,
  },
  drainTimeout: {
    flags: '--drain-timeout <seconds>',
    help: 'on SIGTERM: how long to wait for clients to leave after telling them to reconnect',
    doc: 'on SIGTERM/SIGINT: how long to wait for clients to go after telling them to reconnect; then they are cut off',
    parse: parseSecondsFlag('--drain-timeout', 0, 3600),
    default: 10_000,
    defaultText: '10',
    group: SCALE,
  },
  stunPort: {
    flags: '--stun-port <port>',
    help: 'also answer STUN Binding requests on this UDP port of --host (e.g. 3478), so a LAN needs no outside STUN server',
    parse: parseIntFlag('--stun-port', 0, 65535),
    defaultText: 'off',
    group: STUN,
  },
  stunAltHost: {
    flags: '--stun-alt-host <ip>',
    help: 'a second local address: with it the STUN server answers RFC 5780 tests (nat-probe) on two addresses and two ports',
    defaultText: 'off',
    group: STUN,
  },
  stunAltPort: {
    flags: '--stun-alt-port <port>',
    help: 'the second STUN port for --stun-alt-host',
    parse: parseIntFlag('--stun-alt-port', 0, 65535),
    defaultText: '--stun-port + 1',
    group: STUN,
  },
  stunRate: {
    flags: '--stun-rate <n>',
    help: 'STUN requests answered per second per source address; a source may send twice that at once, beyond that its requests are dropped unanswered (0: no limit)',
    parse: parseIntFlag('--stun-rate', 0, 1_000_000),
    defaultText: '50',
    group: STUN,
  },
};

export const command = defineCommand<ServeFlags>({
  name: 'serve',
  group: 'serve',
  summary: 'run the signaling server (rooms, relay) and the companion page on one HTTP(S) port',
  flags: FLAGS,
  helpAfter: `
Peers connect to ws(s)://<host>:<port>/ws (the --signal value printed at start). Protocol: docs/signaling-protocol.md.
With --json every event is one JSON line on stdout; the first is {"event":"listening","url",...,"signal",...}.
Payloads and tokens are never logged. SIGINT/SIGTERM drain: stop accepting, take every client out of its rooms,
close its socket (1001: it reconnects at once, to another instance behind a load balancer), exit 0 (--drain-timeout).
Several instances share rooms with --redis (README: Several instances); --metrics-port serves Prometheus metrics.

Examples:
  rtc-cli serve                                  # http://127.0.0.1:3000, peers use the default --signal
  rtc-cli serve --host 0.0.0.0 --https           # phones on the LAN: open the printed https:// URL
  RTC_TOKEN=s3cret rtc-cli serve --port 0 --json
  RTC_REDIS_URL=redis://:pw@10.0.0.5:6379 rtc-cli serve --host 0.0.0.0 --metrics-port 9464`,
  run: async (ctx, opts) => {
    const { startServe } = await import('../signaling/serve.js');
    // The embedded STUN server starts first: if its port is taken, nothing else is left running.
    let stun: import('../diagnostics/embedded-stun.js').StunServerHandle | undefined;
    if (opts.stunPort !== undefined || opts.stunAltHost !== undefined) {
      const { startEmbeddedStunServer } = await import('../diagnostics/embedded-stun.js');
      const stunPort = opts.stunPort ?? 3478;
      stun = await startEmbeddedStunServer({
        host: opts.host === 'localhost' ? '127.0.0.1' : opts.host,
        port: stunPort,
        altHost: opts.stunAltHost,
        altPort: opts.stunAltHost !== undefined ? (opts.stunAltPort ?? (stunPort === 0 ? 0 : stunPort + 1)) : undefined,
        ratePerSecond: opts.stunRate,
      }).catch((e: unknown) => {
        throw withFlagHint(e, STUN_FLAG_HINTS);
      });
    }
    const log = (e: ServerEvent): void => logEvent(ctx, e);
    const handle = await startServe({
      host: opts.host,
      port: opts.port,
      roomSize: opts.roomSize,
      https: Boolean(opts.https || opts.cert || opts.key),
      certPath: opts.cert,
      keyPath: opts.key,
      token: opts.token,
      heartbeatIntervalMs: opts.heartbeat,
      maxConnections: opts.maxConnections,
      maxMessageBytes: opts.maxMessageBytes,
      maxRoomsPerConnection: opts.maxRooms,
      rateLimit: { perSecond: opts.rate, burst: opts.burst },
      allowOrigins: opts.allowOrigin,
      joinTimeoutMs: opts.joinTimeout,
      maxConnectionsPerAddress: opts.maxPerAddress,
      maxBufferedBytes: opts.maxBacklog,
      maxPendingBytes: opts.maxPendingBytes,
      maxPendingTotalBytes: opts.maxPendingTotal,
      logRate: opts.logRate,
      authFailuresPerMinute: opts.authFailures,
      drainTimeoutMs: opts.drainTimeout,
      webRoot: opts.webRoot,
      redis: opts.redis !== undefined ? { url: opts.redis, prefix: opts.redisPrefix } : undefined,
      metrics: opts.metricsPort !== undefined ? { port: opts.metricsPort, host: opts.metricsHost, token: opts.metricsToken } : undefined,
      onEvent: log,
      signal: ctx.signal,
    }).catch(async (e: unknown) => {
      await stun?.close();
      throw e;
    });
    const { server, tls } = handle;
    const listening = {
      event: 'listening',
      url: handle.urls[0],
      signal: handle.signalUrls[0],
      urls: handle.urls,
      signals: handle.signalUrls,
      host: server.host,
      port: server.port,
      https: server.https,
      roomSize: opts.roomSize,
      auth: opts.token !== undefined,
      allowOrigins: opts.allowOrigin ?? [],
      ...(tls ? { fingerprint256: tls.fingerprint256, certPath: tls.certPath, certGenerated: tls.generated } : {}),
      pid: process.pid,
      ...(handle.redis ? { redis: handle.redis } : {}),
      ...(handle.metrics ? { metrics: handle.metrics.url } : {}),
      ...(stun ? { stun: { url: `stun:${formatEndpoint(stun.addresses.primary)}`, rfc5780: stun.addresses.rfc5780, addresses: stun.addresses.all } } : {}),
    };
    const loopback = /^(127\.|::1$|localhost$)/.test(server.host);
    if (!loopback && opts.token === undefined) {
      ctx.out.warn(`listening on ${server.host} without --token: anyone who can reach this port can join rooms and relay messages`);
    }
    if (handle.metrics && !/^(127\.|::1$|localhost$)/.test(opts.metricsHost) && opts.metricsToken === undefined) {
      ctx.out.warn(`metrics on ${opts.metricsHost} without --metrics-token: anyone who can reach that port sees this server's load`);
    }
    if (ctx.out.json) {
      ctx.out.event(listening);
    } else {
      // The STUN URL is part of the result (--quiet keeps it): clients need it as much as the signal URL.
      const p = stun?.addresses.primary;
      const stunLine = stun && p
        ? `STUN server: stun:${formatEndpoint(p)}${stun.addresses.rfc5780 ? ` (RFC 5780, other address ${formatEndpoint(stun.addresses.other!)}: rtc-cli nat-probe works against it)` : ''}`
        : undefined;
      const more = [
        stunLine,
        handle.redis && `Rooms shared through Redis ${handle.redis.url} (this instance: ${handle.redis.instance})`,
        handle.metrics && `Metrics (Prometheus): ${handle.metrics.url}`,
      ].filter((l): l is string => Boolean(l));
      ctx.out.result(listening, () => humanListening(ctx, handle.urls, handle.signalUrls, opts, tls, more.join('\n') || undefined));
    }
    // Serve until SIGINT/SIGTERM (ctx.signal); startServe closes the server on the same signal.
    if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    const stats = await server.stats();
    await handle.close();
    await stun?.close();
    if (ctx.out.json) ctx.out.event({ event: 'stopped', ...stats });
    else ctx.out.info(`stopped: closed ${stats.connections} connection(s), relayed ${stats.messagesRelayed} message(s)`);
    ctx.setExitCode(0);
  },
});

function logEvent(ctx: CommandContext, e: ServerEvent): void {
  if (ctx.out.json) {
    ctx.out.event({ ...e, time: new Date().toISOString() });
    return;
  }
  const text = describeEvent(e);
  if (text) ctx.out.info(text);
  else if (e.event === 'refused') ctx.out.debug(`peer ${e.id}: refused ${e.ref ?? 'message'} (${e.code})`);
  else ctx.out.debug(JSON.stringify(e));
}

function humanListening(
  ctx: CommandContext,
  urls: string[],
  signals: string[],
  opts: ServeFlags,
  tls: { fingerprint256: string; certPath?: string; generated: boolean } | undefined,
  stunLine?: string,
): string {
  const c = ctx.out.color;
  const lines = [`${c.green('rtc-cli serve')} listening (rooms of ${opts.roomSize}${opts.token !== undefined ? ', token required' : ''})`, '', 'Open the page:'];
  for (const u of urls) lines.push(`  ${c.cyan(u)}`);
  lines.push('', 'Peers use:');
  for (const s of signals) lines.push(`  --signal ${s}${s === DEFAULT_SIGNAL_URL ? c.dim('   (the default)') : ''}`);
  if (stunLine) lines.push('', stunLine);
  if (tls) {
    lines.push('', `TLS certificate SHA-256 fingerprint (check it in the browser's certificate warning):`, `  ${tls.fingerprint256}`);
    if (tls.certPath) lines.push(c.dim(`  ${tls.generated ? 'generated' : 'stored'} at ${tls.certPath}`));
  }
  if (opts.host === '127.0.0.1' || opts.host === 'localhost' || opts.host === '::1') {
    lines.push('', c.dim('Only this machine can connect; use --host 0.0.0.0 (and --https for cameras) for other devices.'));
  }
  lines.push(c.dim('Ctrl-C to stop.'));
  return lines.join('\n');
}
