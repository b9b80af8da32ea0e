/**
 * `rtc-cli ice-gather`: the "Trickle ICE" test page as a command. werift gathers candidates (RFC 8445 §5.1.1) with
 * the shared ICE flags; every candidate is reported with its elapsed time, type, protocol, address, port, priority and
 * related address, and a verdict says what the result means.
 *
 * werift uses only the first STUN and the first TURN URL of a configuration and reports no `icecandidateerror`, so:
 *  - each server gets its own gathering peer (host candidates are taken from the first one only);
 *  - each server is also probed by our own clients in parallel (a STUN Binding, a TURN Allocate that is deleted
 *    right away), so a missing candidate comes with the server's answer in words — 401 after authenticating,
 *    unreachable, timeout, TLS — like a browser's icecandidateerror (errorCode: the STUN error code, or 701 when the
 *    server could not be reached, W3C webrtc-pc §4.8.2). A definitive answer (401/403/486) ends the wait for that
 *    server at once; werift itself would retry a refused allocation for ~12 s.
 *
 * werift runs in a worker thread that is terminated at the end (see turn-ice-worker.ts).
 */
import type { Worker } from 'node:worker_threads';
import { interruptError, RtcError, type RtcErrorCode } from '../errors.js';
import { parseCandidate } from '../rtc/candidate.js';
import { candidateAllowed } from '../rtc/peer-connection.js';
import { parseIceServerUrl, type IceConfig, type IceServerUrl } from '../rtc/ice-config.js';
import { formatEndpoint } from '../stun/endpoint.js';
// Light imports only: the STUN/TURN probes pull in werift's codec (~0.4 s to load) and are imported after the werift
// worker has started, so the two loads overlap.
import { readCaFile } from './ca-file.js';
import { epochMs, startWeriftWorker, type GatherEvent } from './turn-ice.js';

export interface IceGatherOptions {
  ice: IceConfig;
  /** Stop gathering after this long (default 10 s). */
  timeoutMs?: number;
  /** PEM CA (or a file with it) to trust for turns: servers; or skip verification. */
  ca?: string | Buffer;
  caFile?: string;
  insecure?: boolean;
  /** Probe each server with our own STUN/TURN client to explain missing candidates (default true). */
  probe?: boolean;
  signal?: AbortSignal;
  onCandidate?: (c: GatheredCandidate) => void;
  onError?: (e: GatherError) => void;
}

export interface GatheredCandidate {
  /** Milliseconds since gathering started (as on the Trickle ICE page; werift's load time is `startupMs`). */
  elapsedMs: number;
  type: string;
  protocol: string;
  address: string;
  port: number;
  priority: number;
  relatedAddress?: string;
  relatedPort?: number;
  foundation: string;
  component: number;
  /** The server this srflx/relay candidate came from. */
  url?: string;
  /** The candidate attribute as werift wrote it. */
  candidate: string;
}

export interface GatherError {
  url: string;
  /** As in RTCPeerConnectionIceErrorEvent: the STUN/TURN error code, or 701 when the server could not be reached. */
  errorCode: number;
  errorText: string;
  /** rtc-cli's code for the same failure. */
  code: RtcErrorCode;
  /** Since gathering started; 0 when our probe had the answer before werift started gathering. */
  elapsedMs: number;
}

export interface ServerSummary {
  url: string;
  kind: 'stun' | 'turn';
  /** srflx (STUN) or relay (TURN) candidates it gave. */
  candidates: number;
  ok: boolean;
}

export interface IceGatherResult {
  /** Every server named gave its kind of candidate (srflx for STUN, relay for TURN). */
  ok: boolean;
  candidates: GatheredCandidate[];
  errors: GatherError[];
  servers: ServerSummary[];
  verdict: string;
  /** From the call to the end, including `startupMs`. */
  durationMs: number;
  /** From the call until werift started gathering (loading werift in its worker thread). */
  startupMs: number | null;
  timedOut: boolean;
}

const UNREACHABLE_CODE = 701;

export function kindOf(u: IceServerUrl): 'stun' | 'turn' {
  return u.scheme === 'stun' || u.scheme === 'stuns' ? 'stun' : 'turn';
}

