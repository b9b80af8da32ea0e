/**
 * What the server counts for /metrics (and /healthz): plain numbers and fixed-bucket histograms, updated on the hot
 * path at the cost of an addition. The Prometheus exposition (src/signaling/prometheus.ts, prom-client) reads them
 * only when scraped, and only when `serve --metrics-port` asked for it, so prom-client is never loaded otherwise.
 *
 * Labels are closed sets (a drop reason, an error code, a path): never a room name, a peer id, a token or a payload.
 */
import { performance } from 'node:perf_hooks';
import type { SignalErrorCode } from './protocol.js';

/** Why a message (or one delivery of it) went nowhere. Each is also visible to someone: see docs/signaling-protocol.md. */
export const DROP_REASONS = [
  /** over the connection's rate limit (the sender got `rate-limited`) */
  'rate-limited',
  /** over --max-message-bytes (`too-large`) */
  'too-large',
  /** not valid JSON / not a protocol message (`bad-json`, `bad-message`, `unknown-type`, `bad-room`) */
  'invalid',
  /** more than 256 messages of one connection waiting (`server-busy`) */
  'queue-full',
  /** relay before joining, or to a peer not in the room (`not-joined`, `unknown-peer`) */
  'not-joined',
  'unknown-peer',
  /** the recipient sits on another instance that cannot be reached (`undeliverable` to the sender) */
  'undeliverable',
  /** the recipient's connection closed before the message could be written (it is leaving; its room gets peer-left) */
  'recipient-gone',
  /** the recipient did not read what it was sent and was cut off (`slow-consumer` in the log) */
  'slow-consumer',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Upper bounds (seconds) of the relay latency histogram: 0.1 ms … 2.5 s. */
export const RELAY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Upper bounds (seconds) of the shared store's round-trip histogram. */
export const STORE_RTT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** A fixed-bucket histogram (cumulative on export, as Prometheus wants it). */
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += seconds;
    this.count++;
  }

  /** [upper bound, cumulative count] pairs, then +Inf = count. */
  cumulative(): [number, number][] {
    let acc = 0;
    return this.bounds.map((le, i) => [le, (acc += this.counts[i]!)] as [number, number]);
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes of one machine). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export class ServerMetrics {
  readonly dropped: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  readonly errors = new Map<SignalErrorCode, number>();
  /** Relay latency: message received by the server (the first instance) → written to the recipient's socket. */
  readonly relayLocal = new Buckets(RELAY_BUCKETS);
  readonly relayRemote = new Buckets(RELAY_BUCKETS);
  readonly storeRtt = new Buckets(STORE_RTT_BUCKETS);
  connectionsTotal = 0;

  drop(reason: DropReason, n = 1): void {
    this.dropped[reason] += n;
  }

  error(code: SignalErrorCode): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** A relay reached its recipient's socket; `sentAt` is wallNow() when the first instance received it. */
  delivered(sentAt: number, remote: boolean): void {
    const s = Math.max(0, wallNow() - sentAt) / 1000;
    (remote ? this.relayRemote : this.relayLocal).observe(s);
  }
}
