/**
 * The decisions of nat-probe, as pure functions of what the server answered (no sockets, no clock): which answers are
 * impossible, what the mapping (RFC 5780 §4.3) and filtering (§4.4) tests mean, the classic RFC 3489 label and the
 * advice for WebRTC. Unit-tested in test/diagnostics/nat-probe.test.ts.
 */
import { isIP } from 'node:net';
import { formatEndpoint, normalizeAddress, sameEndpoint, type Endpoint } from '../stun/endpoint.js';

export type MappingBehavior = 'none' | 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
export type FilteringBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
export type NatType =
  | 'open'
  | 'full-cone'
  | 'restricted-cone'
  | 'port-restricted-cone'
  | 'symmetric'
  | 'symmetric-udp-firewall'
  | 'udp-blocked'
  | 'unknown';

/** The classic RFC 3489 §10.1 label from RFC 5780 behaviours. */
export function classify(mapping: MappingBehavior, filtering: FilteringBehavior): NatType {
  if (mapping === 'none') {
    if (filtering === 'endpoint-independent') return 'open';
    if (filtering === 'unknown') return 'unknown';
    return 'symmetric-udp-firewall';
  }
  if (mapping === 'address-dependent' || mapping === 'address-and-port-dependent') return 'symmetric';
  if (mapping === 'endpoint-independent') {
    if (filtering === 'endpoint-independent') return 'full-cone';
    if (filtering === 'address-dependent') return 'restricted-cone';
    if (filtering === 'address-and-port-dependent') return 'port-restricted-cone';
  }
  return 'unknown';
}

/** One sentence for humans on what the verdict means for WebRTC connectivity. */
export function webrtcAdvice(natType: NatType, mapping: MappingBehavior = 'unknown'): string {
  if (natType === 'unknown' && mapping === 'none') {
    return 'No NAT (your address is public); filtering could not be tested, so a firewall may still block inbound UDP: keep a TURN server to be safe.';
  }
  if (natType === 'unknown' && mapping === 'endpoint-independent') {
    return 'Endpoint-independent mapping: STUN candidates should work with most peers; filtering could not be tested.';
  }
  switch (natType) {
    case 'open':
      return 'No NAT and no filtering: direct connections work; host candidates alone reach you.';
    case 'full-cone':
    case 'restricted-cone':
      return 'Direct connections likely: STUN (server-reflexive candidates) is enough with almost any peer.';
    case 'port-restricted-cone':
      return 'Direct connections likely with STUN, except to peers behind a symmetric NAT: keep a TURN server for those.';
    case 'symmetric-udp-firewall':
      return 'No NAT, but a stateful firewall: direct works when you send first (ICE does); peers behind symmetric NATs may need TURN.';
    case 'symmetric':
      return 'Symmetric NAT: server-reflexive candidates will not work for most peers; expect to need TURN (relay).';
    case 'udp-blocked':
      return 'UDP looks blocked: WebRTC will need TURN over TCP or TLS (turn:?transport=tcp, turns: on port 443).';
    default:
      return 'Could not determine the NAT type; configure a TURN server to be safe.';
  }
}

/**
 * The wait for every later test when no timeout is given: ten round trips of Test I, at least 1 s (four
 * transmissions at 0, 250, 750 ms, as Debian's stun client waits) and at most 3 s (what natdiscovery waits). RFC 5389
 * §7.2.1 lets a client base its timers on a measured RTT; unanswered filtering tests are where the time goes.
 */
export function adaptiveWait(rttMs: number): number {
  return Math.round(Math.min(3000, Math.max(1000, 10 * rttMs)));
}

/**
 * Why a transport address from the server cannot be real (RFC 8489 §14.1, RFC 5780 §7.4), or undefined when it is
 * plausible: port 0, another address family than the probe's, the unspecified, broadcast or a multicast address. A
 * verdict built on such an answer would be a guess, so the caller reports `unknown` with this reason in a note.
 */
export function impossibleAddress(ep: Endpoint, family: 4 | 6): string | undefined {
  const address = normalizeAddress(ep.address);
  const f = isIP(address);
  if (f === 0) return `"${ep.address}" is not an IP address`;
  if (f !== family) return `an IPv${f} address for an IPv${family} probe`;
  if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) return `port ${ep.port}`;
  if (address === '0.0.0.0' || address === '::') return 'the unspecified address';
  if (address === '255.255.255.255') return 'the broadcast address';
  if (f === 4 && Number(address.split('.')[0]) >= 224 && Number(address.split('.')[0]) <= 239) return 'a multicast address';
  if (f === 6 && /^ff/i.test(address)) return 'a multicast address';
  return undefined;
}

