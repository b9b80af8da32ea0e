/**
 * The RFC 5780 tests, one function each, over the ProbeNet interface (nat-net.ts). Each returns a record of what it
 * saw; the decisions are nat-classify.ts's pure functions. Notation: primary server address P = (Ip, Pp), its
 * OTHER-ADDRESS A = (Ia, Pa), our first mapped address M1.
 */
import { formatEndpoint, normalizeAddress, type Endpoint } from '../stun/endpoint.js';
import { ErrorResponseError, throwIfAborted } from '../stun/errors.js';
import {
  addressAttr,
  CHANGE_IP,
  CHANGE_PORT,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeOf,
  isErrorResponse,
  mappedAddressOf,
  StunClass,
  StunMethod,
  type StunMessage,
} from '../stun/message.js';
import { ATTR_RESPONSE_PORT } from '../stun/responder.js';
import {
  filteringFrom,
  impossibleAddress,
  mappingFromAlternate,
  mappingFromTwoServers,
  unusableOtherAddress,
  type FilteringDecision,
  type MappingBehavior,
} from './nat-classify.js';
import type { BindingAnswer, BindingRequest, ProbeNet, ProbeSocket } from './nat-net.js';

export interface NatTestRecord {
  /** e.g. "mapping-I", "filtering-II", "hairpin", "lifetime-8s". */
  name: string;
  /** Where the request went, "ip:port". */
  to: string;
  changeRequest?: 'ip+port' | 'port';
  outcome: 'answered' | 'timeout' | 'ignored-change-request' | 'error';
  from?: string;
  mapped?: string;
  rttMs?: number;
  error?: string;
}

/** What every test needs: the network, the servers, the timers, and where records and notes go. */
export interface ProbeCtx {
  net: ProbeNet;
  family: 4 | 6;
  primary: Endpoint;
  second?: Endpoint;
  rtoMs: number;
  /** The wait per test (changed after Test I when no timeout was given). */
  waitMs: number;
  signal?: AbortSignal;
  tests: NatTestRecord[];
  notes: string[];
  onTest?: (t: NatTestRecord) => void;
}

function record(ctx: ProbeCtx, t: NatTestRecord): void {
  ctx.tests.push(t);
  ctx.onTest?.(t);
}

/** One Binding transaction, recorded. Resolves the answer (error responses too) or undefined on timeout. */
async function binding(ctx: ProbeCtx, name: string, socket: ProbeSocket, to: Endpoint, req: BindingRequest & { change?: number } = {}): Promise<BindingAnswer | undefined> {
  throwIfAborted(ctx.signal);
  const rec: NatTestRecord = { name, to: formatEndpoint(to), outcome: 'timeout' };
  if (req.change) rec.changeRequest = req.change === (CHANGE_IP | CHANGE_PORT) ? 'ip+port' : 'port';
  const attributes = req.change ? [['CHANGE-REQUEST', req.change] as ['CHANGE-REQUEST', number]] : req.attributes;
  let a: BindingAnswer | undefined;
  try {
    a = await socket.binding(to, { ...req, attributes });
  } catch (e) {
    record(ctx, { ...rec, outcome: 'error', error: e instanceof Error ? e.message : String(e) });
    throw e;
  }
  if (a) {
    Object.assign(rec, { outcome: 'answered', from: formatEndpoint(a.from), rttMs: Math.round(a.rttMs * 10) / 10 });
    const ec = isErrorResponse(a.response) ? errorCodeOf(a.response) : undefined;
    if (isErrorResponse(a.response)) Object.assign(rec, { outcome: 'error', error: `STUN error ${ec?.code ?? '?'} ${ec?.reason ?? ''}`.trim() });
    const mapped = mappedAddressOf(a.response);
    if (mapped) rec.mapped = formatEndpoint(mapped);
  }
  record(ctx, rec);
  return a;
}

/**
 * The mapped address of a later test's answer, or undefined (with a note) when there is none, it is an error
 * response, or it is impossible: a test whose answer cannot be trusted counts as unanswered.
 */
function usableMapped(ctx: ProbeCtx, name: string, a: BindingAnswer | undefined): Endpoint | undefined {
  if (!a) return undefined;
  if (isErrorResponse(a.response)) {
    const ec = errorCodeOf(a.response);
    ctx.notes.push(`${name} was answered with STUN error ${ec?.code ?? '?'}${ec?.reason ? ` ${ec.reason}` : ''}: that test counts as unanswered`);
    return undefined;
  }
  const m = mappedAddressOf(a.response);
  const why = m ? impossibleAddress(m, ctx.family) : 'no (XOR-)MAPPED-ADDRESS';
  if (why) ctx.notes.push(`the answer to ${name} carries an impossible mapped address${m ? ` ${formatEndpoint(m)}` : ''} (${why}): that test counts as unanswered`);
  return why ? undefined : m;
}

