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
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { RtcError, toRtcError, type RtcErrorCode } from '../errors.js';
import { parseIceServerUrl, type IceServerUrl } from '../rtc/ice-config.js';
import { formatEndpoint, type Endpoint } from './stun-message.js';
import { resolveHost } from './stun-transaction.js';
import { TurnClient, MIN_CHANNEL } from './turn-client.js';
import { startIceEchoWorker, type IceEchoWorker } from './turn-ice.js';
import { mintRestCredentials } from './turn-credentials.js';
import { openStreamTransport, openUdpTransport, type TurnTransport, type TurnTransportKind } from './turn-transport.js';

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

const round = (n: number): number => Math.round(n * 100) / 100;

/** Nearest-rank percentile (sorted input). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

function transportOf(u: IceServerUrl): TurnTransportKind {
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

interface Creds {
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

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

function emptyCheck(u: IceServerUrl): TurnCheck {
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function throwIfAborted(signal?: AbortSignal): void {
  if (!signal?.aborted) return;
  const r: unknown = signal.reason;
  throw r instanceof RtcError ? r : new RtcError('RTC_ERR_INTERRUPTED', 'interrupted');
}

interface Ctx {
  creds: Creds;
  opts: TurnCheckOptions;
  timeoutMs: number;
  /** One worker for every URL's ICE step, started first so werift loads while the TURN steps run. */
  worker?: IceEchoWorker;
}

async function openTransport(kind: TurnTransportKind, server: Endpoint, serverName: string, ctx: Ctx): Promise<TurnTransport> {
  if (kind === 'udp') return openUdpTransport({ server, localAddress: ctx.opts.localAddress });
  return openStreamTransport({
    server,
    serverName,
    tls: kind === 'tls',
    ca: ctx.opts.ca,
    insecure: ctx.opts.insecure,
    localAddress: ctx.opts.localAddress,
    connectTimeoutMs: ctx.timeoutMs,
    signal: ctx.opts.signal,
  });
}

/** The relay data path: A --ChannelData--> relay A --> relay B --Data indication--> B --Send--> relay B --> relay A --ChannelData--> A. */
async function relayEcho(a: TurnClient, b: TurnClient, ctx: Ctx): Promise<{ sent: number; rtts: number[] }> {
  const count = ctx.opts.count ?? 10;
  const interval = ctx.opts.intervalMs ?? 5;
  const aRelay = a.relayed!;
  const bRelay = b.relayed!;
  const tag = randomBytes(8);
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let all: (() => void) | undefined;
  const allBack = new Promise<void>((r) => (all = r));
  // B echoes only what comes from A's relay address (anything else on the relay is not ours).
  b.onData = (d) => {
    if (d.peer && d.peer.address === aRelay.address && d.peer.port === aRelay.port) b.sendIndication(aRelay, d.data);
  };
  a.onData = (d) => {
    if (d.data.length < 12 || !d.data.subarray(0, 8).equals(tag)) return;
    const seq = d.data.readUInt32BE(8);
    const t = sentAt.get(seq);
    if (t === undefined) return;
    sentAt.delete(seq);
    rtts.push(performance.now() - t);
    if (rtts.length === count) all?.();
  };
  const channel = MIN_CHANNEL;
  await a.channelBind(bRelay, channel);
  const payload = (seq: number): Buffer => {
    const p = Buffer.alloc(100);
    tag.copy(p, 0);
    p.writeUInt32BE(seq, 8);
    return p;
  };
  for (let seq = 0; seq < count; seq++) {
    throwIfAborted(ctx.opts.signal);
    sentAt.set(seq, performance.now());
    a.sendChannelData(channel, payload(seq));
    if (interval > 0 && seq < count - 1) await sleep(interval, ctx.opts.signal);
  }
  // Stragglers: wait until everything is back, or the step's time limit.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allBack, new Promise<void>((r) => (timer = setTimeout(r, ctx.timeoutMs)))]);
  clearTimeout(timer);
  const failure = a.transport.failure ?? b.transport.failure;
  if (failure) throw failure;
  return { sent: count, rtts };
}

