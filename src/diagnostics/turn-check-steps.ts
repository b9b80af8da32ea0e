/**
 * The steps of `turn-check` for one URL (see turn-check.ts for the list and why): loaded by turnCheck after the werift
 * worker has started, because the TURN client imports werift's STUN codec.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { interruptError, RtcError, toRtcError } from '../errors.js';
import type { IceServerUrl } from '../rtc/ice-config.js';
import { formatEndpoint, type Endpoint } from './stun-message.js';
import { resolveHost } from './stun-transaction.js';
import { MIN_CHANNEL, TurnClient } from './turn-client.js';
import { percentile, round, transportOf, type Creds, type StepName, type TurnCheck, type TurnCheckOptions } from './turn-check.js';
import type { IceEchoWorker } from './turn-ice.js';
import { openStreamTransport, openUdpTransport, type TurnTransport, type TurnTransportKind } from './turn-transport.js';

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
  throw interruptError(r);
}

export interface Ctx {
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
export async function checkOne(u: IceServerUrl, ctx: Ctx): Promise<TurnCheck> {
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

