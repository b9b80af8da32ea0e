/**
 * The only part of the file transfer that touches the data channel engine. Everything above it sees a `FileChannel`
 * (src/rtc/engine/types.ts): send text or bytes, read messages and state changes, and watch the send buffer. The
 * engines (werift, node-datachannel) implement it in src/rtc/engine/.
 *
 * Channel parameters (docs/file-transfer-protocol.md §Channel): a negotiated channel (RFC 8832 DCEP is not used, so it
 * does not matter who offers), reliable and ordered (RFC 8831 §6.6), which is why file bytes need no framing.
 */
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import type { EnginePeer, FileChannel } from '../engine/types.js';
import { FILE_CHANNEL_ID, FILE_CHANNEL_LABEL } from '../file-transfer-protocol.js';

export type { ChannelState, FileChannel } from '../engine/types.js';

/** How long to wait for the data channel to open once the peer connection is up. */
const CHANNEL_OPEN_TIMEOUT_MS = 15_000;

/** Create the transfer channel (before negotiation, on both sides). */
export function createFileChannel(peer: EnginePeer): FileChannel {
  return peer.createChannel(FILE_CHANNEL_LABEL, FILE_CHANNEL_ID);
}

/** Wait (bounded) until the channel is open, or `failure` rejects. */
export function channelOpen(ch: FileChannel, failure: Promise<never>): Promise<void> {
  if (ch.readyState === 'open') return Promise.resolve();
  const d = deferred<void>();
  const unsubscribe = ch.onState((s) => {
    if (s === 'open') d.resolve();
  });
  const t = setTimeout(
    () => d.reject(new RtcError('RTC_ERR_ICE_FAILED', `the transfer channel did not open within ${CHANNEL_OPEN_TIMEOUT_MS / 1000} s`)),
    CHANNEL_OPEN_TIMEOUT_MS,
  );
  return Promise.race([d.promise, failure]).finally(() => {
    clearTimeout(t);
    unsubscribe();
  });
}
