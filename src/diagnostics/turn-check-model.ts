/**
 * The shape of a turn-check run: options, the per-URL check record and the result, with the small helpers both
 * turn-check.ts (the run) and turn-check-steps.ts (the steps of one URL) use. Kept apart so that neither imports the
 * other (turn-check.ts loads the steps lazily).
 */
import type { RtcErrorCode } from '../errors.js';
import type { IceServerUrl } from '../rtc/ice-config.js';
import type { TurnTransportKind } from '../turn/transport.js';

export interface TurnCheckOptions {
  urls: string[];
  /** Long-term credentials ... */
  username?: string;
  password?: string;
  /** ... or a TURN REST shared secret (coturn use-auth-secret), minted into credentials here. */
  secret?: string;
  /** REST credential lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  /** REST user part (default "rtc-cli"). */
  user?: string;
  /** PEM CA for turns: (the file's contents) ... */
  ca?: string | Buffer;
  /** ... or the file to read it from (RTC_ERR_FILE_NOT_FOUND / RTC_ERR_CERT when unusable). */
  caFile?: string;
  /** Skip certificate verification for turns:. */
  insecure?: boolean;
  /** Packets sent through the relay (default 10). */
  count?: number;
  /** Spacing between relay packets (default 5 ms). */
  intervalMs?: number;
  /** Fail the relay step above this loss (percent, default 0: every packet must come back). */
  maxLossPct?: number;
  /** Time limit of each step (a request, the relay echo, ICE). Default 5000 ms. */
  timeoutMs?: number;
  /** Run the werift ICE step (default true). */
  ice?: boolean;
  /** Local address for the sockets (and the only address ICE gathers on). Default: 127.0.0.1 for a loopback server. */
  localAddress?: string;
  signal?: AbortSignal;
  /** Progress, one call per finished step (for human output and NDJSON events). */
  onStep?: (e: { url: string; step: StepName; ok: boolean; ms: number; detail?: string }) => void;
}

export type StepName = 'resolve' | 'allocate' | 'refresh' | 'permission' | 'relay' | 'ice';

export interface CheckError {
  code: RtcErrorCode;
  message: string;
  hint?: string;
  /** The step that failed. */
  step: StepName;
  /** Machine-readable facts (the STUN error code, the option involved, ...), as RtcError.details. */
  details?: Record<string, unknown>;
}

export interface TurnCheck {
  url: string;
  transport: TurnTransportKind;
  /** The server address the host resolved to. */
  server?: string;
  allocate: { ok: boolean; relayedAddress: string | null; mappedAddress?: string | null; lifetimeSeconds?: number; ms: number | null };
  refresh: { ok: boolean | null; lifetimeSeconds?: number; ms: number | null };
  permission: { ok: boolean | null; ms: number | null };
  relay: {
    ok: boolean | null;
    sent: number;
    received: number;
    rttMs: { p50: number; p95: number; max: number } | null;
    lossPct: number | null;
  };
  /** ok null: not run (--no-ice, or an earlier step failed). */
  ice: { ok: boolean | null; ms: number | null; path?: string };
  /** Total for this URL. */
  ms: number;
  error?: CheckError;
}

export interface TurnCheckResult {
  ok: boolean;
  /** "long-term" or "rest" (minted from --secret); the username is shown, never the password or secret. */
  auth: 'long-term' | 'rest';
  username: string;
  checks: TurnCheck[];
  durationMs: number;
}

export const round = (n: number): number => Math.round(n * 100) / 100;

/** Nearest-rank percentile (sorted input). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function transportOf(u: IceServerUrl): TurnTransportKind {
  if (u.scheme === 'turns') return 'tls';
  return u.transport === 'tcp' ? 'tcp' : 'udp';
}

export interface Creds {
  username: string;
  password: string;
  auth: 'long-term' | 'rest';
}

/** A check with nothing run yet. */
export function emptyCheck(u: IceServerUrl): TurnCheck {
  return {
    url: u.url,
    transport: transportOf(u),
    allocate: { ok: false, relayedAddress: null, ms: null },
    refresh: { ok: null, ms: null },
    permission: { ok: null, ms: null },
    relay: { ok: null, sent: 0, received: 0, rttMs: null, lossPct: null },
    ice: { ok: null, ms: null },
    ms: 0,
  };
}
