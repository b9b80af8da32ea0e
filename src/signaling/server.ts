/**
 * The `rtc-cli serve` signaling server as a library: one HTTP(S) port serving the companion page (src/web/) and the
 * WebSocket signaling endpoint at SIGNALING_PATH. Rooms, relay, and the protections (heartbeat, message size, rate
 * limit, room/connection limits, slow-consumer cut-off). Wire format: src/signaling/protocol.ts and
 * docs/signaling-protocol.md.
 *
 * Library code: never prints, never exits. Everything worth logging is reported through `onEvent` / `on('event')`
 * (the command turns that into the --json log). Events never carry message payloads or tokens.
 */
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { RtcError } from '../errors.js';
import { SIGNALING_PATH } from './types.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_POLICY,
  CLOSE_TRY_AGAIN,
  CLOSE_UNAUTHORIZED,
  SIGNALING_PROTOCOL_VERSION,
  TOKEN_MAX,
  parseClientMessage,
  type ClientMessage,
  type ServerMessage,
  type SignalErrorCode,
} from './protocol.js';

export interface RateLimit {
  /** Sustained messages per second per connection. */
  perSecond: number;
  /** How many messages may arrive at once before the sustained rate applies. */
  burst: number;
}

export interface SignalingServerOptions {
  /** Address to bind. Default 127.0.0.1 (only this machine). Use 0.0.0.0 / :: for the LAN. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 3000. */
  port?: number;
  /** Peers per room. Default 2. */
  roomSize?: number;
  /** Serve HTTPS/WSS with this certificate and key (PEM). */
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Shared secret clients must present in `join`. Never logged. */
  token?: string;
  /** Ping every connection this often; one that has not answered by the next tick is dropped. Default 10000 (dead peers go within 20 s). */
  heartbeatIntervalMs?: number;
  /** Largest accepted text message in bytes. Default 65536 (an SDP with many candidates is ~10 KB). */
  maxMessageBytes?: number;
  /** Per-connection message rate limit. Default 50/s with a burst of 200. */
  rateLimit?: RateLimit;
  /** Rooms one connection may be in at once. Default 1. */
  maxRoomsPerConnection?: number;
  /** Concurrent WebSocket connections. Default 10000. */
  maxConnections?: number;
  /** A recipient whose unsent backlog exceeds this many bytes is disconnected (slow consumer). Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Directory served at `/`. Default: src/web of the package. `null` serves only the built-in placeholder. */
  webRoot?: string | null;
  /** Called for every loggable event (see ServerEvent). */
  onEvent?: (e: ServerEvent) => void;
  /** Closing the server when this aborts. */
  signal?: AbortSignal;
}

/** What the server reports for logs. No payloads, no tokens. */
export type ServerEvent =
  | { event: 'connection'; id: string; address: string }
  | { event: 'disconnect'; id: string; code: number; reason: string }
  | { event: 'join'; id: string; room: string; peers: number }
  | { event: 'full'; id: string; room: string }
  | { event: 'leave'; id: string; room: string; reason: 'leave' | 'disconnect' }
  | { event: 'refused'; id: string; code: SignalErrorCode; ref?: string }
  | { event: 'heartbeat-timeout'; id: string }
  | { event: 'slow-consumer'; id: string; bufferedBytes: number }
  | { event: 'server-full'; address: string }
  | { event: 'internal-error'; id?: string; message: string };

export interface SignalingStats {
  connections: number;
  rooms: number;
  peersInRooms: number;
  messagesIn: number;
  /** Relay deliveries (one room-wide relay to 3 peers counts 3). */
  messagesRelayed: number;
  bytesIn: number;
  errorsSent: number;
  uptimeMs: number;
}

