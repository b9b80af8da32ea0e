/**
 * The `rtc-cli serve` signaling server as a library: one HTTP(S) port serving the companion page and the WebSocket
 * signaling endpoint at SIGNALING_PATH. This file is the server's lifecycle: listening, accepting upgrades (Host and
 * Origin checks, connection caps), the heartbeat, and closing. The parts, one concern per file:
 *
 *   options.ts       options, defaults, events, stats          origin.ts      Origin/Host policy, own origins
 *   static-files.ts  HTTP: page files, /healthz, headers       limiter.ts     rate limit, log budget, per-address limits
 *   connection.ts    one client: limits, ordered handling      auth.ts        token check + guess throttle
 *   hub.ts           join/relay/leave decisions                rooms.ts       RoomStore (in memory by default)
 *   frame-meter.ts   bytes held in unfinished messages         backlog.ts     bytes a peer has provably read
 *   protocol.ts      wire format and validation
 *
 * Library code: never prints, never exits. Everything worth logging is reported through `onEvent` / `on('event')`
 * (the command turns that into the --json log). Events never carry message payloads or tokens.
 */
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { RtcError } from '../errors.js';
import { SIGNALING_PATH } from './types.js';
import { CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN, SIGNALING_PROTOCOL_VERSION, encodeServerMessage, parseClientMessage, type SignalErrorCode } from './protocol.js';
import { resolveOptions, type ServerConfig, type ServerEvent, type SignalingServerOptions, type SignalingStats } from './options.js';
import { formatEndpoint } from '../stun/endpoint.js';
import { OriginPolicy } from './origin.js';
import { createHttpHandler } from './static-files.js';
import { AddressCounter, LogBudget, addressKey } from './limiter.js';
import { PendingBudget } from './frame-meter.js';
import { TokenGate } from './auth.js';
import { MemoryRoomStore, type RoomStore, type RoomStoreHost, type StoreHealth } from './rooms.js';
import { ServerMetrics, wallNow, type DropReason } from './metrics.js';
import { Hub } from './hub.js';
import { Connection, type ConnectionHost } from './connection.js';

export { DEFAULTS, defaultWebRoot, type RateLimit, type ServerEvent, type SignalingServerOptions, type SignalingStats } from './options.js';
export { contentTypeFor } from './static-files.js';
export type { RoomStore, RoomStoreHost, StoreHealth } from './rooms.js';
export type { ServerMetrics } from './metrics.js';

export interface SignalingServer {
  /** URL of the page (http(s)://host:port/). For a wildcard host this uses 127.0.0.1 / [::1]. */
  readonly url: string;
  /** The `--signal` value for peers: ws(s)://host:port/ws. */
  readonly signalUrl: string;
  readonly port: number;
  readonly host: string;
  readonly https: boolean;
  stats(): Promise<SignalingStats>;
  /** Counters and histograms for /metrics (src/signaling/prometheus.ts). */
  readonly metrics: ServerMetrics;
  readonly counters: Readonly<{ messagesIn: number; messagesRelayed: number; bytesIn: number; errorsSent: number }>;
  /** `ok`, `degraded` (the shared room store is unreachable) or `draining` (close() has begun). */
  health(): { status: 'ok' | 'degraded' | 'draining'; store: StoreHealth };
  on(event: 'event', fn: (e: ServerEvent) => void): this;
  off(event: 'event', fn: (e: ServerEvent) => void): this;
  /**
   * Drain and stop (idempotent): stop accepting, take every connection out of its rooms (its room-mates get
   * peer-left, and its place is free for its re-join elsewhere), close every socket with 1001 (clients reconnect at
   * once), and resolve once they are all gone or after `drainTimeoutMs`.
   */
  close(): Promise<void>;
}

/** Global (per-address, not per-connection) log lines per second, after a burst of ten times that. */
const GLOBAL_LOG_RATE = 10;

