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
import { formatEndpoint } from '../stun/endpoint.js';
import { parseCandidate } from './candidate.js';
import type { IceConfig } from './ice-config.js';
import type { SelectedEndpoint, SelectedPair } from './engine/types.js';

export type { SelectedEndpoint, SelectedPair } from './engine/types.js';

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
      throw new RtcError('RTC_ERR_BAD_ADDRESS', `the ICE address "${ice.iceAddress}" is not an IP address`);
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
  const werift = await import('werift');
  preferHighestNominatedPair(werift.Connection as unknown as { prototype: object });
  return new werift.RTCPeerConnection(config);
}

/** The parts of werift's ICE agent and candidate pairs (ice/src/ice.ts, iceBase.ts; private in its typings) used here. */
interface IceCandidateInternals {
  host: string;
  port: number;
  generation?: number;
}
interface IcePairInternals {
  nominated: boolean;
  state: number;
  priority: number;
  component: number;
  localCandidate: IceCandidateInternals;
  remoteCandidate: IceCandidateInternals;
}
interface IceAgentInternals {
  nominated?: IcePairInternals;
  generation: number;
  iceControlling: boolean;
  checkComplete(pair: IcePairInternals): void;
  resetNominatedPair(): void;
}

/** werift's CandidatePairState.SUCCEEDED. */
const PAIR_SUCCEEDED = 3;
const HIGHEST_NOMINATED = Symbol.for('rtc-cli.highest-nominated-pair');

/**
 * How the two agents order pairs, identically on both sides: pair priority (RFC 8445 §6.1.2.3, symmetric by
 * construction), then, for equal priorities (werift gives IPv4 and IPv6 host candidates the same one), IPv6 before
 * IPv4 on the controlling agent's candidate (RFC 8421 §4 prefers IPv6), then the controlling and controlled candidates'
 * address and port as text.
 */
function compareRank(agent: IceAgentInternals, a: IcePairInternals, b: IcePairInternals): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const key = (p: IcePairInternals): [number, string] => {
    const [ctrl, ctld] = agent.iceControlling ? [p.localCandidate, p.remoteCandidate] : [p.remoteCandidate, p.localCandidate];
    return [ctrl.host.includes(':') ? 1 : 0, `${ctrl.host}|${ctrl.port}|${ctld.host}|${ctld.port}`];
  };
  const [fa, ta] = key(a);
  const [fb, tb] = key(b);
  if (fa !== fb) return fa - fb;
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

function outranks(agent: IceAgentInternals, pair: IcePairInternals): boolean {
  const current = agent.nominated;
  if (!current || pair === current || !pair.nominated || pair.state !== PAIR_SUCCEEDED) return false;
  if (pair.remoteCandidate.generation !== undefined && pair.remoteCandidate.generation !== agent.generation) return false;
  return pair.component === current.component && compareRank(agent, pair, current) > 0;
}

/**
 * Make both ICE agents send on the same pair. werift 0.25.2 nominates aggressively (every UDP check of the controlling
 * agent carries USE-CANDIDATE), so several pairs end up nominated, and each agent keeps the first nominated pair *it*
 * completed. RFC 8445 §8.1.1 (and RFC 5245 §11.1.1 for aggressive nomination) says: "If more than one candidate pair
 * is nominated by the controlling agent ... the agents MUST produce the selected pairs and use the pairs with the
 * highest priority." Without that, on a host with IPv4 and IPv6 the offerer sent on the IPv6 pair and the answerer on
 * the IPv4 pair. So after werift's own checkComplete, a nominated, succeeded pair that outranks the selected one
 * (compareRank: priority, then a tie-break both agents compute alike) replaces it through werift's renomination path
 * (resetNominatedPair, then checkComplete selects it and restarts consent freshness, RFC 7675). Both agents end up
 * with the same nominated pairs, so they converge on the same one. Installed once on werift's ICE agent class;
 * test/rtc/peer-connection.system.test.ts fails if it stops working.
 */
export function preferHighestNominatedPair(Connection: { prototype: object }): void {
  const proto = Connection.prototype as IceAgentInternals & { [HIGHEST_NOMINATED]?: true };
  if (proto[HIGHEST_NOMINATED] || typeof proto.checkComplete !== 'function' || typeof proto.resetNominatedPair !== 'function') return;
  const checkComplete = proto.checkComplete;
  proto.checkComplete = function (this: IceAgentInternals, pair: IcePairInternals): void {
    checkComplete.call(this, pair);
    if (!outranks(this, pair)) return;
    this.resetNominatedPair();
    checkComplete.call(this, pair);
  };
  proto[HIGHEST_NOMINATED] = true;
}

/**
 * The candidate pair that carries the data: the pair ICE selected (RFC 8445 §8.1.1), i.e. the nominated pair werift
 * sends every packet on (`connection.nominated`), or undefined before ICE connected.
 *
 * Not werift's RTCIceTransport.getSelectedCandidatePair(): that returns the first pair of the check list (sorted by
 * priority) with a `nominated` flag, else the first succeeded one, which is not necessarily the pair in use (see
 * nominateOnce for why several pairs could carry the flag).
 */
