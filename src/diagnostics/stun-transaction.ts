/**
 * One STUN client transaction over UDP (RFC 5389 §7.2.1): send a request, retransmit with a doubling RTO, and
 * resolve with the first response that
 *   - carries our transaction id (RFC 5389 §7.3),
 *   - comes from the address we sent to, or from one the caller explicitly accepts (RFC 5780 CHANGE-REQUEST tests),
 *     because anyone can send a datagram to our port (a reply from elsewhere is ignored, as if never received),
 *   - passes FINGERPRINT when present (§15.5) and MESSAGE-INTEGRITY when we used credentials (§10.2.3).
 * Anything else on the socket (non-STUN data, malformed or spoofed packets) is ignored, never thrown.
 *
 * Errors: DNS failure → RTC_ERR_DNS; ICMP unreachable (ECONNREFUSED etc., which Linux only reports on a connected
 * socket: pass `connect: true`) → RTC_ERR_UNREACHABLE; no matching response before the deadline → RTC_ERR_TIMEOUT.
 *
 * The RFC defaults (RTO 500 ms, Rc 7, Rm 16) take 39.5 s to give up; diagnostics want a verdict in seconds, so the
 * defaults here are RTO 250 ms, 4 transmissions (at 0, 250, 750, 1750 ms) and a deadline of 2.75 s after the first.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { interruptError, RtcError } from '../errors.js';
import {
  checkMessageIntegrity,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeOf,
  formatEndpoint,
  isErrorResponse,
  normalizeAddress,
  sameEndpoint,
  StunClass,
  StunMethod,
  type Endpoint,
  type StunAttribute,
  type StunMessage,
} from './stun-message.js';

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

/**
 * Bind a UDP socket for STUN. A permanent no-op 'error' listener keeps late ICMP errors from crashing the process.
 *
 * Trap avoided: Linux releases a kernel-chosen (port 0) port when a UDP socket is disconnected (udp_disconnect
 * unhashes sockets without SOCK_BINDPORT_LOCK), so after `connect: true` the next send would come from a NEW port
 * and wreck every mapping comparison. So for port 0 we let the kernel pick a free port, then bind a fresh socket to
 * that port explicitly, which locks it.
 */
export async function createStunSocket(opts: { family?: 4 | 6; address?: string; port?: number } = {}): Promise<dgram.Socket> {
  const family = opts.family ?? (opts.address && isIP(opts.address) === 6 ? 6 : 4);
  const address = opts.address ?? (family === 6 ? '::' : '0.0.0.0');
  if (opts.port !== undefined && opts.port !== 0) return bindUdp(family, address, opts.port);
  for (let attempt = 0; ; attempt++) {
    const probe = await bindUdp(family, address, 0);
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    try {
      return await bindUdp(family, address, port);
    } catch (e) {
      // Someone took the port in between: pick another.
      if (!(e instanceof RtcError && e.code === 'RTC_ERR_LISTEN') || attempt >= 5) throw e;
    }
  }
}

async function bindUdp(family: 4 | 6, address: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  socket.on('error', () => {
    /* transactions attach their own listeners; this one only keeps an unhandled 'error' from throwing */
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    socket.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EINVAL' || code === 'EAFNOSUPPORT') {
      throw new RtcError('RTC_ERR_BAD_ADDRESS', `cannot bind a UDP socket to ${address}: it is not an address of this machine`, {
        hint: 'pick one of the addresses `ip addr` lists, or leave the local address out',
        cause: e,
      });
    }
    throw new RtcError('RTC_ERR_LISTEN', `cannot bind a UDP socket to ${address}:${port} (${code ?? String(e)})`, { cause: e });
  }
  return socket;
}

/** Close a socket, ignoring "not running" (already closed). */
export function closeSocket(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    /* already closed */
  }
}

/**
 * Resolve a host name to one address of the given family (IP literals are returned as they are). Throws
 * RTC_ERR_DNS when the name does not resolve, RTC_ERR_TIMEOUT when the resolver does not answer in time.
 */
