/**
 * NAT behaviour discovery (RFC 5780) with the classic RFC 3489 label on top: natProbe() runs the tests of
 * nat-tests.ts (Test I, mapping §4.3, filtering §4.4, hairpinning §4.5, lifetime §4.6) over a ProbeNet (nat-net.ts)
 * and decides with nat-classify.ts. After Test I, mapping (on its socket), filtering (on a fresh one) and hairpinning
 * (towards it) run concurrently: they use different local ports, so none opens the NAT for another, and the probe
 * costs one wait, not three.
 *
 * Without OTHER-ADDRESS (not an RFC 5780 server) but with a second server, mapping is decided by comparing the two
 * mapped addresses, and filtering is reported unknown. Impossible answers (a mapped address of port 0 or of another
 * family, an OTHER-ADDRESS that cannot be, change requests answered from the wrong socket) give `unknown` with a note,
 * never a guess. This module never prints; it returns a NatProbeResult and throws RtcError.
 */
import { isIP } from 'node:net';
import { RtcError } from '../errors.js';
import { parseIceServerUrl } from '../rtc/ice-config.js';
import { formatEndpoint, type Endpoint } from '../stun/endpoint.js';
import { resolveHost } from '../stun/socket.js';
import { adaptiveWait, classify, webrtcAdvice, type FilteringBehavior, type MappingBehavior, type NatType } from './nat-classify.js';
import { udpProbeNet, type ProbeNet, type ProbeSocket } from './nat-net.js';
import { filteringTests, hairpinTest, lifetimeTest, mappingTests, testI, type NatTestRecord, type ProbeCtx, type TestIRecord } from './nat-tests.js';
import { protocolToRtcError } from './protocol-errors.js';

export { adaptiveWait, classify, webrtcAdvice } from './nat-classify.js';
export type { FilteringBehavior, MappingBehavior, NatType } from './nat-classify.js';
export type { NatTestRecord } from './nat-tests.js';

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
  /** The network to probe over (default: real UDP sockets). Tests inject fake sockets here. */
  net?: ProbeNet;
}

