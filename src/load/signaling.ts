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

/** What one sending step measured (LoadResult without the connection figures). */
export type StepResult = Pick<
  LoadResult,
  'offeredRate' | 'sentRate' | 'deliveredRate' | 'durationS' | 'sent' | 'delivered' | 'lost' | 'latencyMs' | 'latencyByGroup' | 'errors' | 'disconnected' | 'samples'
> & {
  /** Of `delivered`, how many arrived more than 2 s after the last send (only with a drain longer than 2 s). */
  arrivedAfter2s: number;
  /** Bytes the clients could not hand to the kernel when sending stopped: the server (TCP) pushing back. */
  queuedAtSenders: number;
};

export interface StepOptions {
  rate: number;
  durationMs: number;
  warmupMs?: number;
  drainMs?: number;
}

/**
 * Clients connected and joined once, then any number of sending steps (the benchmark climbs a ladder of rates over
 * the same connections). `runSignalingLoad` is one session with one step.
 */
export class LoadSession {
  private readonly clients: LoadClient[] = [];
  private senders: LoadClient[] = [];
  private measureFrom = Infinity;
  private measureTo = Infinity;
  private all = new Reservoir(1_000_000);
  private groups = new Map<string, Reservoir>();
  private readonly groupOf: string[] | undefined;
  private errors: Record<string, number> = {};
  private errorCount = 0;
  private sent = 0;
  private phase: LoadProgress['phase'] = 'connecting';
  private readonly started = performance.now();
  readonly joinFailures: Record<string, number> = {};
  joinAllS = 0;

  private constructor(private readonly o: LoadOptions, urls: URL[]) {
    const proto = o.protocol ?? RTC_PROTOCOL;
    const assign = o.assign ?? ((i: number) => i % urls.length);
    const prefix = o.roomPrefix ?? `load-${randomBytes(3).toString('hex')}`;
    const pad = 'x'.repeat(Math.max(0, Math.min(60_000, o.payloadBytes ?? 120)));
    this.groupOf = o.group ? Array.from({ length: o.clients }, (_, i) => o.group!(i)) : undefined;
    const sink = {
      latency: (sentUs: number, now: number, c: LoadClient): void => {
        if (sentUs < this.measureFrom || sentUs > this.measureTo) return;
        this.all.add(now - sentUs);
        if (this.groupOf) {
          // Both clients of a room are in one group by construction (the caller assigns by room).
          const g = this.groupOf[c.index]!;
          let r = this.groups.get(g);
          if (!r) this.groups.set(g, (r = new Reservoir(200_000)));
          r.add(now - sentUs);
        }
      },
      error: (code: string): void => {
        this.errors[code] = (this.errors[code] ?? 0) + 1;
        this.errorCount++;
      },
    };
    for (let i = 0; i < o.clients; i++) this.clients.push(new LoadClient(i, urls[assign(i) % urls.length]!, `${prefix}-${i >> 1}`, proto, sink, o.token, pad));
  }

  /** Connect and join every client. Rejects RTC_ERR_USAGE / RTC_ERR_BAD_URL, RTC_ERR_SIGNAL_CONNECT if none joined. */
  static async connect(o: LoadOptions): Promise<LoadSession> {
    const s = new LoadSession(o, checkOptions(o));
    const ticker = setInterval(() => s.progress(), 1000);
    try {
      await s.joinAll();
    } catch (e) {
      s.close();
      throw e;
    } finally {
      clearInterval(ticker);
    }
    return s;
  }

  get joined(): LoadClient[] {
    return this.clients.filter((c) => c.joined && !c.closed);
  }

  private progress(): void {
    this.o.onProgress?.({
      phase: this.phase,
      elapsedS: (performance.now() - this.started) / 1000,
      joined: this.clients.filter((c) => c.joined).length,
      clients: this.o.clients,
      sent: this.sent,
      delivered: this.all.count,
      errors: this.errorCount,
    });
  }

  private abortIfAsked(): void {
    if (this.o.signal?.aborted) throw interruptError(this.o.signal.reason, 'load test interrupted');
  }

  private async joinAll(): Promise<void> {
    let next = 0;
    const o = this.o;
    await Promise.all(
      Array.from({ length: Math.min(o.connectConcurrency ?? 200, o.clients) }, async () => {
        while (next < this.clients.length && !o.signal?.aborted) {
          const c = this.clients[next++]!;
          await c.start(o.connectTimeoutMs ?? 10_000).catch((e: Error) => {
            this.joinFailures[e.message] = (this.joinFailures[e.message] ?? 0) + 1;
          });
        }
      }),
    );
    this.abortIfAsked();
    this.joinAllS = (performance.now() - this.started) / 1000;
    const live = this.joined;
    if (live.length === 0) {
      throw new RtcError('RTC_ERR_SIGNAL_CONNECT', `no client could join at ${o.url} (${Object.entries(this.joinFailures).map(([k, v]) => `${v}× ${k}`).join(', ')})`, {
        hint: 'is a signaling server running there? For rtc-cli serve: --max-per-address must allow the clients (all come from one address)',
      });
    }
    // Only complete pairs send: a client whose room-mate did not join would count every message as lost.
    this.senders = live.filter((c) => this.clients[c.index ^ 1]!.joined);
  }