export interface TestIRecord {
  /** No answer at all (RFC 3489 §10.1: UDP blocked). */
  answered: boolean;
  /** M1, when the answer carried a possible one. */
  mapped?: Endpoint;
  /** Why M1 is impossible (the run then reports unknown). */
  impossible?: string;
  /** A, when the server gave a usable OTHER-ADDRESS (or RFC 3489 CHANGED-ADDRESS). */
  other?: Endpoint;
  rttMs: number;
}

/**
 * RFC 5780 §4.3 Test I: a Binding request to P, on a connected socket so ICMP port unreachable is reported at once.
 * An error response, or one without a mapped address, means this is no usable STUN server (thrown).
 */
export async function testI(ctx: ProbeCtx, s: ProbeSocket): Promise<TestIRecord> {
  const a = await binding(ctx, 'mapping-I', s, ctx.primary, { connect: true });
  if (!a) return { answered: false, rttMs: 0 };
  if (isErrorResponse(a.response)) {
    const ec = errorCodeOf(a.response);
    throw new ErrorResponseError('BINDING', ec?.code ?? 0, ec?.reason ?? '', a.from);
  }
  const m1 = mappedAddressOf(a.response);
  if (!m1) throw new ErrorResponseError('BINDING', 0, 'success response without a (XOR-)MAPPED-ADDRESS', a.from);
  const impossible = impossibleAddress(m1, ctx.family);
  if (impossible) {
    ctx.notes.push(`the server's mapped address ${formatEndpoint(m1)} is impossible (${impossible}): no verdict from this server`);
    return { answered: true, impossible, rttMs: a.rttMs };
  }
  return { answered: true, mapped: m1, other: otherAddressOf(ctx, a.response), rttMs: a.rttMs };
}

/** RFC 5780 §7.4 OTHER-ADDRESS (RFC 3489 servers send CHANGED-ADDRESS, which means the same), when usable. */
function otherAddressOf(ctx: ProbeCtx, response: StunMessage): Endpoint | undefined {
  const other = addressAttr(response, 'OTHER-ADDRESS') ?? addressAttr(response, 'CHANGED-ADDRESS');
  if (!other) {
    const hint = ctx.second ? '' : ' (give a second server URL to still test mapping)';
    ctx.notes.push(`the server sent no OTHER-ADDRESS: it does not support RFC 5780 NAT discovery, so filtering cannot be tested${hint}`);
    return undefined;
  }
  const why = unusableOtherAddress(other, ctx.primary, ctx.family);
  if (why) ctx.notes.push(why);
  return why ? undefined : { address: normalizeAddress(other.address), port: other.port };
}

export interface MappingRecord {
  mapping: MappingBehavior;
  /** Symmetric for sure, although the exact mapping class is unknown (two servers on two addresses). */
  symmetric: boolean;
}

/**
 * RFC 5780 §4.3 Tests II and III, from the socket of Test I: Binding to (Ia, Pp) → M2, to (Ia, Pa) → M3, run
 * concurrently (III costs nothing when it is not needed and saves a round trip when it is). Without an
 * OTHER-ADDRESS but with a second server, M2 comes from that server instead.
 */
export async function mappingTests(ctx: ProbeCtx, s: ProbeSocket, m1: Endpoint, alt?: Endpoint): Promise<MappingRecord> {
  if (alt) {
    const [r2, r3] = await Promise.all([binding(ctx, 'mapping-II', s, { address: alt.address, port: ctx.primary.port }), binding(ctx, 'mapping-III', s, alt)]);
    const mapping = mappingFromAlternate(m1, usableMapped(ctx, 'mapping-II', r2), usableMapped(ctx, 'mapping-III', r3));
    if (mapping === 'unknown' && !r2 && !r3) ctx.notes.push(`no answer from the server's alternate address ${formatEndpoint(alt)}: mapping behaviour unknown`);
    return { mapping, symmetric: false };
  }
  if (!ctx.second) return { mapping: 'unknown', symmetric: false };
  const r2 = await binding(ctx, 'mapping-server2', s, ctx.second);
  const m2 = usableMapped(ctx, 'mapping-server2', r2);
  if (!m2) {
    if (!r2) ctx.notes.push(`no answer from the second server ${formatEndpoint(ctx.second)}: mapping behaviour unknown`);
    return { mapping: 'unknown', symmetric: false };
  }
  const d = mappingFromTwoServers(m1, m2, ctx.primary, ctx.second);
  if (d.note) ctx.notes.push(d.note);
  return { mapping: d.mapping, symmetric: d.symmetric };
}

