/**
 * One STUN client transaction over UDP (RFC 5389 §7.2.1): send a request, retransmit with a doubling RTO, and
 * resolve with the first response that
 *   - carries our transaction id (RFC 5389 §7.3),
 *   - comes from the address we sent to, or from one the caller explicitly accepts (RFC 5780 CHANGE-REQUEST tests),
 *     because anyone can send a datagram to our port (a reply from elsewhere is ignored, as if never received),
 *   - passes FINGERPRINT when present (§15.5) and MESSAGE-INTEGRITY when we used credentials (§10.2.3).
 * Anything else on the socket (non-STUN data, malformed or spoofed packets) is ignored, never thrown.
 *
 * Errors (./errors.ts): NetworkError `dns` when the name does not resolve, `unreachable` for ICMP unreachable
 * (ECONNREFUSED etc., which Linux only reports on a connected socket: pass `connect: true`); TransactionTimeoutError
 * when no acceptable response arrives before the deadline; AbortedError when the signal fires. An error response is a
 * response: it is returned (a TURN client needs the 401 challenge); assertSuccess() turns it into ErrorResponseError.
 *
 * The RFC defaults (RTO 500 ms, Rc 7, Rm 16) take 39.5 s to give up; diagnostics want a verdict in seconds, so the
 * defaults here are RTO 250 ms, 4 transmissions (at 0, 250, 750, 1750 ms) and a deadline of 2.75 s after the first.
 */
import dgram from 'node:dgram';
import { formatEndpoint, normalizeAddress, sameEndpoint, type Endpoint } from './endpoint.js';
import { AbortedError, ErrorResponseError, InvalidOptionError, TransactionTimeoutError, type ProtocolError } from './errors.js';
import { checkMessageIntegrity } from './integrity.js';
import {
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeOf,
  isErrorResponse,
  methodName,
  StunClass,
  StunMethod,
  type StunAttribute,
  type StunMessage,
} from './message.js';
import { resolveHost, udpSocketError } from './socket.js';

export const DEFAULT_RTO_MS = 250;
export const DEFAULT_MAX_TRANSMISSIONS = 4;
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 2750;

export interface StunRequestOptions {
  /** A bound UDP socket (see createStunSocket). Several transactions may share it concurrently. */
  socket: dgram.Socket;
  /** Destination: an IP literal, or a name resolved with resolveHost (same family as the socket). */
  host: string;
  port: number;
  /** The request to send (its transaction id is used). Default: a Binding request with `attributes`. */
  message?: StunMessage;
  /** Attributes for the default Binding request (e.g. [['CHANGE-REQUEST', CHANGE_IP | CHANGE_PORT]]). */
  attributes?: StunAttribute[];
  /** Method of the default request (Binding). */
  method?: StunMethod;
  /**
   * Credentials key (longTermKey/shortTermKey): adds MESSAGE-INTEGRITY to the request and requires a valid one in
   * the response, except in 400/401/420/438 error responses, which a server sends without it (RFC 5389 §10.2.2).
   */
  integrityKey?: Buffer;
  /** Add FINGERPRINT to the request (default true; RFC 5389 §7.1 makes it optional). */
  fingerprint?: boolean;
  /** Initial retransmission timeout, doubled after each transmission (RFC 5389 §7.2.1). Default 250 ms. */
  rtoMs?: number;
  /** Total transmissions including the first (RFC 5389 "Rc"). Default 4. */
  maxTransmissions?: number;
  /** Give up this long after the first transmission. Default 2750 ms. */
  timeoutMs?: number;
  /**
   * Where a response may come from. Default: only the destination. "any" accepts every source (the result's
   * `from` says where it came from: RFC 5780 tests check it against OTHER-ADDRESS). A list accepts those.
   */
  acceptFrom?: 'any' | Endpoint[];
  /**
   * Connect the socket to the destination for the transaction, so ICMP port/host unreachable surfaces as an error
   * instead of a timeout (Linux reports ICMP errors on connected UDP sockets only). Not with acceptFrom, and not on a
   * socket other transactions are using. If the socket is already connected it is used as is.
   */
  connect?: boolean;
  signal?: AbortSignal;
  /** Called for each datagram that was ignored, with the reason (for --verbose). */
  onIgnored?: (reason: string, from: Endpoint) => void;
}

