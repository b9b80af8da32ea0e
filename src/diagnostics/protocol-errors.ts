/**
 * From protocol errors (src/stun/errors.ts, src/turn/errors.ts: what happened on the wire) to RtcError (a stable
 * RTC_ERR_* code, an exit code, and words a user understands). The features call this at their boundary; hints that
 * name command-line flags are added by the commands, not here.
 */
import { interruptError, RtcError, toRtcError, type RtcErrorCode } from '../errors.js';
import { formatEndpoint } from '../stun/endpoint.js';
import {
  AbortedError,
  BadMessageError,
  ErrorResponseError,
  InvalidOptionError,
  NetworkError,
  TransactionTimeoutError,
  type TransportKind,
} from '../stun/errors.js';
import { ConnectTimeoutError, TlsError } from '../turn/errors.js';

export interface ProtocolContext {
  /** Which kind of server the feature talked to: words differ ("STUN server", "TURN server 1.2.3.4:3478 (udp)"). */
  role: 'STUN' | 'TURN';
  /** TURN: the username whose credentials were used (never the password), and the realm of the challenge. */
  username?: string;
  realm?: string;
  /** TURN: the transport the server was reached over, named in messages ("1.2.3.4:3478 (udp)"). */
  transport?: TransportKind;
}

/** Map anything a protocol call threw. RtcErrors pass unchanged; unknown errors become RTC_ERR_INTERNAL. */
export function protocolToRtcError(e: unknown, ctx: ProtocolContext): RtcError {
  if (e instanceof RtcError) return e;
  if (e instanceof AbortedError) return interruptError(e.reason, `interrupted while waiting for the ${ctx.role} server`);
  if (e instanceof TransactionTimeoutError) return timeoutError(e, ctx);
  if (e instanceof ConnectTimeoutError) {
    return new RtcError('RTC_ERR_TIMEOUT', `no ${e.transport.toUpperCase()} connection to TURN server ${formatEndpoint(e.server)} within ${e.timeoutMs} ms${e.tcpConnected ? ' (TCP connected, TLS handshake did not finish)' : ''}`, {
      hint: 'a firewall may drop the packets, or the host/port is wrong',
      cause: e,
    });
  }
  if (e instanceof ErrorResponseError) return ctx.role === 'TURN' ? turnErrorFor(e, ctx) : stunErrorResponse(e);
  if (e instanceof BadMessageError) {
    const who = e.from ? `${ctx.role} server ${formatEndpoint(e.from)}` : `the ${ctx.role} server`;
    return new RtcError(ctx.role === 'TURN' ? 'RTC_ERR_TURN' : 'RTC_ERR_STUN', `${who}: ${e.what}`, { cause: e });
  }
  if (e instanceof NetworkError) return networkError(e, ctx);
  if (e instanceof TlsError) return tlsError(e);
  if (e instanceof InvalidOptionError) return new RtcError('RTC_ERR_USAGE', e.message, { cause: e, details: { option: e.option } });
  return toRtcError(e);
}

function where(ep: { address: string; port: number }, transport: TransportKind): string {
  return `${formatEndpoint(ep)} (${transport})`;
}

function timeoutError(e: TransactionTimeoutError, ctx: ProtocolContext): RtcError {
  const details = { to: formatEndpoint(e.to), transmissions: e.transmissions };
  if (ctx.role === 'STUN') {
    return new RtcError('RTC_ERR_TIMEOUT', `no STUN response from ${formatEndpoint(e.to)} within ${e.timeoutMs} ms (${e.transmissions} requests sent)`, {
      hint: 'UDP may be blocked on the way, or nothing answers STUN there',
      cause: e,
      details,
    });
  }
  if (e.transport === 'udp') {
    return new RtcError('RTC_ERR_TIMEOUT', `no answer from TURN server ${where(e.to, 'udp')} to ${e.method} within ${e.timeoutMs} ms`, {
      hint: 'UDP to the server may be blocked, or nothing listens there; try ?transport=tcp or turns:',
      cause: e,
      details,
    });
  }
  return new RtcError('RTC_ERR_TIMEOUT', `no response from TURN server ${formatEndpoint(e.to)} over ${e.transport.toUpperCase()} within ${e.timeoutMs} ms`, {
    hint: 'the server accepted the connection but does not answer TURN requests on it',
    cause: e,
    details,
  });
}

