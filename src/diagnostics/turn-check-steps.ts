/**
 * The steps of `turn-check` for one URL (see turn-check.ts for the list and why): loaded by turnCheck after the werift
 * worker has started, because the TURN client imports werift's STUN codec.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { interruptError, RtcError } from '../errors.js';
import type { IceServerUrl } from '../rtc/ice-config.js';
import { formatEndpoint, type Endpoint } from '../stun/endpoint.js';
import { resolveHost } from '../stun/socket.js';
import { MIN_CHANNEL, TurnClient } from '../turn/client.js';
import { openStreamTransport } from '../turn/stream-transport.js';
import type { TurnTransport, TurnTransportKind } from '../turn/transport.js';
import { openUdpTransport } from '../turn/udp-transport.js';
import { protocolToRtcError } from './protocol-errors.js';
import { emptyCheck, percentile, round, type Creds, type StepName, type TurnCheck, type TurnCheckOptions } from './turn-check-model.js';
import type { IceEchoWorker } from './turn-ice.js';

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
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
  return new UrlCheck(u, ctx).run();
}

/** The state of one URL's check: the record being filled, the step running, the allocations to free. */
class UrlCheck {
  readonly check: TurnCheck;
  private readonly t0 = performance.now();
  private step: StepName = 'resolve';
  private stepStart = performance.now();
  private readonly clients: TurnClient[] = [];
  private realm?: string;

  constructor(
    private readonly u: IceServerUrl,
    private ctx: Ctx,
  ) {
    this.check = emptyCheck(u);
  }

  async run(): Promise<TurnCheck> {
    try {
      const server = await this.resolve();
      const [a, b] = await this.allocateAndRefresh(server).then(async (a) => [a, await this.permissions(server, a)] as const);
      await this.relay(a, b);
      // Free the allocations before ICE allocates two more (a per-user quota of 2-4 is common).
      await Promise.all(this.clients.splice(0).map((c) => c.close()));
      if (this.ctx.worker) await this.ice(this.ctx.worker);
    } catch (e) {
      this.fail(e);
    } finally {
      await Promise.all(this.clients.map((c) => c.close()));
    }
    this.check.ms = round(performance.now() - this.t0);
    return this.check;
  }

  private begin(step: StepName): void {
    this.step = step;
    this.stepStart = performance.now();
  }

  private elapsed(): number {
    return round(performance.now() - this.stepStart);
  }

  private emit(ok: boolean, ms: number, detail?: string): void {
    this.ctx.opts.onStep?.({ url: this.u.url, step: this.step, ok, ms: round(ms), detail });
  }

  private async resolve(): Promise<Endpoint> {
    this.begin('resolve');
    const family = isIP(this.u.host) === 6 ? 6 : 4;
    const address = await resolveHost(this.u.host, { family, timeoutMs: this.ctx.timeoutMs, signal: this.ctx.opts.signal });
    const server: Endpoint = { address, port: this.u.port };
    this.check.server = formatEndpoint(server);
    this.emit(true, this.elapsed(), this.check.server);
    const localAddress = this.ctx.opts.localAddress ?? (isLoopback(address) ? address : undefined);
    this.ctx = { ...this.ctx, opts: { ...this.ctx.opts, localAddress } };
    return server;
  }

  private async client(server: Endpoint): Promise<TurnClient> {
    const c = new TurnClient({
      transport: await openTransport(this.check.transport, server, this.u.host, this.ctx),
      username: this.ctx.creds.username,
      password: this.ctx.creds.password,
      timeoutMs: this.ctx.timeoutMs,
      signal: this.ctx.opts.signal,
    });
    this.clients.push(c);
    return c;
  }