function errorCodeFor(err: RtcError): number {
  const stun = err.details?.stunError;
  return typeof stun === 'number' ? stun : UNREACHABLE_CODE;
}

function verdictFor(servers: ServerSummary[], errors: GatherError[], candidates: GatheredCandidate[]): string {
  if (candidates.length === 0 && servers.length === 0) return 'no candidates at all: no usable network interface (or the gathering address is not an address of this machine?)';
  const parts: string[] = [];
  const turn = servers.filter((s) => s.kind === 'turn');
  const stun = servers.filter((s) => s.kind === 'stun');
  const errOf = (url: string): GatherError | undefined => errors.find((e) => e.url === url);
  for (const s of turn) {
    if (s.ok) {
      parts.push(`TURN reachable, relay candidate obtained (${s.url})`);
      continue;
    }
    const e = errOf(s.url);
    if (e?.code === 'RTC_ERR_TURN_AUTH') parts.push(`authentication failed? ${s.url} refused the credentials (${e.errorCode})`);
    else if (e?.code === 'RTC_ERR_TLS') parts.push(`TLS failed for ${s.url}: ${e.errorText}`);
    else if (e && (e.code === 'RTC_ERR_UNREACHABLE' || e.code === 'RTC_ERR_TIMEOUT' || e.code === 'RTC_ERR_DNS')) parts.push(`TURN unreachable? ${s.url}: ${e.errorText}`);
    else if (e) parts.push(`no relay candidate from ${s.url}: ${e.errorText}`);
    else parts.push(`no relay candidate from ${s.url}`);
  }
  for (const s of stun) {
    if (s.ok) {
      const srflx = candidates.find((c) => c.type === 'srflx' && c.url === s.url);
      parts.push(`STUN reachable, srflx ${srflx ? formatEndpoint(srflx) : ''} (${s.url})`.replace('  ', ' '));
      continue;
    }
    const e = errOf(s.url);
    parts.push(`no srflx: STUN unreachable? (${s.url}${e ? `: ${e.errorText}` : ''})`);
  }
  if (servers.length === 0) parts.push('host candidates only (no ICE server given)');
  return parts.join('; ');
}