export interface StunTransactionResult {
  /** The parsed response (success or error class: check isErrorResponse / errorCodeOf). */
  response: StunMessage;
  /** The response as received, e.g. for checkMessageIntegrity with another key. */
  raw: Buffer;
  /** Where the response came from. */
  from: Endpoint;
  /** The address the request was sent to (after DNS resolution). */
  to: Endpoint;
  /** Milliseconds from the last transmission to the response (Karn: exact only when transmissions is 1). */
  rttMs: number;
  /** Milliseconds from the first transmission to the response. */
  elapsedMs: number;
  transmissions: number;
}

function socketFamily(socket: dgram.Socket): 4 | 6 {
  try {
    return socket.address().family === 'IPv6' ? 6 : 4;
  } catch {
    return 4;
  }
}

function isConnected(socket: dgram.Socket): boolean {
  try {
    socket.remoteAddress();
    return true;
  } catch {
    return false;
  }
}

/** Error responses a server sends without MESSAGE-INTEGRITY even when the request had credentials (RFC 5389 §10.2.2). */
export const UNAUTHENTICATED_ERRORS = new Set([400, 401, 420, 438]);

/**
 * Whether a response passes the MESSAGE-INTEGRITY check of a request sent with `key` (RFC 8489 §9.2.4): it must carry
 * a valid one, except the 400/401/420/438 error responses a server sends without credentials. Others are discarded.
 */
export function integrityAcceptable(raw: Buffer, response: StunMessage, key: Buffer): 'valid' | 'exempt' | 'absent' | 'invalid' {
  const mi = checkMessageIntegrity(raw, key);
  if (mi === 'valid') return mi;
  const err = isErrorResponse(response) ? errorCodeOf(response)?.code : undefined;
  return err !== undefined && UNAUTHENTICATED_ERRORS.has(err) && mi === 'absent' ? 'exempt' : mi;
}

/** The response of a transaction, or ErrorResponseError (with its ERROR-CODE) when it is an error response. */
export function assertSuccess(r: StunTransactionResult): StunTransactionResult {
  if (!isErrorResponse(r.response)) return r;
  const ec = errorCodeOf(r.response);
  throw new ErrorResponseError(methodName(r.response.messageMethod), ec?.code ?? 0, ec?.reason ?? '', r.from);
}

/** Run one STUN transaction. See the module comment for what is accepted and which errors are thrown. */
export async function stunRequest(opts: StunRequestOptions): Promise<StunTransactionResult> {
  const rto = opts.rtoMs ?? DEFAULT_RTO_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
  if (!(rto > 0) || !(timeoutMs > 0)) throw new InvalidOptionError('timeoutMs', 'STUN rtoMs and timeoutMs must be positive');
  if (opts.connect && opts.acceptFrom !== undefined) {
    throw new InvalidOptionError('acceptFrom', 'connect and acceptFrom exclude each other (a connected socket only hears its peer)');
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new InvalidOptionError('port', `STUN destination port ${opts.port} is not 1-65535`);
  }
  const address = await resolveHost(opts.host, { family: socketFamily(opts.socket), signal: opts.signal, timeoutMs: Math.max(timeoutMs, 2000) });
  if (opts.signal?.aborted) throw new AbortedError(opts.signal.reason);
  const message = opts.message ?? createStunMessage({ method: opts.method ?? StunMethod.BINDING, attributes: opts.attributes });
  if (message.messageClass !== StunClass.REQUEST) throw new InvalidOptionError('message', 'stunRequest sends requests only');
  const tx = new ClientTransaction(opts, { address, port: opts.port }, message, { rto, timeoutMs });
  return tx.run();
}

/** The state of one running transaction: timers, listeners and the outcome. */
class ClientTransaction {
  private readonly wire: Buffer;
  private readonly maxTx: number;
  private transmissions = 0;
  private firstSent = 0;
  private lastSent = 0;
  private connectedHere = false;
  private connected = false;
  private retransmitTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private settle?: (r: StunTransactionResult | ProtocolError) => void;

  constructor(
    private readonly opts: StunRequestOptions,
    private readonly to: Endpoint,
    private readonly message: StunMessage,
    private readonly timing: { rto: number; timeoutMs: number },
  ) {
    this.wire = encodeStunMessage(message, { integrityKey: opts.integrityKey, fingerprint: opts.fingerprint });
    this.maxTx = Math.max(1, opts.maxTransmissions ?? DEFAULT_MAX_TRANSMISSIONS);
  }

