/**
 * `rtc-cli load signaling`: N clients in rooms of two relay R messages/s in total to their room-mate for S seconds;
 * the result is the join time, what was delivered and lost, relay latency percentiles and the server's errors.
 *
 * Built to load a server from one core of a small machine (bench.md: with the npm `ws` client the generator saturates
 * before the server): bare sockets, pre-built masked frames with the timestamp patched in (client.ts). Everything is
 * bounded: clients, rate and duration by hard caps, every phase by a deadline, latency memory by a reservoir. A message
 * is "lost" if it had not arrived when the drain (after the last send) ended; "late" ones that arrive during the drain
 * are counted as delivered and their latency shows it. Library code: never prints, never exits.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RtcError, interruptError } from '../errors.js';
import { LoadClient, RTC_PROTOCOL, nowUs, type LoadProtocol } from './client.js';

export const LOAD_LIMITS = { maxClients: 50_000, maxRate: 1_000_000, maxDurationMs: 3_600_000 } as const;

export interface LoadOptions {
  /** ws:// or wss:// URL of the signaling endpoint. Required: there is no default target. */
  url: string;
  /** More URLs to spread the clients over (the instances behind a load balancer); `assign` picks one per client. */
  urls?: string[];
  /** Which of [url, ...urls] client i uses. Default: round robin (so with two URLs every room spans both). */
  assign?: (client: number) => number;
  /** Even, ≥ 2. */
  clients: number;
  /** Relays per second over all clients. */
  rate: number;
  durationMs: number;
  /** Sent but not measured first (connections settle, JITs warm up). Default 0. */
  warmupMs?: number;
  /** After the last send, wait this long for messages still on their way. Default 2000. */
  drainMs?: number;
  /** Bytes of padding in each message (a ~200-byte message by default: 120). */
  payloadBytes?: number;
  token?: string;
  /** Room names are `<prefix>-<n>`. Default: load-<random>. */
  roomPrefix?: string;
  /** Connections being opened at once. Default 200. */
  connectConcurrency?: number;
  /** Per client. Default 10000. */
  connectTimeoutMs?: number;
  protocol?: LoadProtocol;
  /** A label per client for latency by group (the benchmark: same-instance vs cross-instance rooms). */
  group?: (client: number) => string;
  signal?: AbortSignal;
  /** About once a second. */
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadProgress {
  phase: 'connecting' | 'sending' | 'draining';
  elapsedS: number;
  joined: number;
  clients: number;
  sent: number;
  delivered: number;
  errors: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  url: string;
  clients: number;
  rooms: number;
  /** The rate asked for, and what was sent and delivered per second in the measured window. */
  offeredRate: number;
  sentRate: number;
  deliveredRate: number;
  durationS: number;
  joined: number;
  /** Clients that could not join, by reason (a server error code, "full", "timeout", ECONNREFUSED ...). */
  joinFailures: Record<string, number>;
  /** ms from connect to joined, per client; and the wall time to have them all joined. */
  joinMs: Percentiles;
  joinAllS: number;
  /** Measured window (after warm-up): sent, delivered (by the end of the drain), lost = sent − delivered. */
  sent: number;
  delivered: number;
  lost: number;
  /** Send → receive at the room-mate, ms (same clock). */
  latencyMs: Percentiles;
  latencyByGroup?: Record<string, Percentiles & { count: number }>;
  /** Server error frames after joining, by code (rate-limited, server-busy, undeliverable ...). */
  errors: Record<string, number>;
  /** Clients whose connection closed during the run. */
  disconnected: number;
  /** Latency samples kept (all of them up to 1,000,000; a uniform sample beyond). */
  samples: number;
}

/** Latencies in µs: every one up to the capacity, then a uniform reservoir sample (Vitter's algorithm R). */
class Reservoir {
  private readonly buf: Float64Array;
  private n = 0;
  constructor(capacity: number) {
    this.buf = new Float64Array(capacity);
  }
  add(v: number): void {
    if (this.n < this.buf.length) this.buf[this.n] = v;
    else {
      const j = Math.floor(Math.random() * (this.n + 1));
      if (j < this.buf.length) this.buf[j] = v;
    }
    this.n++;
  }
  get count(): number {
    return this.n;
  }
  percentiles(): Percentiles & { count: number } {
    const s = this.buf.slice(0, Math.min(this.n, this.buf.length)).sort();
    const at = (p: number): number => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! / 1000);
    return { p50: at(50), p95: at(95), p99: at(99), max: s.length ? s[s.length - 1]! / 1000 : NaN, count: this.n };
  }
}

