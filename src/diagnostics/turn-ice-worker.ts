/**
 * Worker-thread entry for the ICE step of turn-check. werift 0.24 leaves a TURN refresh timer running after
 * RTCPeerConnection.close() (an un-cancellable `await setTimeout(5/6 * lifetime)` in its TurnProtocol), which would
 * keep the CLI alive for minutes; terminating the worker ends every werift handle at once. It also lets werift load
 * (~0.4 s) in parallel with the TURN steps.
 */
import { parentPort } from 'node:worker_threads';
import { toRtcError } from '../errors.js';
import { iceEcho, type IceEchoOptions } from './turn-ice.js';

// Load werift now, while the main thread runs the TURN steps.
const ready = import('werift');

parentPort?.on('message', (msg: { type: 'run'; opts: Omit<IceEchoOptions, 'signal'> }) => {
  if (msg.type !== 'run') return;
  void (async () => {
    try {
      await ready;
      const opts = { ...msg.opts, ca: msg.opts.ca ? Buffer.from(msg.opts.ca) : undefined };
      const result = await iceEcho(opts);
      parentPort?.postMessage({ ok: true, result });
    } catch (e) {
      const err = toRtcError(e);
      parentPort?.postMessage({ ok: false, error: { code: err.code, message: err.message, hint: err.hint } });
    }
  })();
});