  async run(): Promise<StunTransactionResult> {
    const { socket, signal } = this.opts;
    this.connected = isConnected(socket);
    if (this.opts.connect && !this.connected) await this.connect();
    const done = new Promise<StunTransactionResult | ProtocolError>((resolve) => (this.settle = resolve));
    socket.on('message', this.onMessage);
    socket.on('error', this.onError);
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.deadlineTimer = setTimeout(() => this.finish(new TransactionTimeoutError(this.to, methodName(this.message.messageMethod), this.timing.timeoutMs, this.transmissions)), this.timing.timeoutMs);
    try {
      this.transmit();
      const r = await done;
      if (r instanceof Error) throw r;
      return r;
    } finally {
      this.cleanup();
    }
  }

  private async connect(): Promise<void> {
    const { socket } = this.opts;
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(udpSocketError(e, this.to));
      socket.once('error', onErr);
      socket.connect(this.to.port, this.to.address, () => {
        socket.off('error', onErr);
        resolve();
      });
    });
    this.connectedHere = true;
    this.connected = true;
  }

  private finish(r: StunTransactionResult | ProtocolError): void {
    const s = this.settle;
    this.settle = undefined;
    s?.(r);
  }

  private readonly onError = (e: Error): void => this.finish(udpSocketError(e, this.to));
  private readonly onAbort = (): void => this.finish(new AbortedError(this.opts.signal?.reason));

  private accepts(from: Endpoint): boolean {
    const accept = this.opts.acceptFrom;
    if (accept === 'any') return true;
    return (accept ?? [this.to]).some((ep) => sameEndpoint(ep, from));
  }

  private readonly onMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
    const from: Endpoint = { address: normalizeAddress(rinfo.address), port: rinfo.port };
    const ignore = (why: string): void => this.opts.onIgnored?.(why, from);
    // Cheap checks first: the transaction id sits at bytes 8..19 of an RFC 5389 message.
    if (data.length < 20 || !data.subarray(8, 20).equals(this.message.transactionId)) return;
    if (!this.accepts(from)) return ignore(`response with our transaction id from unexpected source ${formatEndpoint(from)}`);
    const response = decodeStunMessage(data);
    if (!response) return ignore('malformed STUN message or bad FINGERPRINT');
    if (response.messageClass !== StunClass.RESPONSE && response.messageClass !== StunClass.ERROR) return;
    if (response.messageMethod !== this.message.messageMethod) return ignore('response for another method');
    if (this.opts.integrityKey) {
      const mi = integrityAcceptable(data, response, this.opts.integrityKey);
      // RFC 5389 §10.2.3: discard as if never received; retransmissions continue.
      if (mi === 'absent' || mi === 'invalid') return ignore(`response MESSAGE-INTEGRITY ${mi}`);
    }
    const now = performance.now();
    this.finish({ response, raw: Buffer.from(data), from, to: this.to, rttMs: now - this.lastSent, elapsedMs: now - this.firstSent, transmissions: this.transmissions });
  };

  private transmit(): void {
    this.transmissions += 1;
    this.lastSent = performance.now();
    if (this.transmissions === 1) this.firstSent = this.lastSent;
    const cb = (err: Error | null): void => {
      if (err) this.finish(udpSocketError(err, this.to));
    };
    try {
      if (this.connected) this.opts.socket.send(this.wire, cb);
      else this.opts.socket.send(this.wire, this.to.port, this.to.address, cb);
    } catch (e) {
      // Node throws synchronously for a closed socket or an impossible destination: an error, never a crash.
      this.finish(udpSocketError(e, this.to));
      return;
    }
    if (this.transmissions < this.maxTx) {
      // RFC 5389 §7.2.1: the n-th retransmission waits RTO * 2^(n-1) after the previous one.
      const wait = this.timing.rto * 2 ** (this.transmissions - 1);
      if (this.lastSent + wait < this.firstSent + this.timing.timeoutMs) this.retransmitTimer = setTimeout(() => this.transmit(), wait);
    }
  }

  private cleanup(): void {
    const { socket, signal } = this.opts;
    clearTimeout(this.retransmitTimer);
    clearTimeout(this.deadlineTimer);
    socket.off('message', this.onMessage);
    socket.off('error', this.onError);
    signal?.removeEventListener('abort', this.onAbort);
    if (this.connectedHere) {
      try {
        socket.disconnect();
      } catch {
        /* closed meanwhile */
      }
    }
  }
}