/** The address this server's own URLs name: loopback for a wildcard bind. */
function urlAddress(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** DNS names and IP addresses a PEM certificate covers (subjectAltName), for the own-origin list. */
function certNames(cert: string | Buffer): string[] {
  try {
    const san = new X509Certificate(cert).subjectAltName ?? '';
    return san.split(/,\s*/).flatMap((e) => {
      const m = /^(?:DNS|IP Address):(.+)$/.exec(e.trim());
      return m ? [m[1]!] : [];
    });
  } catch {
    return [];
  }
}

class Server extends EventEmitter implements SignalingServer, ConnectionHost {
  url = '';
  signalUrl = '';
  port = 0;
  readonly host: string;
  readonly https: boolean;
  readonly counters = { messagesIn: 0, messagesRelayed: 0, bytesIn: 0, errorsSent: 0 };
  readonly metrics = new ServerMetrics();

  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, Connection>();
  private readonly store: RoomStore;
  private readonly hub: Hub;
  private readonly gate: TokenGate;
  private readonly perAddress: AddressCounter;
  private readonly pending: PendingBudget;
  private readonly globalLog = new LogBudget(GLOBAL_LOG_RATE);
  private policy!: OriginPolicy;
  private heartbeat?: NodeJS.Timeout;
  private closing?: Promise<void>;
  private readonly startedAt = Date.now();
  private readonly welcomeText: string;

  constructor(readonly config: ServerConfig) {
    super();
    this.host = config.host;
    this.https = Boolean(config.https);
    this.gate = new TokenGate(config.token, config.authFailuresPerMinute);
    this.perAddress = new AddressCounter(config.maxConnectionsPerAddress);
    this.pending = new PendingBudget(config.maxPendingTotalBytes);
    const deliverLocal = (peer: string, text: string, sentAt?: number, remote?: boolean): boolean => {
      const c = this.conns.get(peer);
      if (!c?.send(text)) {
        this.metrics.drop('recipient-gone');
        return false;
      }
      if (sentAt !== undefined) this.metrics.delivered(sentAt, remote === true);
      return true;
    };
    const peerGone = (room: string, peer: string, remaining: readonly string[]): void => {
      this.hub.peerGone(room, peer, remaining).catch((e: unknown) => this.report({ event: 'internal-error', message: `room store: ${e instanceof Error ? e.message : String(e)}` }));
    };
    const storeHost: RoomStoreHost = {
      deliverLocal,
      peerGone,
      resetPeers: (peers) => this.resetPeers(peers),
      stateChanged: (state, message) => this.report({ event: 'store', state, message }),
    };
    this.store = config.roomStore?.(storeHost) ?? new MemoryRoomStore(deliverLocal);
    this.hub = new Hub(this.store, this.gate, this);
    this.http = this.createHttp();
    this.http.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPendingBytes, perMessageDeflate: false, clientTracking: false });
    this.wss.on('error', (e) => this.report({ event: 'internal-error', message: `ws: ${e.message}` }));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.welcomeText = encodeServerMessage({
      type: 'welcome',
      v: SIGNALING_PROTOCOL_VERSION,
      auth: this.gate.required,
      maxMessageBytes: config.maxMessageBytes,
      maxRooms: config.maxRoomsPerConnection,
      heartbeatMs: config.heartbeatIntervalMs,
      joinTimeoutMs: config.joinTimeoutMs,
      rate: { perSecond: config.rateLimit.perSecond, burst: config.rateLimit.burst },
    });
  }

  private createHttp(): HttpServer {
    const handle = createHttpHandler({
      webRoot: this.config.webRoot,
      policy: () => this.policy,
      fallbackHost: () => formatEndpoint({ address: urlAddress(this.host), port: this.port }),
      health: async () => {
        const h = this.health();
        return { ok: h.status === 'ok', status: h.status, v: SIGNALING_PROTOCOL_VERSION, ...(await this.stats()), store: h.store };
      },
      onForbiddenHost: (req, host) => this.reportGlobal({ event: 'forbidden', address: req.socket.remoteAddress ?? '?', reason: 'host', value: host.slice(0, 200) }),
    });
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      handle(req, res).catch((e: unknown) => {
        this.report({ event: 'internal-error', message: `http: ${e instanceof Error ? e.message : String(e)}` });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    };
    const tls = this.config.https;
    if (!tls) return createHttpServer(handler);
    let server: HttpServer;
    try {
      server = createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
    } catch (e) {
      throw new RtcError('RTC_ERR_CERT', `the TLS certificate or key cannot be used: ${e instanceof Error ? e.message : String(e)}`, {
        hint: 'pass a PEM certificate with --cert and its matching PEM private key with --key, or omit both to generate one',
        cause: e,
      });
    }
    // A failed handshake (e.g. a browser that does not trust the self-signed cert yet) is the client's business.
    server.on('tlsClientError', () => {});
    return server;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        this.http.off('listening', onListening);
        reject(listenError(e, this.host, port));
      };
      const onListening = (): void => {
        this.http.off('error', onError);
        this.onListening(port);
        resolve();
      };
      this.http.once('error', onError);
      this.http.once('listening', onListening);
      try {
        this.http.listen(port, this.host);
      } catch (e) {
        this.http.off('error', onError);
        this.http.off('listening', onListening);
        reject(listenError(e as NodeJS.ErrnoException, this.host, port));
      }
    });
    this.http.on('error', (e) => this.report({ event: 'internal-error', message: `server: ${e.message}` }));
    this.heartbeat = setInterval(() => this.tick(), this.config.heartbeatIntervalMs);
    this.heartbeat.unref();
    const signal = this.config.signal;
    if (signal) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Synchronously on 'listening', before any request can be handled: the port is known now. */
  private onListening(requested: number): void {
    const addr = this.http.address();
    this.port = typeof addr === 'object' && addr ? addr.port : requested;
    const authority = formatEndpoint({ address: urlAddress(this.host), port: this.port });
    this.url = `${this.https ? 'https' : 'http'}://${authority}/`;
    this.signalUrl = `${this.https ? 'wss' : 'ws'}://${authority}${SIGNALING_PATH}`;
    this.policy = new OriginPolicy({
      host: this.host,
      port: this.port,
      https: this.https,
      allowOrigins: this.config.allowOrigins,
      certNames: this.config.https ? certNames(this.config.https.cert) : [],
    });
  }

  get draining(): boolean {
    return this.closing !== undefined;
  }

  health(): { status: 'ok' | 'degraded' | 'draining'; store: StoreHealth } {
    const store = this.store.health();
    return { status: this.closing ? 'draining' : store.state === 'ok' ? 'ok' : 'degraded', store };
  }

  /** The store forgot these peers' memberships (see RoomStoreHost.resetPeers): make them reconnect and join again. */
  private resetPeers(peers: readonly string[]): void {
    for (const id of peers) {
      const c = this.conns.get(id);
      if (!c) continue;
      c.rooms.clear();
      this.report({ event: 'store-reset', id });
      c.close(CLOSE_SERVICE_RESTART, 'rejoin');
    }
  }

  async stats(): Promise<SignalingStats> {
    const counts = await this.store.counts();
    return {
      connections: this.conns.size,
      rooms: counts.rooms,
      peersInRooms: counts.peers,
      ...this.counters,
      pendingBytes: this.pending.bytes,
      uptimeMs: Date.now() - this.startedAt,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    // Stop accepting: a load balancer's next connection attempt fails at once and goes to another instance.
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const bound = this.config.drainTimeoutMs;
    const started = Date.now();
    // Leave every room first (behind any message still being handled), so that the client's re-join on another
    // instance finds its place free and its room-mates hear peer-left at once; then the close frame (1001) tells it
    // to reconnect.
    const left = [...this.conns.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          const queued = c.enqueue(
            async () => {
              await this.hub.disconnect(c);
              resolve();
            },
            () => resolve(),
            true,
          );
          if (!queued) resolve();
        }),
    );
    await raceTimeout(Promise.all(left), bound);
    const waits: Promise<void>[] = [];
    for (const c of this.conns.values()) {
      waits.push(new Promise<void>((resolve) => c.ws.once('close', () => resolve())));
      c.close(CLOSE_GOING_AWAY, 'server shutting down', Math.max(0, bound - (Date.now() - started)) + 100);
    }
    // Peers get until the drain bound to answer the close handshake (RFC 6455 §7.1.1); then we cut them off.
    await raceTimeout(Promise.all(waits), Math.max(0, bound - (Date.now() - started)));
    for (const c of this.conns.values()) c.terminate();
    this.http.closeAllConnections();
    await closed;
    await this.store.close();
  }

  report(e: ServerEvent): void {
    try {
      this.config.onEvent?.(e);
      if (this.listenerCount('event') > 0) this.emit('event', e);
    } catch {
      // A logging callback that throws must not take the server down.
    }
  }

  /** Events without a connection (a refused upgrade): one budget for all, since each costs the sender only a request. */
  private reportGlobal(e: Extract<ServerEvent, { event: 'forbidden' | 'server-full' | 'address-full' }>): void {
    const suppressed = this.globalLog.admit();
    if (suppressed !== undefined) this.report(suppressed > 0 ? { ...e, suppressed } : e);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Accepting connections

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refuse = (status: string, body = ''): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    let pathname = '';
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      /* falls through to 404 */
    }
    if (pathname !== SIGNALING_PATH || this.closing) return refuse(this.closing ? '503 Service Unavailable' : '404 Not Found');
    const address = req.socket.remoteAddress ?? '?';
    const host = this.policy.checkHost(req.headers.host);
    if (host !== 'ok') {
      if (host === 'forbidden') this.reportGlobal({ event: 'forbidden', address, reason: 'host', value: (req.headers.host ?? '').slice(0, 200) });
      return refuse(host === 'malformed' ? '400 Bad Request' : '403 Forbidden', 'Host not allowed\n');
    }
    const origin = req.headers.origin;
    if (!this.policy.originAllowed(origin)) {
      this.reportGlobal({ event: 'forbidden', address, reason: 'origin', value: (origin ?? '').slice(0, 200) });
      return refuse('403 Forbidden', 'Origin not allowed: start serve with --allow-origin <origin> to let this page in\n');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, address, socket));
  }

  private accept(ws: WebSocket, address: string, socket: Duplex): void {
    ws.on('error', () => {
      // Protocol violations (bad UTF-8, oversize frame, bad opcode): ws closes the socket itself; 'close' cleans up.
    });
    if (this.conns.size >= this.config.maxConnections) {
      this.reportGlobal({ event: 'server-full', address });
      return this.refuseConnection(ws, 'server-full', `the server holds its maximum of ${this.config.maxConnections} connections; try again later`);
    }
    const key = addressKey(address);
    if (!this.perAddress.tryAdd(key)) {
      this.reportGlobal({ event: 'address-full', address });
      return this.refuseConnection(ws, 'too-many-connections', `this address already holds ${this.config.maxConnectionsPerAddress} connections; close one first`);
    }
    const conn = new Connection(ws, address, key, this, this.gate.required);
    this.conns.set(conn.id, conn);
    this.metrics.connectionsTotal++;
    this.report({ event: 'connection', id: conn.id, address });
    socket.on('data', (chunk: Buffer) => this.metered(conn, chunk, socket));
    ws.on('pong', (data: Buffer) => conn.onPong(data));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.onClose(conn, code, reason.toString('utf8').slice(0, 123)));
    ws.send(this.welcomeText);
  }

  private refuseConnection(ws: WebSocket, code: SignalErrorCode, message: string): void {
    this.counters.errorsSent++;
    ws.send(encodeServerMessage({ type: 'error', code, message }));
    ws.close(CLOSE_TRY_AGAIN, code === 'server-full' ? 'server full' : 'too many connections');
    // Not a connection of ours: it must not linger for ws's 30 s close timeout if the client never answers.
    setTimeout(() => ws.terminate(), 2000).unref();
  }

  /**
   * Count the bytes this connection holds in an unfinished message; close it (1013) if all together pass the budget.
   * It is then read no further (paused, and cut off 200 ms after its close frame), so its bytes leave the budget at
   * once: a refused sender cannot keep filling memory during the close handshake, nor crowd out the others.
   */
  private metered(conn: Connection, chunk: Buffer, socket: Duplex): void {
    if (conn.closed) return;
    const before = conn.meter.held;
    const now = conn.meter.push(chunk);
    if (this.pending.update(before, now)) return;
    this.pending.update(now, 0);
    conn.meter.held = 0;
    this.report({ event: 'pending-limit', id: conn.id, pendingBytes: now });
    conn.sendError('server-busy', 'the server holds too many unfinished messages; send whole messages');
    socket.pause();
    conn.close(CLOSE_TRY_AGAIN, 'server busy', 200);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Messages

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.counters.messagesIn++;
    this.counters.bytesIn += buf.length;
    const rate = conn.rate.check();
    if (rate !== 'accept') {
      this.metrics.drop('rate-limited');
      const { perSecond, burst } = this.config.rateLimit;
      if (rate === 'drop-and-tell') conn.sendError('rate-limited', `more than ${perSecond} messages/s (burst ${burst}); message dropped`);
      if (rate === 'cut-off') conn.close(CLOSE_POLICY, 'rate limit exceeded');
      return;
    }
    if (isBinary) return this.refuse(conn, 'invalid', 'bad-message', 'binary frames are not part of the protocol; send JSON text');
    if (buf.length > this.config.maxMessageBytes) {
      return this.refuse(conn, 'too-large', 'too-large', `message of ${buf.length} bytes exceeds the limit of ${this.config.maxMessageBytes}`);
    }
    const receivedAt = wallNow();
    const parsed = parseClientMessage(buf.toString('utf8'));
    if (!parsed.ok) return this.refuse(conn, 'invalid', parsed.code, parsed.message, parsed.ref);
    const queued = conn.enqueue(
      () => this.hub.handle(conn, parsed.msg, receivedAt),
      (e) => this.taskFailed(conn, e),
    );
    if (!queued) this.refuse(conn, 'queue-full', 'server-busy', 'too many messages waiting on this connection; message dropped', parsed.msg.type);
  }

  private refuse(conn: Connection, reason: DropReason, code: SignalErrorCode, message: string, ref?: string): void {
    this.metrics.drop(reason);
    conn.sendError(code, message, ref);
  }

  /** Defence in depth: a bug in a handler answers one error, it never takes the server down. */
  private taskFailed(conn: Connection, e: unknown): void {
    this.report({ event: 'internal-error', id: conn.id, message: e instanceof Error ? e.message : String(e) });
    conn.sendError('bad-message', 'the server could not process this message');
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    if (!this.conns.delete(conn.id)) return;
    conn.dispose();
    this.perAddress.remove(conn.addressKey);
    this.pending.update(conn.meter.held, 0);
    conn.meter.held = 0;
    // Queued behind the messages still being handled, so a join in flight is undone too.
    conn.enqueue(
      async () => {
        await this.hub.disconnect(conn);
        const suppressed = conn.takeSuppressed();
        this.report({ event: 'disconnect', id: conn.id, code, reason, ...(suppressed > 0 ? { suppressed } : {}) });
      },
      (e) => this.report({ event: 'internal-error', id: conn.id, message: e instanceof Error ? e.message : String(e) }),
      true,
    );
  }

  /** Heartbeat (RFC 6455 §5.5.2/§5.5.3): drop connections that did not echo the last ping or whose backlog is full. */
  private tick(): void {
    for (const c of this.conns.values()) {
      if (c.closed) continue;
      const verdict = c.heartbeat();
      if (verdict === 'backlog') c.cutOff();
      else if (verdict === 'silent') {
        this.report({ event: 'heartbeat-timeout', id: c.id });
        c.terminate();
      }
    }
  }
}

