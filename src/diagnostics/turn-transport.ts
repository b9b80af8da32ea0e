/**
 * The three ways to reach a TURN server (RFC 8656 §3.1): UDP, TCP and TLS-over-TCP. Each gives the TURN client the
 * same face: run a request/response transaction, send a raw indication or ChannelData message, and hand every other
 * message from the server (Data indications, ChannelData) to `onIncoming`.
 *
 * UDP reuses the STUN client transaction (src/diagnostics/stun-transaction.ts: retransmissions, transaction-id,
 * source and MESSAGE-INTEGRITY checks) on a socket connected to the server, so ICMP "port unreachable" surfaces as
 * RTC_ERR_UNREACHABLE instead of a silent timeout.
 *
 * TCP/TLS: no RFC 4571 length prefix. STUN messages and ChannelData messages are self-delimiting on the stream
 * (RFC 8656 §12.5): a STUN message is 20 + Length bytes, a ChannelData message is 4 + Length bytes padded up to a
 * multiple of 4 over TCP. The first two bits tell them apart (RFC 7983: 0b00 STUN, 0b01 ChannelData, channel
 * numbers 0x4000-0x4FFF). Requests are not retransmitted over a reliable transport (RFC 8489 §6.2.2); they time out.
 */
import net from 'node:net';
import tls from 'node:tls';
import { interruptError, RtcError } from '../errors.js';
import {
  checkMessageIntegrity,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeOf,
  formatEndpoint,
  normalizeAddress,
  StunClass,
  type Endpoint,
  type StunMessage,
} from './stun-message.js';
import { closeSocket, createStunSocket, stunRequest } from './stun-transaction.js';

export type TurnTransportKind = 'udp' | 'tcp' | 'tls';

export interface TransactionResult {
  response: StunMessage;
  raw: Buffer;
  rttMs: number;
}

export interface TurnTransport {
  readonly kind: TurnTransportKind;
  readonly server: Endpoint;
  /** Our end of the 5-tuple (RFC 8656 §2). */
  readonly local: Endpoint;
  /** Run one request transaction; with `integrityKey` the request gets MESSAGE-INTEGRITY and the response must too. */
  request(msg: StunMessage, opts: { integrityKey?: Buffer; timeoutMs: number; signal?: AbortSignal }): Promise<TransactionResult>;
  /** Send bytes as they are (an encoded indication, or ChannelData already padded for the stream). */
  sendRaw(data: Buffer): void;
  /** Every server message that is not a response to one of our requests. */
  onIncoming: (data: Buffer) => void;
  /** Set once the transport died (stream closed or errored): later requests fail with it. */
  readonly failure?: RtcError;
  close(): void;
}

/** Error responses a server sends without MESSAGE-INTEGRITY even to an authenticated request (RFC 8489 §9.2.4). */
const UNAUTHENTICATED_ERRORS = new Set([400, 401, 420, 438]);

/** First two bits 0b01: a ChannelData message (RFC 8656 §12.4; channel numbers 0x4000-0x4FFF). */
export function isChannelData(data: Buffer): boolean {
  return data.length >= 4 && (data[0]! & 0xc0) === 0x40;
}

// ---------------------------------------------------------------------------------------------------------------
// UDP

export interface UdpTransportOptions {
  server: Endpoint;
  /** Local address to bind (default: any address of the server's family). */
  localAddress?: string;
  /** STUN retransmission timeout for requests (default 250 ms, doubling). */
  rtoMs?: number;
}

