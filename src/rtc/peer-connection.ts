/**
 * Build a werift RTCPeerConnection from the shared ICE flags, and describe the candidate pair ICE selected.
 *
 * Two werift defaults are overridden on purpose:
 *  - `iceServers` defaults to a public Google STUN server. We always pass the list explicitly (possibly `[]`), so
 *    rtc-cli never contacts a server the user did not name.
 *  - werift gathers host candidates on every interface. With `--ice-address` we confine gathering to that one address
 *    (no interface enumeration, the address added as the only host address, sockets bound to it) AND filter what we
 *    advertise (trickled candidates and the a=candidate lines in the SDP), because werift's `iceInterfaceAddresses`
 *    alone falls back to all interfaces when the address is not found (loopback never is).
 *
 * werift is imported lazily: `rtc-cli --help` must not pay its ~0.4 s load time.
 */
import { isIP } from 'node:net';
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';
import { RtcError } from '../errors.js';
import type { IceConfig } from './ice-config.js';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** One ICE candidate, as carried in an `a=candidate:` line (RFC 8839 §5.1). */
export interface CandidateInfo {
  foundation: string;
  component: number;
  /** Transport of the candidate itself: udp or tcp. */
  protocol: string;
  priority: number;
  address: string;
  port: number;
  type: CandidateType | string;
  relatedAddress?: string;
  relatedPort?: number;
  tcpType?: string;
}

export interface SelectedEndpoint {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

export interface SelectedPair {
  local: SelectedEndpoint;
  remote: SelectedEndpoint;
  /** "relayed" when either side of the pair is a TURN relay candidate, "direct" otherwise. */
  path: 'direct' | 'relayed';
}

/**
 * Parse the value of a candidate attribute (`candidate:...`, with or without the `a=` prefix), per RFC 8839 §5.1:
 * foundation component transport priority address port "typ" type [raddr x] [rport y] [tcptype t] *(ext).
 * Returns undefined for anything that does not have that shape (never throws: the input comes from the network).
 */
export function parseCandidate(line: string): CandidateInfo | undefined {
  let s = line.trim();
  if (s.startsWith('a=')) s = s.slice(2);
  if (s.startsWith('candidate:')) s = s.slice('candidate:'.length);
  const f = s.split(/\s+/);
  if (f.length < 8 || f[6] !== 'typ') return undefined;
  const component = Number(f[1]);
  const priority = Number(f[3]);
  const port = Number(f[5]);
  if (!Number.isInteger(component) || !Number.isFinite(priority) || !Number.isInteger(port)) return undefined;
  const info: CandidateInfo = {
    foundation: f[0]!,
    component,
    protocol: f[2]!.toLowerCase(),
    priority,
    address: f[4]!,
    port,
    type: f[7]!,
  };
  for (let i = 8; i + 1 < f.length; i += 2) {
    const k = f[i];
    const v = f[i + 1]!;
    if (k === 'raddr') info.relatedAddress = v;
    else if (k === 'rport') info.relatedPort = Number(v);
    else if (k === 'tcptype') info.tcpType = v;
  }
  return info;
}

/**
 * Whether a candidate may be advertised under `--ice-address`: host candidates only on that address; server-reflexive,
 * peer-reflexive and relay candidates are allowed because their base is the confined socket (they are how the peer
 * reaches that socket through a NAT or TURN). A line that does not parse is not advertised. Without an address
 * everything is allowed.
 */
export function candidateAllowed(candidate: string, iceAddress: string | undefined): boolean {
  if (!iceAddress) return true;
  const c = parseCandidate(candidate);
  if (!c) return false;
  if (c.type === 'host') return sameAddress(c.address, iceAddress);
  if (c.relatedAddress && c.type === 'srflx') return sameAddress(c.relatedAddress, iceAddress);
  return true;
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Remove every `a=candidate:` line that `candidateAllowed` rejects (the SDP's other lines are kept byte for byte). */
export function filterSdpCandidates(sdp: string, iceAddress: string | undefined): string {
  if (!iceAddress) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') || candidateAllowed(line, iceAddress))
    .join(eol);
}

/**
 * The werift configuration for an IceConfig (pure; exported for tests). `extra` wins over everything except
 * `iceServers` and the address confinement, which are the point of this module.
 */
export function buildPeerConfig(ice: IceConfig, extra: Partial<RTCPeerConnectionConfig> = {}): RTCPeerConnectionConfig {
  const config: RTCPeerConnectionConfig = {
    ...extra,
    // Always explicit: werift's default is a public STUN server.
    iceServers: ice.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
    iceTransportPolicy: ice.relayOnly ? 'relay' : (extra.iceTransportPolicy ?? 'all'),
  };
  if (ice.iceAddress) {
    const family = isIP(ice.iceAddress);
    if (family === 0) {
      throw new RtcError('RTC_ERR_BAD_ADDRESS', `--ice-address "${ice.iceAddress}" is not an IP address`);
    }
    // No interface enumeration at all: the one address is the only host address, and every UDP socket (host, and the
    // one talking to STUN/TURN) is bound to it.
    config.iceUseIpv4 = false;
    config.iceUseIpv6 = false;
    config.iceUseTcp = false;
    config.iceAdditionalHostAddresses = [ice.iceAddress];
    config.iceInterfaceAddresses = family === 4 ? { udp4: ice.iceAddress } : { udp6: ice.iceAddress };
  }
  return config;
}

/**
 * A werift RTCPeerConnection configured from the shared ICE flags. turn: URLs keep their `?transport=tcp` (werift
 * reads it from the URL into its `turnTransport`; turns: means TLS).
 */
export async function createPeerConnection(
  ice: IceConfig,
  extra: Partial<RTCPeerConnectionConfig> = {},
): Promise<RTCPeerConnection> {
  const config = buildPeerConfig(ice, extra);
  const { RTCPeerConnection } = await import('werift');
  return new RTCPeerConnection(config);
}

/** The candidate pair ICE nominated (or the first succeeded one), or undefined before ICE connected. */
export function describeSelectedPair(pc: RTCPeerConnection): SelectedPair | undefined {
  for (const t of pc.iceTransports) {
    const pair = t.getSelectedCandidatePair();
    if (!pair) continue;
    const l = parseCandidate(pair.local.candidate);
    const r = parseCandidate(pair.remote.candidate);
    if (!l || !r) continue;
    const local = { type: l.type, protocol: l.protocol, address: l.address, port: l.port };
    const remote = { type: r.type, protocol: r.protocol, address: r.address, port: r.port };
    return { local, remote, path: l.type === 'relay' || r.type === 'relay' ? 'relayed' : 'direct' };
  }
  return undefined;
}

/** One line for humans: "direct udp 127.0.0.1:40000 (host) ⇄ 127.0.0.1:40001 (host)". */
export function formatSelectedPair(p: SelectedPair): string {
  const ep = (e: SelectedEndpoint): string => `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port} (${e.type})`;
  return `${p.path} ${p.local.protocol} ${ep(p.local)} <-> ${ep(p.remote)}`;
}
