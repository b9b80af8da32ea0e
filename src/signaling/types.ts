/**
 * The contract between the signaling client (src/signaling/client.ts) and everything that uses it (the peer core in
 * src/rtc, the companion page in src/web). The wire format is documented in docs/signaling-protocol.md.
 */

export const SIGNALING_PROTOCOL_VERSION = 1;
/** The WebSocket path on the `serve` port. */
export const SIGNALING_PATH = '/ws';

export interface JoinResult {
  /** Our peer id, assigned by the server. */
  id: string;
  room: string;
  /** Peers already in the room when we joined, oldest first. */
  peers: string[];
}

/** A relayed message as received: `data` is whatever the sender put in (an offer, a candidate, an app payload). */
export interface RelayedMessage {
  from: string;
  data: unknown;
}

export interface SignalingClientOptions {
  /** ws:// or wss:// URL of the signaling endpoint, e.g. ws://127.0.0.1:3000/ws */
  url: string;
  /** Shared secret for servers started with --token. */
  token?: string;
  /** Reconnect with exponential backoff after an unexpected disconnect, and re-join the room. Default true. */
  reconnect?: boolean;
  /** Give up connecting (first connect, or one reconnect attempt) after this many ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Initial and maximum backoff between reconnect attempts. Defaults 250 ms and 5000 ms. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Extra TLS options for wss:// (e.g. accept the self-signed `serve --https` certificate: { ca } or { rejectUnauthorized: false }). */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  signal?: AbortSignal;
}

export interface SignalingClientEvents {
  'peer-joined': (id: string) => void;
  'peer-left': (id: string) => void;
  message: (msg: RelayedMessage) => void;
  /** The socket dropped; the client is trying again (if reconnect is on). */
  disconnected: (reason: string) => void;
  /** Reconnected and re-joined: `join` holds the new membership (peer ids may have changed). */
  reconnected: (join: JoinResult | undefined) => void;
  /** A server `error` reply or a fatal client error (RtcError). */
  error: (err: Error) => void;
}