/** Wait for `p`, at most `ms`. */
async function raceTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): RtcError {
  const where = formatEndpoint({ address: host, port });
  switch (e.code) {
    case 'EADDRINUSE':
      return new RtcError('RTC_ERR_LISTEN', `cannot listen on ${where}: the port is already in use`, {
        hint: `another program (perhaps another \`rtc-cli serve\`) holds port ${port}; stop it, or pick another with --port (0 = any free port)`,
        cause: e,
      });
    case 'EACCES':
      return new RtcError('RTC_ERR_LISTEN', `cannot listen on ${where}: permission denied`, {
        hint: 'ports below 1024 need root; use --port 3000 or another port above 1023',
        cause: e,
      });
    case 'EADDRNOTAVAIL':
      return new RtcError('RTC_ERR_LISTEN', `cannot listen on ${where}: no local interface has that address`, {
        hint: 'use --host 127.0.0.1 (this machine), 0.0.0.0 (every interface) or one of the addresses shown by `ip addr`',
        cause: e,
      });
    default:
      return new RtcError('RTC_ERR_LISTEN', `cannot listen on ${where}: ${e.message}`, { cause: e });
  }
}

/** Start the signaling server and resolve once it listens. Rejects RTC_ERR_LISTEN / RTC_ERR_CERT / RTC_ERR_USAGE. */
export async function startSignalingServer(opts: SignalingServerOptions = {}): Promise<SignalingServer> {
  const server = new Server(resolveOptions(opts));
  await server.listen(server.config.port);
  return server;
}