function percentilesOf(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number): number => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!);
  return { p50: at(50), p95: at(95), p99: at(99), max: s.length ? s[s.length - 1]! : NaN };
}

function checkOptions(o: LoadOptions): URL[] {
  const urls = [o.url, ...(o.urls ?? [])].map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new RtcError('RTC_ERR_BAD_URL', `bad signaling URL "${u}"`, { hint: 'give the server to load explicitly, e.g. ws://127.0.0.1:3000/ws' });
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new RtcError('RTC_ERR_BAD_URL', `the URL to load must start with ws:// or wss:// (got "${u}")`, { hint: 'e.g. ws://127.0.0.1:3000/ws' });
    }
    return parsed;
  });
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new RtcError('RTC_ERR_USAGE', `${name} must be a whole number between ${min} and ${max} (got ${v})`);
  };
  int('clients', o.clients, 2, LOAD_LIMITS.maxClients);
  if (o.clients % 2 !== 0) throw new RtcError('RTC_ERR_USAGE', `clients must be even: they meet in rooms of two (got ${o.clients})`);
  if (!(o.rate > 0 && o.rate <= LOAD_LIMITS.maxRate)) throw new RtcError('RTC_ERR_USAGE', `rate must be above 0 and at most ${LOAD_LIMITS.maxRate} messages/s (got ${o.rate})`);
  int('duration (ms)', o.durationMs, 100, LOAD_LIMITS.maxDurationMs);
  const fds = openFileLimit();
  if (fds !== undefined && o.clients + 64 > fds) {
    throw new RtcError('RTC_ERR_USAGE', `${o.clients} clients need ${o.clients + 64} open files; this process may open ${fds}`, {
      hint: `raise the limit first (ulimit -n ${o.clients * 2 + 1024}); the server needs as many`,
    });
  }
  return urls;
}