export async function resolveHost(host: string, opts: { family?: 4 | 6; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) return normalizeAddress(bare);
  if (opts.signal?.aborted) throw interruptError(opts.signal.reason, 'interrupted before the STUN server answered');
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const result = await Promise.race([
      lookup(bare, { family: opts.family ?? 4 }),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new RtcError('RTC_ERR_TIMEOUT', `DNS lookup of "${bare}" did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        if (opts.signal) {
          const signal = opts.signal;
          onAbort = () => reject(interruptError(signal.reason, 'interrupted before the STUN server answered'));
          signal.addEventListener('abort', onAbort, { once: true });
        }
      }),
    ]);
    return normalizeAddress(result.address);
  } catch (e) {
    if (e instanceof RtcError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new RtcError('RTC_ERR_DNS', `cannot resolve "${bare}" (${code})`, {
      hint: 'check the host name and your DNS; an IP address avoids the lookup',
      cause: e,
      details: { host: bare, errno: code },
    });
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
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

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

function socketError(e: unknown, to: Endpoint): RtcError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (UNREACHABLE_CODES.has(code)) {
    const what = code === 'ECONNREFUSED' ? 'nothing is listening on that port (ICMP port unreachable)' : `no route to it (${code})`;
    return new RtcError('RTC_ERR_UNREACHABLE', `STUN server ${formatEndpoint(to)} is unreachable: ${what}`, {
      hint: 'check the host and port; STUN usually listens on UDP 3478',
      cause: e,
      details: { errno: code },
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new RtcError('RTC_ERR_UNREACHABLE', `sending to ${formatEndpoint(to)} was refused by the local firewall (${code})`, { cause: e });
  }
  return new RtcError('RTC_ERR_STUN', `UDP socket error talking to ${formatEndpoint(to)}: ${(e as Error).message ?? String(e)}`, { cause: e });
}

/** Error responses a server sends without MESSAGE-INTEGRITY even when the request had credentials (RFC 5389 §10.2.2). */
const UNAUTHENTICATED_ERRORS = new Set([400, 401, 420, 438]);

/** Run one STUN transaction. See the module comment for what is accepted and which errors are thrown. */
export async function stunRequest(opts: StunRequestOptions): Promise<StunTransactionResult> {
  const { socket, signal } = opts;
  const rto = opts.rtoMs ?? DEFAULT_RTO_MS;
  const maxTx = Math.max(1, opts.maxTransmissions ?? DEFAULT_MAX_TRANSMISSIONS);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
  if (!(rto > 0) || !(timeoutMs > 0)) throw new RtcError('RTC_ERR_USAGE', 'STUN rtoMs and timeoutMs must be positive');
  if (opts.connect && opts.acceptFrom !== undefined) {
    throw new RtcError('RTC_ERR_USAGE', 'stunRequest: connect and acceptFrom exclude each other (a connected socket only hears its peer)');
  }
  const family = socketFamily(socket);
  const address = await resolveHost(opts.host, { family, signal, timeoutMs: Math.max(timeoutMs, 2000) });
  const to: Endpoint = { address, port: opts.port };
  if (signal?.aborted) throw interruptError(signal.reason, 'interrupted before the STUN server answered');

  const message = opts.message ?? createStunMessage({ method: opts.method ?? StunMethod.BINDING, attributes: opts.attributes });
  if (message.messageClass !== StunClass.REQUEST) throw new RtcError('RTC_ERR_USAGE', 'stunRequest sends requests only');
  const wire = encodeStunMessage(message, { integrityKey: opts.integrityKey, fingerprint: opts.fingerprint });
  const tid = message.transactionId;

  let connectedHere = false;
  const useConnected = isConnected(socket);
  if (opts.connect && !useConnected) {
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(socketError(e, to));
      socket.once('error', onErr);
      socket.connect(to.port, to.address, () => {
        socket.off('error', onErr);
        resolve();
      });
    });
    connectedHere = true;
  }
  const connected = useConnected || connectedHere;

  const accepts = (from: Endpoint): boolean => {
    if (opts.acceptFrom === 'any') return true;
    const list = opts.acceptFrom ?? [to];
    return list.some((ep) => sameEndpoint(ep, from));
  };

  let transmissions = 0;
  let firstSent = 0;
  let lastSent = 0;
  let retransmitTimer: NodeJS.Timeout | undefined;
  let settle: ((r: StunTransactionResult | RtcError) => void) | undefined;
  const done = new Promise<StunTransactionResult | RtcError>((resolve) => {
    settle = resolve;
  });
  const finish = (r: StunTransactionResult | RtcError): void => {
    const s = settle;
    settle = undefined;
    s?.(r);
  };

  const onMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
    const from: Endpoint = { address: normalizeAddress(rinfo.address), port: rinfo.port };
    // Cheap checks first: the transaction id sits at bytes 8..19 of an RFC 5389 message.
    if (data.length < 20 || !data.subarray(8, 20).equals(tid)) return;
    if (!accepts(from)) {
      opts.onIgnored?.(`response with our transaction id from unexpected source ${formatEndpoint(from)}`, from);
      return;
    }
    const response = decodeStunMessage(data);
    if (!response) {
      opts.onIgnored?.('malformed STUN message or bad FINGERPRINT', from);
      return;
    }
    if (response.messageClass !== StunClass.RESPONSE && response.messageClass !== StunClass.ERROR) return;
    if (response.messageMethod !== message.messageMethod) {
      opts.onIgnored?.('response for another method', from);
      return;
    }
    if (opts.integrityKey) {
      const mi = checkMessageIntegrity(data, opts.integrityKey);
      const err = isErrorResponse(response) ? errorCodeOf(response)?.code : undefined;
      const exempt = err !== undefined && UNAUTHENTICATED_ERRORS.has(err) && mi === 'absent';
      if (mi !== 'valid' && !exempt) {
        // RFC 5389 §10.2.3: discard as if never received; retransmissions continue.
        opts.onIgnored?.(`response MESSAGE-INTEGRITY ${mi}`, from);
        return;
      }
    }
    const now = performance.now();
    finish({ response, raw: Buffer.from(data), from, to, rttMs: now - lastSent, elapsedMs: now - firstSent, transmissions });
  };
  const onError = (e: Error): void => finish(socketError(e, to));
  const onAbort = (): void => finish(interruptError(signal!.reason, 'interrupted before the STUN server answered'));

  const transmit = (): void => {
    transmissions += 1;
    lastSent = performance.now();
    if (transmissions === 1) firstSent = lastSent;
    const cb = (err: Error | null): void => {
      if (err) finish(socketError(err, to));
    };
    if (connected) socket.send(wire, cb);
    else socket.send(wire, to.port, to.address, cb);
    if (transmissions < maxTx) {
      // RFC 5389 §7.2.1: the n-th retransmission waits RTO * 2^(n-1) after the previous one.
      const wait = rto * 2 ** (transmissions - 1);
      if (lastSent + wait < firstSent + timeoutMs) retransmitTimer = setTimeout(transmit, wait);
    }
  };

  socket.on('message', onMessage);
  socket.on('error', onError);
  signal?.addEventListener('abort', onAbort, { once: true });
  const deadlineTimer = setTimeout(() => {
    finish(
      new RtcError('RTC_ERR_TIMEOUT', `no STUN response from ${formatEndpoint(to)} within ${timeoutMs} ms (${transmissions} requests sent)`, {
        hint: 'UDP may be blocked on the way, or nothing answers STUN there',
        details: { to: formatEndpoint(to), transmissions },
      }),
    );
  }, timeoutMs);
  try {
    transmit();
    const r = await done;
    if (r instanceof RtcError) throw r;
    return r;
  } finally {
    clearTimeout(retransmitTimer);
    clearTimeout(deadlineTimer);
    socket.off('message', onMessage);
    socket.off('error', onError);
    signal?.removeEventListener('abort', onAbort);
    if (connectedHere) {
      try {
        socket.disconnect();
      } catch {
        /* closed meanwhile */
      }
    }
  }
}
