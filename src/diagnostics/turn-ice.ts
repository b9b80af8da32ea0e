/**
 * The browser's path through a TURN server: two in-process werift peers, relay-only policy (RFC 8445 §5.1.1 candidate
 * gathering restricted to relayed candidates), offer/answer exchanged in memory after gathering completes, ICE + DTLS
 * + SCTP, then one data-channel message echoed back. Success proves that allocations, permissions and relayed
 * connectivity checks work the way a WebRTC client uses them.
 *
 * Loaded lazily (werift costs ~0.4 s to import).
 */
import { randomBytes } from 'node:crypto';
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';
import { Worker } from 'node:worker_threads';
import { interruptError, RtcError, type RtcErrorCode } from '../errors.js';
import { sdpCandidates } from '../rtc/candidate.js';
import { createPeerConnection, describeSelectedPair, formatSelectedPair } from '../rtc/peer-connection.js';

export interface IceEchoOptions {
  url: string;
  username: string;
  password: string;
  /** Confine gathering to this address (127.0.0.1 for a loopback server). */
  localAddress?: string;
  ca?: string | Buffer;
  insecure?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface IceEchoResult {
  /** "relayed udp 127.0.0.1:50000 (relay) <-> 127.0.0.1:50002 (relay)" */
  path: string;
  ms: number;
}

function waitGathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') done();
    });
    function done(): void {
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    }
  });
}

function hasRelayCandidate(sdp: string | undefined): boolean {
  return sdpCandidates(sdp ?? '').some((c) => c.type === 'relay');
}

/**
 * werift found no relay candidate. For an IPv6 server the reason is known: werift (0.25) sends no
 * REQUESTED-ADDRESS-FAMILY, so it cannot allocate IPv6 relays (details.reason says so, for the command's hint).
 */
