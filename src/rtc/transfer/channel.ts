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
  return new HeldChannel(peer.createChannel(FILE_CHANNEL_LABEL, FILE_CHANNEL_ID));
}

/** Early messages kept at most (a sender's first words are `hello` and perhaps a ping; a peer that says more is broken). */
export const EARLY_MESSAGES_MAX = 64;

/**
 * The channel with its messages held from creation until the link listens. The peer can finish connecting first and
 * send `hello` at once: on the data channel that can overtake the last authentication message, which travels through
 * the signaling server, so it can arrive while this side is still in connectPeer. werift hands a message only to the
 * listeners present at that moment, so it would be lost (seen as "the peer sent no hello within 15 s"). Past
 * EARLY_MESSAGES_MAX, further early messages are dropped: the stream then fails its checks, and memory stays bounded.
 */
export class HeldChannel implements FileChannel {
  private early: (string | Buffer)[] | undefined = [];
  private listener: ((m: string | Buffer) => void) | undefined;

  constructor(private readonly inner: FileChannel) {
    inner.onMessage((m) => {
      if (this.listener) this.listener(m);
      else if (this.early && this.early.length < EARLY_MESSAGES_MAX) this.early.push(m);
    });
  }

  get readyState(): FileChannel['readyState'] {
    return this.inner.readyState;
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }
  get highWater(): number {
    return this.inner.highWater;
  }
  get lowWater(): number {
    return this.inner.lowWater;
  }
  get copiesOnSend(): boolean {
    return this.inner.copiesOnSend;
  }
  send(data: string | Buffer): void {
    this.inner.send(data);
  }
  /** One listener (the link); it gets the held messages first, in order. */
  onMessage(fn: (m: string | Buffer) => void): void {
    if (this.listener) throw new Error('the transfer channel already has its listener');
    const early = this.early ?? [];
    this.early = undefined;
    for (const m of early) fn(m);
    this.listener = fn;
  }
  onState(fn: (s: FileChannel['readyState']) => void): () => void {
    return this.inner.onState(fn);
  }
  onBufferedLow(fn: () => void): () => void {
    return this.inner.onBufferedLow(fn);
  }
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