/** The soft RLIMIT_NOFILE (Linux /proc), or undefined where it cannot be read. */
function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run one load test. Rejects RTC_ERR_USAGE / RTC_ERR_BAD_URL on bad options, RTC_ERR_SIGNAL_CONNECT if no client could join. */
export async function runSignalingLoad(o: LoadOptions): Promise<LoadResult> {
  const urls = checkOptions(o);
  const proto = o.protocol ?? RTC_PROTOCOL;
  const assign = o.assign ?? ((i: number) => i % urls.length);
  const prefix = o.roomPrefix ?? `load-${randomBytes(3).toString('hex')}`;
  const pad = 'x'.repeat(Math.max(0, Math.min(60_000, o.payloadBytes ?? 120)));
  const started = performance.now();
  const elapsedS = (): number => (performance.now() - started) / 1000;
  const abortIfAsked = (): void => {
    if (o.signal?.aborted) throw interruptError(o.signal.reason, 'load test interrupted');
  };

  // Measurement state: a relay counts if it was sent inside the measured window.
  let measureFrom = Infinity;
  let measureTo = Infinity;
  const all = new Reservoir(1_000_000);
  const groups = new Map<string, Reservoir>();
  const groupOf = o.group ? Array.from({ length: o.clients }, (_, i) => o.group!(i)) : undefined;
  const errors: Record<string, number> = {};
  let errorCount = 0;
  const sink = {
    latency(sentUs: number, now: number, c: LoadClient): void {
      if (sentUs < measureFrom || sentUs > measureTo) return;
      all.add(now - sentUs);
      if (groupOf) {
        // The receiver's room-mate sent it: the pair shares a group by construction (assign by room).
        const g = groupOf[c.index]!;
        let r = groups.get(g);
        if (!r) groups.set(g, (r = new Reservoir(200_000)));
        r.add(now - sentUs);
      }
    },
    error(code: string): void {
      errors[code] = (errors[code] ?? 0) + 1;
      errorCount++;
    },
  };

  const clients: LoadClient[] = [];
  for (let i = 0; i < o.clients; i++) clients.push(new LoadClient(i, urls[assign(i) % urls.length]!, `${prefix}-${i >> 1}`, proto, sink, o.token, pad));

  // Phase 1: connect and join, `connectConcurrency` at a time (a listen backlog is typically 511).
  let sent = 0;
  let phase: LoadProgress['phase'] = 'connecting';
  const ticker = setInterval(
    () => o.onProgress?.({ phase, elapsedS: elapsedS(), joined: clients.filter((c) => c.joined).length, clients: o.clients, sent, delivered: all.count, errors: errorCount }),
    1000,
  );
  const joinFailures: Record<string, number> = {};
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(o.connectConcurrency ?? 200, o.clients) }, async () => {
        while (next < clients.length && !o.signal?.aborted) {
          const c = clients[next++]!;
          await c.start(o.connectTimeoutMs ?? 10_000).catch((e: Error) => {
            joinFailures[e.message] = (joinFailures[e.message] ?? 0) + 1;
          });
        }
      }),
    );
    abortIfAsked();
    const joinAllS = elapsedS();
    const live = clients.filter((c) => c.joined && !c.closed);
    if (live.length === 0) {
      throw new RtcError('RTC_ERR_SIGNAL_CONNECT', `no client could join at ${o.url} (${Object.entries(joinFailures).map(([k, v]) => `${v}× ${k}`).join(', ')})`, {
        hint: 'is a signaling server running there? For rtc-cli serve: --max-per-address must allow the clients (all come from one address)',
      });
    }
    // Only complete pairs send: a client whose room-mate did not join would count every message as lost.
    const senders = live.filter((c) => clients[c.index ^ 1]!.joined);

    // Phase 2: send at `rate` for warm-up + duration, round robin over the senders.
    phase = 'sending';
    const warm = o.warmupMs ?? 0;
    const t0 = performance.now();
    measureFrom = nowUs() + warm * 1000;
    measureTo = measureFrom + o.durationMs * 1000;
    let measuredSent = 0;
    let cursor = 0;
    let credit = 0;
    let last = t0;
    const end = t0 + warm + o.durationMs;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        if (now >= end || o.signal?.aborted || senders.length === 0) return resolve();
        credit += ((now - last) / 1000) * o.rate;
        last = now;
        // At most 50 ms worth in one go: a generator that fell behind stays behind (sentRate shows it).
        const n = Math.min(Math.floor(credit), Math.ceil(o.rate / 20));
        credit -= Math.floor(credit);
        const inWindow = now - t0 >= warm;
        for (let i = 0; i < n; i++) {
          if (senders[cursor++ % senders.length]!.send()) {
            sent++;
            if (inWindow) measuredSent++;
          }
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    abortIfAsked();
    const sendS = (performance.now() - t0 - warm) / 1000;

    // Phase 3: drain: until everything measured arrived, or the bound.
    phase = 'draining';
    const drainEnd = performance.now() + (o.drainMs ?? 2000);
    while (performance.now() < drainEnd && all.count < measuredSent && !o.signal?.aborted) await sleep(50);
    abortIfAsked();
    const disconnected = live.filter((c) => c.closed).length;
    const delivered = all.count;
    const latencyByGroup = groupOf ? Object.fromEntries([...groups].map(([g, r]) => [g, r.percentiles()])) : undefined;
    const lat = all.percentiles();
    return {
      url: o.url,
      clients: o.clients,
      rooms: o.clients / 2,
      offeredRate: o.rate,
      sentRate: measuredSent / Math.max(sendS, 1e-3),
      deliveredRate: delivered / Math.max(sendS, 1e-3),
      durationS: sendS,
      joined: live.length,
      joinFailures,
      joinMs: percentilesOf(live.map((c) => c.joinMs)),
      joinAllS,
      sent: measuredSent,
      delivered,
      lost: Math.max(0, measuredSent - delivered),
      latencyMs: { p50: lat.p50, p95: lat.p95, p99: lat.p99, max: lat.max },
      ...(latencyByGroup ? { latencyByGroup } : {}),
      errors,
      disconnected,
      samples: Math.min(all.count, 1_000_000),
    };
  } finally {
    clearInterval(ticker);
    for (const c of clients) c.destroy();
  }
}