function noRelayCandidate(url: string, message: string, otherwise: string): RtcError {
  if (!/^turns?:\[/.test(url)) return new RtcError('RTC_ERR_ICE_FAILED', message, { hint: otherwise });
  return new RtcError('RTC_ERR_ICE_FAILED', message, {
    hint: 'werift (0.25) cannot allocate IPv6 relays (it sends no REQUESTED-ADDRESS-FAMILY)',
    details: { reason: 'werift-ipv6-relay' },
  });
}

export async function iceEcho(opts: IceEchoOptions): Promise<IceEchoResult> {
  const t0 = performance.now();
  const ice = {
    iceServers: [{ urls: opts.url, username: opts.username, credential: opts.password }],
    relayOnly: true,
    iceAddress: opts.localAddress,
  };
  const extra: Partial<RTCPeerConnectionConfig> = {};
  if (opts.url.startsWith('turns:')) {
    extra.turnTlsOptions = { ca: opts.ca, rejectUnauthorized: !opts.insecure } as RTCPeerConnectionConfig['turnTlsOptions'];
  }
  const pc1 = await createPeerConnection(ice, extra);
  const pc2 = await createPeerConnection(ice, extra);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // Where the step is, so a timeout can say what did not happen.
  let phase: 'gathering' | 'connecting' | 'echo' = 'gathering';
  try {
    const work = (async (): Promise<void> => {
      pc2.onDataChannel.subscribe((ch) => {
        ch.onMessage.subscribe((m) => ch.send(m));
      });
      const dc = pc1.createDataChannel('turn-check');
      const opened = new Promise<void>((resolve) => dc.stateChanged.subscribe((s) => s === 'open' && resolve()));
      await pc1.setLocalDescription(await pc1.createOffer());
      await waitGathered(pc1, opts.timeoutMs);
      if (!hasRelayCandidate(pc1.localDescription?.sdp)) {
        throw noRelayCandidate(opts.url, `werift got no relay candidate from ${opts.url} (its own TURN client failed where ours succeeded)`, 'DEBUG=werift* shows werift\'s TURN log');
      }
      await pc2.setRemoteDescription(pc1.localDescription!);
      await pc2.setLocalDescription(await pc2.createAnswer());
      await waitGathered(pc2, opts.timeoutMs);
      await pc1.setRemoteDescription(pc2.localDescription!);
      phase = 'connecting';
      await opened;
      phase = 'echo';
      const probe = `turn-check ${randomBytes(8).toString('hex')}`;
      const echoed = new Promise<void>((resolve) =>
        dc.onMessage.subscribe((m) => {
          if (m.toString() === probe) resolve();
        }),
      );
      dc.send(probe);
      await echoed;
    })();
    const limit = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const state = `${pc1.iceConnectionState}/${pc1.connectionState}`;
        reject(
          phase === 'gathering'
            ? noRelayCandidate(opts.url, `werift got no relay candidate from ${opts.url} within ${opts.timeoutMs} ms`, 'its TURN client kept failing where ours succeeded; DEBUG=werift* shows its log')
            : new RtcError(
                'RTC_ERR_ICE_FAILED',
                phase === 'connecting'
                  ? `no relayed WebRTC connection within ${opts.timeoutMs} ms (ICE/connection state: ${state})`
                  : `connected, but the data-channel echo did not come back within ${opts.timeoutMs} ms`,
                { hint: 'TURN allocations work but relayed connectivity checks, DTLS or SCTP did not get through' },
              ),
        );
      }, opts.timeoutMs);
      if (opts.signal) {
        const signal = opts.signal;
        onAbort = () => reject(interruptError(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    work.catch(() => {});
    await Promise.race([work, limit]);
    const pair = describeSelectedPair(pc1);
    return { path: pair ? formatSelectedPair(pair) : 'relayed', ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    await Promise.allSettled([pc1.close(), pc2.close()]);
  }
}

/**
 * A worker thread running iceEcho (see turn-ice-worker.ts for why). Start it early: werift loads while the caller
 * does other work. `run` may be called once; `close` terminates the worker and with it every werift handle.
 */
export interface IceEchoWorker {
  run(opts: IceEchoOptions): Promise<IceEchoResult>;
  close(): Promise<void>;
}

/** The worker script (compiled next to this module). */
export function startWeriftWorker(): Worker {
  return new Worker(new URL('./turn-ice-worker.js', import.meta.url));
}

export function startIceEchoWorker(): IceEchoWorker {
  const worker = startWeriftWorker();
  // The worker's own errors arrive as messages; a crash ('error' event) is reported by run().
  let crashed: RtcError | undefined;
  worker.on('error', (e) => {
    crashed = new RtcError('RTC_ERR_INTERNAL', `the ICE worker crashed: ${e.message}`, { cause: e });
  });
  worker.unref();
  return {
    run(opts) {
      if (crashed) return Promise.reject(crashed);
      const { signal, ...rest } = opts;
      return new Promise<IceEchoResult>((resolve, reject) => {
        // The worker enforces opts.timeoutMs itself; this outer limit only catches a wedged worker.
        const timer = setTimeout(() => finish(new RtcError('RTC_ERR_ICE_FAILED', `the ICE step did not finish within ${opts.timeoutMs + 2000} ms`)), opts.timeoutMs + 2000);
        const onMessage = (m: { ok: boolean; result?: IceEchoResult; error?: { code: RtcErrorCode; message: string; hint?: string; details?: Record<string, unknown> } }): void => {
          if (m.ok) finish(undefined, m.result);
          else finish(new RtcError(m.error!.code, m.error!.message, { hint: m.error!.hint, details: m.error!.details }));
        };
        const onError = (e: Error): void => finish(new RtcError('RTC_ERR_INTERNAL', `the ICE worker crashed: ${e.message}`, { cause: e }));
        const onAbort = (): void => finish(interruptError(signal?.reason));
        function finish(err?: RtcError, result?: IceEchoResult): void {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(result!);
        }
        worker.on('message', onMessage);
        worker.on('error', onError);
        signal?.addEventListener('abort', onAbort, { once: true });
        worker.ref();
        worker.postMessage({ type: 'run', opts: rest });
      }).finally(() => worker.unref());
    },
    async close() {
      await worker.terminate();
    },
  };
}

/**
 * One gathering peer's events, as the worker reports them: `elapsedMs` from the common start of gathering, `at` in
 * epoch milliseconds (performance.timeOrigin + now, comparable across threads). 'started' comes first.
 */
export type GatherEvent =
  | { event: 'started'; index: -1; elapsedMs: 0; at: number }
  | { event: 'candidate'; index: number; candidate: string; elapsedMs: number; at: number }
  | { event: 'complete'; index: number; elapsedMs: number; at: number }
  | { event: 'failed'; index: number; message: string; elapsedMs: number; at: number };

/** Epoch milliseconds with sub-millisecond resolution, comparable between the main thread and workers. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Gather candidates with one werift peer per configuration (werift only uses the first STUN and the first TURN URL
 * of a configuration, so each server gets its own peer). A data channel gives the offer an m-line to gather for.
 * Runs until the caller stops it (the worker is terminated): werift's peers are never closed here.
 */
export async function gatherCandidates(
  configs: Array<{ iceServers: Array<{ urls: string; username?: string; credential?: string }>; relayOnly: boolean; iceAddress?: string }>,
  tlsOptions: { ca?: string | Buffer; insecure?: boolean },
  onEvent: (e: GatherEvent) => void,
): Promise<void> {
  const t0 = performance.now();
  const elapsed = (): number => Math.round((performance.now() - t0) * 10) / 10;
  onEvent({ event: 'started', index: -1, elapsedMs: 0, at: epochMs() });
  await Promise.all(
    configs.map(async (ice, index) => {
      try {
        const extra: Partial<RTCPeerConnectionConfig> = {};
        if (ice.iceServers.some((s) => s.urls.startsWith('turns:'))) {
          extra.turnTlsOptions = { ca: tlsOptions.ca, rejectUnauthorized: !tlsOptions.insecure } as RTCPeerConnectionConfig['turnTlsOptions'];
        }
        const pc = await createPeerConnection(ice, extra);
        pc.onIceCandidate.subscribe((c) => {
          if (c?.candidate) onEvent({ event: 'candidate', index, candidate: c.candidate, elapsedMs: elapsed(), at: epochMs() });
        });
        pc.iceGatheringStateChange.subscribe((s) => {
          if (s === 'complete') onEvent({ event: 'complete', index, elapsedMs: elapsed(), at: epochMs() });
        });
        pc.createDataChannel('ice-gather');
        await pc.setLocalDescription(await pc.createOffer());
      } catch (e) {
        onEvent({ event: 'failed', index, message: e instanceof Error ? e.message : String(e), elapsedMs: elapsed(), at: epochMs() });
      }
    }),
  );
}