export function describeSelectedPair(pc: RTCPeerConnection): SelectedPair | undefined {
  for (const t of pc.iceTransports) {
    const pair = t.connection.nominated;
    if (!pair) continue;
    const endpoint = (c: { type: string; transport: string; host: string; port: number }): SelectedEndpoint => ({
      type: c.type,
      protocol: c.transport.toLowerCase(),
      address: c.host,
      port: c.port,
    });
    const local = endpoint(pair.localCandidate);
    const remote = endpoint(pair.remoteCandidate);
    return { local, remote, path: local.type === 'relay' || remote.type === 'relay' ? 'relayed' : 'direct' };
  }
  return undefined;
}

/** The parts of werift's DTLS socket (dtls/src/socket.ts; not in its typings) that patches 008 and 010 add. */
interface DtlsSocketInternals {
  verifyError?: unknown;
  remoteAlert?: { level: number; description: number };
  remoteCertificate?: unknown;
}
type DtlsTransportInternals = { state: string; dtls?: DtlsSocketInternals; verifyRemoteCertificateFingerprint(): void };

const FINGERPRINT_MISMATCH = 'its certificate is not the one the fingerprint in its description names';

/**
 * Fatal alerts (RFC 5246 §7.2) with which a peer refuses our identity: the certificate alerts (a WebRTC stack sends
 * one when our certificate is not the one its a=fingerprint names: werift with patch 010 bad_certificate, OpenSSL in
 * libdatachannel unknown_ca, as measured; other stacks may pick another of these) and decrypt_error (one of our
 * signatures or our Finished did not verify at its end, patch 008).
 */
const REFUSAL_ALERTS: Record<number, string> = {
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  48: 'unknown_ca',
  51: 'decrypt_error',
};

/**
 * Why werift's DTLS handshake refused the peer's identity, or undefined:
 *  - the peer did not prove it holds its certificate's private key (a ServerKeyExchange or CertificateVerify
 *    signature that does not verify, RFC 5246 §7.4.3/§7.4.8) or its Finished did not match (§7.4.9). werift 0.25.2
 *    checks none of these: rtc-cli's patch 008 (patches/README.md) adds them and leaves the reason on werift's DTLS
 *    socket as `verifyError`;
 *  - the certificate it showed is not the one its description's a=fingerprint names (RFC 8122 §5), i.e. the
 *    description was altered on its way or someone else answered. Patch 010 checks that when the Certificate message
 *    arrives (`verifyError` again); stock werift checks it after the handshake and only logs why, so its own check is
 *    asked again here on the failed transport;
 *  - the peer refused ours first, with a fatal alert (patch 010 keeps it as `remoteAlert`): with a fingerprint forged
 *    in both descriptions the DTLS client refuses the server's certificate before sending its own, so the server
 *    only learns it from the alert.
 */
export function dtlsProofFailure(pc: RTCPeerConnection): string | undefined {
  const transports = pc.dtlsTransports as unknown as DtlsTransportInternals[];
  for (const t of transports) {
    const e = t.dtls?.verifyError as (Error & { alert?: number }) | undefined;
    if (!(e instanceof Error)) continue;
    // Patch 010's bad_certificate carries werift's own words ("remote certificate fingerprint mismatch").
    return e.alert === 42 && /fingerprint mismatch/.test(e.message) ? FINGERPRINT_MISMATCH : e.message;
  }
  for (const t of transports) {
    const refusal = peerRefusal(t.dtls?.remoteAlert);
    if (refusal) return refusal;
  }
  for (const t of transports) {
    if (t.state === 'failed' && t.dtls?.remoteCertificate && fingerprintMismatch(t)) return FINGERPRINT_MISMATCH;
  }
  return undefined;
}

/** The reason for a fatal alert by which the peer refused our identity (REFUSAL_ALERTS), or undefined. */
function peerRefusal(alert: DtlsSocketInternals['remoteAlert']): string | undefined {
  const name = alert?.level === 2 ? REFUSAL_ALERTS[alert.description] : undefined;
  if (!name) return undefined;
  if (name === 'decrypt_error') return 'the handshake ended with its fatal decrypt_error alert: our handshake did not verify at its end, so something on the path altered it';
  return `the handshake ended with its fatal ${name} alert: it refused our certificate, so the fingerprint it was given for us is not ours and the descriptions were altered on their way`;
}

function fingerprintMismatch(t: DtlsTransportInternals): boolean {
  try {
    t.verifyRemoteCertificateFingerprint();
    return false;
  } catch (e) {
    return /mismatch/.test((e as Error)?.message ?? '');
  }
}

/** The error a user sees when the DTLS peer failed to prove its identity (see dtlsProofFailure). */
export function dtlsIdentityError(reason: string): RtcError {
  return new RtcError('RTC_ERR_PEER_AUTH', `the peer failed to prove its DTLS identity (${reason}); the connection was refused`, {
    hint:
      'what it showed in the DTLS handshake is not what its description promised: something on the network path, or whoever relayed the description, may sit in the middle. Use a code (send-file without --room) or a network and signaling server you trust',
    details: { reason },
  });
}

/** One line for humans: "direct udp 127.0.0.1:40000 (host) ⇄ 127.0.0.1:40001 (host)". */
export function formatSelectedPair(p: SelectedPair): string {
  const ep = (e: SelectedEndpoint): string => `${formatEndpoint(e)} (${e.type})`;
  return `${p.path} ${p.local.protocol} ${ep(p.local)} <-> ${ep(p.remote)}`;
}