  /** RFC 8656 §7 Allocate (with the 401 challenge), then §8 Refresh. */
  private async allocateAndRefresh(server: Endpoint): Promise<TurnClient> {
    this.begin('allocate');
    const a = await this.client(server);
    const alloc = await a.allocate();
    this.realm = alloc.realm;
    this.check.allocate = {
      ok: true,
      relayedAddress: formatEndpoint(alloc.relayed),
      mappedAddress: alloc.mapped ? formatEndpoint(alloc.mapped) : null,
      lifetimeSeconds: alloc.lifetimeSeconds,
      ms: this.elapsed(),
    };
    this.emit(true, this.check.allocate.ms!, `relayed ${this.check.allocate.relayedAddress}`);
    this.begin('refresh');
    const granted = await a.refresh(600);
    this.check.refresh = { ok: true, lifetimeSeconds: granted, ms: this.elapsed() };
    this.emit(true, this.check.refresh.ms!);
    return a;
  }

  /** A second allocation (the relay step's peer: its failure is a permission failure) and §9 CreatePermission both ways. */
  private async permissions(server: Endpoint, a: TurnClient): Promise<TurnClient> {
    this.begin('permission');
    const b = await this.client(server);
    const allocB = await b.allocate();
    await Promise.all([a.createPermission([allocB.relayed]), b.createPermission([a.relayed!])]);
    this.check.permission = { ok: true, ms: this.elapsed() };
    this.emit(true, this.check.permission.ms!);
    return b;
  }

  private async relay(a: TurnClient, b: TurnClient): Promise<void> {
    this.begin('relay');
    const { sent, rtts } = await relayEcho(a, b, this.ctx);
    const sorted = [...rtts].sort((x, y) => x - y);
    const lossPct = round(((sent - rtts.length) / sent) * 100);
    const rttMs = sorted.length ? { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), max: round(sorted[sorted.length - 1]!) } : null;
    this.check.relay = { ok: false, sent, received: rtts.length, rttMs, lossPct };
    const maxLoss = this.ctx.opts.maxLossPct ?? 0;
    if (rtts.length === 0) {
      throw new RtcError('RTC_ERR_RELAY_NO_DATA', `the relay allocated but none of ${sent} packets came back through it within ${this.ctx.timeoutMs} ms`, {
        hint: 'the server may block relaying between its own relay addresses, or drop relayed UDP (firewall on the relay port range)',
      });
    }
    if (lossPct > maxLoss) {
      throw new RtcError('RTC_ERR_RELAY_NO_DATA', `${sent - rtts.length} of ${sent} packets through the relay were lost (${lossPct} % > the ${maxLoss} % allowed)`, {
        hint: 'the path to the relay loses packets: try again, or allow more loss',
        details: { option: 'maxLossPct' },
      });
    }
    this.check.relay.ok = true;
    this.emit(true, this.elapsed(), `p50 ${rttMs!.p50} ms, loss ${lossPct} %`);
  }

  /** Two werift peers, relay-only, connect through the server and echo a data-channel message (turn-ice.ts). */
  private async ice(worker: IceEchoWorker): Promise<void> {
    this.begin('ice');
    const { opts, creds, timeoutMs } = this.ctx;
    const r = await worker.run({
      url: this.u.url,
      username: creds.username,
      password: creds.password,
      localAddress: opts.localAddress,
      ca: opts.ca,
      insecure: opts.insecure,
      timeoutMs,
      signal: opts.signal,
    });
    this.check.ice = { ok: true, ms: this.elapsed(), path: r.path };
    this.emit(true, this.check.ice.ms!, r.path);
  }

  private fail(e: unknown): void {
    const err = protocolToRtcError(e, { role: 'TURN', username: this.ctx.creds.username, realm: this.clients.find((c) => c.currentRealm)?.currentRealm ?? this.realm, transport: this.check.transport });
    if (err.code === 'RTC_ERR_INTERRUPTED') throw err;
    const step = this.step;
    this.check.error = { code: err.code, message: err.message, hint: err.hint, step, ...(err.details ? { details: err.details } : {}) };
    if (step === 'resolve' || step === 'allocate') this.check.allocate.ok = false;
    else if (step === 'refresh') this.check.refresh.ok = false;
    else if (step === 'permission') this.check.permission.ok = false;
    else if (step === 'relay') this.check.relay.ok = false;
    else if (step === 'ice') this.check.ice = { ok: false, ms: null };
    this.emit(false, performance.now() - this.t0, err.message);
  }
}