/** RFC 5780 §4.3 with an OTHER-ADDRESS: M1 from Test I, M2 from (Ia, Pp), M3 from (Ia, Pa); undefined: no answer. */
export function mappingFromAlternate(m1: Endpoint, m2?: Endpoint, m3?: Endpoint): MappingBehavior {
  if (m2 && sameEndpoint(m2, m1)) return 'endpoint-independent';
  if (m2 && m3) return sameEndpoint(m3, m2) ? 'address-dependent' : 'address-and-port-dependent';
  return 'unknown';
}

export interface TwoServerMapping {
  mapping: MappingBehavior;
  /** Decided "symmetric" although the exact mapping class is unknown (two servers on two addresses). */
  symmetric: boolean;
  note?: string;
}

/** Mapping from two servers without RFC 5780: M1 from the first, M2 from the second. */
export function mappingFromTwoServers(m1: Endpoint, m2: Endpoint, primary: Endpoint, second: Endpoint): TwoServerMapping {
  const sameAddress = normalizeAddress(second.address) === normalizeAddress(primary.address);
  if (sameEndpoint(m2, m1) && !sameAddress) return { mapping: 'endpoint-independent', symmetric: false };
  if (sameEndpoint(m2, m1)) {
    // Same server address, another port, same mapping: rules out address-and-port-dependent mapping only.
    return {
      mapping: 'unknown',
      symmetric: false,
      note: 'the two servers share an address: the same mapping to both rules out address-and-port-dependent mapping, but cannot tell endpoint-independent from address-dependent (use servers on two addresses)',
    };
  }
  if (sameAddress) return { mapping: 'address-and-port-dependent', symmetric: false };
  // Two servers on different addresses cannot tell address-dependent from address-and-port-dependent; either way it
  // is a symmetric NAT for RFC 3489 and for WebRTC.
  return {
    mapping: 'unknown',
    symmetric: true,
    note: 'the mapping changes with the destination (address-dependent or address-and-port-dependent: two servers on different addresses cannot tell which); classic type: symmetric',
  };
}

export interface FilteringDecision {
  filtering: FilteringBehavior;
  /** The server answered a change request from its primary address: it ignores CHANGE-REQUEST. */
  ignoredChangeRequest: boolean;
  note?: string;
}

/**
 * RFC 5780 §4.4 from the sources of the two answers (undefined: no answer). Test II asks for an answer from the
 * alternate address and port A, Test III from (Ip, Pa). An answer from anywhere else proves nothing: from the primary
 * address the server ignored CHANGE-REQUEST; from another address it answered from the wrong socket. Either way the
 * filtering is unknown, never guessed.
 */
export function filteringFrom(primary: Endpoint, alt: Endpoint, fromII?: Endpoint, fromIII?: Endpoint): FilteringDecision {
  const altPort = { address: primary.address, port: alt.port };
  const ignored = [fromII, fromIII].some((f) => f !== undefined && sameEndpoint(f, primary));
  if (ignored) {
    return { filtering: 'unknown', ignoredChangeRequest: true, note: 'the server answered a CHANGE-REQUEST from its primary address (it ignores CHANGE-REQUEST): filtering unknown' };
  }
  const wrong = [
    fromII && !sameEndpoint(fromII, alt) ? `the ip+port change request was answered from ${formatEndpoint(fromII)}, not ${formatEndpoint(alt)}` : undefined,
    fromIII && !sameEndpoint(fromIII, altPort) ? `the port change request was answered from ${formatEndpoint(fromIII)}, not ${formatEndpoint(altPort)}` : undefined,
  ].filter((w): w is string => w !== undefined);
  if (wrong.length) return { filtering: 'unknown', ignoredChangeRequest: false, note: `${wrong.join('; ')}: the server answers from the wrong socket, so filtering is unknown` };
  if (fromII) return { filtering: 'endpoint-independent', ignoredChangeRequest: false };
  if (fromIII) return { filtering: 'address-dependent', ignoredChangeRequest: false };
  return { filtering: 'address-and-port-dependent', ignoredChangeRequest: false };
}

/** Why an OTHER-ADDRESS cannot be used for RFC 5780 tests, or undefined when it can. */
export function unusableOtherAddress(other: Endpoint, primary: Endpoint, family: 4 | 6): string | undefined {
  const impossible = impossibleAddress(other, family);
  if (impossible) return `the server's OTHER-ADDRESS ${formatEndpoint(other)} is impossible (${impossible}): RFC 5780 tests skipped`;
  if (normalizeAddress(other.address) === normalizeAddress(primary.address) || other.port === primary.port) {
    return `the server's OTHER-ADDRESS ${formatEndpoint(other)} does not differ from ${formatEndpoint(primary)} in both address and port; RFC 5780 tests need two of each`;
  }
  return undefined;
}