export async function openUdpTransport(opts: UdpTransportOptions): Promise<TurnTransport> {
  const family = net.isIP(opts.server.address) === 6 ? 6 : 4;
  const socket = await createStunSocket({ family, address: opts.localAddress });
  // Connected: only the server's datagrams reach us, and ICMP errors are reported (Linux does so on connected sockets).
  await new Promise<void>((resolve) => socket.connect(opts.server.port, opts.server.address, () => resolve()));
  const a = socket.address();
  let failure: RtcError | undefined;
  const t: TurnTransport = {
    kind: 'udp',
    server: opts.server,
    local: { address: normalizeAddress(a.address), port: a.port },
    get failure() {
      return failure;
    },
    onIncoming: () => {},
    async request(msg, ropts) {
      const r = await stunRequest({
        socket,
        host: opts.server.address,
        port: opts.server.port,
        message: msg,
        integrityKey: ropts.integrityKey,
        timeoutMs: ropts.timeoutMs,
        rtoMs: opts.rtoMs,
        maxTransmissions: 7,
        signal: ropts.signal,
      });
      return { response: r.response, raw: r.raw, rttMs: r.rttMs };
    },
    sendRaw(data) {
      socket.send(data, (err) => {
        if (err && !failure) failure = udpError(err, opts.server);
      });
    },
    close() {
      closeSocket(socket);
    },
  };
  socket.on('message', (data) => {
    // Responses belong to stunRequest's own listener; everything else (indications, ChannelData) is ours.
    if (isChannelData(data)) {
      t.onIncoming(data);
      return;
    }
    if (data.length >= 20 && (data[0]! & 0xc0) === 0) {
      const cls = data.readUInt16BE(0) & 0x0110;
      if (cls === StunClass.INDICATION) t.onIncoming(data);
    }
  });
  socket.on('error', (err) => {
    if (!failure) failure = udpError(err, opts.server);
  });
  return t;
}

function udpError(err: Error, server: Endpoint): RtcError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ECONNREFUSED') {
    return new RtcError('RTC_ERR_UNREACHABLE', `TURN server ${formatEndpoint(server)} is unreachable over UDP: nothing listens there (ICMP port unreachable)`, {
      details: { errno: code },
    });
  }
  return new RtcError('RTC_ERR_UNREACHABLE', `UDP error talking to TURN server ${formatEndpoint(server)} (${code || err.message})`, { details: { errno: code } });
}

// ---------------------------------------------------------------------------------------------------------------
// TCP and TLS

/**
 * Splits a TURN byte stream into messages (RFC 8656 §12.5). `push` returns the complete messages so far; a frame
 * that is neither STUN nor ChannelData means the stream is not TURN (or is out of sync) and throws RTC_ERR_TURN.
 */
export class TurnStreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.buf.length < 4) break;
      const top = this.buf[0]! & 0xc0;
      let total: number;
      if (top === 0x00) {
        // RFC 8489 §5: the magic cookie must follow the length; without it this is not STUN (a TLS record, say).
        if (this.buf.length >= 8 && this.buf.readUInt32BE(4) !== 0x2112a442) throw this.notTurn();
        if (this.buf.length < 8) break;
        total = 20 + this.buf.readUInt16BE(2);
      } else if (top === 0x40 && this.buf.readUInt16BE(0) <= 0x4fff) {
        const len = this.buf.readUInt16BE(2);
        // RFC 8656 §12.5: over TCP the ChannelData message is padded to a multiple of 4 bytes.
        total = 4 + len + ((4 - (len % 4)) % 4);
      } else {
        // Channel numbers 0x5000-0x7FFF are reserved (RFC 8656 §12); first bits 0b10/0b11 are RTP/DTLS, never TURN.
        throw this.notTurn();
      }
      if (this.buf.length < total) break;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }

  private notTurn(): RtcError {
    const first = this.buf.subarray(0, 8).toString('hex');
    this.buf = Buffer.alloc(0);
    return new RtcError('RTC_ERR_TURN', `the server sent bytes that are neither STUN nor ChannelData (starting ${first}): not a TURN server, or the stream lost sync`);
  }
}

/** Pad a ChannelData message to a multiple of 4 bytes for a stream transport (RFC 8656 §12.5). */
export function padForStream(data: Buffer): Buffer {
  const pad = (4 - (data.length % 4)) % 4;
  return pad === 0 ? data : Buffer.concat([data, Buffer.alloc(pad)]);
}