export interface NatProbeResult {
  server: string;
  server2?: string;
  /** Our socket's address as the server should see it without NAT ("ip:port"). */
  localAddress: string;
  /** The server-reflexive address of the mapping socket (null when UDP is blocked or the answer was impossible). */
  mappedAddress: string | null;
  /** Whether the server gave an OTHER-ADDRESS (RFC 5780 §7.4) we could use. */
  rfc5780: boolean;
  otherAddress: string | null;
  mapping: MappingBehavior;
  filtering: FilteringBehavior;
  natType: NatType;
  /** Only with hairpin. */
  hairpinning?: boolean;
  /** Only with lifetime: the longest idle time after which the binding still worked (a lower bound). */
  bindingLifetimeSeconds?: number;
  /** With lifetime: the shortest idle time after which it no longer worked (null if it outlived the maximum). */
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

/** Wait for Test I when no timeout is given: nothing is known about the path yet. */
const FIRST_TEST_TIMEOUT_MS = 2000;

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

function familyFor(opts: NatProbeOptions): 4 | 6 {
  if (opts.localAddress !== undefined) return isIP(opts.localAddress) === 6 ? 6 : 4;
  return isIP(opts.server.host.replace(/^\[|\]$/g, '')) === 6 ? 6 : 4;
}

/** Run the probe. Throws RtcError: bad input (exit 2), or a server that could not be probed (exit 1). */
export async function natProbe(opts: NatProbeOptions): Promise<NatProbeResult> {
  if (opts.localAddress !== undefined && isIP(opts.localAddress) === 0) {
    throw new RtcError('RTC_ERR_BAD_ADDRESS', `local address "${opts.localAddress}" is not an IP address`, { details: { option: 'localAddress' } });
  }
  const t0 = performance.now();
  const family = familyFor(opts);
  const waitMs = opts.timeoutMs ?? FIRST_TEST_TIMEOUT_MS;
  const rtoMs = Math.min(opts.rtoMs ?? 250, waitMs / 2);
  let ctx: ProbeCtx | undefined;
  const net = opts.net ?? udpProbeNet({ family, bindAddress: opts.localAddress ?? (family === 6 ? '::' : '0.0.0.0'), rtoMs, timeoutMs: () => ctx?.waitMs ?? waitMs, signal: opts.signal });
  try {
    const resolve = async (s: NatProbeServer): Promise<Endpoint> => ({ address: await resolveHost(s.host, { family, signal: opts.signal }), port: s.port });
    const primary = await resolve(opts.server);
    const second = opts.server2 ? await resolve(opts.server2) : undefined;
    ctx = { net, family, primary, second, rtoMs, waitMs, signal: opts.signal, tests: [], notes: [], onTest: opts.onTest };
    const result = await runProbe(ctx, opts);
    result.durationMs = Math.round(performance.now() - t0);
    return result;
  } catch (e) {
    throw protocolToRtcError(e, { role: 'STUN' });
  } finally {
    net.close();
  }
}

async function runProbe(ctx: ProbeCtx, opts: NatProbeOptions): Promise<NatProbeResult> {
  const s = await ctx.net.open();
  const local: Endpoint = { address: await ctx.net.sourceAddressFor(ctx.primary, s.local.address), port: s.local.port };
  const result = emptyResult(ctx, local);
  const t1 = await testI(ctx, s);
  if (!t1.answered) {
    // RFC 3489 §10.1: no answer to Test I at all means UDP is blocked (or the server is down behind a silent filter).
    result.natType = 'udp-blocked';
    ctx.notes.push(`no answer from ${formatEndpoint(ctx.primary)} within ${ctx.waitMs} ms: UDP is blocked on the way, or nothing answers STUN there`);
    return finish(result);
  }
  if (!t1.mapped) return finish(result);
  if (opts.timeoutMs === undefined) ctx.waitMs = adaptiveWait(t1.rttMs);
  await afterTestI(ctx, opts, s, t1 as TestIRecord & { mapped: Endpoint }, result);
  result.testTimeoutMs = ctx.waitMs;
  return finish(result);
}

/** Mapping, filtering and hairpinning concurrently, then the lifetime: everything that needs M1. */
async function afterTestI(ctx: ProbeCtx, opts: NatProbeOptions, s: ProbeSocket, t1: TestIRecord & { mapped: Endpoint }, result: NatProbeResult): Promise<void> {
  const m1 = t1.mapped;
  result.mappedAddress = formatEndpoint(m1);
  result.rfc5780 = t1.other !== undefined;
  result.otherAddress = t1.other ? formatEndpoint(t1.other) : null;
  const noNat = formatEndpoint(m1) === result.localAddress;
  const [mapping, filtering, hairpin] = await Promise.all([
    noNat ? { mapping: 'none' as const, symmetric: false } : mappingTests(ctx, s, m1, t1.other),
    t1.other ? filteringTests(ctx, t1.other) : undefined,
    opts.hairpin ? hairpinTest(ctx, s, m1) : undefined,
  ]);
  result.mapping = mapping.mapping;
  if (mapping.symmetric) result.natType = 'symmetric';
  if (filtering) result.filtering = filtering.filtering;
  if (hairpin) result.hairpinning = hairpin.hairpinning;
  if (opts.lifetimeMaxSeconds === undefined) return;
  if (noNat) ctx.notes.push('no NAT: the binding lifetime is that of the firewall state, if any');
  const lt = await lifetimeTest(ctx, opts.lifetimeMaxSeconds);
  if (lt.unsupported) ctx.notes.push(lt.unsupported);
  else {
    result.bindingLifetimeSeconds = lt.aliveAt;
    result.bindingExpiredBySeconds = lt.expiredBy;
  }
}

function emptyResult(ctx: ProbeCtx, local: Endpoint): NatProbeResult {
  return {
    server: formatEndpoint(ctx.primary),
    ...(ctx.second ? { server2: formatEndpoint(ctx.second) } : {}),
    localAddress: formatEndpoint(local),
    mappedAddress: null,
    rfc5780: false,
    otherAddress: null,
    mapping: 'unknown',
    filtering: 'unknown',
    natType: 'unknown',
    webrtc: '',
    notes: ctx.notes,
    tests: ctx.tests,
    durationMs: 0,
  };
}

/** The label and the advice: udp-blocked, and "symmetric" from two servers whose exact mapping class is unknown, are decided directly. */
function finish(result: NatProbeResult): NatProbeResult {
  if (result.natType !== 'udp-blocked' && result.natType !== 'symmetric') result.natType = classify(result.mapping, result.filtering);
  result.webrtc = webrtcAdvice(result.natType, result.mapping);
  return result;
}
