/**
 * The signaling server's options, their defaults (merged in one place: `resolveOptions`) and validation, and the
 * events and stats it reports. Every limit here is also a `serve` flag (src/commands/serve.ts) and a row of the
 * limits table in docs/signaling-protocol.md.
 */
import { fileURLToPath } from 'node:url';
import { RtcError } from '../errors.js';
import { TOKEN_MAX, type SignalErrorCode } from './protocol.js';
import { parseAllowedOrigin } from './origin.js';
import type { RateLimit } from './limiter.js';
import type { RoomStore, RoomStoreHost } from './rooms.js';

export type { RateLimit };

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
  /** Ping every connection this often; one that has not echoed the previous ping is dropped. Default 10000. */
  heartbeatIntervalMs?: number;
  /** Largest accepted text message in bytes. Default 65536 (an SDP with many candidates is ~10 KB). */
  maxMessageBytes?: number;
  /** Per-connection message rate limit. Default 50/s with a burst of 200. */
  rateLimit?: RateLimit;
  /** Rooms one connection may be in at once. Default 1. */
  maxRoomsPerConnection?: number;
  /** Concurrent WebSocket connections. Default 10000. */
  maxConnections?: number;
  /** Concurrent connections from one address (IPv6: one /64). Default 100. */
  maxConnectionsPerAddress?: number;
  /** A connection that has not joined a room this long after connecting is closed (4408). Default 10000. */
  joinTimeoutMs?: number;
  /** A recipient that has not provably read this many bytes sent to it is disconnected (slow consumer). Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Bytes one connection may hold in an unfinished message; larger frames are refused from their header (1009). Default 4 × maxMessageBytes, at least 64 KiB. */
  maxPendingBytes?: number;
  /** Bytes all connections together may hold in unfinished messages; the connection that would pass it is closed (1013). Default 32 MiB. */
  maxPendingTotalBytes?: number;
  /** Log lines per connection per second (after a burst of 10×); the rest is counted in `suppressed`. Default 1. */
  logRate?: number;
  /** Wrong tokens one address may send per minute; then its token joins are refused (throttled, 4429). Default 10. */
  authFailuresPerMinute?: number;
  /** Origins (scheme://host[:port]) whose pages may use the server besides its own. */
  allowOrigins?: string[];
  /** Directory served at `/`. Default: src/web of the package. `null` serves only the built-in placeholder. */
  webRoot?: string | null;
  /** close() waits this long for clients to leave (after telling them to reconnect), then cuts them off. Default 10000. */
  drainTimeoutMs?: number;
  /** Where rooms live. Default: a MemoryRoomStore. Called once with what the server offers a store (rooms.ts RoomStoreHost). */
  roomStore?: (host: RoomStoreHost) => RoomStore;
  /** Called for every loggable event (see ServerEvent). */
  onEvent?: (e: ServerEvent) => void;
  /** Closing the server when this aborts. */
  signal?: AbortSignal;
}

/** What the server reports for logs. No payloads, no tokens. `suppressed`: lines of this connection left out before this one. */
export type ServerEvent =
  | { event: 'connection'; id: string; address: string }
  | { event: 'disconnect'; id: string; code: number; reason: string; suppressed?: number }
  | { event: 'join'; id: string; room: string; peers: number; suppressed?: number }
  | { event: 'full'; id: string; room: string; suppressed?: number }
  | { event: 'leave'; id: string; room: string; reason: 'leave' | 'disconnect'; suppressed?: number }
  | { event: 'refused'; id: string; code: SignalErrorCode; ref?: string; suppressed?: number }
  | { event: 'heartbeat-timeout'; id: string }
  | { event: 'slow-consumer'; id: string; bufferedBytes: number }
  | { event: 'join-timeout'; id: string }
  | { event: 'throttled'; id: string; address: string; retryAfterMs: number }
  | { event: 'pending-limit'; id: string; pendingBytes: number }
  | { event: 'server-full'; address: string; suppressed?: number }
  | { event: 'address-full'; address: string; suppressed?: number }
  | { event: 'forbidden'; address: string; reason: 'origin' | 'host'; value: string; suppressed?: number }
  | { event: 'store-reset'; id: string }
  | { event: 'store'; state: 'ok' | 'degraded'; message: string }
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
  /** Bytes held in unfinished messages over all connections (bounded by maxPendingTotalBytes). */
  pendingBytes: number;
  uptimeMs: number;
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
  maxConnectionsPerAddress: 100,
  joinTimeoutMs: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxPendingTotalBytes: 32 * 1024 * 1024,
  logRate: 1,
  authFailuresPerMinute: 10,
  drainTimeoutMs: 10_000,
} as const;

