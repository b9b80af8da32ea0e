/**
 * Worker-thread entry for the werift parts of turn-check (ICE echo) and ice-gather (candidate gathering). werift
 * retries failed TURN allocations for ~12 s, which would keep the CLI alive after it has its verdict (0.24 also left
 * its TURN refresh timer running after close; 0.25 aborts it). Terminating the worker ends every werift handle at once. It also lets werift load (~0.4 s) in
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
      parentPort?.postMessage({ ok: false, error: { code: err.code, message: err.message, hint: err.hint, details: err.details } });
    }
  })();
});