export interface StreamTransportOptions {
  server: Endpoint;
  /** Host name for TLS SNI and certificate checks (default: the server address). */
  serverName?: string;
  tls?: boolean;
  /** PEM CA certificate(s) to trust for TLS (instead of the system store). */
  ca?: string | Buffer;
  /** Do not verify the server certificate (TLS still encrypts). */
  insecure?: boolean;
  localAddress?: string;
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

/** Words for Node's TLS certificate errors (the code is kept in details). */
export function tlsErrorMessage(err: NodeJS.ErrnoException, where: string, serverName: string): RtcError {
  const code = err.code ?? '';
  let why: string;
  let hint = 'pass --ca <file> with the CA that signed the server certificate, or --insecure to skip verification (testing only)';
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      why = 'the server certificate is self-signed and not trusted';
      break;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      why = 'the server certificate was signed by a CA that is not trusted (or the server sends an incomplete chain)';
      break;
    case 'CERT_HAS_EXPIRED':
      why = 'the server certificate has expired';
      hint = 'renew the certificate on the TURN server';
      break;
    case 'CERT_NOT_YET_VALID':
      why = 'the server certificate is not valid yet (clock skew?)';
      hint = 'check the clocks of this machine and the server';
      break;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      why = `the server certificate does not name "${serverName}"`;
      hint = 'use the host name the certificate was issued for in the turns: URL';
      break;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'EPROTO':
      why = 'the TLS handshake failed: the server does not speak TLS on this port (a plain turn: port?)';
      hint = 'use turn:host:port?transport=tcp for a plain TCP port, turns:host:5349 for TLS';
      break;
    default:
      why = `the TLS handshake failed (${code || err.message})`;
  }
  return new RtcError('RTC_ERR_TLS', `TLS to ${where}: ${why}`, { hint, cause: err, details: { tlsError: code || err.message } });
}

function connectError(err: NodeJS.ErrnoException, server: Endpoint, kind: TurnTransportKind): RtcError {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') {
    return new RtcError('RTC_ERR_UNREACHABLE', `TURN server ${formatEndpoint(server)} refused the ${kind.toUpperCase()} connection: nothing listens there`, {
      hint: kind === 'tls' ? 'TURN over TLS usually listens on 5349' : 'TURN usually listens on 3478 (UDP and TCP)',
      details: { errno: code },
    });
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN') {
    return new RtcError('RTC_ERR_UNREACHABLE', `TURN server ${formatEndpoint(server)} is unreachable (${code})`, { details: { errno: code } });
  }
  return new RtcError('RTC_ERR_UNREACHABLE', `connection to TURN server ${formatEndpoint(server)} failed (${code || err.message})`, { details: { errno: code } });
}

