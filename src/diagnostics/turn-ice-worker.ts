/**
 * Worker-thread entry for the werift parts of turn-check (ICE echo) and ice-gather (candidate gathering). werift
 * 0.24 leaves a TURN refresh timer running after RTCPeerConnection.close() (an un-cancellable
 * `await setTimeout(5/6 * lifetime)` in its TurnProtocol) and retries failed TURN allocations for ~12 s; either would
 * keep the CLI alive. Terminating the worker ends every werift handle at once. It also lets werift load (~0.4 s) in
 * parallel with the work the main thread does meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { toRtcError } from '../errors.js';
import { gatherCandidates, iceEcho, type IceEchoOptions } from './turn-ice.js';

// Load werift now, while the main thread runs the TURN steps, and make the DTLS certificate werift shares between all
// peers of a process (its generation is a large part of the first connection's time).
const ready = import('werift').then(async (w) => {
  await w.RTCDtlsTransport.SetupCertificate().catch(() => undefined);
});

type Job =
  | { type: 'run'; opts: Omit<IceEchoOptions, 'signal'> }
  | { type: 'gather'; configs: Parameters<typeof gatherCandidates>[0]; tls: { ca?: Uint8Array; insecure?: boolean } };

parentPort?.on('message', (msg: Job) => {
  void (async () => {
    try {
      await ready;
      if (msg.type === 'run') {
        const opts = { ...msg.opts, ca: msg.opts.ca ? Buffer.from(msg.opts.ca) : undefined };
        const result = await iceEcho(opts);
        parentPort?.postMessage({ ok: true, result });
      } else if (msg.type === 'gather') {
        const tls = { ca: msg.tls.ca ? Buffer.from(msg.tls.ca) : undefined, insecure: msg.tls.insecure };
        await gatherCandidates(msg.configs, tls, (e) => parentPort?.postMessage(e));
      }
    } catch (e) {
      const err = toRtcError(e);
      parentPort?.postMessage({ ok: false, error: { code: err.code, message: err.message, hint: err.hint } });
    }
  })();
});