export async function iceGather(opts: IceGatherOptions): Promise<IceGatherResult> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  if (opts.caFile !== undefined) opts = { ...opts, ca: await readCaFile(opts.caFile) };
  const servers = opts.ice.iceServers;
  const urls = servers.map((s) => parseIceServerUrl(s.urls));
  const iceAddress = opts.ice.iceAddress;
  // One gathering peer per server (or one with no server: host candidates only).
  const configs =
    servers.length > 0
      ? servers.map((s, i) => ({ iceServers: [{ ...s }], relayOnly: opts.ice.relayOnly && kindOf(urls[i]!) === 'turn', iceAddress }))
      : [{ iceServers: [], relayOnly: false, iceAddress }];

  const candidates: GatheredCandidate[] = [];
  const errors: GatherError[] = [];
  const settled = new Array<boolean>(configs.length).fill(false);
  // Host candidates come from the first peer: wait for them even when every server settled early (a refused TURN
  // allocation is known before werift has even loaded). With --relay-only werift gathers no host candidates.
  let hostsSeen = opts.ice.relayOnly;
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  const poke = (): void => wake?.();
  const elapsed = (): number => Math.round((performance.now() - t0) * 10) / 10;
  // Candidate and error times are relative to the start of gathering (reported by the worker in epoch ms).
  const t0Epoch = epochMs() - (performance.now() - t0);
  let gatherStart: number | undefined;
  const sinceGather = (at: number): number => Math.max(0, Math.round((at - (gatherStart ?? at)) * 10) / 10);

  const worker: Worker = startWeriftWorker();
  worker.on('error', () => {
    settled.fill(true);
    hostsSeen = true;
    poke();
  });
  worker.on('message', (e: GatherEvent) => {
    if (e.event === 'started') {
      gatherStart = e.at;
      return;
    }
    if (e.index === 0 && e.event !== 'candidate') hostsSeen = true;
    if (e.event === 'complete') settled[e.index] = true;
    else if (e.event === 'failed') {
      settled[e.index] = true;
      if (urls[e.index]) {
        const ge: GatherError = { url: urls[e.index]!.url, errorCode: 0, errorText: `werift could not start gathering: ${e.message}`, code: 'RTC_ERR_INTERNAL', elapsedMs: sinceGather(e.at) };
        errors.push(ge);
        opts.onError?.(ge);
      }
    } else if (e.event === 'candidate') {
      const c = parseCandidate(e.candidate);
      if (!c || !candidateAllowed(e.candidate, iceAddress)) return;
      // Host candidates from the first peer only: the others gather the same interfaces on other ports.
      if (c.type === 'host' && e.index !== 0) return;
      if (c.type === 'host') hostsSeen = true;
      const key = `${c.type} ${c.protocol} ${c.address} ${c.port}`;
      if (seen.has(key)) return;
      seen.add(key);
      const g: GatheredCandidate = {
        elapsedMs: sinceGather(e.at),
        type: c.type,
        protocol: c.protocol,
        address: c.address,
        port: c.port,
        priority: c.priority,
        relatedAddress: c.relatedAddress,
        relatedPort: c.relatedPort,
        foundation: c.foundation,
        component: c.component,
        url: c.type === 'host' ? undefined : urls[e.index]?.url,
        candidate: e.candidate,
      };
      candidates.push(g);
      opts.onCandidate?.(g);
    }
    poke();
  });
  worker.postMessage({
    type: 'gather',
    configs,
    tls: { ca: typeof opts.ca === 'string' ? Buffer.from(opts.ca) : opts.ca, insecure: opts.insecure },
  });

  const probeServer = opts.probe === false ? undefined : (await import('./turn-probe.js')).probeServer;
  const probeOpts = { localAddress: iceAddress, ca: opts.ca, insecure: opts.insecure, timeoutMs, signal: opts.signal };
  const probes = !probeServer
      ? []
      : servers.map((s, i) =>
          probeServer(s, urls[i]!, probeOpts).then((p) => {
            if (p.error) {
              const ge: GatherError = { url: urls[i]!.url, errorCode: errorCodeFor(p.error), errorText: p.error.message, code: p.error.code, elapsedMs: sinceGather(epochMs()) };
              errors.push(ge);
              opts.onError?.(ge);
            }
            if (p.definitive && !p.ok) settled[i] = true;
            poke();
            return p;
          }),
        );

  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    poke();
  }, timeoutMs);
  const onAbort = (): void => poke();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (!timedOut && !(hostsSeen && settled.every(Boolean)) && !opts.signal?.aborted) {
      await new Promise<void>((r) => (wake = r));
    }
    // Probes are bounded by their own timeouts; their answers explain what is missing.
    await Promise.all(probes);
  } finally {
    clearTimeout(deadline);
    opts.signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
  if (opts.signal?.aborted) {
    const r: unknown = opts.signal.reason;
    throw interruptError(r, 'interrupted while gathering');
  }

  const summaries: ServerSummary[] = urls.map((u) => {
    const kind = kindOf(u);
    const n = candidates.filter((c) => c.url === u.url && c.type === (kind === 'stun' ? 'srflx' : 'relay')).length;
    return { url: u.url, kind, candidates: n, ok: n > 0 };
  });
  for (const s of summaries) {
    if (!s.ok && !errors.some((e) => e.url === s.url)) {
      const ge: GatherError = {
        url: s.url,
        errorCode: UNREACHABLE_CODE,
        errorText: timedOut ? `no ${s.kind === 'stun' ? 'srflx' : 'relay'} candidate within ${timeoutMs} ms` : `werift gathered no ${s.kind === 'stun' ? 'srflx' : 'relay'} candidate`,
        code: timedOut ? 'RTC_ERR_TIMEOUT' : 'RTC_ERR_ICE_FAILED',
        elapsedMs: sinceGather(epochMs()),
      };
      errors.push(ge);
      opts.onError?.(ge);
    }
  }
  candidates.sort((a, b) => a.elapsedMs - b.elapsedMs);
  return {
    ok: summaries.every((s) => s.ok),
    candidates,
    errors,
    servers: summaries,
    verdict: verdictFor(summaries, errors, candidates),
    durationMs: elapsed(),
    startupMs: gatherStart === undefined ? null : Math.round((gatherStart - t0Epoch) * 10) / 10,
    timedOut,
  };
}
