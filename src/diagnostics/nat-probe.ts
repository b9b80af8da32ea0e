/**
 * NAT behaviour discovery (RFC 5780) with the classic RFC 3489 label on top.
 *
 * What a probe does, with the primary server address P = (Ip, Pp) and its OTHER-ADDRESS A = (Ia, Pa):
 *   Mapping (RFC 5780 §4.3), all from one socket S:
 *     Test I   Binding to P                 → mapped M1, OTHER-ADDRESS A. No answer: UDP is blocked.
 *                                              M1 equal to our own address: no NAT.
 *     Test II  Binding to (Ia, Pp)          → M2. M2 = M1: endpoint-independent mapping.
 *     Test III Binding to (Ia, Pa)          → M3. M3 = M2: address-dependent, else address-and-port-dependent.
 *     (II and III run concurrently: III costs nothing when it is not needed and saves a round trip when it is.)
 *   Filtering (§4.4), from a fresh socket S2 (S already opened the NAT towards A, which would let replies through):
 *     Test II  Binding to P with CHANGE-REQUEST(ip+port) → an answer from A: endpoint-independent filtering.
 *     Test III Binding to P with CHANGE-REQUEST(port)    → an answer from (Ip, Pa): address-dependent, else
 *              address-and-port-dependent. (Both run concurrently, on S2.)
 *     An answer to a change request that comes from P itself means the server ignored CHANGE-REQUEST: filtering is
 *     then reported as unknown instead of guessed.
 *   Hairpinning (§4.5, --hairpin): a second socket sends a Binding request to M1; if it arrives on S, the NAT hairpins.
 *   Binding lifetime (§4.6, --lifetime): sockets X_k each open a binding at t0; at t0 + T_k another socket sends a
 *     Binding request with RESPONSE-PORT (RFC 5780 §7.5) = the port of X_k's mapping, so the server's answer goes to
 *     X_k's mapping without X_k refreshing it. The largest T_k whose answer arrived is a lower bound of the lifetime.
 *
 * Without OTHER-ADDRESS (not an RFC 5780 server) but with a second server, mapping is decided by comparing the two
 * mapped addresses, and filtering is reported unknown. This module never prints; it returns a NatProbeResult.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { interruptError, RtcError } from '../errors.js';
import { parseIceServerUrl } from '../rtc/ice-config.js';
import {
  addressAttr,
  CHANGE_IP,
  CHANGE_PORT,
  createStunMessage,
  encodeStunMessage,
  errorCodeOf,
  formatEndpoint,
  isErrorResponse,
  mappedAddressOf,
  normalizeAddress,
  sameEndpoint,
  type Endpoint,
  type StunAttribute,
} from './stun-message.js';
import { closeSocket, createStunSocket, resolveHost, stunRequest, type StunTransactionResult } from './stun-transaction.js';

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

export interface NatProbeServer {
  host: string;
  port: number;
}

export interface NatProbeOptions {
  server: NatProbeServer;
  /** A second server, for mapping tests when the first one does not support RFC 5780. */
  server2?: NatProbeServer;
  /** Local address to bind (default: 0.0.0.0, or :: for an IPv6 server). */
  localAddress?: string;
  /**
   * How long to wait for each STUN answer, retransmitting meanwhile. Default: 2 s for Test I, then adaptiveWait()
   * of its round-trip time (1-3 s) for the others.
   */
  timeoutMs?: number;
  /** Initial retransmission timeout (default 250 ms, doubled per retransmission: RFC 5389 §7.2.1). */
  rtoMs?: number;
  hairpin?: boolean;
  /** Measure the binding lifetime, up to this many seconds (RFC 5780 §4.6). */
  lifetimeMaxSeconds?: number;
  signal?: AbortSignal;
  /** Progress, one call per finished test (for --verbose). */
  onTest?: (test: NatTestRecord) => void;
}

