/**
 * ICE server URLs and the shared ICE configuration every peer command uses.
 *
 * Parsing follows RFC 7064 (stun:/stuns: URIs) and RFC 7065 (turn:/turns: URIs, `?transport=udp|tcp`). This module is
 * pure: no werift import, so the CLI can validate flags before loading the WebRTC stack.
 */
import { isIP } from 'node:net';
import { RtcError } from '../errors.js';

export type IceScheme = 'stun' | 'stuns' | 'turn' | 'turns';
export type IceTransport = 'udp' | 'tcp';

export interface IceServerUrl {
  scheme: IceScheme;
  host: string;
  port: number;
  /** RFC 7065 §3: turn: defaults to udp, turns: to tcp (TLS). stun: is udp. */
  transport: IceTransport;
  /** Whether the host part is a literal IP address (no DNS needed). */
  isIpLiteral: boolean;
  /** The URL as given (credentials are never part of an ICE URL). */
  url: string;
}

/** The shape werift and browsers take (RTCIceServer). */
export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export interface IceConfig {
  iceServers: IceServer[];
  /** iceTransportPolicy "relay": only relay candidates are used (forces TURN). */
  relayOnly: boolean;
  /** Only gather on, and advertise, this local address (see src/rtc/peer for how it is enforced). */
  iceAddress?: string;
}

const DEFAULT_PORT: Record<IceScheme, number> = { stun: 3478, stuns: 5349, turn: 3478, turns: 5349 };

function bad(url: string, why: string): RtcError {
  return new RtcError('RTC_ERR_BAD_URL', `invalid ICE server URL "${url}": ${why}`, {
    hint: 'use stun:host[:port], turn:host[:port][?transport=udp|tcp] or turns:host[:port] (IPv6 in brackets: turn:[::1]:3478)',
  });
}

/** Parse one stun:/stuns:/turn:/turns: URL (RFC 7064 §3.1, RFC 7065 §3.1). Throws RTC_ERR_BAD_URL. */
export function parseIceServerUrl(url: string): IceServerUrl {
  const m = /^(stuns?|turns?):(.*)$/i.exec(url.trim());
  if (!m) throw bad(url, 'the scheme must be stun:, stuns:, turn: or turns:');
  const scheme = m[1]!.toLowerCase() as IceScheme;
  let rest = m[2]!;
  if (rest.startsWith('//')) throw bad(url, 'ICE URLs have no "//" (write turn:host:3478, not turn://host:3478)');
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (query && scheme.startsWith('stun')) throw bad(url, 'stun: URLs take no query (RFC 7064)');
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw bad(url, 'unterminated IPv6 literal');
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after && !after.startsWith(':')) throw bad(url, 'unexpected text after the IPv6 literal');
    portText = after ? after.slice(1) : undefined;
    if (isIP(host) !== 6) throw bad(url, `"${host}" is not an IPv6 address`);
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) throw bad(url, 'IPv6 addresses must be in brackets');
    host = parts[0]!;
    portText = parts[1];
  }
  if (!host) throw bad(url, 'the host is missing');
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw bad(url, `"${host}" is not a host name or address`);
  let port = DEFAULT_PORT[scheme];
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw bad(url, `"${portText}" is not a port (1-65535)`);
    }
    port = Number(portText);
  }
  let transport: IceTransport = scheme === 'turns' || scheme === 'stuns' ? 'tcp' : 'udp';
  if (query) {
    const params = new URLSearchParams(query);
    for (const key of params.keys()) {
      if (key !== 'transport') throw bad(url, `unknown parameter "${key}" (only ?transport=udp|tcp)`);
    }
    const t = params.get('transport')?.toLowerCase();
    if (t !== 'udp' && t !== 'tcp') throw bad(url, 'transport must be udp or tcp');
    if (scheme === 'turns' && t === 'udp') throw bad(url, 'turns: runs over TLS/TCP; DTLS (turns:?transport=udp) is not supported');
    transport = t;
  }
  return { scheme, host, port, transport, isIpLiteral: isIP(host) !== 0, url: url.trim() };
}

export interface IceFlagValues {
  iceServer?: string[];
  iceUsername?: string;
  iceCredential?: string;
  relayOnly?: boolean;
  iceAddress?: string;
}

/**
 * Build the ICE configuration from the shared flags. No public STUN server is ever added: an empty list means host
 * candidates only (werift's own default, a public Google STUN server, is overridden by the peer module).
 */
export function buildIceConfig(flags: IceFlagValues): IceConfig {
  const urls = (flags.iceServer ?? []).map(parseIceServerUrl);
  const needsCreds = urls.some((u) => u.scheme === 'turn' || u.scheme === 'turns');
  if (needsCreds && (!flags.iceUsername || flags.iceCredential === undefined)) {
    throw new RtcError('RTC_ERR_USAGE', 'a turn:/turns: server needs --ice-username and --ice-credential', {
      hint: 'pass them as flags or set RTC_ICE_USERNAME and RTC_ICE_CREDENTIAL',
    });
  }
  if (flags.relayOnly && !needsCreds) {
    throw new RtcError('RTC_ERR_USAGE', '--relay-only needs at least one turn: or turns: --ice-server', {
      hint: 'add --ice-server turn:host:3478 with --ice-username/--ice-credential',
    });
  }
  if (flags.iceAddress !== undefined && isIP(flags.iceAddress) === 0) {
    throw new RtcError('RTC_ERR_BAD_ADDRESS', `--ice-address "${flags.iceAddress}" is not an IP address`, {
      hint: 'give one local IPv4 or IPv6 address, e.g. --ice-address 127.0.0.1',
    });
  }
  const iceServers: IceServer[] = urls.map((u) =>
    u.scheme === 'turn' || u.scheme === 'turns'
      ? { urls: u.url, username: flags.iceUsername, credential: flags.iceCredential }
      : { urls: u.url },
  );
  return { iceServers, relayOnly: Boolean(flags.relayOnly), iceAddress: flags.iceAddress };
}