function stunErrorResponse(e: ErrorResponseError): RtcError {
  const said = `STUN error ${e.code}${e.reason ? ` ${e.reason}` : ''}`;
  return new RtcError('RTC_ERR_STUN', `${formatEndpoint(e.from)} answered the ${e.method === 'BINDING' ? 'Binding' : e.method} request with ${said}`, {
    hint: 'is this a STUN server? TURN servers with strict settings may refuse Binding requests',
    cause: e,
    details: { stunError: e.code, reason: e.reason },
  });
}

/** What each TURN error code means (RFC 8656 §18, RFC 8489 §14.8, RFC 6156), in words, with its RTC_ERR code. */
const TURN_ERRORS: Record<number, { code?: RtcErrorCode; text: (m: string, c: TurnWords) => string; hint?: (c: TurnWords) => string | undefined }> = {
  401: {
    code: 'RTC_ERR_TURN_AUTH',
    text: (_m, c) => `rejected the credentials of user "${c.username}"${c.realm ? ` in realm "${c.realm}"` : ''} (${c.said} after authenticating)`,
    hint: () => 'wrong password or username; with REST credentials: the shared secret differs from the server\'s static-auth-secret, or the clocks differ by more than the credential lifetime',
  },
  403: {
    code: 'RTC_ERR_TURN_FORBIDDEN',
    text: (m, c) => `refused ${m}${c.peer ? ` for peer ${c.peer}` : ''} (${c.said})`,
    hint: (c) =>
      c.peer ? 'the server denies relaying to that peer address (coturn: denied-peer-ip / no-loopback-peers / allowed-peer-ip)' : 'the server forbids this user or client address',
  },
  486: {
    code: 'RTC_ERR_TURN_QUOTA',
    text: (_m, c) => `refused the allocation: quota reached for user "${c.username}" (${c.said})`,
    hint: () => 'too many allocations are open for this user (coturn: user-quota/total-quota); wait for old ones to expire',
  },
  438: { text: (m, c) => `kept answering "stale nonce" to ${m} (${c.said})`, hint: () => 'the server issues nonces that expire immediately: check its stale-nonce setting and clock' },
  437: { text: (m, c) => `reports an allocation mismatch on ${m} (${c.said})`, hint: () => 'an allocation from this client address already exists, or it expired; try again' },
  441: { code: 'RTC_ERR_TURN_AUTH', text: (_m, c) => `says the credentials are wrong for the existing allocation (${c.said})` },
  442: { text: (_m, c) => `does not relay UDP for this allocation (${c.said})` },
  508: { text: (_m, c) => `has no capacity for another allocation (${c.said})` },
  300: { text: (_m, c) => `redirects to another server (${c.said})`, hint: () => 'the server answered 300 Try Alternate: check the turn: URL your deployment publishes' },
  440: {
    text: (_m, c) => `cannot relay the requested address family (${c.said})`,
    hint: () => 'the server has no relay address of that family (RFC 6156): check its relay-ip settings',
  },
  420: { text: (m, c) => `does not understand an attribute of ${m} (${c.said})` },
};

interface TurnWords {
  username?: string;
  realm?: string;
  peer?: string;
  said: string;
}

