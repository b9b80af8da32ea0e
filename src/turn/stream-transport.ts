/**
 * TURN over TCP and TLS-over-TCP (RFC 8656 §3.1): messages framed by ./transport.ts TurnStreamFramer, requests
 * matched by transaction id. Requests are not retransmitted over a reliable transport (RFC 8489 §6.2.2): they time out.
 *
 * Errors: NetworkError `unreachable` (refused, no route), `closed` (the server closed the stream), TlsError for a
 * failed handshake, ConnectTimeoutError, TransactionTimeoutError, BadMessageError (not a TURN stream), AbortedError.
 */
import net from 'node:net';
import tls from 'node:tls';
import { formatEndpoint, normalizeAddress, type Endpoint } from '../stun/endpoint.js';
import { AbortedError, NetworkError, TransactionTimeoutError, type ProtocolError } from '../stun/errors.js';
import { decodeStunMessage, encodeStunMessage, methodName, StunClass, type StunMessage } from '../stun/message.js';
import { integrityAcceptable } from '../stun/transaction.js';
import { ConnectTimeoutError, TlsError } from './errors.js';
import { isChannelData, padForStream, TurnStreamFramer, type TransactionResult, type TurnTransport, type TurnTransportKind } from './transport.js';

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

function connectError(err: NodeJS.ErrnoException, server: Endpoint, kind: TurnTransportKind): NetworkError {
  const errno = err.code ?? '';
  const details = { errno, endpoint: server, transport: kind };
  if (errno === 'ECONNREFUSED') return new NetworkError('unreachable', `${formatEndpoint(server)} refused the ${kind.toUpperCase()} connection: nothing listens there`, details);
  if (errno === 'EHOSTUNREACH' || errno === 'ENETUNREACH' || errno === 'EHOSTDOWN') return new NetworkError('unreachable', `${formatEndpoint(server)} is unreachable (${errno})`, details);
  return new NetworkError('unreachable', `connection to ${formatEndpoint(server)} failed (${errno || err.message})`, details);
}

function dial(opts: StreamTransportOptions, serverName: string): { socket: net.Socket; tcpConnected: () => boolean } {
  const base = { host: opts.server.address, port: opts.server.port, localAddress: opts.localAddress };
  const socket = opts.tls
    ? tls.connect({
        ...base,
        // SNI is only sent for names (RFC 6066 §3 forbids IP literals).
        servername: net.isIP(serverName) ? undefined : serverName,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
      })
    : net.connect(base);
  let connected = false;
  socket.once('connect', () => (connected = true));
  return { socket, tcpConnected: () => connected };
}

/** Connect (and for TLS finish the handshake) within connectTimeoutMs. */
function connectStream(opts: StreamTransportOptions, kind: 'tcp' | 'tls', serverName: string): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const { socket, tcpConnected } = dial(opts, serverName);
    const fail = (e: ProtocolError): void => {
      cleanup();
      socket.destroy();
      reject(e);
    };
    // A refused/unreachable TCP connect is a network error; anything after the TCP connect on a TLS socket is TLS.
    const onError = (e: NodeJS.ErrnoException): void =>
      fail(opts.tls && tcpConnected() ? new TlsError(e.code ?? e.message, opts.server, serverName, { cause: e }) : connectError(e, opts.server, kind));
    const onAbort = (): void => fail(new AbortedError(opts.signal?.reason));
    const timer = setTimeout(() => fail(new ConnectTimeoutError(opts.server, kind, opts.connectTimeoutMs, tcpConnected())), opts.connectTimeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
    }
    socket.on('error', onError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
      cleanup();
      resolve(socket);
    });
  });
}

export async function openStreamTransport(opts: StreamTransportOptions): Promise<TurnTransport> {
  const kind = opts.tls ? 'tls' : 'tcp';
  const serverName = opts.serverName ?? opts.server.address;
  const sock = await connectStream(opts, kind, serverName);
  sock.setNoDelay(true);
  return new StreamTransport(sock, opts.server, kind, serverName);
}

interface Pending {
  resolve: (r: TransactionResult) => void;
  reject: (e: ProtocolError) => void;
  key?: Buffer;
  method: number;
  sent: number;
}

/** One connected TCP/TLS stream to the server: pending transactions by transaction id, incoming frames dispatched. */
class StreamTransport implements TurnTransport {
  readonly local: Endpoint;
  onIncoming: (data: Buffer) => void = () => {};
  private readonly pending = new Map<string, Pending>();
  private readonly framer = new TurnStreamFramer();
  private failed?: ProtocolError;

  constructor(
    private readonly sock: net.Socket,
    readonly server: Endpoint,
    readonly kind: 'tcp' | 'tls',
    serverName: string,
  ) {
    this.local = { address: normalizeAddress(sock.localAddress ?? ''), port: sock.localPort ?? 0 };
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const tlsFailure = kind === 'tls' && /SSL|TLS|CERT/i.test(e.code ?? '');
      this.fail(tlsFailure ? new TlsError(e.code ?? e.message, server, serverName, { cause: e }) : connectError(e, server, kind));
    });
    sock.on('close', () => this.fail(new NetworkError('closed', `${formatEndpoint(server)} closed the ${kind.toUpperCase()} connection`, { endpoint: server, transport: kind })));
  }

  get failure(): ProtocolError | undefined {
    return this.failed;
  }

  request(msg: StunMessage, ropts: { integrityKey?: Buffer; timeoutMs: number; signal?: AbortSignal }): Promise<TransactionResult> {
    if (this.failed) return Promise.reject(this.failed);
    const wire = encodeStunMessage(msg, { integrityKey: ropts.integrityKey });
    const id = msg.transactionId.toString('hex');
    return new Promise<TransactionResult>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        ropts.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(new AbortedError(ropts.signal?.reason));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new TransactionTimeoutError(this.server, methodName(msg.messageMethod), ropts.timeoutMs, 1, this.kind));
      }, ropts.timeoutMs);
      ropts.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = { resolve: (r: TransactionResult) => (finish(), resolve(r)), reject: (e: ProtocolError) => (finish(), reject(e)) };
      this.pending.set(id, { ...settle, key: ropts.integrityKey, method: msg.messageMethod, sent: performance.now() });
      this.sock.write(wire);
    });
  }

  sendRaw(data: Buffer): void {
    if (!this.failed) this.sock.write(isChannelData(data) ? padForStream(data) : data);
  }

  close(): void {
    this.sock.destroy();
  }

  private fail(e: ProtocolError): void {
    if (!this.failed) this.failed = e;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
    this.sock.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      this.fail(e as ProtocolError);
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Buffer): void {
    if (isChannelData(frame)) return this.onIncoming(frame);
    const cls = frame.readUInt16BE(0) & 0x0110;
    if (cls === StunClass.INDICATION) return this.onIncoming(frame);
    if (cls !== StunClass.RESPONSE && cls !== StunClass.ERROR) return;
    const p = this.pending.get(frame.subarray(8, 20).toString('hex'));
    if (!p) return; // a late answer to a request we gave up on
    const response = decodeStunMessage(Buffer.from(frame));
    if (!response || response.messageMethod !== p.method) return;
    // RFC 8489 §9.2.4: a response that fails the integrity check is discarded, as if never received.
    if (p.key && !['valid', 'exempt'].includes(integrityAcceptable(frame, response, p.key))) return;
    p.resolve({ response, raw: Buffer.from(frame), rttMs: performance.now() - p.sent });
  }
}
