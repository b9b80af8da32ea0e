/**
 * `rtc-cli serve`: the signaling server (rooms + relay over WebSocket at /ws) and the companion page, on one port.
 * Runs until SIGINT/SIGTERM, then closes every socket and exits 0. Logic: src/signaling/serve.ts.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { withFlagHint, type FlagHints } from '../cli/flag-hints.js';
import { action } from '../cli/run.js';
import { DEFAULT_SERVE_PORT, DEFAULT_SIGNAL_URL, parseIntFlag, parseSecondsFlag } from '../cli/options.js';
import type { CommandContext } from '../cli/context.js';
import type { ServerEvent } from '../signaling/server.js';
import { parseAllowedOrigin } from '../signaling/origin.js';
import { RtcError } from '../errors.js';

interface ServeFlags {
  port: number;
  host: string;
  roomSize: number;
  https?: boolean;
  cert?: string;
  key?: string;
  token?: string;
  heartbeat: number;
  maxConnections: number;
  maxMessageBytes: number;
  maxRooms: number;
  rate: number;
  burst: number;
  webRoot?: string;
  stunPort?: number;
  stunAltHost?: string;
  stunAltPort?: number;
  stunRate?: number;
  allowOrigin?: string[];
  joinTimeout: number;
  maxPerAddress: number;
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

export function register(program: Command): Command {
  return program
    .command('serve')
    .description('run the signaling server (rooms, relay) and the companion page on one HTTP(S) port')
    .addOption(new Option('--port <n>', 'TCP port (0 = any free port)').argParser(parseIntFlag('--port', 0, 65535)).default(DEFAULT_SERVE_PORT))
    .addOption(new Option('--host <ip>', 'address to bind: 127.0.0.1 = this machine only, 0.0.0.0 = the LAN').default('127.0.0.1'))
    .addOption(new Option('--room-size <n>', 'peers per room').argParser(parseIntFlag('--room-size', 1, 10_000)).default(2))
    .addOption(new Option('--https', 'serve HTTPS/WSS (needed for the camera page on other devices); generates a self-signed certificate unless --cert/--key'))
    .addOption(new Option('--cert <file>', 'PEM certificate for --https (implies --https)'))
    .addOption(new Option('--key <file>', 'PEM private key for --cert'))
    .addOption(new Option('--token <secret>', 'clients must present this secret to join (prefer the env var; never printed)').env('RTC_TOKEN'))
    .addOption(
      new Option('--heartbeat <seconds>', 'ping interval; a peer silent for two intervals is dropped')
        .argParser(parseSecondsFlag('--heartbeat', 0.05, 3600))
        .default(10_000, '10'),
    )
    .addOption(new Option('--max-connections <n>', 'concurrent WebSocket connections').argParser(parseIntFlag('--max-connections', 1, 1_000_000)).default(10_000))
    .addOption(
      new Option('--max-message-bytes <n>', 'largest signaling message accepted').argParser(parseIntFlag('--max-message-bytes', 256, 16 * 1024 * 1024)).default(65_536),
    )
    .addOption(new Option('--max-rooms <n>', 'rooms one connection may be in at once').argParser(parseIntFlag('--max-rooms', 1, 1000)).default(1))
    .addOption(new Option('--rate <n>', 'messages per second per connection (sustained)').argParser(parseIntFlag('--rate', 1, 1_000_000)).default(50))
    .addOption(new Option('--burst <n>', 'messages a connection may send at once above --rate').argParser(parseIntFlag('--burst', 1, 1_000_000)).default(200))
    .addOption(new Option('--allow-origin <origin>', 'repeatable: also let pages of this origin (scheme://host[:port]) use the server').argParser(collectOrigin))
    .addOption(
      new Option('--join-timeout <seconds>', 'close a connection that has not joined a room this long after connecting')
        .argParser(parseSecondsFlag('--join-timeout', 0.05, 3600))
        .default(10_000, '10'),
    )
    .addOption(new Option('--max-per-address <n>', 'concurrent connections from one address (IPv6: one /64)').argParser(parseIntFlag('--max-per-address', 1, 1_000_000)).default(100))
    .addOption(
      new Option('--max-backlog <bytes>', 'disconnect a peer that has not read this much of what was sent to it')
        .argParser(parseIntFlag('--max-backlog', 1024, 1024 ** 3))
        .default(4 * 1024 * 1024),
    )
    .addOption(
      new Option('--max-pending-bytes <bytes>', 'bytes one connection may hold in an unfinished message (default: 4 x --max-message-bytes, at least 65536)').argParser(
        parseIntFlag('--max-pending-bytes', 256, 64 * 1024 * 1024),
      ),
    )
    .addOption(
      new Option('--max-pending-total <bytes>', 'bytes all connections together may hold in unfinished messages')
        .argParser(parseIntFlag('--max-pending-total', 1024, 64 * 1024 ** 3))
        .default(32 * 1024 * 1024),
    )
    .addOption(new Option('--log-rate <n>', 'log lines per connection per second after a burst of 10x (the rest is counted)').argParser(parseIntFlag('--log-rate', 1, 1_000_000)).default(1))
    .addOption(
      new Option('--auth-failures <n>', 'wrong tokens one address may send per minute before its joins are refused for a while')
        .argParser(parseIntFlag('--auth-failures', 1, 1_000_000))
        .default(10),
    )
    .addOption(new Option('--web-root <dir>', 'serve this directory at / instead of the bundled companion page'))
    .addOption(new Option('--redis <url>', 'share rooms with other serve instances through Redis: redis://[:password@]host:6379[/db] or rediss:// (TLS); prefer the env var (the password)').env('RTC_REDIS_URL'))
    .addOption(new Option('--redis-prefix <prefix>', 'prefix of every Redis key and channel (instances sharing rooms use the same one)').default('rtc:'))
    .addOption(new Option('--metrics-port <port>', 'serve GET /metrics (Prometheus text) on this separate port (0 = any free port)').argParser(parseIntFlag('--metrics-port', 0, 65535)))
    .addOption(new Option('--metrics-host <ip>', 'address of the metrics listener (it reveals load: keep it private)').default('127.0.0.1'))
    .addOption(new Option('--metrics-token <secret>', 'scrapers must send Authorization: Bearer <secret> (prefer the env var)').env('RTC_METRICS_TOKEN'))
    .addOption(
      new Option('--drain-timeout <seconds>', 'on SIGTERM: how long to wait for clients to leave after telling them to reconnect')
        .argParser(parseSecondsFlag('--drain-timeout', 0, 3600))
        .default(10_000, '10'),
    )
    .addOption(new Option('--stun-port <port>', 'also answer STUN Binding requests on this UDP port of --host (e.g. 3478), so a LAN needs no outside STUN server').argParser(parseIntFlag('--stun-port', 0, 65535)))
    .addOption(new Option('--stun-alt-host <ip>', 'a second local address: with it the STUN server answers RFC 5780 (nat-probe) on two addresses and two ports').argParser((v: string) => v))
    .addOption(new Option('--stun-alt-port <port>', 'the second STUN port for --stun-alt-host (default: --stun-port + 1)').argParser(parseIntFlag('--stun-alt-port', 0, 65535)))
    .addOption(new Option('--stun-rate <n>', 'STUN requests answered per second per source address (twice that at once; 0: no limit) (default: 50)').argParser(parseIntFlag('--stun-rate', 0, 1_000_000)))
    .addHelpText(
      'after',
      `
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
    )
    .action(
      action<ServeFlags>(async (ctx, opts) => {
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
          ...(stun ? { stun: { url: `stun:${stun.addresses.primary.address}:${stun.addresses.primary.port}`, rfc5780: stun.addresses.rfc5780, addresses: stun.addresses.all } } : {}),
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
            ? `STUN server: stun:${p.address}:${p.port}${stun.addresses.rfc5780 ? ` (RFC 5780, other address ${stun.addresses.other!.address}:${stun.addresses.other!.port}: rtc-cli nat-probe works against it)` : ''}`
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
      }),
    );
}

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