  /** Send at `rate` for warm-up + duration, then drain. */
  async step(st: StepOptions): Promise<StepResult> {
    this.all = new Reservoir(1_000_000);
    this.groups = new Map();
    this.errors = {};
    const ticker = setInterval(() => this.progress(), 1000);
    try {
      return await this.run(st);
    } finally {
      clearInterval(ticker);
    }
  }

  private async run(st: StepOptions): Promise<StepResult> {
    const warm = st.warmupMs ?? 0;
    const senders = this.senders;
    this.phase = 'sending';
    const t0 = performance.now();
    this.measureFrom = nowUs() + warm * 1000;
    this.measureTo = this.measureFrom + st.durationMs * 1000;
    let measuredSent = 0;
    let cursor = 0;
    let credit = 0;
    let last = t0;
    const end = t0 + warm + st.durationMs;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        if (now >= end || this.o.signal?.aborted || senders.length === 0) return resolve();
        credit += ((now - last) / 1000) * st.rate;
        last = now;
        // At most 50 ms worth in one go: a generator that fell behind stays behind (sentRate shows it).
        const n = Math.min(Math.floor(credit), Math.ceil(st.rate / 20));
        credit -= Math.floor(credit);
        for (let i = 0; i < n; i++) {
          const ts = senders[cursor++ % senders.length]!.send();
          if (ts < 0) continue;
          this.sent++;
          // In the measured window by its stamp, the same test the receiving side applies (sink.latency): a message
          // stamped after the window closed is neither expected nor counted, so it cannot show up as lost.
          if (ts >= this.measureFrom && ts <= this.measureTo) measuredSent++;
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    this.abortIfAsked();
    const sendS = (performance.now() - t0 - warm) / 1000;
    const queuedAtSenders = senders.reduce((a, c) => a + c.backlog, 0);
    // Drain: until everything measured arrived, or the bound.
    this.phase = 'draining';
    const drainStart = performance.now();
    const drainEnd = drainStart + (st.drainMs ?? 2000);
    let at2s: number | undefined;
    while (performance.now() < drainEnd && this.all.count < measuredSent && !this.o.signal?.aborted) {
      await sleep(50);
      if (at2s === undefined && performance.now() - drainStart >= 2000) at2s = this.all.count;
    }
    this.abortIfAsked();
    const delivered = this.all.count;
    const lat = this.all.percentiles();
    return {
      offeredRate: st.rate,
      sentRate: measuredSent / Math.max(sendS, 1e-3),
      deliveredRate: delivered / Math.max(sendS, 1e-3),
      durationS: sendS,
      sent: measuredSent,
      delivered,
      lost: Math.max(0, measuredSent - delivered),
      arrivedAfter2s: at2s === undefined ? 0 : delivered - at2s,
      queuedAtSenders,
      latencyMs: { p50: lat.p50, p95: lat.p95, p99: lat.p99, max: lat.max },
      ...(this.groupOf ? { latencyByGroup: Object.fromEntries([...this.groups].map(([g, r]) => [g, r.percentiles()])) } : {}),
      errors: { ...this.errors },
      disconnected: this.senders.filter((c) => c.closed).length,
      samples: Math.min(delivered, 1_000_000),
    };
  }

  close(): void {
    for (const c of this.clients) c.destroy();
  }
}

/** Run one load test. Rejects RTC_ERR_USAGE / RTC_ERR_BAD_URL on bad options, RTC_ERR_SIGNAL_CONNECT if no client could join. */
export async function runSignalingLoad(o: LoadOptions): Promise<LoadResult> {
  const session = await LoadSession.connect(o);
  try {
    const live = session.joined;
    const step = await session.step({ rate: o.rate, durationMs: o.durationMs, warmupMs: o.warmupMs, drainMs: o.drainMs });
    const { arrivedAfter2s: _late, queuedAtSenders: _queued, ...measured } = step;
    void _late;
    void _queued;
    return {
      url: o.url,
      clients: o.clients,
      rooms: o.clients / 2,
      joined: live.length,
      joinFailures: session.joinFailures,
      joinMs: percentilesOf(live.map((c) => c.joinMs)),
      joinAllS: session.joinAllS,
      ...measured,
    };
  } finally {
    session.close();
  }
}