export interface SignalingServer {
  /** URL of the page (http(s)://host:port/). For a wildcard host this uses 127.0.0.1 / [::1]. */
  readonly url: string;
  /** The `--signal` value for peers: ws(s)://host:port/ws. */
  readonly signalUrl: string;
  readonly port: number;
  readonly host: string;
  readonly https: boolean;
  stats(): SignalingStats;
  on(event: 'event', fn: (e: ServerEvent) => void): this;
  off(event: 'event', fn: (e: ServerEvent) => void): this;
  /** Close every socket (1001 going away), stop listening. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  roomSize: 2,
  heartbeatIntervalMs: 10_000,
  maxMessageBytes: 64 * 1024,
  rateLimit: { perSecond: 50, burst: 200 } as RateLimit,
  maxRoomsPerConnection: 1,
  maxConnections: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
} as const;

/** The package's src/web: ../../src/web from both src/signaling/ (tsx) and dist/signaling/ (compiled). */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../src/web/', import.meta.url));
}

interface Room {
  name: string;
  /** Insertion order = join order, so `peers` in `joined` is oldest first. */
  members: Map<string, Conn>;
}

interface Conn {
  id: string;
  ws: WebSocket;
  address: string;
  rooms: Map<string, Room>;
  alive: boolean;
  authed: boolean;
  tokens: number;
  lastRefill: number;
  lastRateError: number;
  dropped: number;
}