export interface NatTestRecord {
  /** e.g. "mapping-I", "filtering-II", "hairpin", "lifetime-8s". */
  name: string;
  /** Where the request went, "ip:port". */
  to: string;
  changeRequest?: 'ip+port' | 'port';
  /** "answered" | "timeout" | "ignored-change-request" | "error". */
  outcome: 'answered' | 'timeout' | 'ignored-change-request' | 'error';
  from?: string;
  mapped?: string;
  rttMs?: number;
  error?: string;
}

export interface NatProbeResult {
  server: string;
  server2?: string;
  /** Our socket's address as the server should see it without NAT ("ip:port"). */
  localAddress: string;
  /** The server-reflexive address of the mapping socket (null when UDP is blocked). */
  mappedAddress: string | null;
  /** Whether the server gave an OTHER-ADDRESS (RFC 5780 §7.4) we could use. */
  rfc5780: boolean;
  otherAddress: string | null;
  mapping: MappingBehavior;
  filtering: FilteringBehavior;
  natType: NatType;
  /** Only with --hairpin. */
  hairpinning?: boolean;
  /** Only with --lifetime: the longest idle time after which the binding still worked (a lower bound). */
  bindingLifetimeSeconds?: number;
  /** With --lifetime: the shortest idle time after which it no longer worked (null if it outlived the maximum). */
  bindingExpiredBySeconds?: number | null;
  /** How long each unanswered test was waited for (after Test I), in ms. */
  testTimeoutMs?: number;
  /** One sentence on what this means for WebRTC. */
  webrtc: string;
  /** Things the user should know (no OTHER-ADDRESS, server ignored CHANGE-REQUEST, ...). */
  notes: string[];
  tests: NatTestRecord[];
  durationMs: number;
}

/** Wait for Test I when no --timeout is given: nothing is known about the path yet. */
const FIRST_TEST_TIMEOUT_MS = 2000;

/**
 * The wait for every later test when no --timeout is given: ten round trips of Test I, at least 1 s (four
 * transmissions at 0, 250, 750 ms, as Debian's stun client waits) and at most 3 s (what natdiscovery waits). RFC 5389
 * §7.2.1 lets a client base its timers on a measured RTT; unanswered filtering tests are where the time goes.
 */
export function adaptiveWait(rttMs: number): number {
  return Math.round(Math.min(3000, Math.max(1000, 10 * rttMs)));
}

/**
 * A probe target from the command line: stun:host[:port] (RFC 7064), turn:host[:port] (TURN servers answer Binding
 * too), or a bare host[:port]. Throws RTC_ERR_BAD_URL (exit 2).
 */
export function parseStunServer(url: string): NatProbeServer {
  const bare = !/^[a-z]+:/i.test(url) || /^[^:/[]+:\d+$/.test(url);
  const u = parseIceServerUrl(bare ? `stun:${url}` : url);
  if (u.transport !== 'udp' || u.scheme === 'stuns' || u.scheme === 'turns') {
    throw new RtcError('RTC_ERR_BAD_URL', `"${url}": NAT probing runs over UDP; use a stun: (or turn:) URL without TLS or ?transport=tcp`);
  }
  return { host: u.host, port: u.port };
}
/** RFC 5780 §7.5: RESPONSE-PORT (werift does not know it). */
const ATTR_RESPONSE_PORT = 0x0027;

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

function abortIfNeeded(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const r: unknown = signal.reason;
    throw interruptError(r, 'interrupted during the NAT probe');
  }
}

/** The local address the kernel picks to reach `to` from `bound` (connect a throwaway UDP socket and ask it). */
async function sourceAddressFor(to: Endpoint, bound: string, family: 4 | 6): Promise<string> {
  if (bound !== '0.0.0.0' && bound !== '::') return bound;
  const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  s.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(to.port, to.address, () => resolve());
    });
    return normalizeAddress(s.address().address);
  } catch {
    return bound;
  } finally {
    closeSocket(s);
  }
}

/**
 * Send `wire` from `from` to `to` (retransmitting per RFC 5389 §7.2.1) until a datagram carrying transaction id
 * `tid` arrives on `listen`, or the timeout passes. For hairpinning and RESPONSE-PORT, where the answer (or the
 * request itself) arrives on another socket than the one that sent.
 */