/** One URL, every step; never throws (the failure goes into check.error), except on interruption. */
async function checkOne(u: IceServerUrl, ctx: Ctx): Promise<TurnCheck> {
  const check = emptyCheck(u);
  const t0 = performance.now();
  const kind = check.transport;
  let step: StepName = 'resolve';
  const clients: TurnClient[] = [];
  const worker = ctx.worker;
  const emit = (s: StepName, ok: boolean, ms: number, detail?: string): void =>
    ctx.opts.onStep?.({ url: u.url, step: s, ok, ms: round(ms), detail });
  try {
    let ts = performance.now();
    const family = isIP(u.host) === 6 ? 6 : 4;
    const address = await resolveHost(u.host, { family, timeoutMs: ctx.timeoutMs, signal: ctx.opts.signal });
    const server: Endpoint = { address, port: u.port };
    check.server = formatEndpoint(server);
    emit('resolve', true, performance.now() - ts, check.server);
    const localAddress = ctx.opts.localAddress ?? (isLoopback(address) ? address : undefined);
    const cctx: Ctx = { ...ctx, opts: { ...ctx.opts, localAddress } };

    step = 'allocate';
    ts = performance.now();
    const a = new TurnClient({
      transport: await openTransport(kind, server, u.host, cctx),
      username: ctx.creds.username,
      password: ctx.creds.password,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.opts.signal,
    });
    clients.push(a);
    const alloc = await a.allocate();
    check.allocate = {
      ok: true,
      relayedAddress: formatEndpoint(alloc.relayed),
      mappedAddress: alloc.mapped ? formatEndpoint(alloc.mapped) : null,
      lifetimeSeconds: alloc.lifetimeSeconds,
      ms: round(performance.now() - ts),
    };
    emit('allocate', true, check.allocate.ms!, `relayed ${check.allocate.relayedAddress}`);

    step = 'refresh';
    ts = performance.now();
    const granted = await a.refresh(600);
    check.refresh = { ok: true, lifetimeSeconds: granted, ms: round(performance.now() - ts) };
    emit('refresh', true, check.refresh.ms!);

    // The second allocation is the relay step's peer: its failure is a relay failure, not an Allocate failure.
    step = 'permission';
    ts = performance.now();
    const b = new TurnClient({
      transport: await openTransport(kind, server, u.host, cctx),
      username: ctx.creds.username,
      password: ctx.creds.password,
      timeoutMs: ctx.timeoutMs,
      signal: ctx.opts.signal,
    });
    clients.push(b);
    const allocB = await b.allocate();
    await Promise.all([a.createPermission([allocB.relayed]), b.createPermission([alloc.relayed])]);
    check.permission = { ok: true, ms: round(performance.now() - ts) };
    emit('permission', true, check.permission.ms!);

    step = 'relay';
    ts = performance.now();
    const { sent, rtts } = await relayEcho(a, b, cctx);
    const sorted = [...rtts].sort((x, y) => x - y);
    const lossPct = round(((sent - rtts.length) / sent) * 100);
    check.relay = {
      ok: false,
      sent,
      received: rtts.length,
      rttMs: sorted.length ? { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), max: round(sorted[sorted.length - 1]!) } : null,
      lossPct,
    };
    const maxLoss = ctx.opts.maxLossPct ?? 0;
    if (rtts.length === 0) {
      throw new RtcError('RTC_ERR_RELAY_NO_DATA', `the relay allocated but none of ${sent} packets came back through it within ${ctx.timeoutMs} ms`, {
        hint: 'the server may block relaying between its own relay addresses, or drop relayed UDP (firewall on the relay port range)',
      });
    }
    if (lossPct > maxLoss) {
      throw new RtcError('RTC_ERR_RELAY_NO_DATA', `${sent - rtts.length} of ${sent} packets through the relay were lost (${lossPct} % > --max-loss ${maxLoss} %)`, {
        hint: 'the path to the relay loses packets: try again, or raise --max-loss',
      });
    }
    check.relay.ok = true;
    emit('relay', true, performance.now() - ts, `p50 ${check.relay.rttMs!.p50} ms, loss ${lossPct} %`);
    // Free the allocations before ICE allocates two more (a per-user quota of 2-4 is common).
    await Promise.all(clients.splice(0).map((c) => c.close()));

    if (worker) {
      step = 'ice';
      ts = performance.now();
      const r = await worker.run({
        url: u.url,
        username: ctx.creds.username,
        password: ctx.creds.password,
        localAddress,
        ca: ctx.opts.ca,
        insecure: ctx.opts.insecure,
        timeoutMs: ctx.timeoutMs,
        signal: ctx.opts.signal,
      });
      check.ice = { ok: true, ms: round(performance.now() - ts), path: r.path };
      emit('ice', true, check.ice.ms!, r.path);
    }
  } catch (e) {
    const err = toRtcError(e);
    if (err.code === 'RTC_ERR_INTERRUPTED') throw err;
    check.error = { code: err.code, message: err.message, hint: err.hint, step };
    if (step === 'resolve' || step === 'allocate') check.allocate.ok = false;
    else if (step === 'refresh') check.refresh.ok = false;
    else if (step === 'permission') check.permission.ok = false;
    else if (step === 'relay') check.relay.ok = false;
    else if (step === 'ice') check.ice = { ok: false, ms: null };
    emit(step, false, performance.now() - t0, err.message);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  check.ms = round(performance.now() - t0);
  return check;
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
  const ctx: Ctx = { creds, opts, timeoutMs: opts.timeoutMs ?? 5000 };
  const checks: TurnCheck[] = [];
  if (opts.ice ?? true) ctx.worker = startIceEchoWorker();
  try {
    for (const u of urls) {
      throwIfAborted(opts.signal);
      checks.push(await checkOne(u, ctx));
    }
  } finally {
    await ctx.worker?.close();
  }
  const ok = checks.every((c) => !c.error);
  return { ok, auth: creds.auth, username: creds.username, checks, durationMs: round(performance.now() - t0) };
}