function validateOptions(o: SignalingServerOptions): void {
  const int = (name: string, v: number | undefined, min: number, max: number): void => {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < min || v > max) throw new RtcError('RTC_ERR_USAGE', `${name} must be a whole number between ${min} and ${max} (got ${v})`);
  };
  int('port', o.port, 0, 65535);
  int('roomSize', o.roomSize, 1, 10_000);
  int('heartbeatIntervalMs', o.heartbeatIntervalMs, 10, 3_600_000);
  int('maxMessageBytes', o.maxMessageBytes, 256, 16 * 1024 * 1024);
  int('maxRoomsPerConnection', o.maxRoomsPerConnection, 1, 1000);
  int('maxConnections', o.maxConnections, 1, 1_000_000);
  int('maxBufferedBytes', o.maxBufferedBytes, 1024, 1024 * 1024 * 1024);
  if (o.rateLimit) {
    if (!(o.rateLimit.perSecond > 0) || !(o.rateLimit.burst >= 1)) throw new RtcError('RTC_ERR_USAGE', 'rateLimit needs perSecond > 0 and burst >= 1');
  }
  if (o.token !== undefined && (o.token.length === 0 || o.token.length > TOKEN_MAX)) {
    throw new RtcError('RTC_ERR_USAGE', `token must be 1-${TOKEN_MAX} characters`);
  }
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.webm': 'video/webm',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rtc-cli serve</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">
<h1>rtc-cli serve</h1>
<p>The signaling server is running. WebSocket endpoint: <code id="ws"></code></p>
<p>The companion camera page is not installed in this build (src/web/index.html is missing).</p>
<script>document.getElementById('ws').textContent=(location.protocol==='https:'?'wss://':'ws://')+location.host+'${SIGNALING_PATH}';</script>
</body></html>
`;

class Server extends EventEmitter implements SignalingServer {
  url = '';
  signalUrl = '';
  port = 0;
  readonly host: string;
  readonly https: boolean;

  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, Conn>();
  private readonly rooms = new Map<string, Room>();
  private readonly roomSize: number;
  private readonly maxMessageBytes: number;
  private readonly rate: RateLimit;
  private readonly maxRooms: number;
  private readonly maxConnections: number;
  private readonly maxBuffered: number;
  private readonly heartbeatMs: number;
  private readonly tokenHash?: Buffer;
  private readonly webRoot: string | null;
  private readonly onEvent?: (e: ServerEvent) => void;
  private heartbeat?: NodeJS.Timeout;
  private closing?: Promise<void>;
  private readonly startedAt = Date.now();
  private readonly counters = { messagesIn: 0, messagesRelayed: 0, bytesIn: 0, errorsSent: 0 };
  private welcomeText = '';

  constructor(private readonly opts: SignalingServerOptions) {
    super();
    this.host = opts.host ?? DEFAULTS.host;
    this.https = Boolean(opts.https);
    this.roomSize = opts.roomSize ?? DEFAULTS.roomSize;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
    this.rate = opts.rateLimit ?? DEFAULTS.rateLimit;
    this.maxRooms = opts.maxRoomsPerConnection ?? DEFAULTS.maxRoomsPerConnection;
    this.maxConnections = opts.maxConnections ?? DEFAULTS.maxConnections;
    this.maxBuffered = opts.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes;
    this.heartbeatMs = opts.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs;
    this.webRoot = opts.webRoot === undefined ? defaultWebRoot() : opts.webRoot;
    this.onEvent = opts.onEvent;
    if (opts.token !== undefined) this.tokenHash = createHash('sha256').update(opts.token).digest();

    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handleHttp(req, res).catch((e: unknown) => {
        this.report({ event: 'internal-error', message: `http: ${e instanceof Error ? e.message : String(e)}` });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    };
    if (opts.https) {
      try {
        this.http = createHttpsServer({ cert: opts.https.cert, key: opts.https.key }, handler);
      } catch (e) {
        throw new RtcError('RTC_ERR_CERT', `the TLS certificate or key cannot be used: ${e instanceof Error ? e.message : String(e)}`, {
          hint: 'pass a PEM certificate with --cert and its matching PEM private key with --key, or omit both to generate one',
          cause: e,
        });
      }
      // A failed handshake (e.g. a browser that does not trust the self-signed cert yet) is the client's business.
      this.http.on('tlsClientError', () => {});
    } else {
      this.http = createHttpServer(handler);
    }
    this.http.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });

    // Frames up to 4× maxMessageBytes are read and answered with a `too-large` error (the socket stays usable);
    // bigger ones are refused by ws from the frame header alone (close 1009), so memory per socket stays bounded.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: Math.max(this.maxMessageBytes * 4, 64 * 1024),
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.wss.on('error', (e) => this.report({ event: 'internal-error', message: `ws: ${e.message}` }));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.welcomeText = JSON.stringify({
      type: 'welcome',
      v: SIGNALING_PROTOCOL_VERSION,
      auth: this.tokenHash !== undefined,
      maxMessageBytes: this.maxMessageBytes,
      maxRooms: this.maxRooms,
      heartbeatMs: this.heartbeatMs,
      rate: { perSecond: this.rate.perSecond, burst: this.rate.burst },
    } satisfies ServerMessage);
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        this.http.off('listening', onListening);
        reject(listenError(e, this.host, port));
      };
      const onListening = (): void => {
        this.http.off('error', onError);
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
    const addr = this.http.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    const h = hostForUrl(this.host);
    this.url = `${this.https ? 'https' : 'http'}://${h}:${this.port}/`;
    this.signalUrl = `${this.https ? 'wss' : 'ws'}://${h}:${this.port}${SIGNALING_PATH}`;
    this.heartbeat = setInterval(() => this.tick(), this.heartbeatMs);
    this.heartbeat.unref();
    const signal = this.opts.signal;
    if (signal) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  stats(): SignalingStats {
    let peers = 0;
    for (const r of this.rooms.values()) peers += r.members.size;
    return {
      connections: this.conns.size,
      rooms: this.rooms.size,
      peersInRooms: peers,
      ...this.counters,
      uptimeMs: Date.now() - this.startedAt,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const waits: Promise<void>[] = [];
    for (const c of this.conns.values()) {
      waits.push(new Promise<void>((resolve) => c.ws.once('close', () => resolve())));
      try {
        c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      } catch {
        c.ws.terminate();
      }
    }
    // Peers get 2 s to answer the close handshake (RFC 6455 §7.1.1); then we cut them off.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    for (const c of this.conns.values()) c.ws.terminate();
    this.http.closeAllConnections();
    await closed;
  }

  private report(e: ServerEvent): void {
    try {
      this.onEvent?.(e);
      if (this.listenerCount('event') > 0) this.emit('event', e);
    } catch {
      // A logging callback that throws must not take the server down.
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('bad request\n');
      return;
    }
    if (pathname === '/healthz') {
      const body = JSON.stringify({ ok: true, v: SIGNALING_PROTOCOL_VERSION, ...this.stats() });
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (pathname === SIGNALING_PATH) {
      res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain; charset=utf-8' }).end('this is the WebSocket signaling endpoint\n');
      return;
    }
    const file = await this.resolveStatic(pathname);
    if (file === undefined) {
      if (pathname === '/' || pathname === '/index.html') {
        res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.html'], 'Cache-Control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : PLACEHOLDER_HTML);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': contentTypeFor(file.path), 'Content-Length': file.size, 'Cache-Control': 'no-cache' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file.path);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  /** Map a URL path to a regular file inside webRoot, or undefined. No directory listings, no dotfiles, no escapes. */
  private async resolveStatic(pathname: string): Promise<{ path: string; size: number } | undefined> {
    if (this.webRoot === null) return undefined;
    if (pathname.includes('\0') || pathname.includes('\\')) return undefined;
    let rel = pathname.endsWith('/') ? pathname + 'index.html' : pathname;
    rel = path.posix.normalize(rel);
    if (rel.split('/').some((seg) => seg.startsWith('.'))) return undefined;
    let root: string;
    try {
      root = await fsp.realpath(this.webRoot);
    } catch {
      return undefined;
    }
    const candidate = path.join(root, rel);
    try {
      // realpath resolves symlinks: a link pointing outside the web root is refused like `..` would be.
      const real = await fsp.realpath(candidate);
      if (real !== root && !real.startsWith(root + path.sep)) return undefined;
      const st = await fsp.stat(real);
      if (!st.isFile()) return undefined;
      return { path: real, size: st.size };
    } catch {
      return undefined;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // WebSocket

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let pathname = '';
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      /* falls through to 404 */
    }
    if (pathname !== SIGNALING_PATH || this.closing) {
      socket.end(`HTTP/1.1 ${this.closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const address = req.socket.remoteAddress ?? '?';
    ws.on('error', () => {
      // Protocol violations (bad UTF-8, oversize frame, bad opcode): ws closes the socket itself; 'close' cleans up.
    });
    if (this.conns.size >= this.maxConnections) {
      this.report({ event: 'server-full', address });
      this.counters.errorsSent++;
      ws.send(JSON.stringify(errorMsg('server-full', `the server holds its maximum of ${this.maxConnections} connections; try again later`)));
      ws.close(CLOSE_TRY_AGAIN, 'server full');
      return;
    }
    const conn: Conn = {
      id: newPeerId(),
      ws,
      address,
      rooms: new Map(),
      alive: true,
      authed: this.tokenHash === undefined,
      tokens: this.rate.burst,
      lastRefill: Date.now(),
      lastRateError: 0,
      dropped: 0,
    };
    this.conns.set(conn.id, conn);
    this.report({ event: 'connection', id: conn.id, address });
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        this.onMessage(conn, data, isBinary);
      } catch (e) {
        // Defence in depth: a bug in a handler answers one error, it never takes the server down.
        this.report({ event: 'internal-error', id: conn.id, message: e instanceof Error ? e.message : String(e) });
        this.sendError(conn, 'bad-message', 'the server could not process this message');
      }
    });
    ws.on('close', (code: number, reason: Buffer) => this.onClose(conn, code, reason.toString('utf8').slice(0, 123)));
    ws.send(this.welcomeText);
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    if (!this.conns.delete(conn.id)) return;
    for (const room of conn.rooms.values()) this.removeFromRoom(conn, room, 'disconnect');
    conn.rooms.clear();
    this.report({ event: 'disconnect', id: conn.id, code, reason });
  }

  private tick(): void {
    for (const c of this.conns.values()) {
      if (!c.alive) {
        // No pong (and no message) since the last ping: the peer is gone (RFC 6455 §5.5.2/§5.5.3 ping/pong).
        this.report({ event: 'heartbeat-timeout', id: c.id });
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }

  /** Token bucket: true if the message may be processed. */
  private takeToken(conn: Conn): boolean {
    const now = Date.now();
    const elapsed = now - conn.lastRefill;
    if (elapsed > 0) {
      conn.tokens = Math.min(this.rate.burst, conn.tokens + (elapsed * this.rate.perSecond) / 1000);
      conn.lastRefill = now;
      // Only a client that calmed down long enough to refill its whole burst is forgiven its drops.
      if (conn.tokens >= this.rate.burst) conn.dropped = 0;
    }
    if (conn.tokens >= 1) {
      conn.tokens -= 1;
      return true;
    }
    conn.dropped++;
    // Tell the client at most once a second; a client that keeps flooding long after being told is cut off.
    if (now - conn.lastRateError >= 1000) {
      conn.lastRateError = now;
      this.sendError(conn, 'rate-limited', `more than ${this.rate.perSecond} messages/s (burst ${this.rate.burst}); message dropped`);
    }
    if (conn.dropped > Math.max(1000, this.rate.burst * 10)) {
      conn.ws.close(CLOSE_POLICY, 'rate limit exceeded');
    }
    return false;
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.counters.messagesIn++;
    this.counters.bytesIn += buf.length;
    if (!this.takeToken(conn)) return;
    if (isBinary) {
      this.sendError(conn, 'bad-message', 'binary frames are not part of the protocol; send JSON text');
      return;
    }
    if (buf.length > this.maxMessageBytes) {
      this.sendError(conn, 'too-large', `message of ${buf.length} bytes exceeds the limit of ${this.maxMessageBytes}`);
      return;
    }
    const parsed = parseClientMessage(buf.toString('utf8'));
    if (!parsed.ok) {
      this.sendError(conn, parsed.code, parsed.message, parsed.ref);
      return;
    }
    this.dispatch(conn, parsed.msg);
  }

  private dispatch(conn: Conn, msg: ClientMessage): void {
    switch (msg.type) {
      case 'join':
        this.onJoin(conn, msg.room, msg.token);
        return;
      case 'relay':
        this.onRelay(conn, msg.data, msg.to, msg.room);
        return;
      case 'leave':
        this.onLeave(conn, msg.room);
        return;
      case 'ping':
        this.send(conn, '{"type":"pong"}');
        return;
    }
  }

  private checkToken(given: string | undefined): boolean {
    if (this.tokenHash === undefined) return true;
    if (given === undefined || given.length > TOKEN_MAX) return false;
    // Compare digests in constant time so the comparison leaks nothing about the secret.
    return timingSafeEqual(createHash('sha256').update(given).digest(), this.tokenHash);
  }

  private onJoin(conn: Conn, name: string, token: string | undefined): void {
    if (!conn.authed || token !== undefined) {
      if (!this.checkToken(token)) {
        this.sendError(conn, 'unauthorized', token === undefined ? 'this server requires a token' : 'wrong token', 'join', name);
        conn.ws.close(CLOSE_UNAUTHORIZED, 'unauthorized');
        return;
      }
      conn.authed = true;
    }
    if (conn.rooms.has(name)) {
      this.sendError(conn, 'already-joined', `already in room "${name}"`, 'join', name);
      return;
    }
    if (conn.rooms.size >= this.maxRooms) {
      this.sendError(conn, 'too-many-rooms', `a connection may be in at most ${this.maxRooms} room(s); leave one first`, 'join', name);
      return;
    }
    let room = this.rooms.get(name);
    if (room && room.members.size >= this.roomSize) {
      this.report({ event: 'full', id: conn.id, room: name });
      this.send(conn, JSON.stringify({ type: 'full', room: name, size: this.roomSize } satisfies ServerMessage));
      return;
    }
    if (!room) {
      room = { name, members: new Map() };
      this.rooms.set(name, room);
    }
    const peers = [...room.members.keys()];
    const notice = JSON.stringify({ type: 'peer-joined', room: name, id: conn.id } satisfies ServerMessage);
    for (const other of room.members.values()) this.send(other, notice);
    room.members.set(conn.id, conn);
    conn.rooms.set(name, room);
    this.send(conn, JSON.stringify({ type: 'joined', v: SIGNALING_PROTOCOL_VERSION, room: name, id: conn.id, peers, size: this.roomSize } satisfies ServerMessage));
    this.report({ event: 'join', id: conn.id, room: name, peers: room.members.size });
  }

  /** Which of the connection's rooms a relay/leave means; sends the error itself and returns undefined on failure. */
  private pickRoom(conn: Conn, name: string | undefined, ref: string): Room | undefined {
    if (name !== undefined) {
      const r = conn.rooms.get(name);
      if (!r) this.sendError(conn, 'not-joined', `not in room "${name}"`, ref, name);
      return r;
    }
    if (conn.rooms.size === 1) return conn.rooms.values().next().value as Room;
    if (conn.rooms.size === 0) this.sendError(conn, 'not-joined', 'join a room first', ref);
    else this.sendError(conn, 'bad-message', 'this connection is in several rooms: say which with "room"', ref);
    return undefined;
  }

  private onRelay(conn: Conn, data: unknown, to: string | undefined, roomName: string | undefined): void {
    const room = this.pickRoom(conn, roomName, 'relay');
    if (!room) return;
    const out = JSON.stringify({ type: 'relay', room: room.name, from: conn.id, data } satisfies ServerMessage);
    if (to !== undefined) {
      const target = to === conn.id ? undefined : room.members.get(to);
      if (!target) {
        this.sendError(conn, 'unknown-peer', `no peer "${to.slice(0, 64)}" in room "${room.name}"`, 'relay', room.name);
        return;
      }
      this.send(target, out);
      this.counters.messagesRelayed++;
      return;
    }
    for (const other of room.members.values()) {
      if (other === conn) continue;
      this.send(other, out);
      this.counters.messagesRelayed++;
    }
  }

  private onLeave(conn: Conn, roomName: string | undefined): void {
    const room = this.pickRoom(conn, roomName, 'leave');
    if (!room) return;
    conn.rooms.delete(room.name);
    this.removeFromRoom(conn, room, 'leave');
    this.send(conn, JSON.stringify({ type: 'left', room: room.name } satisfies ServerMessage));
  }

  private removeFromRoom(conn: Conn, room: Room, reason: 'leave' | 'disconnect'): void {
    if (!room.members.delete(conn.id)) return;
    if (room.members.size === 0) this.rooms.delete(room.name);
    const notice = JSON.stringify({ type: 'peer-left', room: room.name, id: conn.id } satisfies ServerMessage);
    for (const other of room.members.values()) this.send(other, notice);
    this.report({ event: 'leave', id: conn.id, room: room.name, reason });
  }

  private send(conn: Conn, text: string): void {
    const ws = conn.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.maxBuffered) {
      // The peer does not read: rather than buffer without bound, cut it off (its room gets peer-left).
      this.report({ event: 'slow-consumer', id: conn.id, bufferedBytes: ws.bufferedAmount });
      ws.terminate();
      return;
    }
    ws.send(text);
  }

  private sendError(conn: Conn, code: SignalErrorCode, message: string, ref?: string, room?: string): void {
    this.counters.errorsSent++;
    this.report(ref === undefined ? { event: 'refused', id: conn.id, code } : { event: 'refused', id: conn.id, code, ref });
    this.send(conn, JSON.stringify(errorMsg(code, message, ref, room)));
  }
}

function errorMsg(code: SignalErrorCode, message: string, ref?: string, room?: string): ServerMessage {
  const m: ServerMessage = { type: 'error', code, message };
  if (ref !== undefined) m.ref = ref;
  if (room !== undefined) m.room = room;
  return m;
}

function newPeerId(): string {
  // 72 random bits: unguessable, so a peer cannot address someone it was not told about.
  return randomBytes(9).toString('base64url');
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): RtcError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
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
  validateOptions(opts);
  const server = new Server(opts);
  await server.listen(opts.port ?? DEFAULTS.port);
  return server;
}