/** A TURN error response in words: "TURN server 1.2.3.4:3478 (udp) refused CREATE-PERMISSION for peer … (403 Forbidden)". */
export function turnErrorFor(e: ErrorResponseError, ctx: ProtocolContext): RtcError {
  const words: TurnWords = { username: ctx.username, realm: ctx.realm, peer: e.peer ? formatEndpoint(e.peer) : undefined, said: `${e.code}${e.reason ? ` ${e.reason}` : ''}` };
  const known = TURN_ERRORS[e.code];
  const server = ctx.transport ? where(e.from, ctx.transport) : formatEndpoint(e.from);
  const text = known ? known.text(e.method, words) : `answered ${e.method} with an error (${words.said})`;
  return new RtcError(known?.code ?? 'RTC_ERR_TURN', `TURN server ${server} ${text}`, {
    hint: known?.hint?.(words),
    cause: e,
    details: { method: e.method, stunError: e.code, reason: e.reason },
  });
}

function networkError(e: NetworkError, ctx: ProtocolContext): RtcError {
  const { errno, host, endpoint, transport } = e.details;
  const server = endpoint ? (ctx.role === 'TURN' && transport ? where(endpoint, transport) : formatEndpoint(endpoint)) : '';
  const opts = { cause: e, details: errno ? { errno } : undefined };
  switch (e.kind) {
    case 'dns':
      if (e.details.timedOut) return new RtcError('RTC_ERR_TIMEOUT', e.message, opts);
      return new RtcError('RTC_ERR_DNS', `cannot resolve "${host}" (${errno})`, { ...opts, hint: 'check the host name and your DNS; an IP address avoids the lookup', details: { host, errno } });
    case 'unreachable':
      if (ctx.role === 'STUN') return new RtcError('RTC_ERR_UNREACHABLE', `STUN server ${server} is unreachable: ${e.message}`, { ...opts, hint: 'check the host and port; STUN usually listens on UDP 3478' });
      if (transport === 'udp') {
        return new RtcError('RTC_ERR_UNREACHABLE', `TURN server ${server} is unreachable: nothing listens on that UDP port (ICMP port unreachable)`, { ...opts, hint: 'check the host and port (TURN usually listens on 3478)' });
      }
      return new RtcError('RTC_ERR_UNREACHABLE', `TURN server ${e.message}`, { ...opts, hint: transport === 'tls' ? 'TURN over TLS usually listens on 5349' : 'TURN usually listens on 3478 (UDP and TCP)' });
    case 'firewall':
      return new RtcError('RTC_ERR_UNREACHABLE', `sending to ${server} was refused by the local firewall (${errno})`, opts);
    case 'address':
      return new RtcError('RTC_ERR_BAD_ADDRESS', e.message, { ...opts, hint: 'pick one of the addresses `ip addr` lists, or leave the local address out' });
    case 'in-use':
      return new RtcError('RTC_ERR_LISTEN', e.message, opts);
    case 'closed':
      return new RtcError('RTC_ERR_TURN', `TURN server ${e.message}`, opts);
    default:
      return new RtcError(ctx.role === 'TURN' ? 'RTC_ERR_TURN' : 'RTC_ERR_STUN', `${ctx.role} server ${server}: ${e.message}`, opts);
  }
}

/** Words for Node's TLS certificate errors (the code is kept in details). Trust problems get no hint here: the fix is a flag, which the command names. */
function tlsError(e: TlsError): RtcError {
  let why: string;
  let hint: string | undefined;
  switch (e.tlsCode) {
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
      why = `the server certificate does not name "${e.serverName}"`;
      hint = 'use the host name the certificate was issued for in the turns: URL';
      break;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'EPROTO':
      why = 'the TLS handshake failed: the server does not speak TLS on this port (a plain turn: port?)';
      hint = 'use turn:host:port?transport=tcp for a plain TCP port, turns:host:5349 for TLS';
      break;
    default:
      why = `the TLS handshake failed (${e.tlsCode})`;
  }
  return new RtcError('RTC_ERR_TLS', `TLS to ${formatEndpoint(e.server)}: ${why}`, { hint, cause: e, details: { tlsError: e.tlsCode } });
}