/** The package's src/web: ../../src/web from both src/signaling/ (tsx) and dist/signaling/ (compiled). */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../src/web/', import.meta.url));
}

/** Every option with its default applied. */
export type ServerConfig = Required<Omit<SignalingServerOptions, 'https' | 'token' | 'onEvent' | 'signal' | 'roomStore' | 'webRoot'>> &
  Pick<SignalingServerOptions, 'https' | 'token' | 'onEvent' | 'signal' | 'roomStore'> & { webRoot: string | null };

export function resolveOptions(o: SignalingServerOptions): ServerConfig {
  validateOptions(o);
  const maxMessageBytes = o.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
  return {
    ...o,
    host: o.host ?? DEFAULTS.host,
    port: o.port ?? DEFAULTS.port,
    roomSize: o.roomSize ?? DEFAULTS.roomSize,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
    maxMessageBytes,
    rateLimit: o.rateLimit ?? DEFAULTS.rateLimit,
    maxRoomsPerConnection: o.maxRoomsPerConnection ?? DEFAULTS.maxRoomsPerConnection,
    maxConnections: o.maxConnections ?? DEFAULTS.maxConnections,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress,
    joinTimeoutMs: o.joinTimeoutMs ?? DEFAULTS.joinTimeoutMs,
    maxBufferedBytes: o.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    // Frames up to this size are read and answered with `too-large` (the socket stays usable); bigger ones are refused
    // by ws from the frame header alone (close 1009).
    maxPendingBytes: o.maxPendingBytes ?? Math.max(maxMessageBytes * 4, 64 * 1024),
    maxPendingTotalBytes: o.maxPendingTotalBytes ?? DEFAULTS.maxPendingTotalBytes,
    logRate: o.logRate ?? DEFAULTS.logRate,
    authFailuresPerMinute: o.authFailuresPerMinute ?? DEFAULTS.authFailuresPerMinute,
    drainTimeoutMs: o.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
    allowOrigins: (o.allowOrigins ?? []).map(parseAllowedOrigin),
    webRoot: o.webRoot === undefined ? defaultWebRoot() : o.webRoot,
  };
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
  int('maxConnectionsPerAddress', o.maxConnectionsPerAddress, 1, 1_000_000);
  int('joinTimeoutMs', o.joinTimeoutMs, 10, 3_600_000);
  int('maxBufferedBytes', o.maxBufferedBytes, 1024, 1024 * 1024 * 1024);
  int('maxPendingBytes', o.maxPendingBytes, 256, 64 * 1024 * 1024);
  int('maxPendingTotalBytes', o.maxPendingTotalBytes, 1024, 64 * 1024 * 1024 * 1024);
  int('logRate', o.logRate, 1, 1_000_000);
  int('authFailuresPerMinute', o.authFailuresPerMinute, 1, 1_000_000);
  int('drainTimeoutMs', o.drainTimeoutMs, 0, 3_600_000);
  if (o.maxPendingBytes !== undefined && o.maxPendingBytes < (o.maxMessageBytes ?? DEFAULTS.maxMessageBytes)) {
    throw new RtcError('RTC_ERR_USAGE', `maxPendingBytes (${o.maxPendingBytes}) must be at least maxMessageBytes (${o.maxMessageBytes ?? DEFAULTS.maxMessageBytes})`);
  }
  if (o.rateLimit) {
    if (!(o.rateLimit.perSecond > 0) || !(o.rateLimit.burst >= 1)) throw new RtcError('RTC_ERR_USAGE', 'rateLimit needs perSecond > 0 and burst >= 1');
  }
  if (o.token !== undefined && (o.token.length === 0 || o.token.length > TOKEN_MAX)) {
    throw new RtcError('RTC_ERR_USAGE', `token must be 1-${TOKEN_MAX} characters`);
  }
}