/**
 * RFC 5780 §4.4 from a fresh socket (the mapping socket already opened the NAT towards A): Binding to P with
 * CHANGE-REQUEST ip+port (Test II: answer expected from A) and port (Test III: from (Ip, Pa)), concurrently. Answers
 * are accepted from any source and then checked (filteringFrom): the source is the whole point of the test.
 */
export async function filteringTests(ctx: ProbeCtx, alt: Endpoint): Promise<FilteringDecision> {
  const s2 = await ctx.net.open();
  const [f2, f3] = await Promise.all([
    binding(ctx, 'filtering-II', s2, ctx.primary, { change: CHANGE_IP | CHANGE_PORT, acceptFrom: 'any' }),
    binding(ctx, 'filtering-III', s2, ctx.primary, { change: CHANGE_PORT, acceptFrom: 'any' }),
  ]);
  // An error response to a change request proves nothing either way (RFC 5780 §6.1 servers answer it with success).
  const errored = [f2, f3].filter((a) => a && isErrorResponse(a.response));
  if (errored.length) {
    ctx.notes.push('the server answered a CHANGE-REQUEST with an error response: filtering unknown');
    return { filtering: 'unknown', ignoredChangeRequest: false };
  }
  const d = filteringFrom(ctx.primary, alt, f2?.from, f3?.from);
  if (d.note) ctx.notes.push(d.note);
  if (d.ignoredChangeRequest) {
    for (const t of ctx.tests) if (t.name.startsWith('filtering-') && t.from === formatEndpoint(ctx.primary)) t.outcome = 'ignored-change-request';
  }
  return d;
}

/**
 * Send `wire` from `from` to `to`, retransmitting (RFC 5389 §7.2.1: RTO doubling), until `accept` takes a datagram
 * arriving on `listen`, or the wait is over. For hairpinning and RESPONSE-PORT, where the answer (or the request
 * itself) arrives on another socket than the one that sent.
 */
function sendUntilArrival(ctx: ProbeCtx, o: { from: ProbeSocket; to: Endpoint; wire: Buffer; listen: ProbeSocket; accept: (data: Buffer, src: Endpoint) => boolean }): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let rto = ctx.rtoMs;
    let timer: NodeJS.Timeout | undefined;
    const finish = (v: boolean): void => {
      clearTimeout(timer);
      clearTimeout(deadline);
      stop();
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const stop = o.listen.listen((data, src) => {
      if (o.accept(data, src)) finish(true);
    });
    const onAbort = (): void => finish(false);
    const send = (): void => {
      o.from.send(o.to, o.wire);
      timer = setTimeout(send, rto);
      rto *= 2;
    };
    const deadline = setTimeout(() => finish(false), ctx.waitMs);
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    send();
  });
}

/**
 * Whether `data` is the STUN Binding message with transaction id `tid`, of this class, well-formed and with a valid
 * FINGERPRINT (werift's parser checks it over the bytes received; `requireFingerprint` also demands its presence).
 */
function isOurs(data: Buffer, tid: Buffer, cls: number, requireFingerprint: boolean): 'ours' | 'other' | 'bad-fingerprint' {
  if (data.length < 20 || !data.subarray(8, 20).equals(tid)) return 'other';
  const msg = decodeStunMessage(data);
  if (!msg || (requireFingerprint && msg.getAttributeValue('FINGERPRINT') === undefined)) return 'bad-fingerprint';
  return msg.messageClass === cls && msg.messageMethod === StunMethod.BINDING ? 'ours' : 'other';
}

export interface HairpinRecord {
  hairpinning: boolean;
  /** Datagrams carrying our request that were refused, and why. */
  refused: string[];
}

/**
 * RFC 5780 §4.5: a Binding request from a second socket to M1 must arrive on the socket of Test I. It counts only
 * with a valid FINGERPRINT and from our own public address: RFC 4787 REQ-9 has a hairpinning NAT present the
 * external source address; anything else carrying our transaction id is someone else's datagram.
 */