async function awaitArrival(opts: {
  from: dgram.Socket;
  to: Endpoint;
  wire: Buffer;
  tid: Buffer;
  listen: dgram.Socket;
  rtoMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let rto = opts.rtoMs;
    let timer: NodeJS.Timeout | undefined;
    const finish = (v: boolean): void => {
      clearTimeout(timer);
      clearTimeout(deadline);
      opts.listen.off('message', onMessage);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const onMessage = (data: Buffer): void => {
      // Bytes 8..19 are the transaction id of an RFC 5389 message, request or response alike.
      if (data.length >= 20 && data.subarray(8, 20).equals(opts.tid)) finish(true);
    };
    const onAbort = (): void => finish(false);
    const send = (): void => {
      opts.from.send(opts.wire, opts.to.port, opts.to.address, () => {});
      timer = setTimeout(send, rto);
      rto *= 2;
    };
    const deadline = setTimeout(() => finish(false), opts.timeoutMs);
    opts.listen.on('message', onMessage);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    send();
  });
}

export async function natProbe(opts: NatProbeOptions): Promise<NatProbeResult> {
  const t0 = performance.now();
  /** Per-test wait: --timeout if given, else FIRST_TEST_TIMEOUT_MS for Test I and adaptiveWait() after it. */
  let waitMs = opts.timeoutMs ?? FIRST_TEST_TIMEOUT_MS;
  const rtoMs = Math.min(opts.rtoMs ?? 250, waitMs / 2);
  const signal = opts.signal;
  const tests: NatTestRecord[] = [];
  const notes: string[] = [];
  const record = (t: NatTestRecord): void => {
    tests.push(t);
    opts.onTest?.(t);
  };
  if (opts.localAddress !== undefined && isIP(opts.localAddress) === 0) {
    throw new RtcError('RTC_ERR_BAD_ADDRESS', `--local-address "${opts.localAddress}" is not an IP address`);
  }
  const wantV6 =
    (opts.localAddress !== undefined && isIP(opts.localAddress) === 6) ||
    (opts.localAddress === undefined && isIP(opts.server.host.replace(/^\[|\]$/g, '')) === 6);
  const family: 4 | 6 = wantV6 ? 6 : 4;
  const bindAddress = opts.localAddress ?? (family === 6 ? '::' : '0.0.0.0');

  const primary: Endpoint = { address: await resolveHost(opts.server.host, { family, signal }), port: opts.server.port };
  const second: Endpoint | undefined = opts.server2
    ? { address: await resolveHost(opts.server2.host, { family, signal }), port: opts.server2.port }
    : undefined;

  const sockets: dgram.Socket[] = [];
  const newSocket = async (): Promise<dgram.Socket> => {
    const s = await createStunSocket({ family, address: bindAddress });
    sockets.push(s);
    return s;
  };

  /** One Binding transaction, recorded; undefined on timeout. Other errors propagate. */
  const binding = async (
    name: string,
    socket: dgram.Socket,
    to: Endpoint,
    extra: { change?: number; acceptFrom?: Endpoint[]; connect?: boolean } = {},
  ): Promise<StunTransactionResult | undefined> => {
    abortIfNeeded(signal);
    const attributes: StunAttribute[] = extra.change ? [['CHANGE-REQUEST', extra.change]] : [];
    const rec: NatTestRecord = { name, to: formatEndpoint(to), outcome: 'timeout' };
    if (extra.change) rec.changeRequest = extra.change === (CHANGE_IP | CHANGE_PORT) ? 'ip+port' : 'port';
    try {
      const r = await stunRequest({
        socket,
        host: to.address,
        port: to.port,
        attributes,
        rtoMs,
        maxTransmissions: 7,
        timeoutMs: waitMs,
        acceptFrom: extra.acceptFrom,
        connect: extra.connect,
        signal,
      });
      rec.outcome = 'answered';
      rec.from = formatEndpoint(r.from);
      rec.rttMs = Math.round(r.rttMs * 10) / 10;
      if (isErrorResponse(r.response)) {
        const ec = errorCodeOf(r.response);
        rec.outcome = 'error';
        rec.error = `STUN error ${ec?.code ?? '?'} ${ec?.reason ?? ''}`.trim();
        record(rec);
        throw new RtcError('RTC_ERR_STUN', `${formatEndpoint(to)} answered the Binding request with ${rec.error}`, {
          hint: 'is this a STUN server? TURN servers with strict settings may refuse Binding requests',
        });
      }
      const mapped = mappedAddressOf(r.response);
      if (mapped) rec.mapped = formatEndpoint(mapped);
      record(rec);
      return r;
    } catch (e) {
      if (e instanceof RtcError && e.code === 'RTC_ERR_TIMEOUT') {
        record(rec);
        return undefined;
      }
      if (rec.outcome !== 'error') {
        rec.outcome = 'error';
        rec.error = e instanceof Error ? e.message : String(e);
        record(rec);
      }
      throw e;
    }
  };

  try {
    const s = await newSocket();
    const localPort = s.address().port;
    const localIp = await sourceAddressFor(primary, normalizeAddress(s.address().address), family);
    const local: Endpoint = { address: localIp, port: localPort };

    const result: NatProbeResult = {
      server: formatEndpoint(primary),
      ...(second ? { server2: formatEndpoint(second) } : {}),
      localAddress: formatEndpoint(local),
      mappedAddress: null,
      rfc5780: false,
      otherAddress: null,
      mapping: 'unknown',
      filtering: 'unknown',
      natType: 'unknown',
      webrtc: '',
      notes,
      tests,
      durationMs: 0,
    };
    const done = (): NatProbeResult => {
      // udp-blocked, and "symmetric" from two servers whose exact mapping class is unknown, are decided directly.
      if (result.natType !== 'udp-blocked' && result.natType !== 'symmetric') result.natType = classify(result.mapping, result.filtering);
      result.webrtc = webrtcAdvice(result.natType, result.mapping);
      result.durationMs = Math.round(performance.now() - t0);
      return result;
    };

    // RFC 5780 §4.3 Test I (connected, so an ICMP port unreachable is reported instead of waited out).
    const r1 = await binding('mapping-I', s, primary, { connect: true });
    if (!r1) {
      // RFC 3489 §10.1: no answer to Test I at all means UDP is blocked (or the server is down behind a silent filter).
      result.natType = 'udp-blocked';
      notes.push(`no answer from ${formatEndpoint(primary)} within ${waitMs} ms: UDP is blocked on the way, or nothing answers STUN there`);
      return done();
    }
    const m1 = mappedAddressOf(r1.response);
    if (!m1) throw new RtcError('RTC_ERR_STUN', `${formatEndpoint(primary)} answered without a (XOR-)MAPPED-ADDRESS`);
    result.mappedAddress = formatEndpoint(m1);
    const noNat = sameEndpoint(m1, local);

    // RFC 5780 §7.4 OTHER-ADDRESS; RFC 3489 servers send CHANGED-ADDRESS instead, which means the same thing.
    const other = addressAttr(r1.response, 'OTHER-ADDRESS') ?? addressAttr(r1.response, 'CHANGED-ADDRESS');
    const otherUsable = other && normalizeAddress(other.address) !== primary.address && other.port !== primary.port;
    if (other && !otherUsable) {
      notes.push(`the server's OTHER-ADDRESS ${formatEndpoint(other)} does not differ from ${formatEndpoint(primary)} in both address and port; RFC 5780 tests need two of each`);
    }
    if (otherUsable) {
      result.rfc5780 = true;
      result.otherAddress = formatEndpoint(other);
    } else if (!other) {
      notes.push(`the server sent no OTHER-ADDRESS: it does not support RFC 5780 NAT discovery, so filtering cannot be tested${second ? '' : ' (give a second server URL to still test mapping)'}`);
    }

    // After Test I, mapping (on S), filtering (on a fresh S2) and hairpinning (towards S) run concurrently: they
    // use different local ports, so none of them opens the NAT for another, and the probe costs one wait, not three.
    const alt = otherUsable ? { address: normalizeAddress(other.address), port: other.port } : undefined;
    if (opts.timeoutMs === undefined) waitMs = adaptiveWait(r1.rttMs);

    // Mapping (RFC 5780 §4.3).
    const mappingPhase = async (): Promise<void> => {
      if (noNat) {
        result.mapping = 'none';
      } else if (alt) {
        const [r2, r3] = await Promise.all([
          binding('mapping-II', s, { address: alt.address, port: primary.port }),
          binding('mapping-III', s, alt),
        ]);
        const m2 = r2 ? mappedAddressOf(r2.response) : undefined;
        const m3 = r3 ? mappedAddressOf(r3.response) : undefined;
        if (m2 && sameEndpoint(m2, m1)) result.mapping = 'endpoint-independent';
        else if (m2 && m3) result.mapping = sameEndpoint(m3, m2) ? 'address-dependent' : 'address-and-port-dependent';
        else notes.push(`no answer from the server's alternate address ${formatEndpoint(alt)}: mapping behaviour unknown`);
      } else if (second) {
        const r2 = await binding('mapping-server2', s, second);
        const m2 = r2 ? mappedAddressOf(r2.response) : undefined;
        if (!m2) notes.push(`no answer from the second server ${formatEndpoint(second)}: mapping behaviour unknown`);
        else if (sameEndpoint(m2, m1) && second.address !== primary.address) result.mapping = 'endpoint-independent';
        else if (sameEndpoint(m2, m1)) {
          // Same server address, another port, same mapping: rules out address-and-port-dependent mapping only.
          notes.push('the two servers share an address: the same mapping to both rules out address-and-port-dependent mapping, but cannot tell endpoint-independent from address-dependent (use servers on two addresses)');
        } else if (second.address === primary.address) result.mapping = 'address-and-port-dependent';
        else {
          // Two servers on different addresses cannot tell address-dependent from address-and-port-dependent;
          // either way it is a symmetric NAT for RFC 3489 and for WebRTC.
          notes.push('the mapping changes with the destination (address-dependent or address-and-port-dependent: two servers on different addresses cannot tell which); classic type: symmetric');
          result.natType = 'symmetric';
        }
      }
    };

    // Filtering (RFC 5780 §4.4) on a fresh socket: S sends to the alternate address, which opens the NAT for S.
    const filteringPhase = async (): Promise<void> => {
      if (!alt) return;
      const altPort = { address: primary.address, port: alt.port };
      const s2 = await newSocket();
      // Accept the reply from where the change request asked it to come from, or from the primary address (a server
      // that ignores CHANGE-REQUEST); anything else is a spoof and stays ignored.
      const [f2, f3] = await Promise.all([
        binding('filtering-II', s2, primary, { change: CHANGE_IP | CHANGE_PORT, acceptFrom: [alt, primary] }),
        binding('filtering-III', s2, primary, { change: CHANGE_PORT, acceptFrom: [altPort, primary] }),
      ]);
      const ignored = (r: StunTransactionResult | undefined): boolean => r !== undefined && sameEndpoint(r.from, primary);
      if (ignored(f2) || ignored(f3)) {
        for (const t of tests) if (t.name.startsWith('filtering-') && t.from === formatEndpoint(primary)) t.outcome = 'ignored-change-request';
        notes.push('the server answered a CHANGE-REQUEST from its primary address (it ignores CHANGE-REQUEST): filtering unknown');
      } else if (f2) result.filtering = 'endpoint-independent';
      else if (f3) result.filtering = 'address-dependent';
      else result.filtering = 'address-and-port-dependent';
    };

    // Hairpinning (RFC 5780 §4.5): a request from another local socket to our own mapped address must arrive on S.
    const hairpinPhase = async (): Promise<void> => {
      if (!opts.hairpin) return;
      const h = await newSocket();
      const msg = createStunMessage({});
      const wire = encodeStunMessage(msg);
      const ok = await awaitArrival({ from: h, to: m1, wire, tid: msg.transactionId, listen: s, rtoMs, timeoutMs: waitMs, signal });
      abortIfNeeded(signal);
      record({ name: 'hairpin', to: formatEndpoint(m1), outcome: ok ? 'answered' : 'timeout' });
      result.hairpinning = ok;
    };

    await Promise.all([mappingPhase(), filteringPhase(), hairpinPhase()]);
    result.testTimeoutMs = waitMs;

    // Binding lifetime (RFC 5780 §4.6).
    if (opts.lifetimeMaxSeconds !== undefined) {
      if (noNat) notes.push('no NAT: the binding lifetime is that of the firewall state, if any');
      const lt = await measureLifetime({ primary, maxSeconds: opts.lifetimeMaxSeconds, newSocket, binding, rtoMs, timeoutMs: waitMs, signal, record });
      if (lt.unsupported) notes.push(lt.unsupported);
      else {
        result.bindingLifetimeSeconds = lt.aliveAt;
        result.bindingExpiredBySeconds = lt.expiredBy;
      }
    }
    return done();
  } finally {
    for (const sock of sockets) closeSocket(sock);
  }
}

