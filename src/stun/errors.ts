/**
 * The errors of the STUN/TURN protocol layer (src/stun, src/turn), after aioice's exceptions.py (TransactionFailed,
 * TransactionTimeout) and pion's errors.go: small classes that say what happened on the wire, with the facts a caller
 * needs to explain it. They carry no rtc-cli error code and no advice about flags: the features (src/diagnostics) map
 * them to RtcError codes and words (src/diagnostics/protocol-errors.ts), the commands add flag hints.
 */
import { formatEndpoint, type Endpoint } from './endpoint.js';

export type TransportKind = 'udp' | 'tcp' | 'tls';

/** Base class: every error thrown by src/stun and src/turn is one of these. */
export class ProtocolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No acceptable response before the deadline (RFC 8489 §6.2.1 UDP retransmissions, §6.2.2 reliable transports). */
export class TransactionTimeoutError extends ProtocolError {
  constructor(
    readonly to: Endpoint,
    /** The request's method name, e.g. "BINDING", "ALLOCATE". */
    readonly method: string,
    readonly timeoutMs: number,
    readonly transmissions: number,
    readonly transport: TransportKind = 'udp',
  ) {
    super(`no response to ${method} from ${formatEndpoint(to)} within ${timeoutMs} ms (${transmissions} sent over ${transport})`);
  }
}

/** The server answered with an error response (RFC 8489 §6.3.4): its ERROR-CODE, for the caller to interpret. */
export class ErrorResponseError extends ProtocolError {
  constructor(
    /** The request's method name, e.g. "BINDING", "ALLOCATE", "CREATE-PERMISSION". */
    readonly method: string,
    /** ERROR-CODE class * 100 + number (RFC 8489 §14.8); 0 when the response carried none. */
    readonly code: number,
    readonly reason: string,
    readonly from: Endpoint,
    /** The peer the request was about (CreatePermission, ChannelBind), when there is one. */
    readonly peer?: Endpoint,
  ) {
    super(`${method} error response ${code}${reason ? ` ${reason}` : ''}`);
  }
}

/**
 * A message that breaks the protocol: a success response without an attribute it must carry, an impossible value, or
 * a stream that is not STUN/TURN at all. `what` says which, in words.
 */
export class BadMessageError extends ProtocolError {
  constructor(
    readonly what: string,
    readonly from?: Endpoint,
  ) {
    super(what);
  }
}

/**
 * The network said no. `kind`: `dns` (name did not resolve; `timedOut` when the resolver did not answer), `unreachable`
 * (ICMP port/host unreachable, connection refused, no route), `firewall` (the local host refused to send), `address`
 * (a local address that is not this machine's), `in-use` (the port is taken), `closed` (the server closed the
 * stream), `socket` (anything else, with the errno).
 */
export class NetworkError extends ProtocolError {
  constructor(
    readonly kind: 'dns' | 'unreachable' | 'firewall' | 'address' | 'in-use' | 'closed' | 'socket',
    message: string,
    readonly details: { errno?: string; host?: string; endpoint?: Endpoint; transport?: TransportKind; timedOut?: boolean } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The caller's AbortSignal fired; `reason` is the signal's reason (the CLI aborts with an RtcError). */
export class AbortedError extends ProtocolError {
  constructor(readonly reason: unknown) {
    super('aborted', { cause: reason });
  }
}

/** Options that cannot work. `option` names the option field, so the command layer can name its flag. */
export class InvalidOptionError extends ProtocolError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/** Throw AbortedError when the signal has fired (a check before each wait). */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}