export async function hairpinTest(ctx: ProbeCtx, s: ProbeSocket, m1: Endpoint): Promise<HairpinRecord> {
  const h = await ctx.net.open();
  const msg = createStunMessage({});
  const refused: string[] = [];
  const accept = (data: Buffer, src: Endpoint): boolean => {
    const ours = isOurs(data, msg.transactionId, StunClass.REQUEST, true);
    if (ours === 'bad-fingerprint') refused.push(`a datagram from ${formatEndpoint(src)} with our transaction id but no valid FINGERPRINT`);
    if (ours !== 'ours') return false;
    if (normalizeAddress(src.address) === normalizeAddress(m1.address)) return true;
    refused.push(`the request arrived from ${formatEndpoint(src)}, not from your public address ${m1.address}`);
    return false;
  };
  const ok = await sendUntilArrival(ctx, { from: h, to: m1, wire: encodeStunMessage(msg), listen: s, accept });
  throwIfAborted(ctx.signal);
  record(ctx, { name: 'hairpin', to: formatEndpoint(m1), outcome: ok ? 'answered' : 'timeout' });
  if (!ok && refused.length) ctx.notes.push(`hairpinning: ignored ${[...new Set(refused)].join('; ')} (RFC 4787 REQ-9: a hairpinning NAT presents your public address)`);
  return { hairpinning: ok, refused };
}

/** Idle times probed for the binding lifetime, in seconds (denser where NATs usually sit: 20-120 s). */
export function lifetimeSchedule(max: number): number[] {
  const base = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 105, 120, 150, 180, 240, 300, 360, 420, 480, 540, 600];
  const s = base.filter((t) => t < max);
  s.push(max);
  return s;
}

export interface LifetimeRecord {
  /** The longest idle time after which the binding still worked (a lower bound of the lifetime). */
  aliveAt: number;
  /** The shortest idle time after which it no longer worked (null: outlived the maximum). */
  expiredBy: number | null;
  /** Why the lifetime could not be measured. */
  unsupported?: string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

/**
 * RFC 5780 §4.6: sockets X_k each open a binding at t0; at t0 + T_k another socket Y sends a Binding request with
 * RESPONSE-PORT (§7.5) = the port of X_k's mapping, so the server's answer goes to X_k's mapping without X_k
 * refreshing it. The largest T_k whose answer arrived (from P, with a valid FINGERPRINT) is a lower bound.
 */
export async function lifetimeTest(ctx: ProbeCtx, maxSeconds: number): Promise<LifetimeRecord> {
  const schedule = lifetimeSchedule(maxSeconds);
  // One binding per probe time, all opened together at t0 (each probe consumes its binding: the answer refreshes it).
  const xs = await Promise.all(schedule.map(() => ctx.net.open()));
  const opened = await Promise.all(xs.map((x, i) => binding(ctx, `lifetime-open-${schedule[i]}s`, x, ctx.primary)));
  const t0 = performance.now();
  const mapped = opened.map((r, i) => usableMapped(ctx, `lifetime-open-${schedule[i]}s`, r));
  const y = await ctx.net.open();
  let aliveAt = 0;
  for (let i = 0; i < schedule.length; i++) {
    const T = schedule[i]!;
    const m = mapped[i];
    if (!m) continue;
    await sleep(t0 + T * 1000 - performance.now(), ctx.signal);
    throwIfAborted(ctx.signal);
    const ok = await responsePortProbe(ctx, y, xs[i]!, m, T);
    if (ok) {
      aliveAt = T;
      continue;
    }
    if (aliveAt === 0 && i === 0) {
      // The very first probe (1 s) failing almost always means no RESPONSE-PORT support, not a 1 s binding.
      return { aliveAt: 0, expiredBy: T, unsupported: 'the server did not answer a RESPONSE-PORT request after 1 s (RFC 5780 §7.5 unsupported?): binding lifetime unknown' };
    }
    return { aliveAt, expiredBy: T };
  }
  return { aliveAt, expiredBy: null };
}

/** One §4.6 probe: from Y, ask P to answer at X's mapped port; the answer must arrive on X, from P. */
async function responsePortProbe(ctx: ProbeCtx, y: ProbeSocket, x: ProbeSocket, m: Endpoint, T: number): Promise<boolean> {
  // Sent without FINGERPRINT because werift would put our raw attribute after it.
  const msg = createStunMessage({});
  const port = Buffer.alloc(4);
  port.writeUInt16BE(m.port, 0);
  msg.appendRawAttribute(ATTR_RESPONSE_PORT, port);
  const wire = encodeStunMessage(msg, { fingerprint: false });
  const primary = formatEndpoint(ctx.primary);
  // The server answers without FINGERPRINT when the request had none (coturn does): a bad one is still refused.
  const accept = (data: Buffer, src: Endpoint): boolean => formatEndpoint(src) === primary && isOurs(data, msg.transactionId, StunClass.RESPONSE, false) === 'ours';
  const ok = await sendUntilArrival(ctx, { from: y, to: ctx.primary, wire, listen: x, accept });
  record(ctx, { name: `lifetime-${T}s`, to: primary, outcome: ok ? 'answered' : 'timeout', mapped: formatEndpoint(m) });
  return ok;
}