/** Idle times probed for the binding lifetime, in seconds (denser where NATs usually sit: 20-120 s). */
function lifetimeSchedule(max: number): number[] {
  const base = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 105, 120, 150, 180, 240, 300, 360, 420, 480, 540, 600];
  const s = base.filter((t) => t < max);
  s.push(max);
  return s;
}

async function measureLifetime(o: {
  primary: Endpoint;
  maxSeconds: number;
  newSocket: () => Promise<dgram.Socket>;
  binding: (name: string, s: dgram.Socket, to: Endpoint) => Promise<StunTransactionResult | undefined>;
  rtoMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  record: (t: NatTestRecord) => void;
}): Promise<{ aliveAt: number; expiredBy: number | null; unsupported?: string }> {
  const schedule = lifetimeSchedule(o.maxSeconds);
  // One binding per probe time, all opened together at t0 (each probe consumes its binding: the answer refreshes it).
  const xs = await Promise.all(schedule.map(() => o.newSocket()));
  const opened = await Promise.all(xs.map((x, i) => o.binding(`lifetime-open-${schedule[i]}s`, x, o.primary)));
  const t0 = performance.now();
  const mapped = opened.map((r) => (r ? mappedAddressOf(r.response) : undefined));
  const y = await o.newSocket();
  let aliveAt = 0;
  for (let i = 0; i < schedule.length; i++) {
    const T = schedule[i]!;
    const m = mapped[i];
    if (!m) continue;
    const wait = t0 + T * 1000 - performance.now();
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        o.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
    abortIfNeeded(o.signal);
    // RFC 5780 §7.5 RESPONSE-PORT: the server answers to Y's mapped IP at X's mapped port. Sent without FINGERPRINT
    // because werift would put our raw attribute after it.
    const msg = createStunMessage({});
    const port = Buffer.alloc(4);
    port.writeUInt16BE(m.port, 0);
    msg.appendRawAttribute(ATTR_RESPONSE_PORT, port);
    const wire = encodeStunMessage(msg, { fingerprint: false });
    const ok = await awaitArrival({ from: y, to: o.primary, wire, tid: msg.transactionId, listen: xs[i]!, rtoMs: o.rtoMs, timeoutMs: o.timeoutMs, signal: o.signal });
    o.record({ name: `lifetime-${T}s`, to: formatEndpoint(o.primary), outcome: ok ? 'answered' : 'timeout', mapped: formatEndpoint(m) });
    if (ok) aliveAt = T;
    else {
      if (aliveAt === 0 && i === 0) {
        // The very first probe (1 s) failing almost always means no RESPONSE-PORT support, not a 1 s binding.
        return {
          aliveAt: 0,
          expiredBy: T,
          unsupported: 'the server did not answer a RESPONSE-PORT request after 1 s (RFC 5780 §7.5 unsupported?): binding lifetime unknown',
        };
      }
      return { aliveAt, expiredBy: T };
    }
  }
  return { aliveAt, expiredBy: null };
}