export async function openStreamTransport(opts: StreamTransportOptions): Promise<TurnTransport> {
  const kind: TurnTransportKind = opts.tls ? 'tls' : 'tcp';
  const where = formatEndpoint(opts.server);
  const serverName = opts.serverName ?? opts.server.address;
  const sock: net.Socket = await new Promise<net.Socket>((resolve, reject) => {
    let s: net.Socket;
    const base = { host: opts.server.address, port: opts.server.port, localAddress: opts.localAddress };
    if (opts.tls) {
      s = tls.connect({
        ...base,
        // SNI is only sent for names (RFC 6066 §3 forbids IP literals).
        servername: net.isIP(serverName) ? undefined : serverName,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
      });
    } else {
      s = net.connect(base);
    }
    let tcpConnected = false;
    const cleanup = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      s.off('error', onError);
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      cleanup();
      s.destroy();
      // A refused/unreachable TCP connect is a network error; anything after the TCP connect on a TLS socket is TLS.
      if (opts.tls && tcpConnected) reject(tlsErrorMessage(e, where, serverName));
      else reject(connectError(e, opts.server, kind));
    };
    const onAbort = (): void => {
      cleanup();
      s.destroy();
      const r: unknown = opts.signal?.reason;
      reject(interruptError(r, 'interrupted while connecting to the TURN server'));
    };
    const timer = setTimeout(() => {
      cleanup();
      s.destroy();
      reject(
        new RtcError('RTC_ERR_TIMEOUT', `no ${kind.toUpperCase()} connection to TURN server ${where} within ${opts.connectTimeoutMs} ms${tcpConnected ? ' (TCP connected, TLS handshake did not finish)' : ''}`, {
          hint: 'a firewall may drop the packets, or the host/port is wrong',
        }),
      );
    }, opts.connectTimeoutMs);
    s.on('error', onError);
    s.once('connect', () => {
      tcpConnected = true;
    });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    s.once(opts.tls ? 'secureConnect' : 'connect', () => {
      cleanup();
      resolve(s);
    });
  });
  sock.setNoDelay(true);

  interface Pending {
    resolve: (r: TransactionResult) => void;
    reject: (e: RtcError) => void;
    key?: Buffer;
    method: number;
    sent: number;
  }
  const pending = new Map<string, Pending>();
  const framer = new TurnStreamFramer();
  let failure: RtcError | undefined;
  const fail = (e: RtcError): void => {
    if (!failure) failure = e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    sock.destroy();
  };

  const t: TurnTransport = {
    kind,
    server: opts.server,
    local: { address: normalizeAddress(sock.localAddress ?? ''), port: sock.localPort ?? 0 },
    get failure() {
      return failure;
    },
    onIncoming: () => {},
    request(msg, ropts) {
      if (failure) return Promise.reject(failure);
      const wire = encodeStunMessage(msg, { integrityKey: ropts.integrityKey });
      const id = msg.transactionId.toString('hex');
      return new Promise<TransactionResult>((resolve, reject) => {
        const onAbort = (): void => {
          finish();
          const r: unknown = ropts.signal?.reason;
          reject(interruptError(r, 'interrupted while waiting for the TURN server'));
        };
        const finish = (): void => {
          clearTimeout(timer);
          pending.delete(id);
          ropts.signal?.removeEventListener('abort', onAbort);
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new RtcError('RTC_ERR_TIMEOUT', `no response from TURN server ${where} over ${kind.toUpperCase()} within ${ropts.timeoutMs} ms`, {
              hint: 'the server accepted the connection but does not answer TURN requests on it',
            }),
          );
        }, ropts.timeoutMs);
        ropts.signal?.addEventListener('abort', onAbort, { once: true });
        pending.set(id, {
          resolve: (r) => {
            finish();
            resolve(r);
          },
          reject: (e) => {
            finish();
            reject(e);
          },
          key: ropts.integrityKey,
          method: msg.messageMethod,
          sent: performance.now(),
        });
        sock.write(wire);
      });
    },
    sendRaw(data) {
      if (!failure) sock.write(isChannelData(data) ? padForStream(data) : data);
    },
    close() {
      sock.destroy();
    },
  };

  sock.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = framer.push(chunk);
    } catch (e) {
      fail(e instanceof RtcError ? e : new RtcError('RTC_ERR_TURN', 'malformed data on the TURN stream', { cause: e }));
      return;
    }
    for (const frame of frames) {
      if (isChannelData(frame)) {
        t.onIncoming(frame);
        continue;
      }
      const cls = frame.readUInt16BE(0) & 0x0110;
      if (cls === StunClass.INDICATION) {
        t.onIncoming(frame);
        continue;
      }
      if (cls !== StunClass.RESPONSE && cls !== StunClass.ERROR) continue;
      const p = pending.get(frame.subarray(8, 20).toString('hex'));
      if (!p) continue; // a late answer to a request we gave up on
      const response = decodeStunMessage(Buffer.from(frame));
      if (!response || response.messageMethod !== p.method) continue;
      if (p.key) {
        const mi = checkMessageIntegrity(frame, p.key);
        const err = cls === StunClass.ERROR ? errorCodeOf(response)?.code : undefined;
        const exempt = err !== undefined && UNAUTHENTICATED_ERRORS.has(err) && mi === 'absent';
        // RFC 8489 §9.2.4: a response that fails the integrity check is discarded, as if never received.
        if (mi !== 'valid' && !exempt) continue;
      }
      p.resolve({ response, raw: Buffer.from(frame), rttMs: performance.now() - p.sent });
    }
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    fail(opts.tls && /SSL|TLS|CERT/i.test(e.code ?? '') ? tlsErrorMessage(e, where, serverName) : connectError(e, opts.server, kind));
  });
  sock.on('close', () => {
    fail(new RtcError('RTC_ERR_TURN', `TURN server ${where} closed the ${kind.toUpperCase()} connection`));
  });
  return t;
}
