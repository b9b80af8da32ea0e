/**
 * TURN-only protocol errors (see src/stun/errors.ts for the rest: timeouts, error responses, bad messages, network).
 */
import { formatEndpoint, type Endpoint } from '../stun/endpoint.js';
import { ProtocolError } from '../stun/errors.js';

/**
 * The TLS handshake with a turns: server failed. `tlsCode` is Node's code (DEPTH_ZERO_SELF_SIGNED_CERT,
 * CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_WRONG_VERSION_NUMBER, ...), `serverName` the name the
 * certificate was checked against.
 */
export class TlsError extends ProtocolError {
  constructor(
    readonly tlsCode: string,
    readonly server: Endpoint,
    readonly serverName: string,
    options?: { cause?: unknown },
  ) {
    super(`TLS handshake with ${formatEndpoint(server)} failed (${tlsCode})`, options);
  }
}

/** No TCP connection (or no finished TLS handshake) to the TURN server within the time limit. */
export class ConnectTimeoutError extends ProtocolError {
  constructor(
    readonly server: Endpoint,
    readonly transport: 'tcp' | 'tls',
    readonly timeoutMs: number,
    /** TCP connected but the TLS handshake did not finish. */
    readonly tcpConnected: boolean,
  ) {
    super(`no ${transport.toUpperCase()} connection to ${formatEndpoint(server)} within ${timeoutMs} ms${tcpConnected ? ' (TCP connected, TLS handshake did not finish)' : ''}`);
  }
}
