/**
 * `rtc-cli turn-check`: prove that a TURN deployment works, step by step, for each turn:/turns: URL:
 *
 *   1. resolve the host;
 *   2. Allocate with the long-term credential challenge (RFC 8656 §7, RFC 8489 §9.2), then Refresh (§8);
 *   3. a second allocation; CreatePermission both ways (§9); ChannelBind on the first (§12);
 *   4. N packets from allocation A through the relay to allocation B and back (A sends ChannelData, B answers with
 *      Send indications; the server delivers them as Data indications and ChannelData): RTT p50/p95/max and loss.
 *      Two allocations talking to each other need nothing but the server, so this works against any deployment;
 *   5. a full ICE connection between two in-process werift peers with relay-only policy and a data-channel echo —
 *      the path a browser takes.
 *
 * Every failure is an RtcError in words (wrong credentials, stale nonce, quota, forbidden, unreachable, TLS, relay
 * without data); the first failing step of a URL is recorded in its check and the other URLs still run.
 * Credentials are never put into results, messages or details.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { interruptError, RtcError, type RtcErrorCode } from '../errors.js';
import { parseIceServerUrl, type IceServerUrl } from '../rtc/ice-config.js';
// Only light modules are imported statically: the TURN client pulls in werift's STUN codec (~0.4 s to load), which
// is imported after the werift worker has been started, so both loads run in parallel (see turnCheck).
import { startIceEchoWorker } from './turn-ice.js';
import { mintRestCredentials } from './turn-credentials.js';
import type { TurnTransportKind } from './turn-transport.js';

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

/** Parse every URL up front (bad input must exit 2 before any network traffic). */
export function parseTurnUrls(urls: string[]): IceServerUrl[] {
  if (urls.length === 0) throw new RtcError('RTC_ERR_USAGE', 'give at least one turn: or turns: URL', { hint: 'e.g. rtc-cli turn-check turn:turn.example.com:3478' });
  return urls.map((url) => {
    const u = parseIceServerUrl(url);
    if (u.scheme !== 'turn' && u.scheme !== 'turns') {
      throw new RtcError('RTC_ERR_BAD_URL', `turn-check needs turn: or turns: URLs, not "${url}"`, {
        hint: 'STUN servers are probed with `rtc-cli nat-probe`',
      });
    }
    return u;
  });
}

export interface Creds {
  username: string;
  password: string;
  auth: 'long-term' | 'rest';
}

function credentialsFrom(opts: TurnCheckOptions): Creds {
  if (opts.secret !== undefined && opts.password !== undefined) {
    throw new RtcError('RTC_ERR_USAGE', 'give either --username/--credential or --secret, not both');
  }
  if (opts.secret !== undefined) {
    const user = opts.user ?? opts.username ?? 'rtc-cli';
    const c = mintRestCredentials({ secret: opts.secret, user, ttlSeconds: opts.ttlSeconds });
    return { username: c.username, password: c.password, auth: 'rest' };
  }
  if (!opts.username || opts.password === undefined) {
    throw new RtcError('RTC_ERR_USAGE', 'TURN needs credentials: --username and --credential, or --secret', {
      hint: 'or set RTC_TURN_USERNAME and RTC_TURN_CREDENTIAL, or RTC_TURN_SECRET',
    });
  }
  return { username: opts.username, password: opts.password, auth: 'long-term' };
}

async function readCa(file: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `--ca file "${file}" does not exist`);
    throw new RtcError('RTC_ERR_FILE_UNREADABLE', `--ca file "${file}" cannot be read (${code ?? String(e)})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RtcError('RTC_ERR_CERT', `--ca file "${file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return pem;
}

/** Run every check. Throws only for bad input (exit 2) and interruption; a failed check is in the result. */
export async function turnCheck(opts: TurnCheckOptions): Promise<TurnCheckResult> {
  const t0 = performance.now();
  const urls = parseTurnUrls(opts.urls);
  const creds = credentialsFrom(opts);
  const count = opts.count ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new RtcError('RTC_ERR_USAGE', `--count must be 1-10000 (got ${count})`);
  if (opts.localAddress !== undefined && isIP(opts.localAddress) === 0) {
    throw new RtcError('RTC_ERR_BAD_ADDRESS', `--local-address "${opts.localAddress}" is not an IP address`);
  }
  if (opts.caFile !== undefined) opts = { ...opts, ca: await readCa(opts.caFile) };
  const checks: TurnCheck[] = [];
  // The worker first (werift loads there), then the TURN code here: the two loads overlap.
  const worker = (opts.ice ?? true) ? startIceEchoWorker() : undefined;
  try {
    const { checkOne } = await import('./turn-check-steps.js');
    const ctx = { creds, opts, timeoutMs: opts.timeoutMs ?? 5000, worker };
    for (const u of urls) {
      if (opts.signal?.aborted) {
        const r: unknown = opts.signal.reason;
        throw interruptError(r);
      }
      checks.push(await checkOne(u, ctx));
    }
  } finally {
    await worker?.close();
  }
  const ok = checks.every((c) => !c.error);
  return { ok, auth: creds.auth, username: creds.username, checks, durationMs: round(performance.now() - t0) };
}
