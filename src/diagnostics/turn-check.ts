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
import { isIP } from 'node:net';
import { interruptError, RtcError } from '../errors.js';
import { parseIceServerUrl, type IceServerUrl } from '../rtc/ice-config.js';
// Only light modules are imported statically: the TURN client pulls in werift's STUN codec (~0.4 s to load), which
// is imported after the werift worker has been started, so both loads run in parallel (see turnCheck).
import { mintRestCredentials } from '../turn/credentials.js';
import { readCaFile } from './ca-file.js';
import { protocolToRtcError } from './protocol-errors.js';
import { startIceEchoWorker } from './turn-ice.js';
import { round, type Creds, type TurnCheck, type TurnCheckOptions, type TurnCheckResult } from './turn-check-model.js';

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

function credentialsFrom(opts: TurnCheckOptions): Creds {
  if (opts.secret !== undefined && opts.password !== undefined) {
    throw new RtcError('RTC_ERR_USAGE', 'give either long-term credentials (username and password) or a TURN REST secret, not both', { details: { option: 'secret' } });
  }
  if (opts.secret !== undefined) {
    const user = opts.user ?? opts.username ?? 'rtc-cli';
    try {
      const c = mintRestCredentials({ secret: opts.secret, user, ttlSeconds: opts.ttlSeconds });
      return { username: c.username, password: c.password, auth: 'rest' };
    } catch (e) {
      throw protocolToRtcError(e, { role: 'TURN' });
    }
  }
  if (!opts.username || opts.password === undefined) {
    throw new RtcError('RTC_ERR_USAGE', 'TURN needs credentials: a username and password, or a TURN REST secret', { details: { option: 'credentials' } });
  }
  return { username: opts.username, password: opts.password, auth: 'long-term' };
}

/** Run every check. Throws only for bad input (exit 2) and interruption; a failed check is in the result. */
export async function turnCheck(opts: TurnCheckOptions): Promise<TurnCheckResult> {
  const t0 = performance.now();
  const urls = parseTurnUrls(opts.urls);
  const creds = credentialsFrom(opts);
  const count = opts.count ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    throw new RtcError('RTC_ERR_USAGE', `the relay packet count must be 1-10000 (got ${count})`, { details: { option: 'count' } });
  }
  if (opts.localAddress !== undefined && isIP(opts.localAddress) === 0) {
    throw new RtcError('RTC_ERR_BAD_ADDRESS', `local address "${opts.localAddress}" is not an IP address`, { details: { option: 'localAddress' } });
  }
  if (opts.caFile !== undefined) opts = { ...opts, ca: await readCaFile(opts.caFile) };
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

export type { CheckError, StepName, TurnCheck, TurnCheckOptions, TurnCheckResult } from './turn-check-model.js';
export { percentile } from './turn-check-model.js';
